"""Deterministic skill metrics of a soil-moisture product against a reference.

Every metric compares a product or estimate ``x`` with a reference or
observation ``y`` (volumetric soil moisture, m3 m-3) over *pairwise-complete*
pairs: a pair counts only when both ``x`` and ``y`` are finite. With ``d = x - y``
and the ``N`` complete pairs:

========  =====================================================  =========
name      formula                                                units
========  =====================================================  =========
r         sum(x' y') / sqrt(sum(x'^2) sum(y'^2)), x' = x - mean  1
rmse      sqrt(mean(d^2))                                        as input
mae       mean(|d|)                                              as input
bias      mean(d)                                                as input
ubrmse    sqrt(max(rmse^2 - bias^2, 0)) = sqrt(mean((d - bias)^2))  as input
n         N, the number of complete pairs                        1
========  =====================================================  =========

The module follows the split used by xskillscore: small NumPy kernels
(``_r``, ``_rmse``, ... and ``_all``) reduce given axes of broadcastable
arrays, vectorised and accumulated in float64; the public functions accept
either NumPy arrays (``axis=``) or :class:`xarray.DataArray` (``dim=``) and wrap
the kernels with :func:`xarray.apply_ufunc` (``dask="parallelized"``, so dask
inputs stay lazy).

Degenerate cases give NaN and never raise or warn: no complete pair (every
metric NaN, ``n = 0``); one pair, or a constant ``x`` or ``y`` (``r`` NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["METRICS", "all_metrics", "bias", "get_metric", "mae", "n", "r", "rmse", "ubrmse"]

METRIC_NAMES = ("r", "rmse", "mae", "bias", "ubrmse", "n")
_LONG_NAMES = {
    "r": "Pearson correlation coefficient",
    "rmse": "root-mean-square error",
    "mae": "mean absolute error",
    "bias": "mean bias (product - reference)",
    "ubrmse": "unbiased root-mean-square error",
    "n": "number of complete pairs",
}
_DIMENSIONLESS = {"r", "n"}


# --------------------------------------------------------------------------- #
# NumPy kernels
# --------------------------------------------------------------------------- #
class _Pairs:
    """Complete pairs of ``x`` and ``y`` with the reduced axes flattened last.

    ``x0`` and ``y0`` are C-contiguous float64 of shape ``(*outer, N)`` with
    zeros where the pair is incomplete (so plain sums skip them and no
    non-finite value enters any arithmetic), ``ok`` marks the complete pairs,
    ``n`` counts them, ``safe_n`` is ``n`` with zeros replaced by one (a
    division-safe denominator) and ``valid`` marks outputs that have data
    (``n > 0``, and no incomplete pair at all when ``skipna=False``).

    Flattening to contiguous rows makes every sum a pairwise sum over one row,
    so a result does not depend on how many other rows are computed with it:
    dask blocks and the eager array give bit-identical values.
    """

    __slots__ = ("x0", "y0", "ok", "n", "safe_n", "valid", "shape")

    def __init__(self, x, y, axis, skipna: bool = True):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        x, y = np.broadcast_arrays(x, y)
        axes = _normalize_axis(axis, x.ndim)
        keep = [a for a in range(x.ndim) if a not in axes]
        self.shape = tuple(x.shape[a] for a in keep)
        size = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        perm = keep + list(axes)
        x = np.ascontiguousarray(x.transpose(perm)).reshape(self.shape + (size,))
        y = np.ascontiguousarray(y.transpose(perm)).reshape(self.shape + (size,))
        self.ok = np.isfinite(x) & np.isfinite(y)
        self.x0 = np.where(self.ok, x, 0.0)
        self.y0 = np.where(self.ok, y, 0.0)
        self.n = self.ok.sum(axis=-1, dtype=np.int64)
        self.safe_n = np.where(self.n > 0, self.n, 1)
        self.valid = self.n > 0
        if not skipna:
            self.valid &= self.ok.all(axis=-1)

    def mean(self, a: np.ndarray) -> np.ndarray:
        """Mean over the complete pairs of a zero-filled ``(*outer, N)`` array."""
        return a.sum(axis=-1) / self.safe_n

    def finish(self, value: np.ndarray) -> np.ndarray:
        """NaN where there is no data; always a float64 ndarray (0-d for a full reduction)."""
        return np.asarray(np.where(self.valid, value, np.nan), dtype=np.float64)


def _normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``None`` (all axes), an int or a sequence of ints, as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {tuple(axis)!r}")
    return tuple(sorted(out))


def _diff(p: _Pairs) -> np.ndarray:
    return p.x0 - p.y0  # zero where the pair is incomplete


def _n(x, y, axis=None, skipna: bool = True) -> np.ndarray:
    """Number of complete pairs (int64); does not depend on ``skipna``."""
    return np.asarray(_Pairs(x, y, axis, skipna).n)


def _bias(x, y, axis=None, skipna: bool = True) -> np.ndarray:
    """Mean of ``x - y`` over the complete pairs."""
    p = _Pairs(x, y, axis, skipna)
    return p.finish(p.mean(_diff(p)))


def _mae(x, y, axis=None, skipna: bool = True) -> np.ndarray:
    """Mean of ``|x - y|`` over the complete pairs."""
    p = _Pairs(x, y, axis, skipna)
    return p.finish(p.mean(np.abs(_diff(p))))


def _rmse(x, y, axis=None, skipna: bool = True) -> np.ndarray:
    """Square root of the mean of ``(x - y)^2`` over the complete pairs."""
    p = _Pairs(x, y, axis, skipna)
    return p.finish(_rms(p, _diff(p)))


def _rms(p: _Pairs, a: np.ndarray) -> np.ndarray:
    """Root mean square of a zero-filled ``(*outer, N)`` array over the complete pairs.

    Scaled by the largest magnitude of each row so the squares neither
    overflow nor underflow.
    """
    s = np.max(np.abs(a), axis=-1, keepdims=True, initial=0.0)
    s = np.where(s > 0, s, 1.0)
    a = a / s
    return s[..., 0] * np.sqrt(p.mean(a * a))


def _ubrmse_from(p: _Pairs, d: np.ndarray, b: np.ndarray, rms: np.ndarray) -> np.ndarray:
    # sqrt(max(rmse^2 - bias^2, 0)) computed as the (population) standard
    # deviation of d: the same quantity, without the cancellation of the
    # difference of squares when the bias dominates; capped by the rmse it
    # cannot exceed (rounding only)
    return np.minimum(_rms(p, np.where(p.ok, d - b[..., None], 0.0)), rms)


def _ubrmse(x, y, axis=None, skipna: bool = True) -> np.ndarray:
    """Standard deviation of ``x - y`` (ddof=0) over the complete pairs."""
    p = _Pairs(x, y, axis, skipna)
    d = _diff(p)
    return p.finish(_ubrmse_from(p, d, p.mean(d), _rms(p, d)))


def _r_from(p: _Pairs) -> np.ndarray:
    # two-pass (centred) sums; each anomaly series scaled by its largest
    # magnitude so the products neither overflow nor underflow and r(x, x) is
    # exactly one (sqrt(s * s) == s in IEEE arithmetic)
    dx = np.where(p.ok, p.x0 - p.mean(p.x0)[..., None], 0.0)
    dy = np.where(p.ok, p.y0 - p.mean(p.y0)[..., None], 0.0)
    sx = np.max(np.abs(dx), axis=-1, keepdims=True, initial=0.0)
    sy = np.max(np.abs(dy), axis=-1, keepdims=True, initial=0.0)
    dx /= np.where(sx > 0, sx, 1.0)
    dy /= np.where(sy > 0, sy, 1.0)
    sxx = (dx * dx).sum(axis=-1)
    syy = (dy * dy).sum(axis=-1)
    sxy = (dx * dy).sum(axis=-1)
    # a constant series has no correlation; detect it exactly (its centred
    # values need not be exactly zero after rounding of the mean)
    const = np.zeros(p.shape, dtype=bool)
    for a in (p.x0, p.y0):
        hi = np.max(a, axis=-1, where=p.ok, initial=-np.inf)
        lo = np.min(a, axis=-1, where=p.ok, initial=np.inf)
        const |= hi == lo
    defined = (p.n >= 2) & ~const
    den = np.sqrt(np.where(defined, sxx * syy, 1.0))
    r = np.clip(sxy / den, -1.0, 1.0)
    return np.where(defined, r, np.nan)


def _r(x, y, axis=None, skipna: bool = True) -> np.ndarray:
    """Pearson correlation over the complete pairs; NaN for N < 2 or zero variance."""
    p = _Pairs(x, y, axis, skipna)
    return p.finish(_r_from(p))


def _all(x, y, axis=None, skipna: bool = True) -> tuple[np.ndarray, ...]:
    """All metrics in one pass over the data, in the order of :data:`METRIC_NAMES`."""
    p = _Pairs(x, y, axis, skipna)
    d = _diff(p)
    b = p.mean(d)
    rms = _rms(p, d)
    return (
        p.finish(_r_from(p)),
        p.finish(rms),
        p.finish(p.mean(np.abs(d))),
        p.finish(b),
        p.finish(_ubrmse_from(p, d, b, rms)),
        np.asarray(p.n),
    )


_KERNELS: dict[str, Callable[..., np.ndarray]] = {
    "r": _r, "rmse": _rmse, "mae": _mae, "bias": _bias, "ubrmse": _ubrmse, "n": _n,
}
_DTYPES = {name: (np.int64 if name == "n" else np.float64) for name in METRIC_NAMES}


# --------------------------------------------------------------------------- #
# xarray wrappers
# --------------------------------------------------------------------------- #
def _check_inputs(x, y, dim, axis) -> bool:
    """True for DataArray inputs, False for array-likes; errors for a mix."""
    xa, ya = isinstance(x, xr.DataArray), isinstance(y, xr.DataArray)
    if isinstance(x, xr.Dataset) or isinstance(y, xr.Dataset):
        raise TypeError(
            "x and y must be DataArrays or array-likes, not Datasets; "
            "select a variable, e.g. ds['sm']"
        )
    if xa != ya:
        raise TypeError(
            "x and y must both be xarray.DataArray or both array-likes "
            f"(got {type(x).__name__} and {type(y).__name__})"
        )
    if xa and axis is not None:
        raise TypeError("axis= is for NumPy inputs; use dim= with DataArrays")
    if not xa and dim is not None:
        raise TypeError("dim= is for DataArrays; use axis= with NumPy inputs")
    return xa


def _resolve_dims(x: xr.DataArray, y: xr.DataArray, dim) -> list[Hashable]:
    present = list(x.dims) + [d for d in y.dims if d not in x.dims]
    if dim is None:
        return present
    dims = [dim] if isinstance(dim, str) or not isinstance(dim, Iterable) else list(dim)
    missing = [d for d in dims if d not in present]
    if missing:
        raise ValueError(f"dimension(s) {missing!r} not found in x or y (dims: {tuple(present)!r})")
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated dimension in dim={dim!r}")
    return dims


def _units(x: xr.DataArray, y: xr.DataArray) -> str | None:
    ux, uy = x.attrs.get("units"), y.attrs.get("units")
    if ux is not None and uy is not None and str(ux) != str(uy):
        raise ValueError(f"x and y have different units ({ux!r} vs {uy!r}); convert one first")
    return ux if ux is not None else uy


def _attrs(name: str, units: str | None) -> dict[str, str]:
    attrs = {"long_name": _LONG_NAMES[name]}
    if name in _DIMENSIONLESS:
        attrs["units"] = "1"
    elif units is not None:
        attrs["units"] = str(units)
    return attrs


def _apply(kernel, names: tuple[str, ...], x: xr.DataArray, y: xr.DataArray, dim, skipna: bool):
    try:
        x, y = xr.align(x, y, join="exact", copy=False)
    except ValueError as err:
        raise ValueError(
            "x and y coordinates do not align (join='exact'); select a common "
            f"period/grid first, e.g. xr.align(x, y, join='inner'). xarray said: {err}"
        ) from err
    dims = _resolve_dims(x, y, dim)
    units = _units(x, y)
    # give both inputs every reduced dim so the kernel sees matching core axes
    x, y = xr.broadcast(x, y, exclude=[d for d in (*x.dims, *y.dims) if d not in dims])
    # each block needs the whole of the reduced dims: merge their chunks
    # (other dims keep the caller's chunking)
    x, y = (a.chunk(dict.fromkeys(dims, -1)) if a.chunks is not None else a for a in (x, y))
    out = xr.apply_ufunc(
        kernel, x, y,
        input_core_dims=[dims, dims],
        output_core_dims=[[] for _ in names],
        kwargs={"axis": tuple(range(-len(dims), 0)), "skipna": skipna},
        dask="parallelized",
        output_dtypes=[_DTYPES[nm] for nm in names],
        keep_attrs=False,
    )
    outs = out if isinstance(out, tuple) else (out,)
    named = []
    for nm, da in zip(names, outs, strict=True):
        da = da.rename(nm)
        da.attrs = _attrs(nm, units)
        named.append(da)
    return tuple(named)


def _scalar(a: np.ndarray):
    """A 0-d result as a NumPy scalar, anything else unchanged."""
    return a[()] if a.ndim == 0 else a


def _metric(name: str, x, y, dim, axis, skipna: bool):
    if _check_inputs(x, y, dim, axis):
        return _apply(_KERNELS[name], (name,), x, y, dim, skipna)[0]
    return _scalar(_KERNELS[name](x, y, axis=axis, skipna=skipna))


# --------------------------------------------------------------------------- #
# public metrics
# --------------------------------------------------------------------------- #
_PARAMS = """
    Parameters
    ----------
    x : array-like or xarray.DataArray
        Product or estimate (e.g. soil moisture, m3 m-3).
    y : array-like or xarray.DataArray
        Reference or observation, broadcastable with ``x`` (same type as
        ``x``). DataArrays must align exactly (``join="exact"``): mismatched
        coordinates raise ``ValueError``.
    dim : str or sequence of str, optional
        DataArray dimension(s) to reduce; default all dimensions of ``x``
        and ``y``.
    axis : int or tuple of int, optional
        NumPy axis or axes to reduce; default all.
    skipna : bool, default True
        Use the pairwise-complete pairs (a pair counts when both values are
        finite). With False, any incomplete pair along the reduced
        dimensions makes the result NaN."""


def _doc(f: Callable) -> Callable:
    f.__doc__ = f.__doc__.replace("    {params}", _PARAMS.strip("\n"))
    return f


@_doc
def r(x, y, dim=None, *, axis=None, skipna: bool = True):
    r"""Pearson correlation coefficient of ``x`` and ``y``.

    .. math:: r = \frac{\sum (x_i - \bar x)(y_i - \bar y)}
                       {\sqrt{\sum (x_i - \bar x)^2 \sum (y_i - \bar y)^2}}

    over the complete pairs; dimensionless, in [-1, 1].

    {params}

    Returns
    -------
    numpy.float64, numpy.ndarray or xarray.DataArray
        ``r`` with the reduced dimensions removed (``units="1"``). NaN with
        fewer than two complete pairs or when either series is constant.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import r
    >>> x = np.array([0.10, 0.20, 0.30, np.nan, 0.25])
    >>> y = np.array([0.12, 0.18, 0.33, 0.20, np.nan])
    >>> round(float(r(x, y)), 4)
    0.9707
    >>> bool(np.isnan(r(x[:1], y[:1])))  # one pair
    True
    """
    return _metric("r", x, y, dim, axis, skipna)


@_doc
def rmse(x, y, dim=None, *, axis=None, skipna: bool = True):
    r"""Root-mean-square error of ``x`` against ``y``.

    .. math:: \mathrm{RMSE} = \sqrt{\frac{1}{N} \sum_i (x_i - y_i)^2}

    over the ``N`` complete pairs, in the units of the inputs (m3 m-3 for
    soil moisture).

    {params}

    Returns
    -------
    numpy.float64, numpy.ndarray or xarray.DataArray
        RMSE with the reduced dimensions removed; NaN when ``N = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import rmse
    >>> x = np.array([0.20, 0.25, np.nan, 0.30])
    >>> y = np.array([0.22, 0.24, 0.26, np.nan])
    >>> round(float(rmse(x, y)), 4)
    0.0158
    """
    return _metric("rmse", x, y, dim, axis, skipna)


@_doc
def mae(x, y, dim=None, *, axis=None, skipna: bool = True):
    r"""Mean absolute error of ``x`` against ``y``.

    .. math:: \mathrm{MAE} = \frac{1}{N} \sum_i |x_i - y_i|

    over the ``N`` complete pairs, in the units of the inputs (m3 m-3).

    {params}

    Returns
    -------
    numpy.float64, numpy.ndarray or xarray.DataArray
        MAE with the reduced dimensions removed; NaN when ``N = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import mae
    >>> x = np.array([0.20, 0.25, np.nan, 0.30])
    >>> y = np.array([0.22, 0.24, 0.26, np.nan])
    >>> round(float(mae(x, y)), 4)
    0.015
    """
    return _metric("mae", x, y, dim, axis, skipna)


@_doc
def bias(x, y, dim=None, *, axis=None, skipna: bool = True):
    r"""Mean bias of ``x`` relative to ``y`` (positive when ``x`` is wetter).

    .. math:: \mathrm{bias} = \frac{1}{N} \sum_i (x_i - y_i)

    over the ``N`` complete pairs, in the units of the inputs (m3 m-3).

    {params}

    Returns
    -------
    numpy.float64, numpy.ndarray or xarray.DataArray
        Bias with the reduced dimensions removed; NaN when ``N = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import bias
    >>> x = np.array([0.20, 0.25, np.nan, 0.30])
    >>> y = np.array([0.22, 0.24, 0.26, np.nan])
    >>> round(float(bias(x, y)), 4)
    -0.005
    """
    return _metric("bias", x, y, dim, axis, skipna)


@_doc
def ubrmse(x, y, dim=None, *, axis=None, skipna: bool = True):
    r"""Unbiased (bias-removed) root-mean-square error of ``x`` against ``y``.

    .. math:: \mathrm{ubRMSE} = \sqrt{\max(\mathrm{RMSE}^2 - \mathrm{bias}^2, 0)}
              = \sqrt{\frac{1}{N} \sum_i (d_i - \bar d)^2}, \quad d = x - y

    over the ``N`` complete pairs, in the units of the inputs (m3 m-3). It is
    computed in the second (centred) form, which is the same quantity without
    the cancellation of the first when the bias dominates.

    {params}

    Returns
    -------
    numpy.float64, numpy.ndarray or xarray.DataArray
        ubRMSE with the reduced dimensions removed; NaN when ``N = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import ubrmse
    >>> x = np.array([0.20, 0.25, np.nan, 0.30])
    >>> y = np.array([0.22, 0.24, 0.26, np.nan])
    >>> round(float(ubrmse(x, y)), 4)
    0.015
    >>> round(float(ubrmse(x + 0.1, y)), 4)  # an offset changes only the bias
    0.015
    """
    return _metric("ubrmse", x, y, dim, axis, skipna)


@_doc
def n(x, y, dim=None, *, axis=None, skipna: bool = True):
    r"""Number of complete pairs (both ``x`` and ``y`` finite).

    .. math:: N = \sum_i [\mathrm{isfinite}(x_i) \wedge \mathrm{isfinite}(y_i)]

    Dimensionless; ``skipna`` does not change the count.

    {params}

    Returns
    -------
    numpy.int64, numpy.ndarray or xarray.DataArray
        The count (int64) with the reduced dimensions removed.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import n
    >>> x = np.array([0.20, 0.25, np.nan, 0.30])
    >>> y = np.array([0.22, 0.24, 0.26, np.nan])
    >>> int(n(x, y))
    2
    """
    return _metric("n", x, y, dim, axis, skipna)


def all_metrics(x, y, dim=None, *, axis=None, skipna: bool = True) -> xr.Dataset | dict[str, Any]:
    """Every metric of :data:`METRICS` in one pass over the data.

    Parameters
    ----------
    x, y, dim, axis, skipna
        As for :func:`rmse`.

    Returns
    -------
    xarray.Dataset or dict
        For DataArrays, a Dataset with variables ``r``, ``rmse``, ``mae``,
        ``bias``, ``ubrmse`` (units of the inputs, e.g. m3 m-3) and ``n``
        (int64), the reduced dimensions removed; for array-likes, a dict
        with the same keys of NumPy scalars or arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from smkit.validate.metrics import all_metrics
    >>> x = np.array([0.20, 0.25, np.nan, 0.30, 0.18])
    >>> y = np.array([0.22, 0.24, 0.26, np.nan, 0.15])
    >>> {k: round(float(v), 4) for k, v in all_metrics(x, y).items()}
    {'r': 0.851, 'rmse': 0.0216, 'mae': 0.02, 'bias': 0.0067, 'ubrmse': 0.0205, 'n': 3.0}
    >>> import xarray as xr
    >>> ds = all_metrics(xr.DataArray(x, dims="time", attrs={"units": "m3 m-3"}),
    ...                  xr.DataArray(y, dims="time"))
    >>> sorted(ds.data_vars), ds["rmse"].attrs["units"], int(ds["n"])
    (['bias', 'mae', 'n', 'r', 'rmse', 'ubrmse'], 'm3 m-3', 3)
    """
    if _check_inputs(x, y, dim, axis):
        outs = _apply(_all, METRIC_NAMES, x, y, dim, skipna)
        return xr.Dataset(dict(zip(METRIC_NAMES, outs, strict=True)))
    outs = _all(x, y, axis=axis, skipna=skipna)
    return {nm: _scalar(v) for nm, v in zip(METRIC_NAMES, outs, strict=True)}


#: Registry of the metrics by name (the keys of :func:`all_metrics`).
METRICS: dict[str, Callable[..., Any]] = {
    "r": r, "rmse": rmse, "mae": mae, "bias": bias, "ubrmse": ubrmse, "n": n,
}


def get_metric(name: str) -> Callable[..., Any]:
    """The metric function registered under ``name`` (case-insensitive).

    Raises
    ------
    KeyError
        For an unknown name; the message lists the valid names.

    Examples
    --------
    >>> from smkit.validate.metrics import get_metric
    >>> get_metric("ubRMSE").__name__
    'ubrmse'
    """
    try:
        return METRICS[str(name).lower()]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; valid names: {', '.join(METRICS)}") from None
