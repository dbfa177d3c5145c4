"""Station matching: products brought to each station's observing period at its pixel.

:func:`match_stations` pairs in-situ observations (the paper's section
4.2-4.3) with every product averaged over the station's observing period
(daily, pentad or dekad; :func:`period_bounds`, :func:`period_means`) at the
pixel holding the station, and :func:`to_pairs` tabulates the pairs. The
scores of the pairs are in :mod:`smkit.validate.scores`, the train/test
designs in :mod:`smkit.validate.splits`.

Units: soil moisture in m3 m-3 throughout.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import renamed_keywords
from smkit.core.pixels import as_product, locate, regular_axis, select_models
from smkit.core.schema import check_soil_moisture, stations_to_volumetric
from smkit.core.vocabulary import CADENCES, NETWORK_CADENCE

__all__ = [
    "StationMatchWarning", "match_stations", "period_bounds", "period_means", "station_cadences", "to_pairs",
]

_PERIOD_DAYS = {"pentad": (5, 5), "dekad": (10, 2)}  # days per period, index of the last period
_STATION_COORDS = ("name", "network", "cadence", "lat", "lon", "elevation", "land_cover")


class StationMatchWarning(UserWarning):
    """Stations that :func:`match_stations` kept but cannot score (outside, no overlap, no data)."""


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
    values : ndarray, shape (model, day, station)
        Daily values (float64) on ascending ``days``.
    days : DatetimeIndex
        Dates of ``values``.
    cadence : ndarray of str, shape (station,)
        Cadence of each station.
    out_times : DatetimeIndex
        Observation stamps; each is mapped to the period holding it.

    Returns
    -------
    ndarray, shape (model, station, time)
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
    """Values ``(model, time, k)`` at pixels ``(i[k], j[k])``; only those series are computed."""
    if i.size == 0:
        return np.empty((da.sizes["model"], da.sizes["time"], 0))
    pts = da.isel(lat=xr.DataArray(i, dims="_pt"), lon=xr.DataArray(j, dims="_pt"))
    return np.asarray(pts.transpose("model", "time", "_pt").values, dtype=np.float64)


@renamed_keywords(methods="models")
def match_stations(product, stations: xr.Dataset, *, coarse=None, models=None) -> xr.Dataset:
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
        ``sm(model, time, lat, lon)``, m3 m-3, daily, on a regular ascending
        grid (``model`` e.g. rf, mlr, svr, xgb, bma); eager or dask-backed.
    stations : xarray.Dataset
        Dims (station, time): ``sm`` (m3 m-3) and/or ``rsm`` (percent, with
        ``field_capacity`` in g g-1 and ``bulk_density`` in g cm-3); coords
        ``name``, ``network``, ``lat``, ``lon`` and ``cadence`` (one of
        :data:`smkit.core.vocabulary.CADENCES`; defaults from
        :data:`smkit.core.vocabulary.NETWORK_CADENCE` by network).
    coarse : xarray.Dataset, optional
        Coarse retrieval ``sm(time, lat, lon)`` (m3 m-3); adds a model
        ``"cci"`` from the coarse cell holding each station, averaged over the
        same periods and over the product's days only (all models see the
        same days).
    models : sequence of str, optional
        Product models to keep (default all).

    Returns
    -------
    xarray.Dataset
        Dims (model, station, time), ``time`` restricted to the stamps where
        at least one station has an observation whose period overlaps the
        product's days:

        - ``obs(station, time)``: in-situ soil moisture, m3 m-3 (NaN where the
          station has no observation at that stamp);
        - ``pred(model, station, time)``: period-mean product, m3 m-3, NaN
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
    >>> prod = sc.truth["sm"].expand_dims(model=["truth"]).to_dataset(name="sm")
    >>> m = match_stations(prod, sc.stations, coarse=sc.coarse)
    >>> [str(v) for v in m["model"].values], sorted(set(m["status"].values))
    (['cci', 'truth'], ['ok'])
    >>> round(float(m["obs"].isel(station=2).mean()), 3)  # a station's observations, m3 m-3
    0.142
    """
    sm = select_models(as_product(product), models)
    check_soil_moisture(sm, "product", check_values=False)  # units; its values are the user's to score
    st = _volumetric_stations(stations)
    check_soil_moisture(st["sm"], "stations")
    cadence = station_cadences(st)
    slat = np.asarray(st["lat"].values, dtype=np.float64)
    slon = np.asarray(st["lon"].values, dtype=np.float64)
    days = _daily_index(sm, "product")
    if len(days) == 0:
        raise ValueError("the product has no time steps")
    out_times, obs = _overlapping_observations(st, cadence, days[0], days[-1])
    prod_methods = [str(m) for m in sm["model"].values]
    i, j, pred = _pixel_means(sm, "product", slat, slon, days, cadence, out_times)
    pixel = _matched_centres(sm, i, j, "pixel", "centre of the matched product pixel")
    all_methods, cell = prod_methods, {}
    if coarse is not None:
        if "cci" in prod_methods:
            raise ValueError(
                "the product already has a model 'cci'; rename it or do not pass coarse="
            )
        cpred, cell = _coarse_means(coarse, slat, slon, days, cadence, out_times)
        check_soil_moisture(coarse["sm"], "coarse", check_values=False)
        pred = np.concatenate([cpred, pred], axis=0)
        all_methods = ["cci", *prod_methods]
    pred = np.where(np.isfinite(obs)[None], pred, np.nan)
    status = _match_status((i >= 0) & (j >= 0), obs, pred[len(all_methods) - len(prod_methods) :])
    _warn_unscored(status, st, cadence, sm, days)
    return _matched_dataset(st, obs, pred, all_methods, out_times, cadence=cadence, status=status,
                            pixel=pixel, cell=cell, period=f"{days[0].date()} to {days[-1].date()}")


