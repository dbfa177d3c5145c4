"""Agreement of a product with other models (ERA5-like, Noah-like) on a common grid (the paper's Fig. 10).

:func:`compare_models` brings the product and each reference to one grid (a
block mean of the finer field, or the cell holding each pixel of the coarser
one) and maps the per-pixel R, MAE, RMSE, bias and ubRMSE along time.
The maps are drawn by :func:`smkit.plot.validate.plot_model_comparison`.

Units: soil moisture in m3 m-3 throughout; R dimensionless; N a count.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import renamed_keywords
from smkit.core.pixels import as_product, locate, regular_axis, select_models
from smkit.validate.metrics import all_metrics

__all__ = ["compare_models"]


def _group_sum_kernel(a: np.ndarray, idx: np.ndarray, n_out: int) -> np.ndarray:
    """Sum the last axis of ``a`` over groups ``idx`` (ascending, -1 = drop) into ``n_out`` bins."""
    out = np.zeros(a.shape[:-1] + (n_out,), dtype=np.float64)
    keep = np.flatnonzero(idx >= 0)
    if keep.size == 0:
        return out
    k = idx[keep]
    brk = np.r_[0, np.flatnonzero(np.diff(k)) + 1]
    out[..., k[brk]] = np.add.reduceat(np.asarray(a[..., keep], dtype=np.float64), brk, axis=-1)
    return out


def _group_sum(da: xr.DataArray, dim: str, idx: np.ndarray, new: np.ndarray) -> xr.DataArray:
    """Sum of ``da`` along ``dim`` over pixel groups; lazy for dask (one full ``dim`` per chunk)."""
    if da.chunks is not None:
        da = da.chunk({dim: -1})
    tmp = f"_{dim}_target"
    out = xr.apply_ufunc(
        _group_sum_kernel,
        da,
        input_core_dims=[[dim]],
        output_core_dims=[[tmp]],
        kwargs={"idx": idx, "n_out": new.size},
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {tmp: new.size}},
    )
    return out.rename({tmp: dim}).assign_coords({dim: new})


def _block_mean_to(src: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    """NaN-aware mean of the ``src`` pixels whose centres fall in each target cell (unweighted)."""
    i = locate(lat, src["lat"].values, "target latitude")
    j = locate(lon, src["lon"].values, "target longitude")
    regular_axis(src["lat"].values, "source latitude")
    ok = src.notnull()
    total = _group_sum(_group_sum(src.where(ok, 0.0), "lat", i, lat), "lon", j, lon)
    count = _group_sum(_group_sum(ok.astype(np.float64), "lat", i, lat), "lon", j, lon)
    return (total / count.where(count > 0)).transpose(*src.dims)


def _containing_cell(src: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    """Each target pixel takes the value of the ``src`` cell holding its centre (NaN outside)."""
    i = locate(src["lat"].values, lat, "source latitude")
    j = locate(src["lon"].values, lon, "source longitude")
    out = src.isel(
        lat=xr.DataArray(np.maximum(i, 0), dims="lat"),
        lon=xr.DataArray(np.maximum(j, 0), dims="lon"),
    )
    out = out.assign_coords(lat=lat, lon=lon)
    inside = xr.DataArray(i >= 0, dims="lat", coords={"lat": lat}) & xr.DataArray(
        j >= 0, dims="lon", coords={"lon": lon}
    )
    return out.where(inside).astype(np.float64)


def _to_grid(src: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> tuple[xr.DataArray, str]:
    """``src`` on the target grid: block mean when it is finer, containing cell otherwise."""
    _, rs = regular_axis(src["lat"].values, "source latitude")
    _, rt = regular_axis(lat, "target latitude")
    if (
        np.isclose(rs, rt, rtol=1e-6)
        and np.array_equal(np.asarray(src["lat"].values), lat)
        and np.array_equal(np.asarray(src["lon"].values), lon)
    ):
        return src.astype(np.float64), "same grid"
    if rs < rt * (1 - 1e-6):
        return _block_mean_to(src, lat, lon), (
            f"block mean of the {rs:g}-degree pixels whose centres fall in each {rt:g}-degree cell"
        )
    return _containing_cell(
        src, lat, lon
    ), f"value of the {rs:g}-degree cell holding each {rt:g}-degree pixel"


_GRID_CHOICES = ("coarsest", "reference", "product")


@renamed_keywords(method="model")
def compare_models(
    product,
    references: Mapping[str, xr.Dataset | xr.DataArray],
    *,
    model: str = "bma",
    grid: str = "coarsest",
) -> dict[str, xr.Dataset]:
    """Per-pixel agreement of a product with other models over time (the paper's Fig. 10).

    For each reference the product and the reference are brought to one grid
    and, pixel by pixel, correlated and differenced along ``time`` over the
    days both have a value (:func:`smkit.validate.metrics.all_metrics`, vectorised, no
    loop over pixels). The finer field is brought to the coarser grid as a
    plain (not area-weighted) NaN-aware block mean over its pixels whose
    centres fall in each coarse cell; a coarser field is brought to a finer
    grid by giving each pixel the value of the cell holding its centre.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(model, time, lat, lon)``, m3 m-3 (eager or dask-backed).
    references : dict
        ``{name: dataset}`` with ``sm(time, lat, lon)`` in m3 m-3 on each
        reference's own regular grid, e.g. ``{"ERA5": sc.era5, "Noah": sc.noah}``;
        NaN where a reference has no value (Noah covers part of the domain).
    model : str, default "bma"
        Product model to compare.
    grid : {"coarsest", "reference", "product"}, default "coarsest"
        Common grid: the coarser of the two grids (the paper compares at the
        reference's 0.1 or 0.05 degree), the reference's grid, or the
        product's grid.

    Returns
    -------
    dict of str to xarray.Dataset
        One Dataset per reference (grids differ between references), on the
        common grid: ``r`` (1), ``mae``, ``rmse``, ``bias`` (product -
        reference), ``ubrmse`` (m3 m-3) and ``n`` (days with both values),
        NaN with ``n = 0`` where they never overlap; attrs ``reference``,
        ``model``, ``grid`` and ``regridding`` (how each field was brought to
        the grid). Lazy (dask) when an input is.
    """
    if grid not in _GRID_CHOICES:
        raise ValueError(f"unknown grid {grid!r}; valid choices: {', '.join(_GRID_CHOICES)}")
    p = select_models(as_product(product), [model]).isel(model=0, drop=True)
    _, rp = regular_axis(p["lat"].values, "product latitude")
    out = {}
    for name, ref in references.items():
        r = ref["sm"] if isinstance(ref, xr.Dataset) else ref
        if set(r.dims) != {"time", "lat", "lon"}:
            raise ValueError(
                f"reference {name!r}: sm must have dims (time, lat, lon); got {r.dims}"
            )
        r = r.transpose("time", "lat", "lon")
        _, rr = regular_axis(r["lat"].values, f"reference {name!r} latitude")
        pt, rt = xr.align(p, r, join="inner", exclude=["lat", "lon"])
        if pt.sizes["time"] == 0:
            warnings.warn(
                f"compare_models: {name!r} shares no day with the product; its maps are NaN "
                "with n = 0",
                UserWarning,
                stacklevel=2,
            )
        target = {"coarsest": r if rr >= rp else p, "reference": r, "product": p}[grid]
        lat, lon = np.asarray(target["lat"].values), np.asarray(target["lon"].values)
        pg, how_p = _to_grid(pt, lat, lon)
        rg, how_r = _to_grid(rt, lat, lon)
        pg = pg.assign_coords(lat=lat, lon=lon).assign_attrs(units="m3 m-3")
        rg = rg.assign_coords(lat=lat, lon=lon).assign_attrs(units="m3 m-3")
        ds = all_metrics(pg, rg, dim="time")
        ds = ds.assign_coords(
            lat=("lat", lat, dict(target["lat"].attrs) or {"units": "degrees_north"}),
            lon=("lon", lon, dict(target["lon"].attrs) or {"units": "degrees_east"}),
        )
        ds.attrs = {
            "reference": str(name),
            "model": str(model),
            "grid": grid,
            "resolution": f"{abs(float(np.round(np.median(np.diff(lat)), 10))):g} degrees",
            "regridding": f"product: {how_p}; reference: {how_r}",
            "period": (
                f"{pd.Timestamp(pt['time'].values[0]).date()} to "
                f"{pd.Timestamp(pt['time'].values[-1]).date()}"
            )
            if pt.sizes["time"]
            else "none",
        }
        out[str(name)] = ds
    return out
