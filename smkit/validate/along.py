"""The xarray and pandas side of the validation kernels that work along one dimension.

The kernels of :mod:`~smkit.validate.intervals`, :mod:`~smkit.validate.anomaly`,
:mod:`~smkit.validate.scaling` and :mod:`~smkit.validate.collocation` are
NumPy functions that take arrays with the dimension they work along (usually
``time``) last, as xskillscore's do. This module owns what their thin wrappers
share:

* :func:`apply_along` -- check, align and rechunk DataArrays and run a kernel
  with :func:`xarray.apply_ufunc` (``dask="parallelized"``: dask inputs stay
  lazy, each block holding the whole working dimension). Every dimension other
  than the working ones is broadcast, so a product's learner dimension
  (whatever it is called), stations or pixels all pass through untouched;
* :func:`from_series` / :func:`to_series` -- a pandas Series with a
  DatetimeIndex (a station series, as pytesmo users hold them) as a DataArray
  along ``time`` and back;
* :func:`shared_units` -- the ``units`` the inputs agree on;
* :func:`enough_pairs` -- the one check for too few pairs, with a message
  saying how many were found and how many are needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["TOO_FEW", "apply_along", "enough_pairs", "from_series", "shared_units", "to_series"]

#: What a function does where a series has too few pairs: stop with an error, or give NaN there.
TOO_FEW = ("raise", "nan")


def enough_pairs(n, minimum: int, *, what: str, too_few: str = "raise",
                 unit: str = "complete pairs") -> np.ndarray:
    """Where the counts ``n`` reach ``minimum``; raise naming the counts unless ``too_few="nan"``.

    Parameters
    ----------
    n : int or array of int
        Pairs (or triplets) found per series.
    minimum : int
        Pairs needed.
    what : str
        What needs them, for the message (e.g. ``"the Fisher-z interval of R"``).
    too_few : {"raise", "nan"}
        ``"raise"``: a ValueError when any series has fewer; ``"nan"``: return
        the mask and let the caller put NaN where it is False.
    unit : str
        What is counted, for the message.

    Returns
    -------
    ndarray of bool
        True where ``n >= minimum``.

    Examples
    --------
    >>> enough_pairs(12, 4, what="R's interval").tolist()
    True
    >>> enough_pairs(3, 4, what="R's interval")
    Traceback (most recent call last):
    ...
    ValueError: R's interval needs at least 4 complete pairs; found 3. ...
    >>> enough_pairs([2, 9], 4, what="R's interval", too_few="nan").tolist()
    [False, True]
    """
    if too_few not in TOO_FEW:
        raise ValueError(f"too_few must be one of {TOO_FEW}, got {too_few!r}")
    n = np.asarray(n)
    ok = n >= minimum
    if too_few == "raise" and not ok.all():
        if n.size == 1:
            found = f"found {int(n.ravel()[0])}"
        else:
            found = (f"{int((~ok).sum())} of {n.size} series have fewer (the fewest {int(n.min())}, "
                     f"the most {int(n.max())})")
        raise ValueError(
            f"{what} needs at least {minimum} {unit}; {found}. Select a longer period or more "
            f"data, or pass too_few='nan' to get NaN where there are too few.")
    return ok


def shared_units(*arrays) -> str | None:
    """The ``units`` attribute the inputs agree on (None when none has one).

    Raises
    ------
    ValueError
        When two inputs carry different units.

    Examples
    --------
    >>> a = xr.DataArray([0.1], attrs={"units": "m3 m-3"})
    >>> shared_units(a, xr.DataArray([0.2]))
    'm3 m-3'
    """
    found = {str(a.attrs["units"]) for a in arrays if isinstance(a, xr.DataArray) and "units" in a.attrs}
    if len(found) > 1:
        raise ValueError(f"the inputs have different units {sorted(found)}; convert them to one first")
    return found.pop() if found else None


def from_series(s: pd.Series, dim: str = "time") -> xr.DataArray:
    """A pandas Series with a DatetimeIndex as a float64 DataArray along ``dim``.

    Examples
    --------
    >>> s = pd.Series([0.2, 0.3], index=pd.date_range("2009-01-01", periods=2))
    >>> from_series(s).dims
    ('time',)
    """
    if not isinstance(s.index, pd.DatetimeIndex):
        raise TypeError(
            f"a series needs a DatetimeIndex (dates of the values), got {type(s.index).__name__}; "
            "convert it with pd.to_datetime(...)")
    return xr.DataArray(np.asarray(s.to_numpy(), dtype=np.float64), dims=dim,
                        coords={dim: s.index.to_numpy()}, name=s.name)


def to_series(da: xr.DataArray, like: pd.Series) -> pd.Series:
    """A 1-D result back on the index and name of the series it came from."""
    return pd.Series(np.asarray(da.values), index=like.index, name=like.name)


def _as_list(dims) -> list:
    return [dims] if isinstance(dims, str) else list(dims)


def apply_along(kernel: Callable, arrays: Sequence[xr.DataArray], core_dims: Sequence, *,
                out_core_dims: Sequence[Sequence[str]], out_dtypes: Sequence, out_sizes: dict | None = None,
                kwargs: dict | None = None):
    """Run a NumPy ``kernel`` on DataArrays with their ``core_dims`` last, broadcasting the others.

    Parameters
    ----------
    kernel : callable
        ``kernel(*arrays, **kwargs)`` on NumPy arrays whose last axes are the
        core dimensions (in the order given); returns one array or a tuple.
    arrays : sequence of xarray.DataArray
        Inputs; their shared coordinates must align exactly.
    core_dims : str, sequence of str, or one sequence per input
        The dimensions the kernel works along (e.g. ``"time"``), the same for
        every input, or a list with one list per input.
    out_core_dims : sequence of sequence of str
        Core dimensions of each output (``[[]]`` for one reduced output).
    out_dtypes : sequence of dtype
        Dtype of each output.
    out_sizes : dict, optional
        Sizes of output core dimensions no input has (for dask).
    kwargs : dict, optional
        Keyword arguments of the kernel.

    Returns
    -------
    xarray.DataArray or tuple of DataArray
        As :func:`xarray.apply_ufunc` returns them, without attributes.

    Examples
    --------
    >>> a = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("station", "time"))
    >>> apply_along(lambda v: v.sum(-1), [a], "time", out_core_dims=[[]], out_dtypes=[float]).values.tolist()
    [3.0, 12.0]
    """
    arrays = list(arrays)
    for k, a in enumerate(arrays):
        if isinstance(a, xr.Dataset):
            raise TypeError(f"input {k + 1} is a Dataset; select a variable, e.g. ds['sm']")
        if not isinstance(a, xr.DataArray):
            raise TypeError(f"input {k + 1} is a {type(a).__name__}; give every input as an xarray.DataArray "
                            "(or every input as a NumPy array)")
    per_input = (not isinstance(core_dims, str) and len(core_dims) == len(arrays)
                 and all(not isinstance(c, str) for c in core_dims))
    dims = [_as_list(c) for c in core_dims] if per_input else [_as_list(core_dims)] * len(arrays)
    for k, (a, ds) in enumerate(zip(arrays, dims, strict=True)):
        missing = [d for d in ds if d not in a.dims]
        if missing:
            raise ValueError(f"input {k + 1} has no dimension {missing} (its dimensions: {a.dims}); "
                             "name the dimension to work along with dim=")
    try:
        arrays = list(xr.align(*arrays, join="exact", copy=False))
    except ValueError as err:
        raise ValueError("the inputs' coordinates do not align (join='exact'); select a common period "
                         f"and grid first, e.g. xr.align(x, y, join='inner'). xarray said: {err}") from err
    arrays = [a.chunk(dict.fromkeys(ds, -1)) if a.chunks is not None else a
              for a, ds in zip(arrays, dims, strict=True)]
    return xr.apply_ufunc(
        kernel, *arrays, input_core_dims=dims, output_core_dims=[list(d) for d in out_core_dims],
        kwargs=kwargs or {}, dask="parallelized", output_dtypes=list(out_dtypes),
        dask_gufunc_kwargs={"output_sizes": out_sizes} if out_sizes else None, keep_attrs=False)
