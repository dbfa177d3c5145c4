"""Drought-prone regions and their soil-moisture series (the paper's section 4.5).

A pixel of the PDSI grid is drought-prone when its Palmer Drought Severity
Index is at or below ``threshold`` (−2, moderate drought) in more than
``fraction`` (80 %) of the months of the period. Connected drought-prone
pixels (8-connectivity, ``scipy.ndimage.label``) form regions, numbered by
decreasing area, smaller ones than ``min_pixels`` dropped. For each region the
mean daily series of the downscaled product, of the coarse retrieval (and of its
bilinear interpolation) are compared (Fig. 11) against the references there are:
the 1-km truth on a synthetic scenario, and the stations inside the region. Real
data have no truth, and drought-prone regions often hold no station; then
:func:`regional_skill` returns no score rather than scoring the retrieval
against the product, which would say nothing about which is better.

Units: soil moisture, RMSE and bias in m3 m-3; R dimensionless.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import moved_names

__all__ = ["REFERENCES", "drought_regions", "regional_series", "regional_skill"]

#: Figures that moved to :mod:`smkit.plot.drought` (the old name works, with a warning, until 0.3).
__getattr__ = moved_names("smkit.analysis.drought", {
    "figure_regions": "smkit.plot.drought",
    "figure_series": "smkit.plot.drought",
})


def drought_regions(pdsi: xr.Dataset | xr.DataArray, *, threshold: float = -2.0,
                    fraction: float = 0.8, min_pixels: int = 4, period: slice | None = None) -> xr.DataArray:
    """Label the connected drought-prone regions of a PDSI field.

    Parameters
    ----------
    pdsi : xarray.Dataset or DataArray
        ``pdsi(time, lat, lon)`` (dimensionless), monthly.
    threshold : float, default -2
        PDSI at or below which a month counts as drought.
    fraction : float, default 0.8
        Share (0-1) of the valid months a pixel must be in drought (strictly more).
    min_pixels : int, default 4
        Regions with fewer pixels are dropped.
    period : slice, optional
        Months to use (default all).

    Returns
    -------
    xarray.DataArray
        ``region(lat, lon)`` int32 on the PDSI grid: 0 outside, 1..n by
        decreasing area; attrs record the thresholds and the drought share per region.
    """
    from scipy import ndimage

    da = pdsi["pdsi"] if isinstance(pdsi, xr.Dataset) else pdsi
    if period is not None:
        da = da.sel(time=period)
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    values = np.asarray(da.transpose("time", "lat", "lon").values, dtype=float)
    valid = np.isfinite(values)
    n_valid = valid.sum(0)
    share = np.where(n_valid > 0, (values <= threshold).sum(0) / np.maximum(n_valid, 1), 0.0)
    prone = share > fraction
    labels, n = ndimage.label(prone, structure=np.ones((3, 3), int))
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, n + 1))
    keep = [k + 1 for k in np.argsort(-sizes, kind="stable") if sizes[k] >= min_pixels]
    out = np.zeros(labels.shape, np.int32)
    for new, old in enumerate(keep, 1):
        out[labels == old] = new
    return xr.DataArray(
        out, dims=("lat", "lon"), coords={"lat": da["lat"], "lon": da["lon"]}, name="region",
        attrs={"long_name": "drought-prone region", "units": "1", "threshold": threshold,
               "fraction": fraction, "n_regions": len(keep),
               "drought_share_max": float(share.max()) if share.size else np.nan},
    )


def _on_grid(regions: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Region labels at the centres (lat, lon) by the PDSI pixel holding each (0 outside)."""
    rl, rn = regions["lat"].values, regions["lon"].values
    res_lat, res_lon = float(np.median(np.diff(rl))), float(np.median(np.diff(rn)))
    i = np.floor((np.asarray(lat) - (rl[0] - res_lat / 2)) / res_lat).astype(int)
    j = np.floor((np.asarray(lon) - (rn[0] - res_lon / 2)) / res_lon).astype(int)
    ok_i = (i >= 0) & (i < rl.size)
    ok_j = (j >= 0) & (j < rn.size)
    out = np.zeros((len(i), len(j)), np.int32)
    out[np.ix_(ok_i, ok_j)] = regions.values[np.ix_(i[ok_i], j[ok_j])]
    return out


