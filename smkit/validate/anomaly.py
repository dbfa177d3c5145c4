"""Anomalies of soil-moisture series: a day-of-year climatology or a moving mean removed, and their R.

The semantics are pytesmo's (``pytesmo.time_series.anomaly``), for station
series (a pandas Series, or a DataArray ``(station, time)``) and per-pixel
series (``(time, lat, lon)``, any other dimension broadcast):

* :func:`moving_mean` -- pytesmo's ``moving_average``: at each time the mean of
  the finite values within +- ``window / 2`` days (a 35-day window spans 35
  daily values), on the actual dates, so pentad, dekad or gappy series need no
  regular axis;
* :func:`climatology` -- ``calc_climatology``: the series smoothed over
  ``moving_avg_orig`` days, averaged per day of year (366 slots), and the
  result smoothed over ``moving_avg_clim`` days around the year (wrapped);
* :func:`anomalies` -- ``calc_anomaly``: the series minus its climatology
  (looked up by day of year), or minus its ``window``-day moving mean
  (``climatology="moving"``, pytesmo's short-term anomalies);
* :func:`anomaly_r` -- Pearson R of the anomalies of a product and a
  reference, each from its own climatology;
* :func:`day_of_year` -- the slot (1-366) of each date.

Days of year: with ``respect_leap_years=False`` (pytesmo's default for the
climatology) a date's slot is its day in a leap year, so 1 March is slot 61 in
every year and 29 February has slot 60 of its own. With True it is the
calendar's day of the year (1 March is 60 in 2009, 61 in 2008). pytesmo's
``calc_anomaly`` looks its climatology up with True by default even though
``calc_climatology`` builds it with False, which shifts March to December of
non-leap years by one day; here :func:`anomalies` uses the numbering the
climatology was built with (recorded in its attributes) unless told otherwise,
and ``respect_leap_years=True`` reproduces pytesmo's default lookup.

Not carried over from pytesmo: the ``std``, ``timespan`` (select the period
first), ``interpolate_leapday`` and monthly (``output_freq="month"``) options.

NaN steps count as steps: with ``fillna=True`` (pytesmo's default) the first
smoothing also fills them from their neighbours, so a station series on a
daily axis shared with other stations gets its climatology from a gap-filled
series; pass ``fillna=False`` to use only the observed steps.

Units: anomalies and climatologies in the units of the input (m3 m-3 for soil
moisture); R dimensionless.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from smkit.validate.along import apply_along, from_series, to_series
from smkit.validate.metrics import r

__all__ = ["DAYS", "anomalies", "anomaly_r", "climatology", "day_of_year", "moving_mean"]

#: Slots of a daily climatology (a leap year's days).
DAYS = 366
_DOY = "dayofyear"
_NS_PER_DAY = 86_400_000_000_000


def day_of_year(times, respect_leap_years: bool = False) -> np.ndarray:
    """The climatology slot (1-366) of each date.

    Parameters
    ----------
    times : array-like of datetime64
    respect_leap_years : bool, default False
        False: the date's day in a leap year (1 March is always 61); True:
        the calendar's day of the year (pandas' ``day_of_year``).

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> day_of_year(["2009-02-28", "2009-03-01", "2008-03-01"]).tolist()
    [59, 61, 61]
    >>> day_of_year(["2009-02-28", "2009-03-01", "2008-03-01"], respect_leap_years=True).tolist()
    [59, 60, 61]
    """
    t = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"))
    doy = np.asarray(t.day_of_year, dtype=np.int64)
    if not respect_leap_years:
        doy = doy + (~np.asarray(t.is_leap_year) & (np.asarray(t.month) > 2))
    return doy


# --------------------------------------------------------------------------- #
# NumPy kernels (time last)
# --------------------------------------------------------------------------- #
def _boxcar(v: np.ndarray, days: np.ndarray, window: float, fillna: bool, min_obs: int) -> np.ndarray:
    """Boxcar filter (pytesmo's) along the last axis: means of the finite values within +- window / 2 days."""
    v = np.asarray(v, dtype=np.float64)
    half = float(window) / 2.0
    lo = np.searchsorted(days, days - half, side="left")
    hi = np.searchsorted(days, days + half, side="right")
    ok = np.isfinite(v)
    pad = np.zeros(v.shape[:-1] + (1,))
    sums = np.concatenate([pad, np.cumsum(np.where(ok, v, 0.0), axis=-1)], axis=-1)
    counts = np.concatenate([pad, np.cumsum(ok, axis=-1, dtype=np.float64)], axis=-1)
    s = sums[..., hi] - sums[..., lo]
    k = counts[..., hi] - counts[..., lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(k >= min_obs, s / np.where(k > 0, k, 1.0), np.nan)
    return out if fillna else np.where(ok, out, np.nan)


def _slot_stat(v: np.ndarray, slots: np.ndarray, median: bool) -> np.ndarray:
    """Mean (or median) of the finite values of each day-of-year slot along the last axis -> (..., 366)."""
    ok = np.isfinite(v)
    if median:
        out = np.full(v.shape[:-1] + (DAYS,), np.nan)
        for s in np.unique(slots):
            sel = v[..., slots == s]
            with np.errstate(invalid="ignore"):
                has = np.isfinite(sel).any(axis=-1)
                med = np.nanmedian(np.where(has[..., None], sel, 0.0), axis=-1)
                out[..., s - 1] = np.where(has, med, np.nan)
        return out
    onehot = (slots[:, None] == np.arange(1, DAYS + 1)[None, :]).astype(np.float64)
    sums = np.where(ok, v, 0.0) @ onehot
    counts = ok.astype(np.float64) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1.0), np.nan)


