"""A product as matching and validation read it: its array, its models, its grid axes, the cell holding a point.

:func:`as_product` gives the ``sm(model, time, lat, lon)`` array of a
product, :func:`select_models` a subset of its models, :func:`regular_axis`
checks a grid axis and :func:`locate` finds the cell holding each point.

Shared by station matching (:mod:`smkit.core.matching`), the station scores
(:mod:`smkit.validate.scores`) and the model comparison
(:mod:`smkit.validate.comparison`), so that all read a product, and locate a
point on a grid, the same way.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from smkit.core.schema import rename_legacy

__all__ = ["as_product", "locate", "regular_axis", "select_models"]


def regular_axis(centres, what: str) -> tuple[np.ndarray, float]:
    """Ascending regular cell centres and their spacing, or a clear error.

    Parameters
    ----------
    centres : array_like
        Cell centres along one axis (degrees).
    what : str
        Name of the axis in error messages (e.g. "product latitude").

    Returns
    -------
    centres : ndarray of float64
    step : float
        Spacing (degrees), rounded to 10 decimals.

    Raises
    ------
    ValueError
        Fewer than two cells, coordinates not ascending or not regularly spaced.

    Examples
    --------
    >>> regular_axis([38.05, 38.15, 38.25], "latitude")[1]
    0.1
    """
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


def locate(centres, x, what: str) -> np.ndarray:
    """Index of the cell holding each point, -1 outside (or for a non-finite point).

    A cell spans ``(centre - step/2, centre + step/2]``; the first cell also
    holds its lower edge, so a point on an inner edge goes to the cell below.
    This is the convention of :mod:`smkit.synth` for its stations.

    Parameters
    ----------
    centres : array_like
        Regular ascending cell centres (degrees), checked by :func:`regular_axis`.
    x : array_like
        Points (degrees).
    what : str
        Name of the axis in error messages.

    Returns
    -------
    ndarray of int

    Examples
    --------
    >>> locate([0.5, 1.5, 2.5], [0.0, 1.0, 2.9, 3.5], "x").tolist()
    [0, 0, 2, -1]
    """
    c, step = regular_axis(centres, what)
    x = np.asarray(x, dtype=np.float64)
    upper = c + step / 2
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(x) & (x >= c[0] - step / 2) & (x <= upper[-1])
    k = np.searchsorted(upper, np.where(inside, x, c[0]), side="left")
    return np.where(inside, np.minimum(k, c.size - 1), -1)


def as_product(product, what: str = "product") -> xr.DataArray:
    """``sm(model, time, lat, lon)`` of a product Dataset or DataArray.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        A Dataset with ``sm``, or the array itself; an array without a
        ``model`` dimension gets one, named after the array.
    what : str, default "product"
        Name of the input in error messages.

    Returns
    -------
    xarray.DataArray
        Dims (model, time, lat, lon), soil moisture as given (m3 m-3).
    """
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
    da = rename_legacy(da)
    if "model" not in da.dims:
        da = da.expand_dims(model=[str(da.name or "product")])
    missing = [d for d in ("model", "time", "lat", "lon") if d not in da.dims]
    if missing or da.ndim != 4:
        raise ValueError(f"{what} must have dims (model, time, lat, lon); got {da.dims}")
    return da.transpose("model", "time", "lat", "lon")


def select_models(da: xr.DataArray, models) -> xr.DataArray:
    """The models ``models`` (a name or a sequence; None for all) of an array with a ``model`` dim.

    Raises
    ------
    KeyError
        A model not in ``da``, naming the available ones.
    """
    have = [str(m) for m in da["model"].values]
    if models is None:
        return da
    models = [models] if isinstance(models, str) else [str(m) for m in models]
    unknown = [m for m in models if m not in have]
    if unknown:
        raise KeyError(f"model(s) {unknown} not in the product; available: {', '.join(have)}")
    return da.sel({"model": models})
