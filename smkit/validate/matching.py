"""Validation: products against the 1-km truth, in-situ stations and other models.

Three kinds of reference, three parts of this module:

* **The 1-km truth** (synthetic worlds only): :func:`truth_skill` scores every
  product over every pixel, and on the *within-cell anomalies* (each field
  minus its own coarse-cell mean), which isolates the sub-grid pattern that
  downscaling exists to recover. :func:`interpolation_baselines` gives the
  nearest and bilinear interpolations that a downscaled product must beat.
* **In-situ stations** (the paper's section 4.2-4.3): :func:`match_stations`
  brings every product to each station's observing period (daily, pentad or
  dekad) at the pixel holding the station, :func:`score_stations`,
  :func:`score_networks` and :func:`score_seasons` score the matched pairs,
  :func:`network_table` lays them out like the paper's Table 4, and
  :func:`plot_station_map`, :func:`plot_scatter` and
  :func:`plot_station_series` draw Figs. 7-9. :func:`split_years` and
  :func:`split_stations` give honest train/test designs for BMA weights.
* **Other models** (section 4.4): :func:`compare_models` maps per-pixel R and
  MAE against ERA5-like and Noah-like fields on a common grid
  (:func:`plot_model_comparison`, Fig. 10).

Units: soil moisture in m3 m-3 throughout; R dimensionless; N a count.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid, block_mean, nesting_factor
from smkit.core.schema import stations_to_volumetric
from smkit.validate.metrics import METRIC_NAMES, all_metrics
from smkit.core.vocabulary import CADENCES, METHOD_LABELS, NETWORK_CADENCE, SM_ATTRS

__all__ = [
    "CADENCES", "METHOD_LABELS", "MONSOON_MONTHS", "NETWORK_CADENCE", "StationMatchWarning",
    "compare_models", "interpolation_baselines", "match_stations", "method_label",
    "network_table", "period_bounds", "plot_model_comparison", "plot_scatter",
    "period_means", "plot_station_map", "plot_station_series", "score_networks", "score_seasons",
    "station_cadences",
    "score_stations", "seam_ratio", "split_stations", "split_years", "to_pairs", "truth_skill",
    "write_report_tables",
]



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
    s = _edge_sums(np.asarray(field, dtype=np.float64), int(factor))
    return float((s[0] / s[1]) / (s[2] / s[3])) if s[1] and s[3] and s[2] > 0 else float("nan")


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
        interpolation), and ``seam`` (:func:`seam_ratio` of the method over the
        same pixel-days) beside the truth's own, ``seam_truth``.
    block_days : int, default 32
        Days loaded at a time (memory stays bounded by one block).
    common : bool, default True
        Score all methods on the pixel-days where every method has a value, so
        that gaps do not favour one method.
    coarse : xarray.Dataset, optional
        The coarse retrieval ``sm``: its interpolation baselines
        (:func:`interpolation_baselines`, methods ``nearest`` and
        ``bilinear``) are scored too, computed block by block (cheaper than
        passing them lazily inside ``product``).
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
    if coarse is not None:
        cs = coarse[["sm"]].sel(time=p["time"])
        grid = Grid.from_dataset(t)
        methods += ["nearest", "bilinear"]
    full = {m: np.zeros(6) for m in methods}
    anom = {m: np.zeros(6) for m in methods}
    edges = {m: np.zeros(4) for m in [*methods, "truth"]}
    for i0 in range(0, p.sizes["time"], block_days):  # bounded memory, whatever the period
        sl = {"time": slice(i0, i0 + block_days)}
        tb = np.asarray(t.isel(sl).values, dtype=np.float64)
        ta = _cell_anomaly(tb, factor)
        pb = np.asarray(p.isel(sl).transpose("method", "time", "lat", "lon").values, dtype=np.float64)
        if coarse is not None:
            base = interpolation_baselines(cs.isel(sl).load(), grid)["sm"].values
            pb = np.concatenate([pb, base.astype(np.float64)])
        if common:  # score every method on the same pixel-days
            pb = np.where(np.isfinite(pb).all(axis=0), pb, np.nan)
        for k, m in enumerate(methods):
            full[m] += _moments(pb[k], tb)
            anom[m] += _moments(_cell_anomaly(pb[k], factor), ta)
            edges[m] += _edge_sums(pb[k], factor)
        edges["truth"] += _edge_sums(np.where(np.isfinite(pb).all(axis=0), tb, np.nan) if common else tb, factor)

    def ratio(e):
        return float((e[0] / e[1]) / (e[2] / e[3])) if e[1] and e[3] and e[2] > 0 else np.nan

    rows = []
    for m in methods:
        f, a = _from_moments(full[m]), _from_moments(anom[m])
        rows.append({**f, "method": m, "r_anomaly": a["r"], "ubrmse_anomaly": a["ubrmse"],
                     "seam": ratio(edges[m]), "seam_truth": ratio(edges["truth"])})
    cols = ["method", "r", "ubrmse", "bias", "rmse", "n", "r_anomaly", "ubrmse_anomaly", "seam", "seam_truth"]
    return pd.DataFrame(rows)[cols].set_index("method")


# =========================================================================== #
# In-situ stations: matching
# =========================================================================== #
#: The monsoon season of the paper (M1), May to September; the other months are M2.
MONSOON_MONTHS = (5, 6, 7, 8, 9)
_NETWORK_ORDER = ("NZW", "CERN", "QXZ")  # the paper's order
_PERIOD_DAYS = {"pentad": (5, 5), "dekad": (10, 2)}  # days per period, index of the last period
_STATION_COORDS = ("name", "network", "cadence", "lat", "lon", "elevation", "land_cover")
_METRIC_LABELS = {
    "r": ("R", "1"),
    "rmse": ("RMSE", "m3 m-3"),
    "mae": ("MAE", "m3 m-3"),
    "bias": ("bias", "m3 m-3"),
    "ubrmse": ("ubRMSE", "m3 m-3"),
    "n": ("N", "1"),
}


class StationMatchWarning(UserWarning):
    """Stations that :func:`match_stations` kept but cannot score (outside, no overlap, no data)."""


def method_label(method: str) -> str:
    """Return the paper's label of a method id ("xgb" -> "XG", "cci" -> "CCI"); others unchanged.

    Examples
    --------
    >>> method_label("xgb"), method_label("bma"), method_label("bilinear")
    ('XG', 'BMA', 'bilinear')
    """
    return METHOD_LABELS.get(str(method), str(method))


def _method_order(methods: Iterable[str]) -> list[str]:
    """Methods in the paper's order (CCI, RF, MLR, SVR, XG, BMA), then the others as given."""
    methods = [str(m) for m in methods]
    known = [m for m in METHOD_LABELS if m in methods]
    return known + [m for m in methods if m not in known]


def _check_cadence(cadence: str) -> str:
    if cadence not in CADENCES:
        raise ValueError(f"unknown cadence {cadence!r}; valid cadences: {', '.join(CADENCES)}")
    return cadence


