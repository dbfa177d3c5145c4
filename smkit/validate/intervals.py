"""Confidence intervals of R, RMSE, ubRMSE and bias: analytic (as pytesmo's) and bootstrapped.

Each interval function returns the score, its lower and upper bound and the
number of complete pairs ``n`` (a pair counts when both values are finite):

* :func:`r_interval` -- Fisher z, ``tanh(atanh(r) -+ z_q / sqrt(n - 3))``
  (pytesmo's ``pearson_r_ci``);
* :func:`ubrmse_interval` -- chi-square with ``n - 1`` degrees of freedom,
  ``ubRMSE sqrt(n / chi2_q(n - 1))`` (pytesmo's ``ubrmsd_ci``);
* :func:`rmse_interval` -- chi-square with ``n`` degrees of freedom,
  ``RMSE sqrt(n / chi2_q(n))`` (pytesmo has none);
* :func:`bias_interval` -- Student t, ``bias -+ t_q(n - 1) sd(d) / sqrt(n)``
  (pytesmo's ``bias_ci``);
* :func:`bootstrap_interval` -- percentile or basic bootstrap of any metric of
  :data:`smkit.validate.metrics.METRICS` over blocks of ``block`` steps
  (``block=1``: pytesmo's i.i.d. ``with_bootstrapped_ci``).

``level`` is the two-sided coverage (0.9 by default, as the intervals of
:mod:`smkit.validate.skill`; pytesmo's ``alpha`` is ``1 - level``). The
analytic intervals assume independent pairs with normal differences; RMSE's is
exact for differences without bias and conservative (wider) with one. Soil
moisture and its errors persist for weeks, so the analytic intervals of a daily
series are too narrow: prefer :func:`bootstrap_interval` with ``block`` of a few
weeks (``block=30`` for daily data, as :func:`smkit.validate.skill.station_scores`).

Units: RMSE, ubRMSE and bias and their bounds in the units of the inputs
(m3 m-3 for soil moisture); R and ``n`` dimensionless.

The kernels reduce NumPy axes with the metric functions of
:mod:`smkit.validate.metrics`; DataArrays go through
:func:`smkit.validate.along.apply_along`, every dimension not reduced being
broadcast (stations, pixels, a product's learner dimension).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import xarray as xr
from scipy import stats

from smkit.validate.along import apply_along, enough_pairs, shared_units
from smkit.validate.metrics import bias, get_metric, n, r, rmse, ubrmse
from smkit.validate.skill import block_resamples

__all__ = [
    "BOOTSTRAP_METHODS", "bias_interval", "bootstrap_interval", "r_interval", "rmse_interval",
    "ubrmse_interval",
]

#: How :func:`bootstrap_interval` turns resampled scores into bounds.
BOOTSTRAP_METHODS = ("percentile", "basic")
_LONG = {"r": "Pearson correlation coefficient", "rmse": "root-mean-square error",
         "ubrmse": "unbiased root-mean-square error", "bias": "mean bias (product - reference)"}


def _tail(level: float) -> float:
    """``alpha / 2`` of a two-sided interval of coverage ``level``."""
    if not 0 < float(level) < 1:
        raise ValueError(f"level is the interval's coverage, between 0 and 1 (e.g. 0.9); got {level!r}")
    return (1 - float(level)) / 2


def _floor(min_pairs: int | None, formula: int, what: str) -> int:
    if min_pairs is None:
        return formula
    if int(min_pairs) < formula:
        raise ValueError(f"{what} needs at least {formula} pairs by its formula; "
                         f"min_pairs={min_pairs} is fewer")
    return int(min_pairs)


def _r_bounds(x, y, axis, level, minimum, too_few, skipna):
    value = np.asarray(r(x, y, axis=axis, skipna=skipna), dtype=np.float64)
    count = np.asarray(n(x, y, axis=axis))
    ok = enough_pairs(count, minimum, what="the Fisher-z interval of R", too_few=too_few)
    half = stats.norm.ppf(1 - _tail(level)) / np.sqrt(np.where(ok, count - 3, 1))
    z = np.arctanh(value)
    lo, hi = (np.where(ok, np.tanh(z + s * half), np.nan) for s in (-1, 1))
    return np.where(ok, value, np.nan), lo, hi, count


def _chi2_bounds(value, count, dof, level, ok):
    """Bounds of a root-mean-square ``value`` whose ``count * value**2 / sigma**2`` is chi-square(dof)."""
    a = _tail(level)
    d = np.where(ok, dof, 1)
    lo = value * np.sqrt(count / stats.chi2.ppf(1 - a, d))
    hi = value * np.sqrt(count / stats.chi2.ppf(a, d))
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def _rmse_bounds(x, y, axis, level, minimum, too_few, skipna):
    value = np.asarray(rmse(x, y, axis=axis, skipna=skipna), dtype=np.float64)
    count = np.asarray(n(x, y, axis=axis))
    ok = enough_pairs(count, minimum, what="the chi-square interval of RMSE", too_few=too_few)
    return (np.where(ok, value, np.nan), *_chi2_bounds(value, count, count, level, ok), count)


def _ubrmse_bounds(x, y, axis, level, minimum, too_few, skipna):
    value = np.asarray(ubrmse(x, y, axis=axis, skipna=skipna), dtype=np.float64)
    count = np.asarray(n(x, y, axis=axis))
    ok = enough_pairs(count, minimum, what="the chi-square interval of ubRMSE", too_few=too_few)
    return (np.where(ok, value, np.nan), *_chi2_bounds(value, count, count - 1, level, ok), count)


def _bias_bounds(x, y, axis, level, minimum, too_few, skipna):
    value = np.asarray(bias(x, y, axis=axis, skipna=skipna), dtype=np.float64)
    count = np.asarray(n(x, y, axis=axis))
    ok = enough_pairs(count, minimum, what="the t interval of the bias", too_few=too_few)
    safe = np.where(ok, count, 2)
    sd = np.asarray(ubrmse(x, y, axis=axis, skipna=skipna)) * np.sqrt(safe / (safe - 1))  # ddof=1
    half = stats.t.ppf(1 - _tail(level), safe - 1) * sd / np.sqrt(safe)
    lo, hi = value - half, value + half
    return (*(np.where(ok, v, np.nan) for v in (value, lo, hi)), count)


def _reduced(x, y, dim) -> list:
    present = list(x.dims) + [d for d in y.dims if d not in x.dims]
    if dim is None:
        return present
    return [dim] if isinstance(dim, str) or not isinstance(dim, Iterable) else list(dim)


def _interval(name, kernel, x, y, dim, axis, level, minimum, too_few, skipna):
    """Run a bounds kernel on NumPy arrays (a dict) or DataArrays (a Dataset)."""
    if isinstance(x, xr.DataArray) or isinstance(y, xr.DataArray):
        if axis is not None:
            raise TypeError("axis= is for NumPy inputs; use dim= with DataArrays")
        dims = _reduced(x, y, dim)
        units = shared_units(x, y)
        outs = apply_along(kernel, [x, y], dims, out_core_dims=[[]] * 4,
                           out_dtypes=[np.float64] * 3 + [np.int64],
                           kwargs={"axis": tuple(range(-len(dims), 0)), "level": level, "minimum": minimum,
                                   "too_few": too_few, "skipna": skipna})
        attrs = {"units": "1"} if name == "r" else ({"units": units} if units else {})
        ds = xr.Dataset({name: outs[0], f"{name}_lo": outs[1], f"{name}_hi": outs[2], "n": outs[3]})
        for v in (name, f"{name}_lo", f"{name}_hi"):
            ds[v].attrs = {"long_name": _LONG.get(name, name), **attrs}
        ds.attrs["level"] = float(level)
        return ds
    if dim is not None:
        raise TypeError("dim= is for DataArrays; use axis= with NumPy inputs")
    outs = kernel(x, y, axis=axis, level=level, minimum=minimum, too_few=too_few, skipna=skipna)
    return {k: (v[()] if v.ndim == 0 else v) for k, v in zip((name, f"{name}_lo", f"{name}_hi", "n"), outs,
                                                             strict=True)}


_PARAMS = """
    Parameters
    ----------
    x : array-like or xarray.DataArray
        Product (e.g. soil moisture, m3 m-3).
    y : array-like or xarray.DataArray
        Reference, the same type as ``x``; DataArrays must align exactly.
    dim : str or sequence of str, optional
        DataArray dimension(s) to reduce (default all); the others are
        broadcast (one interval per station, pixel or learner).
    axis : int or tuple of int, optional
        NumPy axis or axes to reduce (default all).
    level : float, default 0.9
        Two-sided coverage (pytesmo's ``alpha`` is ``1 - level``).
    min_pairs : int, optional
        Complete pairs needed (default: the formula's minimum, {floor}).
    too_few : {{"raise", "nan"}}, default "raise"
        Where a series has fewer pairs: stop with a ValueError saying how many
        were found, or give NaN there (e.g. pixels over water).
    skipna : bool, default True
        As :func:`smkit.validate.metrics.r`."""


def _doc(floor: int):
    def deco(f: Callable) -> Callable:
        f.__doc__ = f.__doc__.replace("    {params}", _PARAMS.strip("\n").format(floor=floor))
        return f
    return deco


@_doc(4)
def r_interval(x, y, dim=None, *, axis=None, level: float = 0.9, min_pairs: int | None = None,
               too_few: str = "raise", skipna: bool = True):
    """Pearson R with its Fisher-z interval (pytesmo's ``pearson_r_ci``).

    ``z = atanh(r)`` is about normal with standard error ``1 / sqrt(n - 3)``
    for independent, bivariate-normal pairs; the bounds are
    ``tanh(z -+ Phi^-1(1 - alpha / 2) / sqrt(n - 3))``.

    {params}

    Returns
    -------
    dict or xarray.Dataset
        ``r``, ``r_lo``, ``r_hi`` (1) and ``n`` (complete pairs), the reduced
        dimensions removed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(0.25, 0.05, 200)
    >>> x = y + rng.normal(0, 0.03, 200)
    >>> out = r_interval(x, y, level=0.95)
    >>> bool(out["r_lo"] < out["r"] < out["r_hi"]), int(out["n"])
    (True, 200)
    """
    return _interval("r", _r_bounds, x, y, dim, axis, level, _floor(min_pairs, 4, "R's interval"), too_few,
                     skipna)


@_doc(2)
def ubrmse_interval(x, y, dim=None, *, axis=None, level: float = 0.9, min_pairs: int | None = None,
                    too_few: str = "raise", skipna: bool = True):
    """The ubRMSE with its chi-square interval (pytesmo's ``ubrmsd_ci``).

    ``n ubRMSE^2 / sigma^2`` is chi-square with ``n - 1`` degrees of freedom
    for independent normal differences (the mean difference is estimated), so
    the bounds are ``ubRMSE sqrt(n / chi2(1 - alpha / 2; n - 1))`` and
    ``ubRMSE sqrt(n / chi2(alpha / 2; n - 1))``.

    {params}

    Returns
    -------
    dict or xarray.Dataset
        ``ubrmse``, ``ubrmse_lo``, ``ubrmse_hi`` (units of the inputs, m3 m-3)
        and ``n``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> y = rng.normal(0.25, 0.05, 100)
    >>> out = ubrmse_interval(y + 0.02 + rng.normal(0, 0.04, 100), y)
    >>> bool(out["ubrmse_lo"] < 0.04 < out["ubrmse_hi"])
    True
    """
    return _interval("ubrmse", _ubrmse_bounds, x, y, dim, axis, level,
                     _floor(min_pairs, 2, "ubRMSE's interval"), too_few, skipna)


@_doc(1)
def rmse_interval(x, y, dim=None, *, axis=None, level: float = 0.9, min_pairs: int | None = None,
                  too_few: str = "raise", skipna: bool = True):
    """RMSE with its chi-square interval (pytesmo has none; the same reasoning as its ``ubrmsd_ci``).

    ``n RMSE^2 / sigma^2`` is chi-square with ``n`` degrees of freedom for
    independent differences ``N(0, sigma^2)``; the bounds are
    ``RMSE sqrt(n / chi2(1 - alpha / 2; n))`` and ``RMSE sqrt(n / chi2(alpha / 2; n))``.
    With a bias ``mu`` the variance of the mean squared difference,
    ``(2 sigma^4 + 4 mu^2 sigma^2) / n``, is below the ``2 (sigma^2 + mu^2)^2 / n``
    the interval assumes, so it is wider than needed (conservative).

    {params}

    Returns
    -------
    dict or xarray.Dataset
        ``rmse``, ``rmse_lo``, ``rmse_hi`` (units of the inputs, m3 m-3) and
        ``n``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> y = rng.normal(0.25, 0.05, 100)
    >>> out = rmse_interval(y + rng.normal(0, 0.04, 100), y)
    >>> bool(out["rmse_lo"] < 0.04 < out["rmse_hi"])
    True
    """
    return _interval("rmse", _rmse_bounds, x, y, dim, axis, level, _floor(min_pairs, 1, "RMSE's interval"),
                     too_few, skipna)


@_doc(2)
def bias_interval(x, y, dim=None, *, axis=None, level: float = 0.9, min_pairs: int | None = None,
                  too_few: str = "raise", skipna: bool = True):
    """Mean bias (``x - y``) with its Student-t interval (pytesmo's ``bias_ci``).

    Bounds ``bias -+ t(1 - alpha / 2; n - 1) sd(x - y) / sqrt(n)``, the
    standard deviation with ``n - 1`` in its denominator.

    {params}

    Returns
    -------
    dict or xarray.Dataset
        ``bias``, ``bias_lo``, ``bias_hi`` (units of the inputs, m3 m-3) and
        ``n``.

    Examples
    --------
    >>> out = bias_interval(np.array([0.21, 0.25, 0.28, 0.30]), np.array([0.20, 0.22, 0.27, 0.27]))
    >>> round(float(out["bias"]), 3), bool(out["bias_lo"] > 0)
    (0.02, True)
    """
    minimum = _floor(min_pairs, 2, "the bias's interval")
    return _interval("bias", _bias_bounds, x, y, dim, axis, level, minimum, too_few, skipna)


def _bootstrap_kernel(x, y, *, metric, resamples, level, method, minimum, too_few, skipna):
    """Score, bounds and ``n`` of ``metric`` along the last axis, over the rows of ``resamples``."""
    x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
    count = np.asarray(n(x, y, axis=-1))
    ok = enough_pairs(count, minimum, what="the bootstrap interval", too_few=too_few)
    value = np.asarray(metric(x, y, axis=-1, skipna=skipna), dtype=np.float64)
    boot = np.stack([np.asarray(metric(x[..., idx], y[..., idx], axis=-1, skipna=skipna), dtype=np.float64)
                     for idx in resamples])
    a = _tail(level)
    with np.errstate(invalid="ignore"):
        q_lo, q_hi = np.nanquantile(boot, [a, 1 - a], axis=0) if boot.size else (np.nan, np.nan)
    lo, hi = (q_lo, q_hi) if method == "percentile" else (2 * value - q_hi, 2 * value - q_lo)
    return (np.where(ok, value, np.nan), np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), count)


def bootstrap_interval(metric, x, y, dim: str | None = "time", *, axis: int = -1, level: float = 0.9,
                       n_boot: int = 1000, block: int = 1, seed: int = 0, method: str = "percentile",
                       resamples=None, min_pairs: int = 20, too_few: str = "raise", skipna: bool = True):
    """Any metric with a (moving-block) bootstrap interval along one dimension.

    Every series along ``dim`` is resampled on the same indices
    (:func:`smkit.validate.skill.block_resamples`: blocks of ``block``
    consecutive steps with random starts), so the intervals of several
    stations, pixels or learners are paired. ``block=1`` is pytesmo's i.i.d.
    bootstrap (``with_bootstrapped_ci``); with ``resamples`` drawn as pytesmo
    draws them, the bounds are pytesmo's.

    Parameters
    ----------
    metric : str or callable
        A name of :data:`smkit.validate.metrics.METRICS` (``"r"``, ``"rmse"``,
        ``"ubrmse"``, ``"bias"``, ``"mae"``) or ``f(x, y, axis=, skipna=)``.
    x, y : array-like or xarray.DataArray
        Product and reference (m3 m-3), the same type.
    dim : str, default "time"
        DataArray dimension to resample along and reduce; the others are broadcast.
    axis : int, default -1
        The same for NumPy inputs.
    level : float, default 0.9
        Two-sided coverage.
    n_boot : int, default 1000
        Resamples (ignored when ``resamples`` is given).
    block : int, default 1
        Block length in steps of ``dim`` (30 for daily series of persistent
        errors; 1 for pytesmo's i.i.d. resampling).
    seed : int
        Seed of the draws.
    method : {"percentile", "basic"}
        ``percentile``: the ``alpha / 2`` and ``1 - alpha / 2`` quantiles of
        the resampled scores; ``basic``: those reflected about the score
        (``2 m - q``), as pytesmo's methods of the same names.
    resamples : array of int, shape (n_boot, len(dim)), optional
        Indices of the resamples to use instead of drawing them.
    min_pairs : int, default 20
        Complete pairs needed along ``dim`` (pytesmo's guard is 100).
    too_few : {"raise", "nan"}
        As :func:`r_interval`.
    skipna : bool
        As :func:`smkit.validate.metrics.r`.

    Returns
    -------
    dict or xarray.Dataset
        ``<metric>``, ``<metric>_lo``, ``<metric>_hi`` (the metric's units) and
        ``n``, ``dim`` removed.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> y = rng.normal(0.25, 0.05, 300)
    >>> x = y + rng.normal(0, 0.03, 300)
    >>> out = bootstrap_interval("ubrmse", x, y, n_boot=200, block=10)
    >>> bool(out["ubrmse_lo"] < out["ubrmse"] < out["ubrmse_hi"])
    True
    """
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    func = get_metric(metric) if isinstance(metric, str) else metric
    is_xr = isinstance(x, xr.DataArray) or isinstance(y, xr.DataArray)
    length = (x.sizes[dim] if is_xr and dim in x.dims else
              y.sizes.get(dim, 0) if is_xr else np.broadcast_shapes(np.shape(x), np.shape(y))[axis])
    idx = (block_resamples(length, block, n_boot, seed) if resamples is None
           else np.asarray(resamples, dtype=np.int64))
    if idx.ndim != 2 or idx.shape[1] != length or (idx.size and (idx.min() < 0 or idx.max() >= length)):
        raise ValueError(f"resamples must be indices in [0, {length}) of shape (n_boot, {length}); "
                         f"got shape {idx.shape}")
    kw = {"metric": func, "resamples": idx, "level": level, "method": method, "minimum": int(min_pairs),
          "too_few": too_few, "skipna": skipna}
    keys = (name, f"{name}_lo", f"{name}_hi", "n")
    if not is_xr and dim not in (None, "time"):
        raise TypeError("dim= is for DataArrays; use axis= with NumPy inputs")
    if not is_xr:
        x, y = (np.moveaxis(a, axis, -1) for a in np.broadcast_arrays(np.asarray(x, np.float64),
                                                                      np.asarray(y, np.float64)))
        outs = _bootstrap_kernel(x, y, **kw)
        return {k: (v[()] if v.ndim == 0 else v) for k, v in zip(keys, outs, strict=True)}
    outs = apply_along(_bootstrap_kernel, [x, y], dim, out_core_dims=[[]] * 4,
                       out_dtypes=[np.float64] * 3 + [np.int64], kwargs=kw)
    units = shared_units(x, y)
    ds = xr.Dataset(dict(zip(keys, outs, strict=True)))
    for v in keys[:3]:
        ds[v].attrs = {"long_name": _LONG.get(name, name),
                       **({"units": "1"} if name == "r" else {"units": units} if units else {})}
    ds.attrs.update(level=float(level), block=int(block), n_boot=int(idx.shape[0]), method=method)
    return ds