def _climatology_kernel(v, *, days, slots, moving_avg_orig, moving_avg_clim, median, fillna, min_obs_orig,
                        min_obs_clim, wraparound, fill):
    smooth = _boxcar(v, days, moving_avg_orig, fillna, min_obs_orig)
    clim = _slot_stat(smooth, slots, median)
    w = int(moving_avg_clim)
    if wraparound:  # pytesmo's mirrors: the last w slots before the year, the first w after
        padded = np.concatenate([clim[..., -w:], clim, clim[..., :w]], axis=-1)
        index = np.arange(padded.shape[-1], dtype=np.float64)
        clim = _boxcar(padded, index, w, fillna, min_obs_clim)[..., w:padded.shape[-1] - w]
    else:
        clim = _boxcar(clim, np.arange(1.0, DAYS + 1), w, fillna, min_obs_clim)
    return np.where(np.isfinite(clim), clim, fill)


def _lookup_kernel(v, clim, *, slots):
    return np.asarray(v, np.float64) - np.asarray(clim, np.float64)[..., slots - 1]


def _moving_anomaly_kernel(v, *, days, window, min_obs):
    return np.asarray(v, np.float64) - _boxcar(v, days, window, False, min_obs)


# --------------------------------------------------------------------------- #
# xarray / pandas wrappers
# --------------------------------------------------------------------------- #
def _series_in(x, dim: str):
    """``(DataArray, the Series it came from or None, days as float)``, checked."""
    src = x if isinstance(x, pd.Series) else None
    if src is not None:
        x = from_series(src, dim)
    if not isinstance(x, xr.DataArray):
        raise TypeError(f"expected an xarray.DataArray or a pandas Series with a DatetimeIndex, "
                        f"got {type(x).__name__}")
    if dim not in x.dims:
        raise ValueError(f"{x.name or 'the input'} has no dimension {dim!r} (its dimensions: {x.dims}); "
                         "name its time dimension with dim=")
    if not np.issubdtype(x[dim].dtype, np.datetime64):
        raise TypeError(f"the {dim!r} coordinate must hold dates (datetime64), got {x[dim].dtype}")
    t = np.asarray(x[dim].values, dtype="datetime64[ns]")
    if np.isnat(t).any():
        raise ValueError(f"the {dim!r} coordinate has missing dates (NaT); drop them first")
    days = t.astype(np.int64) / _NS_PER_DAY
    if np.any(np.diff(days) < 0):
        raise ValueError(f"the {dim!r} coordinate is not in ascending order; sort it first: "
                         f"x.sortby({dim!r})")
    return x, src, days


