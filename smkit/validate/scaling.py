"""Scaling a product to a reference along time: mean-std and CDF matching (pytesmo's scalers).

A product and a reference of soil moisture rarely share a climatology (a
retrieval, a model and a point probe see different depths and soils), so
products are often rescaled to the reference before their errors are
compared, as in pytesmo (``pytesmo.scaling``):

* :func:`scale_mean_std` -- ``mean_std``: ``(x - mean(x)) / sd(x) * sd(y) + mean(y)``;
* :func:`scale_cdf_match` -- ``cdf_match``: piecewise-linear matching of the
  empirical percentiles of ``x`` to those of ``y`` (100 bins, fewer when there
  are fewer than 20 pairs a bin, edges by linear regression as Moesinger et
  al. 2020), with pytesmo's percentile conventions;
* :func:`scale` and :data:`SCALERS` -- the same by name.

Each works along one dimension (``time`` by default; NumPy: ``axis=-1``) and
broadcasts the others, so a call scales every station, pixel or learner of a
product at once. The statistics use the complete pairs only (both values
finite; pytesmo's ``combine_invalid=True``), so a reference observed in some
seasons is not matched against a product's whole year; every finite value of
``x`` is then scaled. Too few pairs for a series raise an error saying how
many were found (or give NaN with ``too_few="nan"``).

Units: the scaled product is in the units of the reference (m3 m-3 for soil
moisture).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from smkit.validate.along import apply_along, enough_pairs, from_series, shared_units, to_series

__all__ = ["SCALERS", "scale", "scale_cdf_match", "scale_mean_std"]


# --------------------------------------------------------------------------- #
# NumPy kernels (time last)
# --------------------------------------------------------------------------- #
def _mean_std_kernel(x, y, *, minimum, too_few):
    x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    ok = np.isfinite(x) & np.isfinite(y)
    count = ok.sum(axis=-1)
    enough = enough_pairs(count, minimum, what="mean-std scaling", too_few=too_few)
    safe = np.where(count > 0, count, 1)
    mx, my = (np.where(ok, a, 0.0).sum(-1) / safe for a in (x, y))
    sx, sy = (np.sqrt((np.where(ok, a - m[..., None], 0.0) ** 2).sum(-1) / safe)
              for a, m in ((x, mx), (y, my)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (x - mx[..., None]) / sx[..., None] * sy[..., None] + my[..., None]
    return np.where(enough[..., None] & (sx[..., None] > 0) & np.isfinite(x), out, np.nan)


def _interp_extrap(xq, xp, fp):
    """Piecewise-linear through (xp, fp), extended linearly past both ends (a k=1 spline, ``ext=0``)."""
    out = np.interp(xq, xp, fp)
    lo, hi = xq < xp[0], xq > xp[-1]
    out = np.where(lo, fp[0] + (xq - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0]), out)
    return np.where(hi, fp[-1] + (xq - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2]), out)


def _percentile_values(sorted_data, percentiles):
    """Percentiles of sorted data (pytesmo's way) (Matlab's ranks), repeated values spread linearly."""
    size = sorted_data.size
    rank = 100.0 * (np.arange(size) + 0.5) / size
    perc = np.interp(percentiles, rank, sorted_data, left=sorted_data[0], right=sorted_data[-1])
    _, first = np.unique(perc, return_index=True)
    if first.size != len(percentiles) and first.size > 1:
        new_pct = np.asarray(percentiles, dtype=float)[first]
        new_pct[-1] = percentiles[-1]
        perc = _interp_extrap(np.asarray(percentiles, dtype=float), new_pct, perc[first])
    return perc


def _edge_slope(xs, ys):
    """Least-squares slope through the origin of two edge samples, xs resampled to len(ys)."""
    if xs.size != ys.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            xs = _percentile_values(xs, np.arange(ys.size, dtype=float) / (ys.size - 1) * 100.0)
    den = float(np.dot(xs, xs))
    return float(np.dot(xs, ys)) / den if den > 0 else 0.0


def _cdf_fit(x, y, nbins, minobs, edges):
    """Percentile values ``(x_perc, y_perc)`` of complete pairs ``x``, ``y`` (1-D)."""
    xs, ys = np.sort(x), np.sort(y)
    pct = np.arange(nbins + 1, dtype=np.float64) / nbins * 100
    if minobs is not None and x.size * np.min(np.diff(pct)) / 100 < minobs:  # fewer bins
        nbins = int(min(max(np.floor(x.size / minobs), 1), len(pct) - 1))
        pct = np.arange(nbins + 1, dtype=np.float64) / nbins * 100
    if nbins == 1 and edges:  # one bin: a linear regression of y on x
        xc = x - x.mean()
        den = float(np.dot(xc, xc))
        slope = float(np.dot(xc, y - y.mean())) / den if den > 0 else 0.0
        icpt = y.mean() - x.mean() * slope
        return np.array([0.0, 1.0]), np.array([icpt, icpt + slope])
    xp, yp = _percentile_values(xs, pct), _percentile_values(ys, pct)
    if edges:  # the outer bins of y from a regression on the outermost values (Moesinger et al. 2020)
        a = _edge_slope(xs[xs <= xp[1]] - xp[1], ys[ys <= yp[1]] - yp[1])
        yp[0] = yp[1] + a * (xp[0] - xp[1])
        a = _edge_slope(xs[xs >= xp[-2]] - xp[-2], ys[ys >= yp[-2]] - yp[-2])
        yp[-1] = yp[-2] + a * (xp[-1] - xp[-2])
    return xp, yp


def _cdf_kernel(x, y, *, nbins, minobs, edges, min_val, max_val, minimum, too_few):
    x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    shape = x.shape
    xf, yf = x.reshape(-1, shape[-1]), y.reshape(-1, shape[-1])
    ok = np.isfinite(xf) & np.isfinite(yf)
    enough = enough_pairs(ok.sum(-1), minimum, what="CDF matching", too_few=too_few)
    out = np.full(xf.shape, np.nan)
    for k in np.flatnonzero(enough):
        xp, yp = _cdf_fit(xf[k, ok[k]], yf[k, ok[k]], nbins, minobs, edges)
        if np.all(np.diff(xp) > 0):  # pytesmo gives NaN (with a warning) for a degenerate fit
            fin = np.isfinite(xf[k])
            out[k, fin] = _interp_extrap(xf[k, fin], xp, yp)
    if max_val is not None:
        out = np.where(out > max_val, max_val, out)
    if min_val is not None:
        out = np.where(out < min_val, min_val, out)
    return out.reshape(shape)


# --------------------------------------------------------------------------- #
# wrappers
# --------------------------------------------------------------------------- #
def _run(kernel, x, y, dim, axis, kw):
    """Scale on NumPy arrays (``axis``), pandas Series or DataArrays (``dim``)."""
    if isinstance(x, pd.Series) and isinstance(y, pd.Series):
        out = _run(kernel, from_series(x, "time"), from_series(y, "time"), "time", None, kw)
        return to_series(out, x)
    if isinstance(x, xr.DataArray) or isinstance(y, xr.DataArray):
        if axis is not None:
            raise TypeError("axis= is for NumPy inputs; use dim= with DataArrays")
        units = shared_units(y)
        out = apply_along(kernel, [x, y], dim, out_core_dims=[[dim]], out_dtypes=[np.float64], kwargs=kw)
        out = out.transpose(*x.dims, ...).rename(x.name)
        out.attrs = {"long_name": f"{x.attrs.get('long_name', x.name or 'product')} scaled to the reference",
                     **({"units": units} if units else {})}
        return out
    ax = -1 if axis is None else axis
    xb, yb = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    return np.moveaxis(kernel(np.moveaxis(xb, ax, -1), np.moveaxis(yb, ax, -1), **kw), -1, ax)


def scale_mean_std(x, y, dim: str = "time", *, axis: int | None = None, min_pairs: int = 2,
                   too_few: str = "raise"):
    """Scale ``x`` to the mean and standard deviation of ``y`` (pytesmo's ``mean_std``).

    ``(x - mean(x)) / sd(x) * sd(y) + mean(y)``, the means and (population,
    ``ddof=0``) standard deviations over the complete pairs along ``dim``.

    Parameters
    ----------
    x : array-like, pandas.Series or xarray.DataArray
        Product (e.g. soil moisture of any units or index).
    y : same type as ``x``
        Reference (m3 m-3); DataArrays align exactly, other dimensions broadcast.
    dim : str, default "time"
        DataArray dimension the statistics are taken along.
    axis : int, optional
        The same for NumPy inputs (default the last).
    min_pairs : int, default 2
        Complete pairs needed per series.
    too_few : {"raise", "nan"}, default "raise"
        Where a series has fewer: an error saying how many were found, or NaN.

    Returns
    -------
    Same type as ``x``
        The scaled product, in the units of ``y``; NaN where ``x`` is missing
        or constant.

    Examples
    --------
    >>> x = np.array([1.0, 2.0, 3.0, np.nan])
    >>> y = np.array([0.20, 0.30, 0.25, 0.22])
    >>> scale_mean_std(x, y).round(4).tolist()
    [0.2, 0.25, 0.3, nan]
    """
    return _run(_mean_std_kernel, x, y, dim, axis, {"minimum": int(min_pairs), "too_few": too_few})


def scale_cdf_match(x, y, dim: str = "time", *, axis: int | None = None, nbins: int = 100,
                    minobs: int | None = 20, linear_edge_scaling: bool = True, min_val: float | None = None,
                    max_val: float | None = None, min_pairs: int = 2, too_few: str = "raise"):
    """Scale ``x`` to ``y`` by matching their empirical CDFs (pytesmo's ``cdf_match``).

    The ``nbins + 1`` percentiles of ``x`` and ``y`` over their complete
    pairs (pytesmo's ranks ``(i + 0.5) / n``, repeated values spread
    linearly) define a piecewise-linear map, extended linearly beyond the
    outer percentiles; fewer bins are used when a bin would hold fewer than
    ``minobs`` pairs (one bin: a linear regression of ``y`` on ``x``), and the
    outer percentiles of ``y`` come from a regression on the values in the
    outer bins (``linear_edge_scaling``).

    Parameters
    ----------
    x, y, dim, axis
        As :func:`scale_mean_std`.
    nbins : int, default 100
        Bins of the CDFs.
    minobs : int or None, default 20
        Pairs wanted per bin (None: never fewer bins).
    linear_edge_scaling : bool, default True
        Outer percentiles of ``y`` by regression (Moesinger et al. 2020).
    min_val, max_val : float, optional
        Bounds the result is clipped to (e.g. 0 and the porosity, m3 m-3).
    min_pairs : int, default 2
        Complete pairs needed per series.
    too_few : {"raise", "nan"}, default "raise"
        As :func:`scale_mean_std`.

    Returns
    -------
    Same type as ``x``
        The scaled product, in the units of ``y``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.gamma(4.0, 0.05, 2000)
    >>> x = np.sqrt(y) + rng.normal(0, 0.01, 2000)
    >>> s = scale_cdf_match(x, y)
    >>> bool(abs(np.quantile(s, 0.9) - np.quantile(y, 0.9)) < 0.005)
    True
    """
    if int(nbins) < 1:
        raise ValueError(f"nbins must be at least 1, got {nbins}")
    kw = {"nbins": int(nbins), "minobs": minobs, "edges": bool(linear_edge_scaling), "min_val": min_val,
          "max_val": max_val, "minimum": max(int(min_pairs), 2), "too_few": too_few}
    return _run(_cdf_kernel, x, y, dim, axis, kw)


#: The scalers by name, as pytesmo's ``get_scaling_method_lut``.
SCALERS: dict[str, Callable] = {"mean_std": scale_mean_std, "cdf_match": scale_cdf_match}


def scale(x, y, method: str = "mean_std", dim: str = "time", **kwargs):
    """Scale ``x`` to ``y`` with a scaler of :data:`SCALERS` by name.

    Parameters
    ----------
    x, y, dim
        As :func:`scale_mean_std`.
    method : {"mean_std", "cdf_match"}
    **kwargs
        Options of the scaler.

    Examples
    --------
    >>> scale(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.3, 0.4])).round(3).tolist()
    [0.2, 0.3, 0.4]
    """
    try:
        func = SCALERS[method]
    except KeyError:
        raise KeyError(f"unknown scaling method {method!r}; valid methods: {', '.join(SCALERS)}") from None
    return func(x, y, dim, **kwargs)