def _region_means(da: xr.DataArray, lab: np.ndarray, n: int, block_days: int) -> xr.DataArray:
    """NaN-aware daily mean of ``da(time, lat, lon)`` over each region label 1..n, one pass in day blocks."""
    da = da.transpose("time", "lat", "lon")
    flat = lab.ravel()
    inside = flat > 0
    idx = flat[inside] - 1
    out = np.full((n, da.sizes["time"]), np.nan)
    for t0 in range(0, da.sizes["time"], block_days):
        block = np.asarray(da.isel(time=slice(t0, t0 + block_days)).values, dtype=np.float64)
        v = block.reshape(block.shape[0], -1)[:, inside]
        ok = np.isfinite(v)
        for k in range(v.shape[0]):
            s = np.bincount(idx[ok[k]], weights=v[k, ok[k]], minlength=n)
            c = np.bincount(idx[ok[k]], minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, t0 + k] = np.where(c > 0, s / np.maximum(c, 1), np.nan)
    return xr.DataArray(out, dims=("region", "time"), coords={"time": da["time"].values})


def regional_series(regions: xr.DataArray, *, product: xr.DataArray | None = None,
                    coarse: xr.DataArray | None = None, stations: xr.Dataset | None = None,
                    truth: xr.DataArray | None = None, bilinear: xr.DataArray | None = None,
                    block_days: int = 64) -> xr.Dataset:
    """Daily mean soil moisture of each drought region from every source.

    Parameters
    ----------
    regions : xarray.DataArray
        From :func:`drought_regions`.
    product : xarray.DataArray, optional
        A downscaled map series ``sm(time, lat, lon)`` (m3 m-3), e.g. BMA.
    coarse : xarray.DataArray, optional
        The coarse retrieval ``sm(time, lat, lon)`` (m3 m-3).
    stations : xarray.Dataset, optional
        Stations with volumetric ``sm`` (m3 m-3); the series is the mean of
        the observations of the stations inside the region on each day.
    truth : xarray.DataArray, optional
        The 1-km truth ``sm(time, lat, lon)`` (m3 m-3) of a synthetic scenario
        (``Scenario.truth["sm"]``); real data have none.
    bilinear : xarray.DataArray, optional
        The retrieval interpolated bilinearly to the fine grid, ``sm(time, lat, lon)``
        (m3 m-3), from :func:`smkit.validate.truth.interpolation_baselines`: the
        baseline a downscaled product must beat.
    block_days : int, default 64
        Days read at a time (the maps are read once, whatever the number of regions).

    Returns
    -------
    xarray.Dataset
        ``sm(region, source, time)`` (m3 m-3) with ``source`` among
        "product", "cci", "bilinear", "truth", "stations" (those given, in this
        order), and ``n_pixels(source, region)`` (pixels, cells or stations inside).
    """
    sources, series, counts = [], [], []
    n = int(regions.max()) if regions.size else 0
    if n == 0:
        raise ValueError("no drought region: PDSI never stays below the threshold long enough")
    times = None
    for name, da in (("product", product), ("cci", coarse), ("bilinear", bilinear), ("truth", truth)):
        if da is None:
            continue
        lab = _on_grid(regions, da["lat"].values, da["lon"].values)
        series.append(_region_means(da, lab, n, block_days))
        counts.append([int((lab == r).sum()) for r in range(1, n + 1)])
        sources.append(name)
        t = pd.Index(series[-1]["time"].values)
        times = t if times is None else times.union(t)  # the product may cover fewer days than the truth
    if stations is not None:
        lab = np.array([_on_grid(regions, [a], [b])[0, 0] for a, b in
                        zip(stations["lat"].values, stations["lon"].values, strict=True)])
        obs = stations["sm"].transpose("station", "time")
        rows = []
        for r in range(1, n + 1):
            inside = lab == r
            rows.append(obs.isel(station=np.flatnonzero(inside)).mean("station") if inside.any()
                        else xr.full_like(obs.isel(station=0), np.nan))
        st = xr.concat(rows, dim="region")
        if times is not None:
            st = st.reindex(time=times)
        series.append(st.drop_vars([c for c in st.coords if c not in ("time",)]))
        counts.append([int((lab == r).sum()) for r in range(1, n + 1)])
        sources.append("stations")
    if not series:
        raise ValueError("give at least one of product, coarse, bilinear, truth, stations")
    series = [s.drop_vars([c for c in s.coords if c != "time"]) for s in series]
    sm = xr.concat(series, dim="source", join="outer").assign_coords(source=sources,
                                                                      region=np.arange(1, n + 1))
    sm.attrs = {"long_name": "regional mean soil moisture", "units": "m3 m-3"}
    return xr.Dataset({"sm": sm.transpose("region", "source", "time"),
                       "n_pixels": (("source", "region"), np.array(counts))})


#: Sources that are references (scored against, never scored): the 1-km truth, then the stations.
REFERENCES = ("truth", "stations")


