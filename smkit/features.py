"""Explanatory factors on the coarse grid: aggregation of the fine covariates.

The learners are trained where the target is known, on the coarse grid, so
each fine covariate is first brought to the coarse cells. The default is the
NaN-aware block mean of the ``factor x factor`` fine pixels of each cell;
cells with too small a valid fraction are invalid (NaN).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from smkit.grid import Grid, nesting_factor

COVARIATES = ("lst", "ndvi", "albedo", "precip", "dem")

AGGREGATIONS = ("mean",)


def aggregate(
    fine: xr.Dataset,
    coarse: xr.Dataset | Grid,
    *,
    method: str = "mean",
    min_valid: float = 0.5,
    variables: tuple[str, ...] | None = None,
) -> xr.Dataset:
    """Aggregate fine covariates to the coarse grid.

    Parameters
    ----------
    fine : xarray.Dataset
        Fine covariates (``lst`` K, ``ndvi`` 1, ``albedo`` 1, ``precip``
        mm day-1, ``dem`` m) on a grid nesting in ``coarse``.
    coarse : xarray.Dataset or Grid
        The coarse dataset (or its grid) to aggregate to.
    method : {"mean"}
        Block mean of the fine pixels of each cell (NaN-aware).
    min_valid : float, default 0.5
        Minimum fraction (0-1) of valid fine pixels for a cell to get a value.
    variables : tuple of str, optional
        Variables to aggregate (default: every covariate present).

    Returns
    -------
    xarray.Dataset
        The covariates on the coarse grid, same units, lazy if ``fine`` is.

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> sc = make_scenario("tiny")
    >>> agg = aggregate(sc.fine, sc.coarse)
    >>> dict(agg["lst"].sizes) == dict(sc.coarse["sm"].sizes)
    True
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}; choose one of {list(AGGREGATIONS)}")
    grid = coarse if isinstance(coarse, Grid) else Grid.from_dataset(coarse)
    factor = nesting_factor(grid, Grid.from_dataset(fine))
    names = variables or tuple(v for v in COVARIATES if v in fine.data_vars)
    out = {}
    for name in names:
        var = fine[name]
        blocks = var.coarsen(lat=factor, lon=factor)
        mean = blocks.mean()
        frac = var.notnull().coarsen(lat=factor, lon=factor).mean()
        out[name] = mean.where(frac >= min_valid).astype(np.float32)
        out[name].attrs = dict(var.attrs)
    ds = xr.Dataset(out)
    return ds.assign_coords(lat=grid.lat, lon=grid.lon).assign_coords(
        lat=("lat", grid.lat, fine["lat"].attrs), lon=("lon", grid.lon, fine["lon"].attrs)
    )


def training_table(
    coarse: xr.Dataset, fine: xr.Dataset, *, covariates=COVARIATES, min_valid: float = 0.5
):
    """The pooled coarse training set: every valid cell-day as one row.

    Parameters
    ----------
    coarse : xarray.Dataset
        Coarse ``sm`` (m3 m-3).
    fine : xarray.Dataset
        Fine covariates nesting in the coarse grid.
    covariates : sequence of str
    min_valid : float
        See :func:`aggregate`.

    Returns
    -------
    pandas.DataFrame
        Columns ``time``, ``lat``, ``lon``, the covariates (their units) and
        ``sm`` (m3 m-3); rows with any missing value are dropped.
    """
    agg = aggregate(fine, coarse, min_valid=min_valid, variables=tuple(covariates))
    table = xr.Dataset({v: agg[v].broadcast_like(coarse["sm"]) for v in covariates})
    table["sm"] = coarse["sm"]
    df = table.to_dataframe().reset_index()
    return df.dropna(subset=[*covariates, "sm"]).reset_index(drop=True)
