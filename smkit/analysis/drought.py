"""Drought-prone regions and their soil-moisture series (the paper's section 4.5).

A pixel of the PDSI grid is drought-prone when its Palmer Drought Severity
Index is at or below ``threshold`` (−2, moderate drought) in more than
``fraction`` (80 %) of the months of the period. Connected drought-prone
pixels (8-connectivity, ``scipy.ndimage.label``) form regions, numbered by
decreasing area, smaller ones than ``min_pixels`` dropped. For each region the
mean daily series of the downscaled product, of the coarse retrieval and of the
stations inside it are compared (Fig. 11).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import moved_names

__all__ = ["drought_regions", "regional_series", "regional_skill"]

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
    block_days : int, default 64
        Days read at a time (the maps are read once, whatever the number of regions).

    Returns
    -------
    xarray.Dataset
        ``sm(region, source, time)`` (m3 m-3) with ``source`` among
        "product", "cci", "stations", and ``n_pixels(region, source)``.
    """
    sources, series, counts = [], [], []
    n = int(regions.max()) if regions.size else 0
    if n == 0:
        raise ValueError("no drought region: PDSI never stays below the threshold long enough")
    times = None
    for name, da in (("product", product), ("cci", coarse)):
        if da is None:
            continue
        lab = _on_grid(regions, da["lat"].values, da["lon"].values)
        series.append(_region_means(da, lab, n, block_days))
        counts.append([int((lab == r).sum()) for r in range(1, n + 1)])
        sources.append(name)
        times = series[-1]["time"]
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
        raise ValueError("give at least one of product, coarse, stations")
    series = [s.drop_vars([c for c in s.coords if c != "time"]) for s in series]
    sm = xr.concat(series, dim="source", join="outer").assign_coords(source=sources,
                                                                      region=np.arange(1, n + 1))
    sm.attrs = {"long_name": "regional mean soil moisture", "units": "m3 m-3"}
    return xr.Dataset({"sm": sm.transpose("region", "source", "time"),
                       "n_pixels": (("source", "region"), np.array(counts))})


def regional_skill(series: xr.Dataset, reference: str = "stations") -> pd.DataFrame:
    """R, RMSE and bias of each source's regional series against ``reference`` (or the product)."""
    from smkit.validate.metrics import all_metrics

    src = [str(s) for s in series["source"].values]
    if reference not in src:
        reference = "product"
    rows = []
    for r in series["region"].values:
        ref = series["sm"].sel(region=r, source=reference).values
        for s in src:
            if s == reference:
                continue
            m = all_metrics(series["sm"].sel(region=r, source=s).values, ref)
            rows.append({"region": int(r), "source": s, "reference": reference,
                         **{k: m[k] for k in ("r", "rmse", "bias", "n")}})
    return pd.DataFrame(rows).set_index(["region", "source"])