def _with_attrs(out: xr.DataArray, x: xr.DataArray, name: str, long_name: str) -> xr.DataArray:
    out = out.rename(name)
    out.attrs = {"long_name": long_name, **({"units": x.attrs["units"]} if "units" in x.attrs else {})}
    return out


def moving_mean(x, window: float = 35, *, dim: str = "time", fillna: bool = False, min_obs: int = 1):
    """The centred moving mean of a series on its dates (pytesmo's ``moving_average``).

    Parameters
    ----------
    x : xarray.DataArray or pandas.Series
        Series along ``dim`` (dates, ascending; other dimensions broadcast),
        or a Series with a DatetimeIndex.
    window : float, default 35
        Window, days: the mean of the finite values within +- ``window / 2``
        days of each date.
    dim : str, default "time"
    fillna : bool, default False
        Also give a mean at steps whose own value is missing.
    min_obs : int, default 1
        Finite values needed in a window.

    Returns
    -------
    xarray.DataArray or pandas.Series
        Like ``x``, in its units.

    Examples
    --------
    >>> s = pd.Series([0.1, 0.2, np.nan, 0.4], index=pd.date_range("2009-06-01", periods=4))
    >>> moving_mean(s, 3).round(3).tolist()
    [0.15, 0.15, nan, 0.4]
    """
    if int(min_obs) < 1:
        raise ValueError(f"min_obs must be at least 1, got {min_obs}")
    da, src, days = _series_in(x, dim)
    out = apply_along(lambda v: _boxcar(v, days, window, fillna, int(min_obs)), [da], dim,
                      out_core_dims=[[dim]], out_dtypes=[np.float64]).transpose(*da.dims)
    out = _with_attrs(out, da, da.name or "moving_mean", f"{window}-day moving mean")
    return to_series(out, src) if src is not None else out


def climatology(x, *, dim: str = "time", moving_avg_orig: float = 5, moving_avg_clim: int = 35,
                median: bool = False, respect_leap_years: bool = False, fillna: bool = True,
                min_obs_orig: int = 1, min_obs_clim: int = 1, wraparound: bool = True, fill: float = np.nan):
    """Day-of-year climatology of a series (pytesmo's ``calc_climatology``, daily output).

    The series is smoothed with :func:`moving_mean` over ``moving_avg_orig``
    days, averaged (or its median taken) per day-of-year slot, and the 366
    slots smoothed over ``moving_avg_clim`` days, wrapping around the year.

    Parameters
    ----------
    x : xarray.DataArray or pandas.Series
        Series along ``dim`` (per station or per pixel), dates ascending.
    dim : str, default "time"
    moving_avg_orig : float, default 5
        First smoothing, days (gap filling, short events).
    moving_avg_clim : int, default 35
        Smoothing of the climatology, days (slots).
    median : bool, default False
        Slot medians instead of means.
    respect_leap_years : bool, default False
        Slot numbering (see :func:`day_of_year`).
    fillna : bool, default True
        Let both smoothings fill missing steps and empty slots.
    min_obs_orig, min_obs_clim : int, default 1
        Finite values needed in a window of each smoothing.
    wraparound : bool, default True
        Smooth across the turn of the year.
    fill : float, default NaN
        Value of slots left without a climatology.

    Returns
    -------
    xarray.DataArray or pandas.Series
        ``dim`` replaced by ``dayofyear`` (1-366), in the units of ``x``; a
        Series indexed 1-366 for a Series. The attribute
        ``respect_leap_years`` (0 or 1) records the numbering for
        :func:`anomalies`.

    Examples
    --------
    >>> t = pd.date_range("2008-01-01", "2010-12-31")
    >>> s = pd.Series(0.25 + 0.05 * np.sin(2 * np.pi * t.day_of_year / 366), index=t)
    >>> c = climatology(s)
    >>> len(c), round(float(c.loc[92]), 3)
    (366, 0.299)
    """
    da, src, _ = _series_in(x, dim)
    out = _climatology(da, dim, moving_avg_orig=moving_avg_orig, moving_avg_clim=moving_avg_clim,
                       median=median, respect_leap_years=respect_leap_years, fillna=fillna,
                       min_obs_orig=min_obs_orig, min_obs_clim=min_obs_clim, wraparound=wraparound, fill=fill)
    if src is not None:
        return pd.Series(out.values, index=pd.Index(out[_DOY].values, name=_DOY), name="climatology")
    return out