def _paired_gain(p: np.ndarray, b: np.ndarray, y: np.ndarray, block: int, n_boot: int, seed: int) -> dict:
    """R and RMSE of ``p`` minus those of ``b`` against ``y`` (complete triples), with block-bootstrap bounds."""
    from smkit.validate.metrics import r, rmse
    from smkit.validate.skill import LEVEL, block_resamples

    ok = np.isfinite(p) & np.isfinite(b) & np.isfinite(y)
    p, b, y = p[ok], b[ok], y[ok]
    out = {"dr": np.nan, "dr_lo": np.nan, "dr_hi": np.nan,
           "drmse": np.nan, "drmse_lo": np.nan, "drmse_hi": np.nan}
    if p.size < 3:
        return out
    out["dr"] = float(r(p, y) - r(b, y))
    out["drmse"] = float(rmse(p, y) - rmse(b, y))
    if p.size < 2 * block or n_boot < 10:  # too few blocks to resample
        return out
    idx = block_resamples(p.size, block, n_boot, seed=seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        dr = r(p[idx], y[idx], axis=1) - r(b[idx], y[idx], axis=1)
        drmse = rmse(p[idx], y[idx], axis=1) - rmse(b[idx], y[idx], axis=1)
    q = [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2]
    for name, v in (("dr", dr), ("drmse", drmse)):
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        if v.size >= 10:
            out[f"{name}_lo"], out[f"{name}_hi"] = (float(x) for x in np.quantile(v, q))
    return out


def regional_skill(series: xr.Dataset, reference: str | list[str] | None = None, *, product: str = "product",
                   block_days: int = 30, n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """R, RMSE and bias of each source's regional series against each reference, and the product's gain.

    Every source that is not a reference ("product", "cci", "bilinear") is
    scored against every reference present, region by region, on the days
    where the reference and all those sources have a value (so the scores
    of the product and of the retrieval are paired). On a baseline's row
    the product's gain over it is added: ``dr`` = R(product) - R(baseline)
    and ``drmse`` = RMSE(product) - RMSE(baseline), each with a 90 %
    moving-block bootstrap interval over days (blocks of ``block_days``,
    the same blocks for both; :func:`smkit.validate.skill.block_resamples`).

    Parameters
    ----------
    series : xarray.Dataset
        From :func:`regional_series`.
    reference : str or list of str, optional
        The references. Default: those of :data:`REFERENCES` present ("truth"
        on a synthetic scenario, "stations" when given); with neither the
        table is empty, as nothing can tell which source is better. Naming
        another source (e.g. "product") scores the rest against it.
    product : str, default "product"
        The source whose gain over the others is computed.
    block_days : int, default 30
        Bootstrap block length, days (soil moisture persists for weeks).
    n_boot : int, default 500
        Bootstrap resamples (below 10: no interval).
    seed : int, default 0
        Seed of the resamples.

    Returns
    -------
    pandas.DataFrame
        Index (region, reference, source); columns ``r`` (1), ``rmse`` and
        ``bias`` (source - reference, m3 m-3), ``n`` (days), and ``dr``, ``dr_lo``,
        ``dr_hi`` (1), ``drmse``, ``drmse_lo``, ``drmse_hi`` (m3 m-3): product minus
        this source (NaN on the product's own rows). A region whose reference has
        no data (e.g. no station inside) has NaN scores and ``n`` 0.

    Raises
    ------
    ValueError
        When a named reference is not a source of ``series``.
    """
    from smkit.validate.metrics import all_metrics

    src = [str(s) for s in series["source"].values]
    if reference is None:
        refs = [s for s in REFERENCES if s in src]
    else:
        refs = [reference] if isinstance(reference, str) else list(reference)
        missing = [x for x in refs if x not in src]
        if missing:
            raise ValueError(f"reference {_quoted(missing)} is not among the series' sources {src}: "
                             "give a source of regional_series (truth, stations, product, ...)")
    scored = [s for s in src if s not in REFERENCES and s not in refs]
    columns = ["r", "rmse", "bias", "n", "dr", "dr_lo", "dr_hi", "drmse", "drmse_lo", "drmse_hi"]
    rows = []
    for reg in series["region"].values:
        x = {s: np.asarray(series["sm"].sel(region=reg, source=s).values, dtype=float) for s in src}
        for ref in refs:
            common = np.isfinite(x[ref])
            for s in scored:
                common &= np.isfinite(x[s])
            y = np.where(common, x[ref], np.nan)
            for s in scored:
                m = all_metrics(np.where(common, x[s], np.nan), y)
                row = {"region": int(reg), "reference": ref, "source": s,
                       **{k: float(m[k]) for k in ("r", "rmse", "bias")}, "n": int(common.sum())}
                if s != product and product in scored:
                    row.update(_paired_gain(x[product][common], x[s][common], x[ref][common],
                                            block_days, n_boot, seed))
                rows.append(row)
    out = pd.DataFrame(rows, columns=["region", "reference", "source", *columns])
    return out.set_index(["region", "reference", "source"])


def _quoted(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)