def period_bounds(times, cadence: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """First and last day (inclusive) of the observing period holding each time.

    Parameters
    ----------
    times : array-like of datetime64
        Dates (any time of day; only the date counts).
    cadence : {"daily", "pentad", "dekad"}
        ``daily``: the day itself; ``pentad``: days 1-5, 6-10, 11-15, 16-20,
        21-25 and 26 to the month's end; ``dekad``: days 1-10, 11-20 and 21 to
        the month's end.

    Returns
    -------
    start, end : pandas.DatetimeIndex
        Midnight of the first and of the last day of each period.

    Examples
    --------
    >>> s, e = period_bounds(["2009-02-27", "2009-03-07"], "pentad")
    >>> [str(d.date()) for d in s], [str(d.date()) for d in e]
    (['2009-02-26', '2009-03-06'], ['2009-02-28', '2009-03-10'])
    """
    t = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]")).normalize()
    if _check_cadence(cadence) == "daily":
        return t, t
    size, last = _PERIOD_DAYS[cadence]
    k = np.minimum((np.asarray(t.day) - 1) // size, last)
    month = t.to_period("M").to_timestamp()
    start = month + pd.to_timedelta(k * size, unit="D")
    month_end = t.to_period("M").to_timestamp(how="end").normalize()
    end = pd.DatetimeIndex(
        np.where(k == last, month_end, start + pd.to_timedelta(size - 1, unit="D"))
    )
    return pd.DatetimeIndex(start), end


def _regular_axis(centres, what: str) -> tuple[np.ndarray, float]:
    """Ascending regular cell centres and their spacing (degrees), or a clear error."""
    c = np.asarray(centres, dtype=np.float64)
    if c.size < 2:
        raise ValueError(f"{what}: a grid needs at least two cells along each axis")
    d = np.diff(c)
    if not np.all(d > 0):
        raise ValueError(
            f"{what}: coordinates must be ascending (use .sortby('lat').sortby('lon'), "
            "or read the file through smkit.core.schema which normalises it)"
        )
    step = float(np.round(np.median(d), 10))
    if not np.allclose(d, step, rtol=1e-4, atol=0):
        raise ValueError(f"{what}: coordinates are not regularly spaced")
    return c, step


def _locate(centres, x, what: str) -> np.ndarray:
    """Index of the cell holding each point, -1 outside (or for a non-finite point).

    A cell spans ``(centre - step/2, centre + step/2]``; the first cell also
    holds its lower edge, so a point on an inner edge goes to the cell below.
    This is the convention of :mod:`smkit.synth` for its stations.
    """
    c, step = _regular_axis(centres, what)
    x = np.asarray(x, dtype=np.float64)
    upper = c + step / 2
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(x) & (x >= c[0] - step / 2) & (x <= upper[-1])
    k = np.searchsorted(upper, np.where(inside, x, c[0]), side="left")
    return np.where(inside, np.minimum(k, c.size - 1), -1)


def _as_product(product, what: str = "product") -> xr.DataArray:
    """``sm(method, time, lat, lon)`` of a product Dataset or DataArray."""
    if isinstance(product, xr.Dataset):
        if "sm" not in product.data_vars:
            raise ValueError(
                f"{what} has no variable 'sm'; variables: {sorted(map(str, product.data_vars))}"
            )
        da = product["sm"]
    elif isinstance(product, xr.DataArray):
        da = product
    else:
        raise TypeError(
            f"{what} must be an xarray Dataset or DataArray, not {type(product).__name__}"
        )
    if "method" not in da.dims:
        da = da.expand_dims(method=[str(da.name or "product")])
    missing = [d for d in ("method", "time", "lat", "lon") if d not in da.dims]
    if missing or da.ndim != 4:
        raise ValueError(f"{what} must have dims (method, time, lat, lon); got {da.dims}")
    return da.transpose("method", "time", "lat", "lon")


def _select_methods(da: xr.DataArray, methods) -> xr.DataArray:
    have = [str(m) for m in da["method"].values]
    if methods is None:
        return da
    methods = [methods] if isinstance(methods, str) else [str(m) for m in methods]
    unknown = [m for m in methods if m not in have]
    if unknown:
        raise KeyError(f"method(s) {unknown} not in the product; available: {', '.join(have)}")
    return da.sel({"method": methods})


def station_cadences(st: xr.Dataset) -> np.ndarray:
    """The cadence of every station: its ``cadence`` coordinate, else its network's default."""
    if "cadence" in st.variables:
        cad = np.asarray(st["cadence"].values).astype(str)
    else:
        net = np.asarray(st["network"].values).astype(str)
        unknown = sorted(set(net) - set(NETWORK_CADENCE))
        if unknown:
            raise ValueError(
                f"stations have no 'cadence' coordinate and network(s) {unknown} have no "
                f"default cadence ({NETWORK_CADENCE}); add a 'cadence' coordinate "
                f"along 'station' with values in {CADENCES}"
            )
        cad = np.array([NETWORK_CADENCE[n] for n in net])
    for c in np.unique(cad):
        _check_cadence(str(c))
    return cad


def period_means(
    values: np.ndarray, days: pd.DatetimeIndex, cadence: np.ndarray, out_times: pd.DatetimeIndex
) -> np.ndarray:
    """NaN-aware means of daily series over each station's period of each output time.

    Parameters
    ----------
    values : ndarray, shape (method, day, station)
        Daily values (float64) on ascending ``days``.
    days : DatetimeIndex
        Dates of ``values``.
    cadence : ndarray of str, shape (station,)
        Cadence of each station.
    out_times : DatetimeIndex
        Observation stamps; each is mapped to the period holding it.

    Returns
    -------
    ndarray, shape (method, station, time)
        Mean over the valid days of the period; NaN for a period without any
        valid day (or outside ``days``).
    """
    m, _, ns = values.shape
    out = np.full((m, ns, len(out_times)), np.nan)
    if len(days) == 0 or ns == 0 or len(out_times) == 0:
        return out
    for cad in np.unique(cadence):
        cols = np.flatnonzero(cadence == cad)
        start, _ = period_bounds(days, str(cad))
        s = np.asarray(start.values)
        brk = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
        v = values[:, :, cols]
        ok = np.isfinite(v)
        total = np.add.reduceat(np.where(ok, v, 0.0), brk, axis=1)
        count = np.add.reduceat(ok, brk, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)  # (m, period, sc)
        labels = s[brk]
        key = np.asarray(period_bounds(out_times, str(cad))[0].values)
        pos = np.minimum(np.searchsorted(labels, key), labels.size - 1)
        hit = labels[pos] == key
        picked = mean[:, pos, :].transpose(0, 2, 1)  # (m, sc, time)
        out[:, cols, :] = np.where(hit[None, None, :], picked, np.nan)
    return out


def _daily_index(da: xr.DataArray, what: str) -> pd.DatetimeIndex:
    t = pd.DatetimeIndex(da["time"].values).normalize()
    if len(t) > 1 and not np.all(np.diff(t.values) > np.timedelta64(0, "ns")):
        raise ValueError(f"{what}: time must be strictly increasing (one value a day)")
    return t


def _pixel_series(da: xr.DataArray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Values ``(method, time, k)`` at pixels ``(i[k], j[k])``; only those series are computed."""
    if i.size == 0:
        return np.empty((da.sizes["method"], da.sizes["time"], 0))
    pts = da.isel(lat=xr.DataArray(i, dims="_pt"), lon=xr.DataArray(j, dims="_pt"))
    return np.asarray(pts.transpose("method", "time", "_pt").values, dtype=np.float64)


def match_stations(product, stations: xr.Dataset, *, coarse=None, methods=None) -> xr.Dataset:
    """Pair station observations with the products averaged over each observing period.

    Each station is matched to the product pixel holding it (a pixel spans
    ``(centre - res/2, centre + res/2]``). For every observation the product
    series is averaged (NaN-aware: over the valid days) over the station's
    observing period: the day itself (``daily``), the pentad or the dekad
    holding the observation's time stamp (see :func:`period_bounds`). Relative
    soil moisture ``rsm`` (percent of field capacity, NZW) is converted to
    m3 m-3 first with :func:`smkit.core.schema.stations_to_volumetric`.

    Only the station pixels are read: the product is indexed pointwise
    (vectorised ``isel``) before anything is computed, so a dask-backed
    product loads only the chunks holding stations.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        ``sm(method, time, lat, lon)``, m3 m-3, daily, on a regular ascending
        grid (``method`` e.g. rf, mlr, svr, xgb, bma); eager or dask-backed.
    stations : xarray.Dataset
        Dims (station, time): ``sm`` (m3 m-3) and/or ``rsm`` (percent, with
        ``field_capacity`` in g g-1 and ``bulk_density`` in g cm-3); coords
        ``name``, ``network``, ``lat``, ``lon`` and ``cadence`` (one of
        :data:`CADENCES`; defaults from :data:`NETWORK_CADENCE` by network).
    coarse : xarray.Dataset, optional
        Coarse retrieval ``sm(time, lat, lon)`` (m3 m-3); adds a method
        ``"cci"`` from the coarse cell holding each station, averaged over the
        same periods and over the product's days only (all methods see the
        same days).
    methods : sequence of str, optional
        Product methods to keep (default all).

    Returns
    -------
    xarray.Dataset
        Dims (method, station, time), ``time`` restricted to the stamps where
        at least one station has an observation whose period overlaps the
        product's days:

        - ``obs(station, time)``: in-situ soil moisture, m3 m-3 (NaN where the
          station has no observation at that stamp);
        - ``pred(method, station, time)``: period-mean product, m3 m-3, NaN
          where ``obs`` is NaN; ``cci`` first when ``coarse`` is given;
        - coords ``name``, ``network``, ``cadence``, ``lat``, ``lon`` (and
          ``elevation``, ``land_cover`` when present), ``pixel_lat``,
          ``pixel_lon`` (centre of the matched pixel, NaN outside), with
          ``coarse``: ``cell_lat``, ``cell_lon``; and ``status``: ``"ok"``,
          ``"outside grid"``, ``"no overlap"`` (no observation in the
          product's period) or ``"no product data"`` (the product is NaN at
          the pixel on every matched period).

    Warns
    -----
    StationMatchWarning
        Once, naming every station whose status is not ``"ok"``. Such
        stations stay in the result; their scores are NaN with N = 0.

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> sc = make_scenario("tiny")
    >>> prod = sc.truth["sm"].expand_dims(method=["truth"]).to_dataset(name="sm")
    >>> m = match_stations(prod, sc.stations, coarse=sc.coarse)
    >>> [str(v) for v in m["method"].values], sorted(set(m["status"].values))
    (['cci', 'truth'], ['ok'])
    >>> round(float(m["obs"].isel(station=2).mean()), 3)  # a station's observations, m3 m-3
    0.142
    """
    sm = _select_methods(_as_product(product), methods)
    if not isinstance(stations, xr.Dataset):
        raise TypeError("stations must be an xarray Dataset with dims (station, time)")
    missing = [c for c in ("name", "network", "lat", "lon") if c not in stations.variables]
    if missing:
        raise ValueError(f"stations lack coordinate(s) {missing} along 'station'")
    st = stations_to_volumetric(stations).transpose("station", "time")
    names = np.asarray(st["name"].values).astype(str)
    cadence = station_cadences(st)
    slat = np.asarray(st["lat"].values, dtype=np.float64)
    slon = np.asarray(st["lon"].values, dtype=np.float64)
    ns = st.sizes["station"]

    days = _daily_index(sm, "product")
    if len(days) == 0:
        raise ValueError("the product has no time steps")
    first, last = days[0], days[-1]

    # observations whose period overlaps the product's days
    st_times = pd.DatetimeIndex(st["time"].values)
    obs_all = np.asarray(st["sm"].values, dtype=np.float64)
    keep = np.zeros_like(obs_all, dtype=bool)
    for cad in np.unique(cadence):
        s0, s1 = period_bounds(st_times, str(cad))
        overlap = np.asarray((s0 <= last) & (s1 >= first))
        rows = cadence == cad
        keep[rows] = np.isfinite(obs_all[rows]) & overlap[None, :]
    tkeep = keep.any(axis=0)
    out_times = st_times[tkeep]
    obs = np.where(keep[:, tkeep], obs_all[:, tkeep], np.nan)

    # the pixel of each station; only those series are read
    i = _locate(sm["lat"].values, slat, "product latitude")
    j = _locate(sm["lon"].values, slon, "product longitude")
    inside = (i >= 0) & (j >= 0)
    idx = np.flatnonzero(inside)
    prod_methods = [str(m) for m in sm["method"].values]
    pred = np.full((len(prod_methods), ns, len(out_times)), np.nan)
    series = _pixel_series(sm, i[idx], j[idx])
    pred[:, idx, :] = period_means(series, days, cadence[idx], out_times)
    plat = np.where(inside, np.asarray(sm["lat"].values)[np.maximum(i, 0)], np.nan)
    plon = np.where(inside, np.asarray(sm["lon"].values)[np.maximum(j, 0)], np.nan)
    all_methods = prod_methods
    extra_coords = {}
    if coarse is not None:
        if "cci" in prod_methods:
            raise ValueError(
                "the product already has a method 'cci'; rename it or do not pass coarse="
            )
        csm = coarse["sm"] if isinstance(coarse, xr.Dataset) else coarse
        if set(csm.dims) != {"time", "lat", "lon"}:
            raise ValueError(f"coarse sm must have dims (time, lat, lon); got {csm.dims}")
        csm = csm.transpose("time", "lat", "lon").expand_dims(method=["cci"])
        cdays = _daily_index(csm, "coarse")
        on_days = np.asarray(cdays.isin(days))
        csm = csm.isel(time=np.flatnonzero(on_days))
        ci = _locate(csm["lat"].values, slat, "coarse latitude")
        cj = _locate(csm["lon"].values, slon, "coarse longitude")
        cin = np.flatnonzero((ci >= 0) & (cj >= 0))
        cpred = np.full((1, ns, len(out_times)), np.nan)
        cpred[:, cin, :] = period_means(
            _pixel_series(csm, ci[cin], cj[cin]), cdays[on_days], cadence[cin], out_times
        )
        pred = np.concatenate([cpred, pred], axis=0)
        all_methods = ["cci", *prod_methods]
        cok = (ci >= 0) & (cj >= 0)
        extra_coords = {
            "cell_lat": (
                "station",
                np.where(cok, np.asarray(csm["lat"].values)[np.maximum(ci, 0)], np.nan),
                {"long_name": "centre of the matched coarse cell", "units": "degrees_north"},
            ),
            "cell_lon": (
                "station",
                np.where(cok, np.asarray(csm["lon"].values)[np.maximum(cj, 0)], np.nan),
                {"long_name": "centre of the matched coarse cell", "units": "degrees_east"},
            ),
        }
    pred = np.where(np.isfinite(obs)[None], pred, np.nan)

    has_obs = np.isfinite(obs).any(axis=1)
    has_pred = np.isfinite(pred[len(all_methods) - len(prod_methods) :]).any(axis=(0, 2))
    status = np.where(
        ~inside,
        "outside grid",
        np.where(~has_obs, "no overlap", np.where(~has_pred, "no product data", "ok")),
    )

    bad = np.flatnonzero(status != "ok")
    if bad.size:
        g_lat, g_lon = np.asarray(sm["lat"].values), np.asarray(sm["lon"].values)
        _, rlat = _regular_axis(g_lat, "product latitude")
        extent = (
            f"lat {g_lat[0] - rlat / 2:.4f} to {g_lat[-1] + rlat / 2:.4f}, "
            f"lon {g_lon[0] - rlat / 2:.4f} to {g_lon[-1] + rlat / 2:.4f}"
        )
        why = {
            "outside grid": lambda k: (
                f"outside grid (lat {slat[k]:.4f}, lon {slon[k]:.4f}; grid {extent})"
            ),
            "no overlap": lambda k: (
                f"no overlap (no {cadence[k]} observation in the product's period "
                f"{first.date()} to {last.date()})"
            ),
            "no product data": lambda k: (
                "no product data (the product is NaN at its pixel on every observed period)"
            ),
        }
        listed = "; ".join(f"{str(names[k])!r} {why[str(status[k])](k)}" for k in bad)
        warnings.warn(
            f"match_stations: {bad.size} of {ns} station(s) cannot be scored (their metrics "
            f"are NaN with N = 0): {listed}",
            StationMatchWarning,
            stacklevel=2,
        )

    coords = {
        "method": ("method", np.array(all_methods, dtype=object)),
        "station": ("station", st["station"].values),
        "time": (
            "time",
            out_times.values.astype("datetime64[ns]"),
            {"long_name": "time stamp of the observation"},
        ),
        "cadence": (
            "station",
            cadence.astype(object),
            {"long_name": "observing period of the station (daily, pentad, dekad)"},
        ),
        "pixel_lat": (
            "station",
            plat,
            {"long_name": "centre of the matched product pixel", "units": "degrees_north"},
        ),
        "pixel_lon": (
            "station",
            plon,
            {"long_name": "centre of the matched product pixel", "units": "degrees_east"},
        ),
        "status": ("station", status.astype(object), {"long_name": "matching status"}),
        **extra_coords,
    }
    for c in _STATION_COORDS:
        if c in st.variables and c not in coords:
            coords[c] = ("station", st[c].values, dict(st[c].attrs))
    out = xr.Dataset(
        {
            "obs": (
                ("station", "time"),
                obs,
                {"long_name": "in-situ soil moisture", "units": "m3 m-3"},
            ),
            "pred": (
                ("method", "station", "time"),
                pred,
                {
                    "long_name": "product soil moisture averaged over the observing period",
                    "units": "m3 m-3",
                },
            ),
        },
        coords=coords,
        attrs={
            "product_period": f"{first.date()} to {last.date()}",
            "matching": "pixel holding the station; NaN-aware mean over the observing period",
        },
    )
    return out


def to_pairs(matched: xr.Dataset, *, complete: bool = False) -> pd.DataFrame:
    """Tabulate matched pairs tidily, one row per station observation.

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    complete : bool, default False
        Keep only rows where every method has a value (what a BMA fit needs).

    Returns
    -------
    pandas.DataFrame
        Columns ``station``, ``name``, ``network``, ``time``, ``obs`` (m3 m-3)
        and one column per method (m3 m-3), in the order of ``matched.method``;
        rows where ``obs`` is finite, sorted by station and time.
    """
    obs = matched["obs"].values
    s, t = np.nonzero(np.isfinite(obs))
    df = pd.DataFrame(
        {
            "station": matched["station"].values[s],
            "name": np.asarray(matched["name"].values)[s],
            "network": np.asarray(matched["network"].values)[s],
            "time": matched["time"].values[t],
            "obs": obs[s, t],
        }
    )
    pred = matched["pred"].transpose("method", "station", "time").values
    for k, m in enumerate(matched["method"].values):
        df[str(m)] = pred[k, s, t]
    if complete:
        df = df[np.isfinite(df[[str(m) for m in matched["method"].values]].to_numpy()).all(axis=1)]
    return df.reset_index(drop=True)


# =========================================================================== #
# In-situ stations: scores
# =========================================================================== #
def _scoring_arrays(
    matched: xr.Dataset, methods, common: bool
) -> tuple[xr.DataArray, xr.DataArray]:
    """``pred`` (selected methods) and ``obs``, masked to common pairs if asked, units set."""
    if not isinstance(matched, xr.Dataset) or not {"obs", "pred"} <= set(matched.data_vars):
        raise TypeError("expected the output of match_stations (a Dataset with 'obs' and 'pred')")
    pred = _select_methods(matched["pred"], methods).transpose("method", "station", "time")
    obs = matched["obs"].transpose("station", "time")
    if common:  # the same pairs for every method, so that gaps favour none
        valid = obs.notnull() & pred.notnull().all("method")
        pred, obs = pred.where(valid), obs.where(valid)
    pred = pred.assign_attrs(units="m3 m-3")
    obs = obs.assign_attrs(units="m3 m-3")
    return pred, obs


def _metrics_frame(ds: xr.Dataset, index: dict) -> list[dict]:
    """Rows ``{**index, method, label, n, r, rmse, mae, bias, ubrmse}`` of a metrics Dataset."""
    rows = []
    for k, m in enumerate(ds["method"].values):
        row = {**index, "method": str(m), "label": method_label(str(m))}
        for name in ("n", *[nm for nm in METRIC_NAMES if nm != "n"]):
            v = ds[name].values[k]
            row[name] = int(v) if name == "n" else float(v)
        rows.append(row)
    return rows


def score_stations(matched: xr.Dataset, *, methods=None, common: bool = True) -> pd.DataFrame:
    """Skill of every method at every station (the paper's Fig. 7).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    methods : sequence of str, optional
        Methods to score (default all, including ``cci``).
    common : bool, default True
        Score every method on the same pairs (where the observation and every
        selected method have a value), so that gaps do not favour one method.
        A method missing everywhere at a station then leaves that station with
        N = 0: pass ``methods=`` to leave it out.

    Returns
    -------
    pandas.DataFrame
        One row per station and method: ``station``, ``name``, ``network``,
        ``cadence``, ``lat``, ``lon`` (degrees), ``status``, ``method``,
        ``label`` (the paper's label), ``n``, ``r`` (1), ``rmse``, ``mae``,
        ``bias`` (product - observation) and ``ubrmse`` (m3 m-3). Metrics are
        NaN with ``n = 0`` where there is no complete pair.
    """
    pred, obs = _scoring_arrays(matched, methods, common)
    sc = all_metrics(pred, obs, dim="time").transpose("method", "station")
    rows = []
    for s in range(matched.sizes["station"]):
        index = {"station": matched["station"].values[s]}
        for c in ("name", "network", "cadence", "lat", "lon", "status"):
            if c in matched.variables:
                index[c] = matched[c].values[s]
        rows += _metrics_frame(sc.isel(station=s), index)
    return pd.DataFrame(rows)


def _period_mask(times: pd.DatetimeIndex, sel) -> np.ndarray:
    """Boolean mask of ``times`` for a period selector (slice, (start, end) or months)."""
    if isinstance(sel, slice):
        start, stop = sel.start, sel.stop
    elif (
        isinstance(sel, tuple)
        and len(sel) == 2
        and not all(isinstance(v, (int, np.integer)) for v in sel)
    ):
        start, stop = sel
    else:
        months = np.atleast_1d(np.asarray(sel, dtype=int))
        if months.size == 0 or months.min() < 1 or months.max() > 12:
            raise ValueError(
                f"a period given as months needs values in 1..12, got {sel!r} "
                "(give dates as strings or Timestamps)"
            )
        return np.isin(times.month, months)
    ok = np.ones(len(times), dtype=bool)
    if start is not None:
        ok &= times >= pd.Timestamp(start)
    if stop is not None:  # inclusive, like label slicing: a date string covers its whole span
        stop = pd.Timestamp(stop)
        s = str(sel.stop if isinstance(sel, slice) else sel[1])
        if len(s) == 4:
            stop = stop + pd.offsets.YearEnd(0)
        elif len(s) == 7:
            stop = stop + pd.offsets.MonthEnd(0)
        ok &= times <= stop
    return ok


def _network_order(networks: Iterable[str]) -> list[str]:
    nets = list(dict.fromkeys(str(n) for n in networks))
    known = [n for n in _NETWORK_ORDER if n in nets]
    return known + sorted(n for n in nets if n not in known)


def score_networks(
    matched: xr.Dataset,
    periods: Mapping[str, object] | None = None,
    *,
    methods=None,
    common: bool = True,
) -> pd.DataFrame:
    """Skill of every method per network over all its pairs (the paper's Table 4).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    periods : dict, optional
        ``{label: selector}`` to score sub-periods separately; a selector is
        a ``slice`` or ``(start, end)`` pair of dates (inclusive; ``"2010"``
        means the whole year) or a sequence of months (1-12). Default: the
        whole record.
    methods : sequence of str, optional
        Methods to score (default all).
    common : bool, default True
        Score every method on the same pairs (see :func:`score_stations`),
        so ``n`` is the same for every method of a network and period.

    Returns
    -------
    pandas.DataFrame
        One row per network (NZW, CERN, QXZ first, then others), period (a
        ``period`` column when ``periods`` is given) and method: ``network``,
        ``method``, ``label``, ``n_stations`` (stations with at least one
        pair), ``n``, ``r`` (1), ``rmse``, ``mae``, ``bias``, ``ubrmse``
        (m3 m-3). Feed it to :func:`network_table` for the paper's layout.
    """
    pred, obs = _scoring_arrays(matched, methods, common)
    times = pd.DatetimeIndex(matched["time"].values)
    selectors = {None: slice(None)} if periods is None else dict(periods)
    networks = np.asarray(matched["network"].values).astype(str)
    rows = []
    for net in _network_order(networks):
        s = np.flatnonzero(networks == net)
        for label, sel in selectors.items():
            t = np.flatnonzero(_period_mask(times, sel))
            p = pred.isel(station=s, time=t)
            o = obs.isel(station=s, time=t)
            sc = all_metrics(p, o, dim=["station", "time"])
            index = {"network": net}
            if periods is not None:
                index["period"] = label
            stations_with_pairs = (p.notnull() & o.notnull()).any("time").any("method")
            index["n_stations"] = int(stations_with_pairs.sum())
            rows += _metrics_frame(sc, index)
    return pd.DataFrame(rows)


def score_seasons(
    matched: xr.Dataset,
    *,
    methods=None,
    common: bool = True,
    monsoon: Sequence[int] = MONSOON_MONTHS,
) -> pd.DataFrame:
    """Skill per network and method in the monsoon season (M1) and the rest of the year (M2).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    methods : sequence of str, optional
        Methods to score (default all).
    common : bool, default True
        Score every method on the same pairs.
    monsoon : sequence of int, default (5, 6, 7, 8, 9)
        Months of M1 (May-September in the paper); the month is that of the
        observation's time stamp (pentads and dekads never cross a month).

    Returns
    -------
    pandas.DataFrame
        As :func:`score_networks`, with ``period`` in {"M1", "M2"}.
    """
    monsoon = sorted({int(m) for m in monsoon})
    rest = [m for m in range(1, 13) if m not in monsoon]
    return score_networks(matched, {"M1": monsoon, "M2": rest}, methods=methods, common=common)


def network_table(
    scores: pd.DataFrame, metrics: Sequence[str] = ("r", "rmse", "mae", "ubrmse")
) -> pd.DataFrame:
    """Lay out :func:`score_networks` (or :func:`score_seasons`) output as the paper's Table 4.

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`score_networks` or :func:`score_seasons`.
    metrics : sequence of str, default ("r", "rmse", "mae", "ubrmse")
        Metrics to show, one block of rows each, in order.

    Returns
    -------
    pandas.DataFrame
        Index (``metric``, ``network``[, ``period``]) with metric names such as
        ``R`` or ``RMSE (m3 m-3)``; columns ``N`` (number of pairs) and one
        column per method with the paper's labels in the paper's order (CCI,
        RF, MLR, SVR, XG, BMA, then any other method). When the methods were
        not scored on common pairs their counts differ, and the table gets an
        ``N`` block of rows instead of the ``N`` column.
    """
    keys = ["network", "period"] if "period" in scores.columns else ["network"]
    order = _method_order(scores["method"].unique())
    labels = [method_label(m) for m in order]
    groups = list(dict.fromkeys(map(tuple, scores[keys].astype(object).to_numpy().tolist())))
    by = {tuple(k): g.set_index("label") for k, g in scores.groupby(keys, sort=False)}
    n = pd.DataFrame([by[g]["n"].reindex(labels).to_numpy() for g in groups], columns=labels)
    same_n = bool((n.nunique(axis=1, dropna=False) <= 1).all())
    blocks = ([] if same_n else ["n"]) + list(metrics)
    rows, index = [], []
    for metric in blocks:
        name, units = _METRIC_LABELS.get(metric, (metric, "1"))
        head = name if units == "1" else f"{name} ({units})"
        for k, g in enumerate(groups):
            vals = by[g][metric].reindex(labels)
            row = {"N": int(n.iloc[k, 0])} if same_n else {}
            row.update({lab: (int(v) if metric == "n" else float(v)) for lab, v in vals.items()})
            rows.append(row)
            index.append((head, *g))
    # when counts and scores share the columns, object columns keep the counts integers
    out = pd.DataFrame(
        rows,
        index=pd.MultiIndex.from_tuples(index, names=["metric", *keys]),
        dtype=None if same_n else object,
    )
    return out


_table4 = network_table  # reachable where a parameter shadows the name


# =========================================================================== #
# Honest train/test designs
# =========================================================================== #
def _years(years) -> set[int]:
    return {int(y) for y in np.atleast_1d(np.asarray(years))}


def split_years(matched, train_years, test_years):
    """Split matched pairs into training and test years.

    Parameters
    ----------
    matched : xarray.Dataset or pandas.DataFrame
        Output of :func:`match_stations` (split along ``time``) or of
        :func:`to_pairs` (split by the ``time`` column).
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
        Output of :func:`match_stations` (only its ``station`` dimension and
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


# =========================================================================== #
# Report tables
# =========================================================================== #
def _markdown(df: pd.DataFrame, floatfmt: str) -> str:
    """Markdown of a table: index levels as columns, integers as integers, NaN blank."""
    flat = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df

    def fmt(v):
        if isinstance(v, (bool, np.bool_)):
            return str(bool(v))
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)):
            return "" if not np.isfinite(v) else format(float(v), floatfmt)
        return str(v)

    def numeric(col):
        return all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in col
        )

    align = ["right" if numeric(flat[c].tolist()) else "left" for c in flat.columns]
    cells = flat.astype(object).map(fmt)
    return cells.to_markdown(index=False, colalign=align, disable_numparse=True)


def write_report_tables(
    folder,
    *,
    network_table: pd.DataFrame | None = None,
    truth_table: pd.DataFrame | None = None,
    station_table: pd.DataFrame | None = None,
    season_table: pd.DataFrame | None = None,
    floatfmt: str = ".3f",
) -> dict[str, str]:
    """Write the validation tables as CSV and Markdown.

    Parameters
    ----------
    folder : str or Path
        Output folder (created if needed).
    network_table : pandas.DataFrame, optional
        Table 4: output of :func:`score_networks` (laid out with
        :func:`network_table`) or an already laid-out table; written as
        ``table4_networks``.
    truth_table : pandas.DataFrame, optional
        Output of :func:`truth_skill`; written as ``truth_skill``.
    station_table : pandas.DataFrame, optional
        Output of :func:`score_stations`; written as ``station_scores``.
    season_table : pandas.DataFrame, optional
        Output of :func:`score_seasons` (laid out with :func:`network_table`);
        written as ``seasons``.
    floatfmt : str, default ".3f"
        Format of floating-point values in the Markdown (the CSV keeps full
        precision).

    Returns
    -------
    dict
        ``{name: markdown}`` of the tables written, each also in
        ``folder/<name>.csv`` and ``folder/<name>.md``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def laid_out(df):
        return _table4(df) if {"network", "method"} <= set(df.columns) else df

    tables = {}
    if network_table is not None:
        tables["table4_networks"] = laid_out(network_table)
    if season_table is not None:
        tables["seasons"] = laid_out(season_table)
    if station_table is not None:
        tables["station_scores"] = station_table
    if truth_table is not None:
        tables["truth_skill"] = truth_table
    if not tables:
        raise ValueError(
            "no table given: pass network_table=, truth_table=, station_table= or season_table="
        )
    out = {}
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=not isinstance(df.index, pd.RangeIndex))
        md = _markdown(df, floatfmt)
        (folder / f"{name}.md").write_text(md + "\n")
        out[name] = md
    return out


# =========================================================================== #
# Model intercomparison (ERA5, Noah)
# =========================================================================== #
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
    i = _locate(lat, src["lat"].values, "target latitude")
    j = _locate(lon, src["lon"].values, "target longitude")
    _regular_axis(src["lat"].values, "source latitude")
    ok = src.notnull()
    total = _group_sum(_group_sum(src.where(ok, 0.0), "lat", i, lat), "lon", j, lon)
    count = _group_sum(_group_sum(ok.astype(np.float64), "lat", i, lat), "lon", j, lon)
    return (total / count.where(count > 0)).transpose(*src.dims)


def _containing_cell(src: xr.DataArray, lat: np.ndarray, lon: np.ndarray) -> xr.DataArray:
    """Each target pixel takes the value of the ``src`` cell holding its centre (NaN outside)."""
    i = _locate(src["lat"].values, lat, "source latitude")
    j = _locate(src["lon"].values, lon, "source longitude")
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
    _, rs = _regular_axis(src["lat"].values, "source latitude")
    _, rt = _regular_axis(lat, "target latitude")
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


def compare_models(
    product,
    references: Mapping[str, xr.Dataset | xr.DataArray],
    *,
    method: str = "bma",
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
        ``sm(method, time, lat, lon)``, m3 m-3 (eager or dask-backed).
    references : dict
        ``{name: dataset}`` with ``sm(time, lat, lon)`` in m3 m-3 on each
        reference's own regular grid, e.g. ``{"ERA5": sc.era5, "Noah": sc.noah}``;
        NaN where a reference has no value (Noah covers part of the domain).
    method : str, default "bma"
        Product method to compare.
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
        ``method``, ``grid`` and ``regridding`` (how each field was brought to
        the grid). Lazy (dask) when an input is.
    """
    if grid not in _GRID_CHOICES:
        raise ValueError(f"unknown grid {grid!r}; valid choices: {', '.join(_GRID_CHOICES)}")
    p = _select_methods(_as_product(product), [method]).isel(method=0, drop=True)
    _, rp = _regular_axis(p["lat"].values, "product latitude")
    out = {}
    for name, ref in references.items():
        r = ref["sm"] if isinstance(ref, xr.Dataset) else ref
        if set(r.dims) != {"time", "lat", "lon"}:
            raise ValueError(
                f"reference {name!r}: sm must have dims (time, lat, lon); got {r.dims}"
            )
        r = r.transpose("time", "lat", "lon")
        _, rr = _regular_axis(r["lat"].values, f"reference {name!r} latitude")
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
            "method": str(method),
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


# =========================================================================== #
# Figures (matplotlib; every function returns its Figure)
# =========================================================================== #
_NETWORK_MARKERS = {"NZW": "^", "CERN": "s", "QXZ": "o"}
_METRIC_CMAPS = {
    "r": "RdYlBu",
    "mae": "YlOrRd",
    "rmse": "YlOrRd",
    "ubrmse": "YlOrRd",
    "bias": "BrBG",
}
_SEASON_COLOURS = {"M1": "tab:blue", "M2": "tab:orange"}


def _metric_axis_label(metric: str) -> str:
    name, units = _METRIC_LABELS.get(metric, (metric, "1"))
    return f"{name} [-]" if units == "1" else f"{name} [{units}]"


def _pick_method(methods: Sequence[str], method: str) -> str:
    """Find a method id from its id or its paper label (case-insensitive)."""
    methods = [str(m) for m in methods]
    for m in methods:
        if method.lower() in (m.lower(), method_label(m).lower()):
            return m
    raise KeyError(
        f"method {method!r} not available; available: "
        f"{', '.join(f'{m} ({method_label(m)})' for m in methods)}"
    )


def _draw_outline(ax, outline, fig) -> None:
    """Background of a station map: a field (with a colour bar), a Grid or a lon/lat box."""
    if outline is None:
        return
    if isinstance(outline, xr.Dataset):
        outline = outline[next(iter(outline.data_vars))]
    if isinstance(outline, xr.DataArray):
        field = outline.squeeze(drop=True)
        if set(field.dims) != {"lat", "lon"}:
            raise ValueError(f"outline field must be 2-D (lat, lon); got dims {field.dims}")
        field = field.transpose("lat", "lon")
        im = ax.pcolormesh(
            field["lon"].values,
            field["lat"].values,
            np.asarray(field.values, float),
            cmap="Greys",
            shading="nearest",
            alpha=0.55,
            zorder=0,
        )
        label = field.attrs.get("long_name", field.name or "background")
        units = field.attrs.get("units")
        fig.colorbar(
            im,
            ax=ax,
            orientation="horizontal",
            fraction=0.045,
            pad=0.1,
            aspect=40,
            label=f"{label} [{units}]" if units else str(label),
        )
        return
    if isinstance(outline, Grid):
        box = (outline.lon0, outline.lon1, outline.lat0, outline.lat1)
    else:
        box = tuple(float(v) for v in outline)
        if len(box) != 4:
            raise ValueError("outline must be a field, a Grid or (lon0, lon1, lat0, lat1)")
    lon0, lon1, lat0, lat1 = box
    ax.plot(
        [lon0, lon1, lon1, lon0, lon0],
        [lat0, lat0, lat1, lat1, lat0],
        color="0.3",
        lw=1.0,
        zorder=1,
        label="domain",
    )


def plot_station_map(
    scores: pd.DataFrame, metric: str | Sequence[str] = "r", method: str = "bma", outline=None
):
    """Stations coloured by their skill over the domain (the paper's Fig. 7).

    Parameters
    ----------
    scores : pandas.DataFrame
        Output of :func:`score_stations`.
    metric : str or sequence of str, default "r"
        Metric(s) to map, one panel each (``("r", "mae")`` gives Fig. 7a-b);
        R is dimensionless, MAE, RMSE, ubRMSE and bias in m3 m-3.
    method : str, default "bma"
        Method id or paper label (e.g. "xgb" or "XG").
    outline : xarray.DataArray, smkit.core.grid.Grid or tuple, optional
        Background: a 2-D (lat, lon) field such as elevation (drawn in grey
        with its own colour bar), a Grid or a ``(lon0, lon1, lat0, lat1)``
        box in degrees drawn as the domain outline. Nothing is downloaded.

    Returns
    -------
    matplotlib.figure.Figure
        Markers by network; stations with no complete pair (N = 0) drawn as
        open grey markers.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    metrics = [metric] if isinstance(metric, str) else list(metric)
    m = _pick_method(scores["method"].unique(), method)
    sub = scores[scores["method"] == m]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5.6 * len(metrics), 5.2), squeeze=False, layout="constrained"
    )
    for ax, met in zip(axes[0], metrics, strict=True):
        if met not in sub.columns:
            raise KeyError(f"metric {met!r} not in scores; available: {', '.join(METRIC_NAMES)}")
        _draw_outline(ax, outline, fig)
        vals = sub[met].to_numpy(dtype=float)
        finite = vals[np.isfinite(vals)]
        if met == "r":
            vmin, vmax = min(0.0, float(finite.min())) if finite.size else 0.0, 1.0
        elif met == "bias":
            a = float(np.abs(finite).max()) if finite.size else 0.1
            vmin, vmax = -a, a
        else:
            vmin, vmax = 0.0, (float(finite.max()) if finite.size and finite.max() > 0 else 0.1)
        cmap = _METRIC_CMAPS.get(met, "viridis")
        sc_ = None
        for net in _network_order(sub["network"]):
            rows = sub[sub["network"] == net]
            v = rows[met].to_numpy(dtype=float)
            ok = np.isfinite(v)
            marker = _NETWORK_MARKERS.get(net, "D")
            if ok.any():
                sc_ = ax.scatter(
                    rows["lon"].to_numpy()[ok],
                    rows["lat"].to_numpy()[ok],
                    c=v[ok],
                    cmap=cmap,
                    vmin=vmin,
                    vmax=vmax,
                    marker=marker,
                    s=70,
                    edgecolor="k",
                    linewidth=0.6,
                    zorder=3,
                )
            if (~ok).any():
                ax.scatter(
                    rows["lon"].to_numpy()[~ok],
                    rows["lat"].to_numpy()[~ok],
                    facecolor="none",
                    edgecolor="0.5",
                    marker=marker,
                    s=70,
                    linewidth=1.0,
                    zorder=3,
                )
        if sc_ is None:  # nothing to colour: still give the colour bar its scale
            sc_ = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(vmin, vmax))
        fig.colorbar(sc_, ax=ax, shrink=0.85, label=_metric_axis_label(met))
        handles = [
            Line2D(
                [],
                [],
                marker=_NETWORK_MARKERS.get(n, "D"),
                ls="",
                color="0.6",
                mec="k",
                ms=8,
                label=f"{n} ({(sub['network'] == n).sum()})",
            )
            for n in _network_order(sub["network"])
        ]
        if (~np.isfinite(vals)).any():
            handles.append(
                Line2D(
                    [], [], marker="o", ls="", mfc="none", mec="0.5", ms=8, label="no pairs (N = 0)"
                )
            )
        ax.legend(
            handles=handles,
            loc="best",
            fontsize=8,
            title="network",
            title_fontsize=8,
            framealpha=0.85,
        )
        name, _ = _METRIC_LABELS.get(met, (met, "1"))
        ax.set_title(f"{name} of {method_label(m)} against in-situ soil moisture")
        ax.set_xlabel("longitude [degrees east]")
        ax.set_ylabel("latitude [degrees north]")
        ax.set_aspect("equal", adjustable="datalim")
    return fig


def _stat_text(x: np.ndarray, y: np.ndarray) -> str:
    s = all_metrics(x, y)
    return (
        f"N = {int(s['n'])}\nR = {s['r']:.3f}\nRMSE = {s['rmse']:.3f}\n"
        f"ubRMSE = {s['ubrmse']:.3f}\nbias = {s['bias']:+.3f}"
    )


def plot_scatter(
    matched: xr.Dataset,
    methods: Sequence[str] = ("cci", "bma"),
    *,
    common: bool = True,
    monsoon: Sequence[int] = MONSOON_MONTHS,
):
    """Product against in-situ soil moisture per network, with season boxes (the paper's Fig. 8).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    methods : sequence of str, default ("cci", "bma")
        Methods (ids or paper labels), one row of panels each.
    common : bool, default True
        Use the pairs where every listed method has a value.
    monsoon : sequence of int, default (5, 6, 7, 8, 9)
        Months of the monsoon season M1; the other months are M2.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per method (rows) and network (columns): points coloured by
        season, the 1:1 line, N, R, RMSE, ubRMSE and bias (m3 m-3) in the top
        left, and in the lower right box plots (median, 25-75 %, whiskers
        5-95 %) of in-situ and product soil moisture in M1 and M2.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ids = [_pick_method(matched["method"].values, m) for m in methods]
    pred, obs = _scoring_arrays(matched, ids, common)
    nets = _network_order(np.asarray(matched["network"].values).astype(str))
    times = pd.DatetimeIndex(matched["time"].values)
    m1 = np.isin(times.month, list(monsoon))
    o_all, p_all = obs.values, pred.values
    hi = (
        np.nanpercentile(np.r_[o_all[np.isfinite(o_all)], p_all[np.isfinite(p_all)]], 99.5)
        if np.isfinite(o_all).any()
        else 0.5
    )
    hi = float(np.ceil(hi * 1.05 / 0.05) * 0.05)
    nrow, ncol = len(ids), max(len(nets), 1)
    height = 4.3 * nrow + 1.1
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, height), squeeze=False)
    # a fixed layout: constrained layout is slow with the inset axes
    fig.subplots_adjust(
        left=0.07, right=0.98, top=1 - 0.75 / height, bottom=1.0 / height, wspace=0.28, hspace=0.32
    )
    networks = np.asarray(matched["network"].values).astype(str)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for r, mid in enumerate(ids):
        for c, net in enumerate(nets):
            ax = axes[r, c]
            s = networks == net
            o = o_all[s]
            p = p_all[r][s]
            season = np.broadcast_to(m1, o.shape)
            ok = np.isfinite(o) & np.isfinite(p)
            for key, sel in (("M2", ~season), ("M1", season)):
                k = ok & sel
                ax.scatter(
                    o[k], p[k], s=9, alpha=0.45, color=_SEASON_COLOURS[key], edgecolor="none"
                )
            ax.plot([0, hi], [0, hi], color="k", lw=0.9, ls="--")
            ax.set_xlim(0, hi)
            ax.set_ylim(0, hi)
            ax.set_aspect("equal")
            ax.text(
                0.03,
                0.97,
                _stat_text(p[ok], o[ok]),
                transform=ax.transAxes,
                va="top",
                ha="left",
                fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.7"},
            )
            k = len(nets) * r + c
            ax.set_title(f"({letters[k % 26]}) {method_label(mid)} vs {net} stations")
            ax.set_xlabel("in-situ soil moisture [m3 m-3]")
            ax.set_ylabel(f"{method_label(mid)} soil moisture [m3 m-3]")
            ins = ax.inset_axes([0.64, 0.09, 0.34, 0.3])
            data = [o[ok & season], p[ok & season], o[ok & ~season], p[ok & ~season]]
            keep = [d.size > 0 for d in data]
            bp = ins.boxplot(
                [d for d, kk in zip(data, keep, strict=True) if kk],
                positions=np.array([1, 2, 3.5, 4.5])[keep],
                widths=0.7,
                whis=(5, 95),
                showfliers=False,
                patch_artist=True,
                medianprops={"color": "k"},
            )
            face = np.array(["0.85", _SEASON_COLOURS["M1"], "0.85", _SEASON_COLOURS["M2"]])[keep]
            for patch, fc in zip(bp["boxes"], face, strict=True):
                patch.set_facecolor(fc)
            ins.set_xticks([1.5, 4.0], ["M1", "M2"], fontsize=7)
            ins.set_xlim(0.3, 5.2)
            ins.tick_params(axis="y", labelsize=6)
            ins.set_facecolor((1, 1, 1, 0.9))
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            color=_SEASON_COLOURS["M1"],
            label=f"M1 monsoon (months {min(monsoon)}-{max(monsoon)})",
        ),
        Line2D([], [], marker="o", ls="", color=_SEASON_COLOURS["M2"], label="M2 rest of the year"),
        Line2D([], [], color="k", ls="--", label="1:1"),
        Patch(facecolor="0.85", edgecolor="k", label="box: in situ"),
        Patch(facecolor="white", edgecolor="k", label="coloured box: product"),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=5,
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    fig.suptitle("Products against in-situ soil moisture (boxes: median, 25-75 %, 5-95 %)")
    return fig