def _climatology(da: xr.DataArray, dim: str, *, moving_avg_orig: float = 5, moving_avg_clim: int = 35,
                 median: bool = False, respect_leap_years: bool = False, fillna: bool = True,
                 min_obs_orig: int = 1, min_obs_clim: int = 1, wraparound: bool = True,
                 fill: float = np.nan) -> xr.DataArray:
    """:func:`climatology` of a checked DataArray."""
    _, _, days = _series_in(da, dim)
    for name, v in (("min_obs_orig", min_obs_orig), ("min_obs_clim", min_obs_clim)):
        if int(v) < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")
    if not 1 <= int(moving_avg_clim) <= DAYS or int(moving_avg_clim) != moving_avg_clim:
        raise ValueError(f"moving_avg_clim is a whole number of days in 1..{DAYS}, got {moving_avg_clim!r}")
    kw = {"days": days, "slots": day_of_year(da[dim].values, respect_leap_years),
          "moving_avg_orig": moving_avg_orig, "moving_avg_clim": int(moving_avg_clim), "median": median,
          "fillna": fillna, "min_obs_orig": int(min_obs_orig), "min_obs_clim": int(min_obs_clim),
          "wraparound": wraparound, "fill": fill}
    out = apply_along(_climatology_kernel, [da], dim, out_core_dims=[[_DOY]], out_dtypes=[np.float64],
                      out_sizes={_DOY: DAYS}, kwargs=kw)
    out = _with_attrs(out.assign_coords({_DOY: np.arange(1, DAYS + 1)}), da, "climatology",
                      "day-of-year climatology")
    out.attrs["respect_leap_years"] = int(bool(respect_leap_years))
    return out


def _clim_array(clim, like: xr.DataArray) -> xr.DataArray:
    if isinstance(clim, pd.Series):
        if len(clim) != DAYS:
            raise ValueError(f"a climatology Series needs {DAYS} values indexed 1..{DAYS}, got {len(clim)}")
        clim = xr.DataArray(np.asarray(clim.reindex(range(1, DAYS + 1)).to_numpy(), np.float64), dims=_DOY,
                            coords={_DOY: np.arange(1, DAYS + 1)}, attrs=getattr(clim, "attrs", {}))
    if not isinstance(clim, xr.DataArray) or _DOY not in clim.dims or clim.sizes[_DOY] != DAYS:
        raise ValueError(f"climatology must be 'doy', 'moving' or the output of climatology() (a "
                         f"'{_DOY}' dimension of {DAYS} slots); got {type(clim).__name__}")
    return clim


