"""Uncertainty of the product: leave one covariate out, and fewer BMA pairs (section 4.6).

The scoring of both experiments of the paper's section 4.6, on station pairs
handed in by the caller, with the BMA fit and its prediction passed in as
callables (so that this module needs no study):

- :func:`bma_network_scores` fits BMA on the training pairs and scores its
  mean against the stations over the validation years, per network;
- :func:`leave_one_out_sets` names the covariate sets without each
  covariate in turn (Fig. 12a);
- :func:`sample_reduction_scores` removes a share of the BMA training pairs
  at random, refits and scores, repeated over seeds (Fig. 12b); removing 0 %
  reproduces the base BMA exactly;
- :func:`station_cell_mask` marks the coarse cells holding a matched
  station (where the leave-one-out reruns downscale).

The reruns on a study (downscaling the variants, matching them to the
stations) are :mod:`smkit.workflow.uncertainty`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import moved_names

__all__ = [
    "station_cell_mask",
    "bma_network_scores",
    "leave_one_out_sets",
    "sample_reduction_scores",
    "summarise_reduction",
]

#: Names that moved (the old name works, with a warning, until 0.3): the figures to
#: :mod:`smkit.plot.uncertainty`, the experiments on a study to :mod:`smkit.workflow.uncertainty`.
__getattr__ = moved_names("smkit.analysis.uncertainty", {
    "figure_leave_one_out": "smkit.plot.uncertainty",
    "figure_sample_reduction": "smkit.plot.uncertainty",
    "leave_one_out": "smkit.workflow.uncertainty",
    "sample_reduction": "smkit.workflow.uncertainty",
    "station_cells": "smkit.workflow.uncertainty",
})

#: Fits BMA on station pairs (the training years among them); returns a fit for the predictor.
FitBMA = Callable[[pd.DataFrame], object]
#: The BMA mean (m3 m-3) of a fit at each of the given station pairs.
PredictBMA = Callable[[object, pd.DataFrame], np.ndarray]


def station_cell_mask(coarse: xr.Dataset, matched: xr.Dataset) -> xr.DataArray:
    """Boolean mask on the coarse grid of the cells holding a matched station.

    Parameters
    ----------
    coarse : xarray.Dataset
        Anything on the coarse grid (``lat``, ``lon`` in degrees, regular).
    matched : xarray.Dataset
        Stations matched to a product (:func:`smkit.validate.match_stations`),
        with ``pixel_lat``, ``pixel_lon`` (degrees) and optionally ``status``.

    Returns
    -------
    xarray.DataArray
        ``station_cells(lat, lon)``, True where a station with status ``ok`` lies.
    """
    lat, lon = coarse["lat"].values, coarse["lon"].values
    res = float(np.median(np.diff(lat)))
    m = matched
    ok = np.asarray(m["status"].values) == "ok" if "status" in m.coords else np.ones(m.sizes["station"], bool)
    # the matched fine pixel's centre is never on a cell edge, unlike a station's coordinates
    i = np.floor((np.asarray(m["pixel_lat"].values)[ok] - (lat[0] - res / 2)) / res).astype(int)
    j = np.floor((np.asarray(m["pixel_lon"].values)[ok] - (lon[0] - res / 2)) / res).astype(int)
    inside = (i >= 0) & (i < lat.size) & (j >= 0) & (j < lon.size)
    mask = np.zeros((lat.size, lon.size), bool)
    mask[i[inside], j[inside]] = True
    return xr.DataArray(mask, dims=("lat", "lon"), coords={"lat": coarse["lat"], "lon": coarse["lon"]},
                        name="station_cells")


def bma_network_scores(pairs: pd.DataFrame, members: Sequence[str], test_years, *, fit: FitBMA,
                       predict: PredictBMA, fit_pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fit BMA on ``fit_pairs`` (default ``pairs``); score its mean on the validation years, per network.

    Scored on the pairs of Table 4 (every learner, the retrieval and the
    station have a value), so the ``all`` case of the leave-one-out equals
    Table 4's BMA row.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Station pairs (:func:`smkit.workflow.study.station_pairs`): ``time``,
        ``network``, ``obs``, the member columns and optionally ``cci`` (m3 m-3).
    members : sequence of str
        The learners BMA merges.
    test_years : sequence of int
        Years scored.
    fit : callable
        ``fit(fit_pairs)``: the BMA fit (on its training years); its
        :class:`smkit.bma.BMAWarning` warnings are silenced.
    predict : callable
        ``predict(fit, pairs)``: the BMA mean at each pair (m3 m-3).
    fit_pairs : pandas.DataFrame, optional
        Pairs to fit on instead of ``pairs`` (e.g. with some removed).

    Returns
    -------
    pandas.DataFrame
        One row per network: ``network``, ``n``, ``r`` (1), ``rmse``, ``mae``,
        ``ubrmse`` (m3 m-3).
    """
    from smkit.bma import BMAWarning
    from smkit.validate.metrics import all_metrics

    fit_pairs = pairs if fit_pairs is None else fit_pairs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BMAWarning)
        model = fit(fit_pairs)
    year = pd.DatetimeIndex(pairs["time"]).year
    test = pairs[np.isin(year, test_years)]
    # the support of Table 4: pairs where every product, the retrieval included, has a value
    need = list(members) + ["obs"] + (["cci"] if "cci" in test else [])
    test = test[np.isfinite(test[need].to_numpy()).all(axis=1)]
    pred = predict(model, test)
    rows = []
    for net, idx in test.groupby("network", sort=False).groups.items():
        sel = test.index.get_indexer(idx)
        m = all_metrics(pred[sel], test["obs"].to_numpy()[sel])
        rows.append({"network": net, **{k: m[k] for k in ("n", "r", "rmse", "mae", "ubrmse")}})
    return pd.DataFrame(rows)


