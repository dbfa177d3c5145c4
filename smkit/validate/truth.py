"""Validation against the 1-km truth (synthetic worlds only): skill, seams and the baselines.

:func:`truth_skill` scores every product over every pixel, and on the
*within-cell anomalies* (each field minus its own coarse-cell mean), which
isolates the sub-grid pattern that downscaling exists to recover.
:func:`seam_ratio` measures how much a fine field steps at coarse-cell edges.
:func:`interpolation_baselines` gives the nearest and bilinear interpolations
that a downscaled product must beat.

Units: soil moisture in m3 m-3 throughout; R dimensionless; N a count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid, block_mean, nesting_factor
from smkit.core.schema import check_soil_moisture
from smkit.core.vocabulary import SM_ATTRS

__all__ = ["interpolation_baselines", "seam_ratio", "truth_skill"]


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
        ``sm(model, time, lat, lon)`` float32 with ``model`` in
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
    out = xr.concat([nearest, bilinear], dim="model").assign_coords(model=np.array(["nearest", "bilinear"]))
    out = out.astype(np.float32).transpose("model", "time", "lat", "lon")
    out.attrs = {**SM_ATTRS, "long_name": "coarse soil moisture interpolated to the fine grid"}
    return out.to_dataset(name="sm")


def _cell_anomaly(x: np.ndarray, factor: int) -> np.ndarray:
    """Field minus its own coarse-cell mean (NaN-aware) over the last two axes."""
    mean = block_mean(x, factor)
    up = np.repeat(np.repeat(mean, factor, axis=-2), factor, axis=-1)
    return x - up


def _edge_sums(x: np.ndarray, factor: int) -> np.ndarray:
    """Sums and counts of |differences| of neighbouring pixels across and inside coarse cells.

    Returns ``[sum across, n across, sum inside, n inside]`` over both axes of
    the last two dimensions (pairs with a NaN are left out).
    """
    out = np.zeros(4)
    for axis in (-1, -2):
        d = np.abs(np.diff(x, axis=axis))
        edge = np.zeros(d.shape[axis], bool)
        edge[factor - 1 :: factor] = True
        shape = [1] * d.ndim
        shape[axis] = -1
        edge = edge.reshape(shape)
        ok = np.isfinite(d)
        across, inside = ok & edge, ok & ~edge
        out += [np.where(across, d, 0.0).sum(), across.sum(), np.where(inside, d, 0.0).sum(), inside.sum()]
    return out


def _seam_from_sums(s: np.ndarray) -> float:
    """Mean |difference| across cell edges over inside, from :func:`_edge_sums` (NaN when undefined)."""
    return float((s[0] / s[1]) / (s[2] / s[3])) if s[1] and s[3] and s[2] > 0 else float("nan")


def seam_ratio(field, factor: int) -> float:
    """How much a fine field steps at coarse-cell edges: mean |difference| across edges over inside.

    The mean absolute difference between neighbouring pixels that lie on
    either side of a coarse-cell edge, divided by the same between
    neighbouring pixels inside one cell, along both axes. A field with no
    seam (the truth) gives about 1; a cell-by-cell product whose cells
    disagree gives more.

    Parameters
    ----------
    field : array_like, shape (..., Y, X)
        Fine field (any units); NaN pairs are left out.
    factor : int
        Fine pixels per coarse cell.

    Returns
    -------
    float

    Examples
    --------
    >>> ramp = np.add.outer(np.arange(8.0), np.arange(8.0))
    >>> seam_ratio(ramp, 4)
    1.0
    >>> blocks = np.repeat(np.repeat(np.array([[0.0, 1.0], [1.0, 2.0]]), 4, 0), 4, 1)
    >>> round(seam_ratio(blocks + 0.01 * ramp, 4), 1)
    101.0
    """
    return _seam_from_sums(_edge_sums(np.asarray(field, dtype=np.float64), int(factor)))


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
    coarse: xr.Dataset | None = None,
) -> pd.DataFrame:
    """Skill of each model of a product against the 1-km truth.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(model, time, lat, lon)`` on the fine grid, m3 m-3.
    truth : xarray.Dataset or DataArray
        The 1-km truth ``sm(time, lat, lon)``, m3 m-3, same grid.
    factor : int, optional
        Fine pixels per coarse cell, for the within-cell anomalies; inferred
        from the product's ``attrs["factor"]`` (smkit's products carry it) or
        from ``coarse``, else it must be given.

    Returns
    -------
    pandas.DataFrame
        One row per model: ``r``, ``ubrmse`` (m3 m-3), ``bias`` (product -
        truth, m3 m-3), ``rmse`` and ``n`` over all valid pixel-days, and
        ``r_anomaly`` / ``ubrmse_anomaly`` of the within-cell anomalies (NaN
        for a product with no sub-grid variation, such as nearest
        interpolation), and ``seam`` (:func:`seam_ratio` of the model over the
        same pixel-days) beside the truth's own, ``seam_truth``.
    block_days : int, default 32
        Days loaded at a time (memory stays bounded by one block).
    common : bool, default True
        Score all models on the pixel-days where every model has a value, so
        that gaps do not favour one model.
    coarse : xarray.Dataset, optional
        The coarse retrieval ``sm``: its interpolation baselines
        (:func:`interpolation_baselines`, models ``nearest`` and
        ``bilinear``) are scored too, computed block by block (cheaper than
        passing them lazily inside ``product``).
    """
    p = product["sm"] if isinstance(product, xr.Dataset) else product
    t = truth["sm"] if isinstance(truth, xr.Dataset) else truth
    # units, and values on the first block: percent or raw counts are refused, a product may dip below 0
    check_soil_moisture(p.isel(time=slice(0, block_days)), "product", negative_ok=True)
    check_soil_moisture(t.isel(time=slice(0, block_days)), "truth")
    if factor is None:  # smkit's products carry it on the dataset (and the coarse grid gives it)
        factor = int(p.attrs.get("factor", 0) or getattr(product, "attrs", {}).get("factor", 0)) or None
    if factor is None and coarse is not None:
        factor = nesting_factor(Grid.from_dataset(coarse), Grid.from_dataset(t))
    if factor is None:
        raise ValueError("give factor= (fine pixels per coarse cell) for the within-cell anomalies, or "
                         "coarse= to infer it")
    t = t.sel(time=p["time"])
    if not (np.array_equal(p["lat"], t["lat"]) and np.array_equal(p["lon"], t["lon"])):
        raise ValueError("product and truth are not on the same fine grid")
    models = [str(m) for m in p["model"].values]
    if coarse is not None:
        cs = coarse[["sm"]].sel(time=p["time"])
        grid = Grid.from_dataset(t)
        models += ["nearest", "bilinear"]
    full = {m: np.zeros(6) for m in models}
    anom = {m: np.zeros(6) for m in models}
    edges = {m: np.zeros(4) for m in [*models, "truth"]}
    for i0 in range(0, p.sizes["time"], block_days):  # bounded memory, whatever the period
        sl = {"time": slice(i0, i0 + block_days)}
        tb = np.asarray(t.isel(sl).values, dtype=np.float64)
        ta = _cell_anomaly(tb, factor)
        pb = np.asarray(p.isel(sl).transpose("model", "time", "lat", "lon").values, dtype=np.float64)
        if coarse is not None:
            base = interpolation_baselines(cs.isel(sl).load(), grid)["sm"].values
            pb = np.concatenate([pb, base.astype(np.float64)])
        if common:  # score every model on the same pixel-days
            pb = np.where(np.isfinite(pb).all(axis=0), pb, np.nan)
        for k, m in enumerate(models):
            full[m] += _moments(pb[k], tb)
            anom[m] += _moments(_cell_anomaly(pb[k], factor), ta)
            edges[m] += _edge_sums(pb[k], factor)
        tc = np.where(np.isfinite(pb).all(axis=0), tb, np.nan) if common else tb
        edges["truth"] += _edge_sums(tc, factor)
    rows = []
    for m in models:
        f, a = _from_moments(full[m]), _from_moments(anom[m])
        rows.append({**f, "model": m, "r_anomaly": a["r"], "ubrmse_anomaly": a["ubrmse"],
                     "seam": _seam_from_sums(edges[m]), "seam_truth": _seam_from_sums(edges["truth"])})
    cols = ["model", "r", "ubrmse", "bias", "rmse", "n", "r_anomaly", "ubrmse_anomaly", "seam", "seam_truth"]
    return pd.DataFrame(rows)[cols].set_index("model")