def anomalies(x, climatology="doy", *, dim: str = "time", window: float = 35,
              respect_leap_years: bool | None = None, min_obs: int = 1, **clim_kwargs):
    """The series minus its climatology (pytesmo's ``calc_anomaly``).

    Parameters
    ----------
    x : xarray.DataArray or pandas.Series
        Series along ``dim`` (per station or per pixel), dates ascending.
    climatology : {"doy", "moving"} or xarray.DataArray or pandas.Series, default "doy"
        ``"doy"``: the day-of-year :func:`climatology` of ``x`` itself
        (``clim_kwargs`` passed on); ``"moving"``: its ``window``-day
        :func:`moving_mean` (pytesmo's ``calc_anomaly`` without a
        climatology); or a climatology from :func:`climatology` (other
        dimensions aligned with ``x``'s).
    dim : str, default "time"
    window : float, default 35
        Days of the moving mean (``"moving"`` only).
    respect_leap_years : bool, optional
        Slot lookup (see :func:`day_of_year`); default the numbering the
        climatology was built with. True reproduces pytesmo's default lookup.
    min_obs : int, default 1
        Finite values needed in a moving-mean window (``"moving"`` only).
    **clim_kwargs
        Options of :func:`climatology` (``"doy"`` only).

    Returns
    -------
    xarray.DataArray or pandas.Series
        Like ``x``, in its units.

    Examples
    --------
    >>> t = pd.date_range("2008-01-01", "2010-12-31")
    >>> wave = 0.05 * np.sin(2 * np.pi * t.day_of_year / 366)
    >>> s = pd.Series(0.25 + wave + 0.01 * np.cos(np.arange(t.size)), index=t)
    >>> a = anomalies(s)
    >>> bool(abs(a).max() < 0.02 < abs(s - s.mean()).max())
    True
    """
    da, src, days = _series_in(x, dim)
    if isinstance(climatology, str) and climatology == "moving":
        out = apply_along(_moving_anomaly_kernel, [da], dim, out_core_dims=[[dim]], out_dtypes=[np.float64],
                          kwargs={"days": days, "window": window, "min_obs": int(min_obs)})
    else:
        if isinstance(climatology, str) and climatology == "doy":
            clim = _climatology(da, dim, **clim_kwargs)
        elif clim_kwargs:
            raise TypeError(f"options {sorted(clim_kwargs)} are for climatology='doy'")
        else:
            clim = _clim_array(climatology, da)
        leap = (bool(clim.attrs.get("respect_leap_years", 0)) if respect_leap_years is None
                else respect_leap_years)
        out = apply_along(_lookup_kernel, [da, clim], [[dim], [_DOY]], out_core_dims=[[dim]],
                          out_dtypes=[np.float64], kwargs={"slots": day_of_year(da[dim].values, leap)})
    out = _with_attrs(out.transpose(*da.dims, ...), da, da.name or "anomaly", "anomaly")
    return to_series(out, src) if src is not None else out


def anomaly_r(x, y, *, dim: str = "time", climatology="doy", common: bool = True, **kwargs):
    """Pearson R of the anomalies of a product and a reference along ``dim``.

    Parameters
    ----------
    x : xarray.DataArray or pandas.Series
        Product along ``dim`` (other dimensions, e.g. stations, pixels or a
        learner dimension, broadcast).
    y : xarray.DataArray or pandas.Series
        Reference, the same type, aligned with ``x``.
    dim : str, default "time"
    climatology : {"doy", "moving"}, default "doy"
        Each series' own day-of-year climatology removed, or its moving mean
        (see :func:`anomalies`).
    common : bool, default True
        Compute the climatologies on the complete pairs only (where both
        have a value), so a reference observed in some seasons is not matched
        against a product's whole-year climatology; False uses every value
        of each series (pytesmo's validation framework does).
    **kwargs
        Options of :func:`anomalies` (``window``, ``moving_avg_clim``, ...).

    Returns
    -------
    xarray.DataArray or float
        R (1), ``dim`` removed; a float for Series.

    Examples
    --------
    >>> t = pd.date_range("2008-01-01", "2010-12-31")
    >>> rng = np.random.default_rng(0)
    >>> season = 0.05 * np.sin(2 * np.pi * t.day_of_year / 366)
    >>> events = pd.Series(rng.normal(0, 0.02, t.size), index=t).rolling(5, min_periods=1).mean()
    >>> obs = 0.25 + season + events
    >>> prod = 0.20 + 1.5 * season + events + rng.normal(0, 0.005, t.size)
    >>> round(anomaly_r(prod, obs), 2)
    0.86
    """
    series = isinstance(x, pd.Series)
    if series != isinstance(y, pd.Series):
        raise TypeError("x and y must both be pandas Series or both xarray.DataArray")
    if series:
        x, y = (from_series(s, dim) for s in (x, y))
    try:
        x, y = xr.align(x, y, join="exact")
    except ValueError as err:
        raise ValueError(f"x and y do not share their coordinates; select a common period first ({err})") \
            from err
    if common:
        both = x.notnull() & y.notnull()
        x, y = x.where(both), y.where(both)
    ax, ay = (anomalies(v, climatology, dim=dim, **kwargs) for v in (x, y))
    out = r(ax, ay, dim=dim)
    return float(out) if series else out.rename("anomaly_r")