def leave_one_out_sets(covariates: Sequence[str], leave=None) -> dict[str, tuple[str, ...]]:
    """The covariate sets of the leave-one-out: ``{"without X": the others}`` for each X left out.

    Parameters
    ----------
    covariates : sequence of str
        Every covariate of the product.
    leave : sequence of str, optional
        Covariates to leave out in turn (default all).

    Examples
    --------
    >>> leave_one_out_sets(["lst", "ndvi", "dem"], ["dem"])
    {'without dem': ('lst', 'ndvi')}
    """
    all_covs = list(covariates)
    leave = list(leave or all_covs)
    unknown = [c for c in leave if c not in all_covs]
    if unknown:
        raise KeyError(f"covariates {unknown} are not in the product; it has {all_covs}")
    return {f"without {cov}": tuple(c for c in all_covs if c != cov) for cov in leave}


def sample_reduction_scores(pairs: pd.DataFrame, members: Sequence[str], train_years, test_years, *,
                            fit: FitBMA, predict: PredictBMA,
                            fractions=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5), repeats: int = 10, seed: int = 0,
                            progress: bool = True) -> pd.DataFrame:
    """BMA's station scores after removing a share of its training pairs at random (Fig. 12b).

    Parameters
    ----------
    pairs : pandas.DataFrame
        Station pairs, as for :func:`bma_network_scores`.
    members : sequence of str
        The learners BMA merges (a training pair has them all and ``obs``).
    train_years, test_years : sequence of int
        Years whose pairs may be removed, and years scored.
    fit, predict : callable
        As for :func:`bma_network_scores`.
    fractions : sequence of float
        Shares (0-1) of the training-year pairs removed.
    repeats : int
        Random draws per share (one for 0, which removes nothing).
    seed : int
    progress : bool

    Returns
    -------
    pandas.DataFrame
        One row per (fraction, repeat, network): ``n``, ``r``, ``rmse``,
        ``mae``, ``ubrmse``, ``n_train`` (pairs left to fit).
    """
    year = pd.DatetimeIndex(pairs["time"]).year
    train_idx = np.flatnonzero(np.isin(year, train_years) &
                               np.isfinite(pairs[list(members) + ["obs"]].to_numpy()).all(axis=1))
    rng = np.random.default_rng(seed)
    frames = []
    jobs = [(f, r) for f in fractions for r in range(1 if f == 0 else repeats)]
    it = jobs
    if progress:
        from smkit.core.progress import progress_bar

        it = progress_bar(jobs, desc="sample reduction")
    for frac, rep in it:
        if not 0 <= frac < 1:
            raise ValueError(f"fractions must be in [0, 1), got {frac}")
        drop = rng.choice(train_idx, int(round(frac * train_idx.size)), replace=False)
        fit_pairs = pairs.drop(index=pairs.index[drop])
        scores = bma_network_scores(pairs, members, test_years, fit=fit, predict=predict, fit_pairs=fit_pairs)
        frames.append(scores.assign(fraction=frac, repeat=rep, n_train=train_idx.size - drop.size))
    return pd.concat(frames).set_index(["fraction", "repeat", "network"])


def summarise_reduction(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over repeats per share removed and network."""
    g = table.groupby(level=["fraction", "network"], sort=False)[["r", "rmse", "mae", "ubrmse", "n_train"]]
    out = g.agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    return out