def _volumetric_stations(stations) -> xr.Dataset:
    """Stations checked for the coordinates matching needs, ``rsm`` converted, dims (station, time)."""
    if not isinstance(stations, xr.Dataset):
        raise TypeError("stations must be an xarray Dataset with dims (station, time)")
    missing = [c for c in ("name", "network", "lat", "lon") if c not in stations.variables]
    if missing:
        raise ValueError(f"stations lack coordinate(s) {missing} along 'station'")
    return stations_to_volumetric(stations).transpose("station", "time")


def _overlapping_observations(
    st: xr.Dataset, cadence: np.ndarray, first: pd.Timestamp, last: pd.Timestamp
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The stamps and values ``(station, time)`` of observations whose period overlaps first..last."""
    st_times = pd.DatetimeIndex(st["time"].values)
    obs_all = np.asarray(st["sm"].values, dtype=np.float64)
    keep = np.zeros_like(obs_all, dtype=bool)
    for cad in np.unique(cadence):
        s0, s1 = period_bounds(st_times, str(cad))
        overlap = np.asarray((s0 <= last) & (s1 >= first))
        rows = cadence == cad
        keep[rows] = np.isfinite(obs_all[rows]) & overlap[None, :]
    tkeep = keep.any(axis=0)
    return st_times[tkeep], np.where(keep[:, tkeep], obs_all[:, tkeep], np.nan)


def _pixel_means(da: xr.DataArray, what: str, slat, slon, days, cadence, out_times):
    """The cell of each station on the grid of ``da`` and the period means of ``da`` there.

    Only the station pixels are read. Returns the cell indices ``i`` and ``j``
    (-1 outside) and the means ``(model, station, time)``, NaN outside.
    """
    i = locate(da["lat"].values, slat, f"{what} latitude")
    j = locate(da["lon"].values, slon, f"{what} longitude")
    idx = np.flatnonzero((i >= 0) & (j >= 0))
    pred = np.full((da.sizes["model"], slat.size, len(out_times)), np.nan)
    pred[:, idx, :] = period_means(_pixel_series(da, i[idx], j[idx]), days, cadence[idx], out_times)
    return i, j, pred


def _coarse_means(coarse, slat, slon, days, cadence, out_times) -> tuple[np.ndarray, dict]:
    """Model ``cci``: the coarse cell of each station averaged like the product, on its days only.

    Returns the means ``(1, station, time)`` and the coordinates ``cell_lat``, ``cell_lon``.
    """
    csm = coarse["sm"] if isinstance(coarse, xr.Dataset) else coarse
    if set(csm.dims) != {"time", "lat", "lon"}:
        raise ValueError(f"coarse sm must have dims (time, lat, lon); got {csm.dims}")
    csm = csm.transpose("time", "lat", "lon").expand_dims(model=["cci"])
    cdays = _daily_index(csm, "coarse")
    on_days = np.asarray(cdays.isin(days))
    csm = csm.isel(time=np.flatnonzero(on_days))
    ci, cj, cpred = _pixel_means(csm, "coarse", slat, slon, cdays[on_days], cadence, out_times)
    return cpred, _matched_centres(csm, ci, cj, "cell", "centre of the matched coarse cell")


def _matched_centres(da: xr.DataArray, i: np.ndarray, j: np.ndarray, prefix: str, long_name: str) -> dict:
    """Coordinates ``<prefix>_lat``, ``<prefix>_lon`` (degrees) of the matched cells, NaN outside."""
    ok = (i >= 0) & (j >= 0)
    lat = np.where(ok, np.asarray(da["lat"].values)[np.maximum(i, 0)], np.nan)
    lon = np.where(ok, np.asarray(da["lon"].values)[np.maximum(j, 0)], np.nan)
    return {
        f"{prefix}_lat": ("station", lat, {"long_name": long_name, "units": "degrees_north"}),
        f"{prefix}_lon": ("station", lon, {"long_name": long_name, "units": "degrees_east"}),
    }


def _match_status(inside: np.ndarray, obs: np.ndarray, product_pred: np.ndarray) -> np.ndarray:
    """Status of each station: ok, outside grid, no overlap or no product data."""
    has_obs = np.isfinite(obs).any(axis=1)
    has_pred = np.isfinite(product_pred).any(axis=(0, 2))
    return np.where(
        ~inside,
        "outside grid",
        np.where(~has_obs, "no overlap", np.where(~has_pred, "no product data", "ok")),
    )


def _warn_unscored(status: np.ndarray, st: xr.Dataset, cadence, sm: xr.DataArray, days) -> None:
    """One :class:`StationMatchWarning` naming every station whose status is not ok, and why."""
    bad = np.flatnonzero(status != "ok")
    if not bad.size:
        return
    names = np.asarray(st["name"].values).astype(str)
    slat = np.asarray(st["lat"].values, dtype=np.float64)
    slon = np.asarray(st["lon"].values, dtype=np.float64)
    first, last = days[0], days[-1]
    g_lat, g_lon = np.asarray(sm["lat"].values), np.asarray(sm["lon"].values)
    _, rlat = regular_axis(g_lat, "product latitude")
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
        f"match_stations: {bad.size} of {status.size} station(s) cannot be scored (their metrics "
        f"are NaN with N = 0): {listed}",
        StationMatchWarning,
        stacklevel=3,  # the caller of match_stations
    )


def _matched_dataset(st, obs, pred, models, out_times, *, cadence, status, pixel, cell,
                     period: str) -> xr.Dataset:
    """The result of :func:`match_stations`: ``obs``, ``pred`` and the station coordinates."""
    coords = {
        "model": ("model", np.array(models, dtype=object)),
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
        **pixel,
        "status": ("station", status.astype(object), {"long_name": "matching status"}),
        **cell,
    }
    for c in _STATION_COORDS:
        if c in st.variables and c not in coords:
            coords[c] = ("station", st[c].values, dict(st[c].attrs))
    return xr.Dataset(
        {
            "obs": (("station", "time"), obs, {"long_name": "in-situ soil moisture", "units": "m3 m-3"}),
            "pred": (
                ("model", "station", "time"),
                pred,
                {"long_name": "product soil moisture averaged over the observing period", "units": "m3 m-3"},
            ),
        },
        coords=coords,
        attrs={
            "product_period": period,
            "matching": "pixel holding the station; NaN-aware mean over the observing period",
        },
    )


def to_pairs(matched: xr.Dataset, *, complete: bool = False) -> pd.DataFrame:
    """Tabulate matched pairs tidily, one row per station observation.

    Parameters
    ----------
    matched : xarray.Dataset
        Output of :func:`match_stations`.
    complete : bool, default False
        Keep only rows where every model has a value (what a BMA fit needs).

    Returns
    -------
    pandas.DataFrame
        Columns ``station``, ``name``, ``network``, ``time``, ``obs`` (m3 m-3)
        and one column per model (m3 m-3), in the order of ``matched.model``;
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
    pred = matched["pred"].transpose("model", "station", "time").values
    for k, m in enumerate(matched["model"].values):
        df[str(m)] = pred[k, s, t]
    if complete:
        df = df[np.isfinite(df[[str(m) for m in matched["model"].values]].to_numpy()).all(axis=1)]
    return df.reset_index(drop=True)