def plot_station_series(matched: xr.Dataset, station, methods: Sequence[str] | None = None):
    """In-situ soil moisture and every product at one station over time (the paper's Fig. 9).

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    station : str or int
        Station name, or value of the ``station`` coordinate.
    methods : sequence of str, optional
        Methods to draw (default all).

    Returns
    -------
    matplotlib.figure.Figure
        Observations as black dots, each product at the station's cadence as
        a line; the legend gives each product's R over the pairs shown.
    """
    import matplotlib.pyplot as plt

    names = np.asarray(matched["name"].values).astype(str)
    if isinstance(station, str):
        hit = np.flatnonzero(names == station)
    else:
        hit = np.flatnonzero(matched["station"].values == station)
    if hit.size != 1:
        raise KeyError(
            f"station {station!r} not found (or not unique); stations: {', '.join(names)}"
        )
    one = matched.isel(station=int(hit[0]))
    ids = (
        [str(m) for m in one["method"].values]
        if methods is None
        else [_pick_method(one["method"].values, m) for m in methods]
    )
    obs = one["obs"].values
    t = pd.DatetimeIndex(one["time"].values)
    have = np.isfinite(obs)
    fig, ax = plt.subplots(figsize=(10, 4.2), layout="constrained")
    cad = str(one["cadence"].values)
    daily = cad == "daily"
    max_gap = np.timedelta64(
        {"daily": 3, "pentad": 12}.get(cad, 25), "D"
    )  # longer gaps break lines
    for k, mid in enumerate(_method_order(ids)):
        p = one["pred"].sel({"method": mid}).values
        ok = np.isfinite(p) & have
        tt, pp = t[ok].values, p[ok]
        if tt.size > 1:  # a NaN after each long gap breaks the line there
            gap = np.flatnonzero(np.diff(tt) > max_gap) + 1
            tt = np.insert(tt, gap, tt[gap - 1] + np.timedelta64(1, "D"))
            pp = np.insert(pp, gap, np.nan)
        rr = all_metrics(p, obs)["r"]
        label = (
            f"{method_label(mid)} (R = {rr:.2f})"
            if np.isfinite(rr)
            else f"{method_label(mid)} (no pairs)"
        )
        ax.plot(
            tt,
            pp,
            lw=1.1 if daily else 1.4,
            marker=None if daily else ".",
            ms=4,
            color=f"C{k}",
            label=label,
            zorder=2,
        )
    ax.plot(t[have], obs[have], "o", ms=3 if daily else 5, color="k", label="in situ", zorder=3)
    if not have.any() or str(one["status"].values) != "ok":
        ax.text(
            0.5,
            0.5,
            f"status: {one['status'].values}",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=12,
            color="tab:red",
        )
    ax.set_ylabel("soil moisture [m3 m-3]")
    ax.set_xlabel("time")
    ax.set_title(
        f"{names[hit[0]]} ({one['network'].values}, {one['cadence'].values} observations, "
        f"lat {float(one['lat']):.2f}, lon {float(one['lon']):.2f})"
    )
    ax.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="product", title_fontsize=8
    )
    ax.grid(alpha=0.3)
    return fig


