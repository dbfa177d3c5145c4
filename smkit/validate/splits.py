"""Honest train/test designs for BMA weights: held-out years and leave-stations-out folds.

:func:`split_years` splits matched pairs (:func:`smkit.validate.match_stations`
or :func:`smkit.validate.to_pairs`) into training and test years;
:func:`split_stations` deals the stations into folds stratified by zone.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["split_stations", "split_years"]


def _years(years) -> set[int]:
    return {int(y) for y in np.atleast_1d(np.asarray(years))}


def split_years(matched, train_years, test_years):
    """Split matched pairs into training and test years.

    Parameters
    ----------
    matched : xarray.Dataset or pandas.DataFrame
        Output of :func:`smkit.validate.match_stations` (split along ``time``) or of
        :func:`smkit.validate.to_pairs` (split by the ``time`` column).
    train_years, test_years : int or sequence of int
        Calendar years of each part (the paper: 2003-2008 to fit the BMA
        weights, 2009-2010 to validate); they must not overlap.

    Returns
    -------
    train, test
        Two objects of the input's type. Pure: the input is not modified.

    Raises
    ------
    ValueError
        If a year is in both parts.
    """
    train, test = _years(train_years), _years(test_years)
    both = sorted(train & test)
    if both:
        raise ValueError(f"years {both} are in both the training and the test years")
    if isinstance(matched, pd.DataFrame):
        year = pd.DatetimeIndex(matched["time"]).year
        return matched[np.isin(year, list(train))].copy(), matched[np.isin(year, list(test))].copy()
    year = pd.DatetimeIndex(matched["time"].values).year
    return (
        matched.isel(time=np.flatnonzero(np.isin(year, list(train)))),
        matched.isel(time=np.flatnonzero(np.isin(year, list(test)))),
    )


def split_stations(
    matched: xr.Dataset, zones_of_station, n_folds: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-stations-out folds, stratified by zone.

    Within each zone the stations are shuffled (seeded) and dealt to the folds
    in turn, so every fold holds out about ``1/n_folds`` of each zone's
    stations and each station is held out exactly once. A zone with fewer
    stations than folds is absent from some test folds, and a zone with one
    station has no training station in the fold that holds it out (a BMA fit
    then falls back to pooled weights).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`smkit.validate.match_stations` (only its ``station`` dimension and
        ``name`` coordinate are used).
    zones_of_station : array-like, pandas.Series or dict
        Zone label of each station: a sequence aligned with ``station``, or
        a mapping / Series keyed by station name or ``station`` value.
    n_folds : int, default 5
        Number of folds (at least 2).
    seed : int, default 0
        Seed of the shuffle.

    Returns
    -------
    list of (train, test)
        Positional indices (int64, sorted) into the ``station`` dimension;
        within a fold they are disjoint and together cover every station.
    """
    if int(n_folds) < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    n_folds = int(n_folds)
    ids = matched["station"].values
    names = (
        np.asarray(matched["name"].values).astype(str)
        if "name" in matched.variables
        else ids.astype(str)
    )
    if isinstance(zones_of_station, (Mapping, pd.Series)):
        zmap = dict(zones_of_station.items())
        zones = []
        for sid, name in zip(ids, names, strict=True):
            if name in zmap:
                zones.append(zmap[name])
            elif sid in zmap:
                zones.append(zmap[sid])
            else:
                raise KeyError(f"no zone for station {name!r} (station {sid}) in zones_of_station")
        zones = np.asarray(zones)
    else:
        zones = np.asarray(zones_of_station)
        if zones.shape != ids.shape:
            raise ValueError(f"zones_of_station has {zones.size} values for {ids.size} stations")
    rng = np.random.default_rng(seed)
    fold = np.empty(ids.size, dtype=np.int64)
    offset = 0
    for z in pd.unique(zones):
        members = np.flatnonzero(zones == z)
        members = members[rng.permutation(members.size)]
        fold[members] = (offset + np.arange(members.size)) % n_folds
        offset += members.size  # the next zone starts where this one stopped: balanced folds
    everything = np.arange(ids.size)
    return [(everything[fold != k], everything[fold == k]) for k in range(n_folds)]
