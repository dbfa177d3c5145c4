"""Validation: products scored against the 1-km truth and interpolation baselines.

The synthetic world knows the 1-km truth, so every product can be scored
where the paper could not: over every pixel, and on the *within-cell
anomalies* (each field minus its own coarse-cell mean), which isolates the
sub-grid pattern that downscaling exists to recover. An interpolated coarse
field has no sub-grid information of its own; a downscaled product is worth
its cost only if it beats interpolation there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit.grid import Grid, block_mean, nesting_factor

SM_ATTRS = {"long_name": "volumetric soil moisture", "units": "m3 m-3"}


def interpolation_baselines(coarse: xr.Dataset, fine_grid: Grid | xr.Dataset) -> xr.Dataset:
    """The coarse retrieval brought to the fine grid by nearest and bilinear interpolation.

    Parameters
    ----------
    coarse : xarray.Dataset
        Coarse ``sm`` (m3 m-3).
    fine_grid : Grid or xarray.Dataset
        Target grid (must nest in the coarse grid).

    Returns
    -------
    xarray.Dataset
        ``sm(method, time, lat, lon)`` float32 with ``method`` in
        ("nearest", "bilinear"). Bilinear weights are renormalised over the
        valid neighbouring cells (gaps do not spread) and are constant beyond
        the outer cell centres; both are NaN where the coarse cell is missing.
    """
    grid = fine_grid if isinstance(fine_grid, Grid) else Grid.from_dataset(fine_grid)
    cgrid = Grid.from_dataset(coarse)
    factor = nesting_factor(cgrid, grid)
    sm = coarse["sm"]
    nearest = sm.isel(
        lat=xr.DataArray(np.arange(grid.nlat) // factor, dims="lat"),
        lon=xr.DataArray(np.arange(grid.nlon) // factor, dims="lon"),
    ).assign_coords(grid.coords())
    # NaN-aware bilinear: weights renormalised over the valid neighbouring
    # cells, kept only inside valid cells (same coverage as nearest)
    # at the domain edge the outer cells are repeated (constant extrapolation)
    padded = sm.pad(lat=1, lon=1, mode="edge").assign_coords(
        lat=np.r_[cgrid.lat[0] - cgrid.res, cgrid.lat, cgrid.lat[-1] + cgrid.res],
        lon=np.r_[cgrid.lon[0] - cgrid.res, cgrid.lon, cgrid.lon[-1] + cgrid.res],
    )
    num = padded.fillna(0.0).interp(lat=grid.lat, lon=grid.lon, method="linear")
    den = padded.notnull().astype(np.float64).interp(lat=grid.lat, lon=grid.lon, method="linear")
    bilinear = (num / den.where(den > 1e-6)).assign_coords(grid.coords()).where(nearest.notnull())
    out = xr.concat([nearest, bilinear], dim="method").assign_coords(method=np.array(["nearest", "bilinear"]))
    out = out.astype(np.float32).transpose("method", "time", "lat", "lon")
    out.attrs = {**SM_ATTRS, "long_name": "coarse soil moisture interpolated to the fine grid"}
    return out.to_dataset(name="sm")


def _cell_anomaly(x: np.ndarray, factor: int) -> np.ndarray:
    """Field minus its own coarse-cell mean (NaN-aware) over the last two axes."""
    mean = block_mean(x, factor)
    up = np.repeat(np.repeat(mean, factor, axis=-2), factor, axis=-1)
    return x - up


def _moments(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise-complete sums n, sx, sy, sxx, syy, sxy (float64)."""
    ok = np.isfinite(x) & np.isfinite(y)
    x = np.where(ok, x, 0.0).astype(np.float64)
    y = np.where(ok, y, 0.0).astype(np.float64)
    return np.array([ok.sum(), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()])


def _from_moments(m: np.ndarray) -> dict:
    n, sx, sy, sxx, syy, sxy = m
    if n < 2:
        return {"r": np.nan, "ubrmse": np.nan, "rmse": np.nan, "bias": np.nan, "n": int(n)}
    mx, my = sx / n, sy / n
    vx, vy = sxx / n - mx**2, syy / n - my**2
    cov = sxy / n - mx * my
    r = cov / np.sqrt(vx * vy) if vx * vy > 1e-18 else np.nan
    mse = max((sxx - 2 * sxy + syy) / n, 0.0)
    bias = mx - my
    return {
        "r": float(r), "ubrmse": float(np.sqrt(max(mse - bias**2, 0.0))),
        "rmse": float(np.sqrt(mse)), "bias": float(bias), "n": int(n),
    }


def truth_skill(
    product: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    factor: int | None = None,
    block_days: int = 32,
    common: bool = True,
) -> pd.DataFrame:
    """Skill of each method of a product against the 1-km truth.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(method, time, lat, lon)`` on the fine grid, m3 m-3.
    truth : xarray.Dataset or DataArray
        The 1-km truth ``sm(time, lat, lon)``, m3 m-3, same grid.
    factor : int, optional
        Fine pixels per coarse cell, for the within-cell anomalies; inferred
        from ``product.attrs["factor"]`` or must be given.

    Returns
    -------
    pandas.DataFrame
        One row per method: ``r``, ``ubrmse`` (m3 m-3), ``bias`` (product -
        truth, m3 m-3), ``rmse`` and ``n`` over all valid pixel-days, and
        ``r_anomaly`` / ``ubrmse_anomaly`` of the within-cell anomalies (NaN
        for a product with no sub-grid variation, such as nearest
        interpolation).
    block_days : int, default 32
        Days loaded at a time (memory stays bounded by one block).
    common : bool, default True
        Score all methods on the pixel-days where every method has a value, so
        that gaps do not favour one method.
    """
    p = product["sm"] if isinstance(product, xr.Dataset) else product
    t = truth["sm"] if isinstance(truth, xr.Dataset) else truth
    if factor is None:
        factor = int(p.attrs.get("factor", 0)) or None
    if factor is None:
        raise ValueError("give factor= (fine pixels per coarse cell) for the within-cell anomalies")
    t = t.sel(time=p["time"])
    if not (np.array_equal(p["lat"], t["lat"]) and np.array_equal(p["lon"], t["lon"])):
        raise ValueError("product and truth are not on the same fine grid")
    methods = [str(m) for m in p["method"].values]
    full = {m: np.zeros(6) for m in methods}
    anom = {m: np.zeros(6) for m in methods}
    for i0 in range(0, p.sizes["time"], block_days):  # bounded memory, whatever the period
        sl = {"time": slice(i0, i0 + block_days)}
        tb = np.asarray(t.isel(sl).values, dtype=np.float64)
        ta = _cell_anomaly(tb, factor)
        pb = np.asarray(p.isel(sl).transpose("method", "time", "lat", "lon").values, dtype=np.float64)
        if common:  # score every method on the same pixel-days
            pb = np.where(np.isfinite(pb).all(axis=0), pb, np.nan)
        for k, m in enumerate(methods):
            full[m] += _moments(pb[k], tb)
            anom[m] += _moments(_cell_anomaly(pb[k], factor), ta)
    rows = []
    for m in methods:
        f, a = _from_moments(full[m]), _from_moments(anom[m])
        rows.append({**f, "method": m, "r_anomaly": a["r"], "ubrmse_anomaly": a["ubrmse"]})
    cols = ["method", "r", "ubrmse", "bias", "rmse", "n", "r_anomaly", "ubrmse_anomaly"]
    return pd.DataFrame(rows)[cols].set_index("method")