def plot_model_comparison(
    result: Mapping[str, xr.Dataset], metrics: Sequence[str] = ("r", "mae"), crop: bool = True
):
    """Map the per-pixel agreement with each reference model (the paper's Fig. 10).

    Parameters
    ----------
    result : dict of str to xarray.Dataset
        Output of :func:`compare_models`.
    metrics : sequence of str, default ("r", "mae")
        Maps to draw for each reference (R dimensionless; MAE etc. m3 m-3).
    crop : bool, default True
        Zoom each map to where the reference has values (Noah covers part of
        the domain only).

    Returns
    -------
    matplotlib.figure.Figure
        One row per reference, one column per metric, each with a colour bar.
    """
    import matplotlib.pyplot as plt

    refs = list(result)
    if not refs:
        raise ValueError("no reference in result")
    fig, axes = plt.subplots(
        len(refs),
        len(metrics),
        figsize=(5.2 * len(metrics), 4.4 * len(refs)),
        squeeze=False,
        layout="constrained",
    )
    letters = "abcdefghijklmnopqrstuvwxyz"
    for r, name in enumerate(refs):
        ds = result[name].compute()
        valid = ds["n"] > 0
        for c, met in enumerate(metrics):
            ax = axes[r, c]
            v = ds[met].where(valid)
            vals = v.values[np.isfinite(v.values)]
            if met == "r":
                vmin, vmax = (min(0.0, float(np.nanpercentile(vals, 2))) if vals.size else 0.0), 1.0
            elif met == "bias":
                a = float(np.nanpercentile(np.abs(vals), 98)) if vals.size else 0.1
                vmin, vmax = -a, a
            else:
                vmin, vmax = 0.0, (float(np.nanpercentile(vals, 98)) if vals.size else 0.1) or 0.1
            im = ax.pcolormesh(
                ds["lon"].values,
                ds["lat"].values,
                v.values,
                shading="nearest",
                cmap=_METRIC_CMAPS.get(met, "viridis"),
                vmin=vmin,
                vmax=vmax,
            )
            fig.colorbar(im, ax=ax, shrink=0.9, label=_metric_axis_label(met))
            if crop and bool(valid.any()):
                la = ds["lat"].values[valid.any("lon").values]
                lo = ds["lon"].values[valid.any("lat").values]
                dy = abs(float(np.median(np.diff(ds["lat"].values))))
                dx = abs(float(np.median(np.diff(ds["lon"].values))))
                ax.set_xlim(lo.min() - dx, lo.max() + dx)
                ax.set_ylim(la.min() - dy, la.max() + dy)
            if not bool(valid.any()):
                ax.text(0.5, 0.5, "no overlap", transform=ax.transAxes, ha="center", va="center")
            mname, _ = _METRIC_LABELS.get(met, (met, "1"))
            k = len(metrics) * r + c
            ax.set_title(
                f"({letters[k % 26]}) {mname}: {method_label(ds.attrs.get('method', ''))} vs "
                f"{name} ({ds.attrs.get('resolution', '')})",
                fontsize=10,
            )
            ax.set_xlabel("longitude [degrees east]")
            ax.set_ylabel("latitude [degrees north]")
            ax.set_aspect("equal", adjustable="box")
    fig.suptitle("Per-pixel agreement over time with model soil moisture")
    return fig
