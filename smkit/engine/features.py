"""Explanatory factors on the coarse grid: aggregation of the fine covariates.

The learners are trained where the target is known, on the coarse grid, so
each fine covariate is first brought to the coarse cells. Two methods:

``mean`` (default)
    NaN-aware block mean of the ``factor x factor`` fine pixels of each cell.
``cubic``
    Cubic convolution (Keys, 1981, ``a = -0.5``) with the kernel stretched
    by the nesting factor, as GDAL resamples when it reduces resolution: a
    coarse cell takes a weighted mean of the fine pixels within two cells of
    its centre, with the small negative lobes of the cubic kernel beyond one
    cell. This is the paper's choice (section 3.2). Weights are renormalised
    over the valid pixels.

With either method a cell whose own fine pixels are valid in less than
``min_valid`` of the cell is invalid (NaN).

Before aggregating, the engine may fill cloud gaps of the fine covariates in
time (:func:`fill_time_gaps`) and interpolate covariates that come on a
coarser native grid (:func:`smooth_native`).
"""

from __future__ import annotations

import numba
import numpy as np
import xarray as xr

from smkit.core.grid import Grid, block_mean, nesting_factor
from smkit.core.vocabulary import COVARIATES

__all__ = [
    "AGGREGATIONS",
    "AGGREGATION_HALO",
    "keys_kernel",
    "cubic_weights",
    "aggregate_array",
    "smooth_native",
    "smooth_cell_field",
    "native_block",
    "aggregate",
    "training_table",
    "fill_time_gaps",
]

AGGREGATIONS = ("mean", "cubic")

#: Coarse cells beyond a cell that its aggregate depends on, per method.
AGGREGATION_HALO = {"mean": 0, "cubic": 2}


def keys_kernel(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    """The cubic convolution kernel of Keys (1981), support ``|x| < 2``."""
    x = np.abs(np.asarray(x, dtype=np.float64))
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def cubic_weights(n_coarse: int, factor: int) -> np.ndarray:
    """Weights (n_coarse, n_coarse * factor) of the fine pixels of each coarse cell along one axis.

    The Keys kernel is stretched by ``factor``: a pixel ``d`` fine pixels from
    the cell centre gets ``K(d / factor)``. Rows are not normalised (that
    happens over the valid pixels).
    """
    j = np.arange(n_coarse * factor)
    centre = (np.arange(n_coarse) + 0.5) * factor - 0.5
    return keys_kernel((j[None, :] - centre[:, None]) / factor)


def aggregate_array(data: np.ndarray, factor: int, method: str = "mean",
                    min_valid: float = 0.5) -> np.ndarray:
    """Aggregate the last two axes of a fine array to the coarse grid.

    Parameters
    ----------
    data : ndarray, shape (..., ny*factor, nx*factor)
        Values on the fine grid (NaN = missing), in their units.
    factor : int
        Fine pixels per coarse cell along each axis.
    method : {"mean", "cubic"}
        Block mean or cubic convolution (see the module docstring).
    min_valid : float, default 0.5
        Minimum fraction (0-1) of a cell's own fine pixels that must be valid.

    Returns
    -------
    ndarray, shape (..., ny, nx)
        Same units; float32 for float32 input, else float64.
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}; choose one of {list(AGGREGATIONS)}")
    data = np.asarray(data)
    if method == "mean":
        return block_mean(data, factor, min_valid)
    *lead, ny, nx = data.shape
    if ny % factor or nx % factor:
        raise ValueError(f"array of shape {data.shape} is not a whole number of {factor}-blocks")
    valid = np.isfinite(data)
    wy, wx = cubic_weights(ny // factor, factor), cubic_weights(nx // factor, factor)
    vals = np.where(valid, data, 0.0).astype(np.float64)
    num = np.einsum("ci,...ij,dj->...cd", wy, vals, wx, optimize=True)
    den = np.einsum("ci,...ij,dj->...cd", wy, valid.astype(np.float64), wx, optimize=True)
    frac = block_mean(valid.astype(np.float32), factor)
    full = wy.sum(1)[:, None] * wx.sum(1)[None, :]  # weight of a fully valid neighbourhood
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[(frac < min_valid) | ~(frac > 0) | (den < 0.25 * full)] = np.nan
    return out.astype(data.dtype if data.dtype == np.float32 else np.float64)


def _axis_weights(first: int, n: int, block: int, n_blocks: int, first_block: int):
    """Lower block, and the weight of the upper one, for bilinear interpolation from block centres."""
    pos = (first + np.arange(n) + 0.5) / block - 0.5 - first_block  # in block-centre units
    lo = np.floor(pos).astype(np.int64)
    w = pos - lo
    lo_c, hi_c = np.clip(lo, 0, n_blocks - 1), np.clip(lo + 1, 0, n_blocks - 1)
    return lo_c, hi_c, w


def smooth_native(data: np.ndarray, block: int, first_row: int = 0, first_col: int = 0) -> np.ndarray:
    """Bilinear interpolation of a field given on a coarser native grid from its own cell centres.

    A covariate delivered at 0.05 or 0.1 degrees (MCD43C3 albedo, IMERG
    precipitation) and copied onto the 1-km grid is piecewise constant; where
    its cell edges fall on the coarse cells' edges, every model that uses it
    prints a step there. This takes the mean of each native cell (NaN-aware)
    and interpolates bilinearly between the native cell centres (constant
    beyond the outer ones), so the field is continuous.

    Parameters
    ----------
    data : ndarray, shape (..., Y, X)
        The field on the fine grid (any units).
    block : int
        Fine pixels per native cell along each axis (5 for 0.05 degrees on a
        0.01-degree grid).
    first_row, first_col : int
        Global fine-grid index (from 90 S, 180 W) of ``data``'s first row and
        column, so that native cells are those of the global native grid.

    Returns
    -------
    ndarray of float64, same shape; NaN where the native cell holding a
    pixel has no valid value.

    Examples
    --------
    >>> a = np.repeat(np.repeat(np.array([[0.0, 1.0], [2.0, 3.0]]), 2, 0), 2, 1)
    >>> smooth_native(a, 2)[0].tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    x = np.ascontiguousarray(data, dtype=np.float64)
    *lead, ny, nx = x.shape
    by0, bx0 = first_row // block, first_col // block
    nby = (first_row + ny - 1) // block - by0 + 1
    nbx = (first_col + nx - 1) // block - bx0 + 1
    ylo, yhi, wy = _axis_weights(first_row, ny, block, nby, by0)
    xlo, xhi, wx = _axis_weights(first_col, nx, block, nbx, bx0)
    bi = (first_row + np.arange(ny)) // block - by0
    bj = (first_col + np.arange(nx)) // block - bx0
    out = _smooth_kernel(x.reshape(-1, ny, nx), bi, bj, nby, nbx, ylo, yhi, wy, xlo, xhi, wx)
    return out.reshape(x.shape)


@numba.njit(cache=True, nogil=True)
def _smooth_kernel(x, bi, bj, nby, nbx, ylo, yhi, wy, xlo, xhi, wx):  # pragma: no cover - compiled
    k_n, ny, nx = x.shape
    out = np.empty_like(x)
    sums = np.empty((nby, nbx))
    counts = np.empty((nby, nbx))
    for k in range(k_n):
        sums[:] = 0.0
        counts[:] = 0.0
        for i in range(ny):
            for j in range(nx):
                v = x[k, i, j]
                if np.isfinite(v):
                    sums[bi[i], bj[j]] += v
                    counts[bi[i], bj[j]] += 1.0
        for i in range(ny):
            for j in range(nx):
                if counts[bi[i], bj[j]] == 0.0:  # keep the field's own gaps
                    out[k, i, j] = np.nan
                    continue
                num = 0.0
                den = 0.0
                for a in range(2):
                    r = ylo[i] if a == 0 else yhi[i]
                    w_r = 1.0 - wy[i] if a == 0 else wy[i]
                    for b in range(2):
                        c = xlo[j] if b == 0 else xhi[j]
                        w = w_r * (1.0 - wx[j] if b == 0 else wx[j])
                        if w > 0.0 and counts[r, c] > 0.0:
                            num += w * sums[r, c] / counts[r, c]
                            den += w
                out[k, i, j] = num / den if den > 1e-12 else np.nan
    return out


def smooth_cell_field(data: np.ndarray, factor: int, iterations: int = 2) -> np.ndarray:
    """A continuous field with (nearly) the cell means of ``data``: :func:`smooth_native`, mean-corrected.

    Bilinear interpolation of cell means does not keep them (it is off by the
    field's curvature); each iteration adds back the interpolated difference
    between the target cell means and the current ones.

    Parameters
    ----------
    data : ndarray, shape (..., Y, X)
        Fine field whose cell means to keep (NaN-aware); Y and X multiples of ``factor``.
    factor : int
        Fine pixels per coarse cell.
    iterations : int, default 2
        Mean corrections (0: plain :func:`smooth_native`).

    Returns
    -------
    ndarray of float64, same shape.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 40))
    >>> cm = lambda a: a.reshape(8, 5, 8, 5).mean(axis=(1, 3))
    >>> kept = np.abs(cm(smooth_cell_field(x, 5)) - cm(x)).max()
    >>> bool(kept < np.abs(cm(smooth_native(x, 5)) - cm(x)).max())
    True
    """
    x = np.asarray(data, dtype=np.float64)
    *lead, ny, nx = x.shape
    target = block_mean(x, factor)
    field = smooth_native(x, factor)
    for _ in range(iterations):
        diff = target - block_mean(field, factor)
        up = np.repeat(np.repeat(diff, factor, axis=-2), factor, axis=-1)
        field = field + smooth_native(np.where(np.isfinite(field), up, np.nan), factor)
    return field


def native_block(var: xr.DataArray, fine_res: float) -> int:
    """Fine pixels per native cell of a covariate (its ``native_resolution`` attribute, degrees), or 1."""
    native = var.attrs.get("native_resolution")
    if native is None:
        return 1
    ratio = float(native) / fine_res
    block = int(round(ratio))
    if block < 1 or abs(ratio - block) > 1e-6 * max(ratio, 1.0):
        raise ValueError(f"{var.name}: native_resolution {native} is not a whole multiple of the "
                         f"fine grid's {fine_res:g} degrees")
    return block


def aggregate(
    fine: xr.Dataset,
    coarse: xr.Dataset | Grid,
    *,
    method: str = "mean",
    min_valid: float = 0.5,
    variables: tuple[str, ...] | None = None,
) -> xr.Dataset:
    """Aggregate fine covariates to the coarse grid.

    Parameters
    ----------
    fine : xarray.Dataset
        Fine covariates (``lst`` K, ``ndvi`` 1, ``albedo`` 1, ``precip``
        mm day-1, ``dem`` m) on a grid nesting in ``coarse``.
    coarse : xarray.Dataset or Grid
        The coarse dataset (or its grid) to aggregate to.
    method : {"mean", "cubic"}
        Block mean of the fine pixels of each cell (NaN-aware), or cubic
        convolution (see the module docstring).
    min_valid : float, default 0.5
        Minimum fraction (0-1) of valid fine pixels for a cell to get a value.
    variables : tuple of str, optional
        Variables to aggregate (default: every covariate present).

    Returns
    -------
    xarray.Dataset
        The covariates on the coarse grid, same units, lazy if ``fine`` is.

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> sc = make_scenario("tiny")
    >>> agg = aggregate(sc.fine, sc.coarse)
    >>> dict(agg["lst"].sizes) == dict(sc.coarse["sm"].sizes)
    True
    """
    if method not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {method!r}; choose one of {list(AGGREGATIONS)}")
    grid = coarse if isinstance(coarse, Grid) else Grid.from_dataset(coarse)
    factor = nesting_factor(grid, Grid.from_dataset(fine))
    names = variables or tuple(v for v in COVARIATES if v in fine.data_vars)
    out = {}
    for name in names:
        var = fine[name]
        if method == "mean":
            blocks = var.coarsen(lat=factor, lon=factor)
            agg = blocks.mean().where(var.notnull().coarsen(lat=factor, lon=factor).mean() >= min_valid)
        else:  # the kernel spans neighbouring cells: whole lat/lon planes per block of time
            agg = xr.apply_ufunc(
                aggregate_array, var.rename(lat="flat", lon="flon"),
                input_core_dims=[["flat", "flon"]], output_core_dims=[["lat", "lon"]],
                kwargs={"factor": factor, "method": "cubic", "min_valid": min_valid},
                dask="parallelized", output_dtypes=[np.float64],
                dask_gufunc_kwargs={"output_sizes": {"lat": grid.nlat, "lon": grid.nlon},
                                    "allow_rechunk": True},
            )
        out[name] = agg.astype(np.float32)
        out[name].attrs = dict(var.attrs)
    ds = xr.Dataset(out)
    return ds.assign_coords(lat=grid.lat, lon=grid.lon).assign_coords(
        lat=("lat", grid.lat, fine["lat"].attrs), lon=("lon", grid.lon, fine["lon"].attrs)
    )


def training_table(
    coarse: xr.Dataset, fine: xr.Dataset, *, covariates=COVARIATES, min_valid: float = 0.5,
    method: str = "mean",
):
    """The pooled coarse training set: every valid cell-day as one row.

    Parameters
    ----------
    coarse : xarray.Dataset
        Coarse ``sm`` (m3 m-3).
    fine : xarray.Dataset
        Fine covariates nesting in the coarse grid.
    covariates : sequence of str
    min_valid : float
        See :func:`aggregate`.
    method : {"mean", "cubic"}
        Aggregation (see :func:`aggregate`).

    Returns
    -------
    pandas.DataFrame
        Columns ``time``, ``lat``, ``lon``, the covariates (their units) and
        ``sm`` (m3 m-3); rows with any missing value are dropped.
    """
    agg = aggregate(fine, coarse, method=method, min_valid=min_valid, variables=tuple(covariates))
    table = xr.Dataset({v: agg[v].broadcast_like(coarse["sm"]) for v in covariates})
    table["sm"] = coarse["sm"]
    df = table.to_dataframe().reset_index()
    return df.dropna(subset=[*covariates, "sm"]).reset_index(drop=True)


def fill_time_gaps(x: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN runs along axis 0 by linear interpolation between valid days.

    Gaps longer than ``max_gap`` days, and gaps at the ends, are left NaN.

    Parameters
    ----------
    x : ndarray, shape (T, ...)
        Daily values (any units); NaN = missing.
    max_gap : int
        Longest run of missing days that is filled, days.

    Returns
    -------
    (filled, was_filled)
        float64 values and a boolean mask of the filled entries, both shaped like ``x``.
    """
    t = x.shape[0]
    flat = np.ascontiguousarray(x.reshape(t, -1), dtype=np.float64)
    out = flat.copy()
    filled = np.zeros(flat.shape, np.bool_)
    _fill_gaps_kernel(flat, out, filled, int(max_gap))
    return out.reshape(x.shape), filled.reshape(x.shape)


@numba.njit(cache=True, nogil=True)
def _fill_gaps_kernel(x, out, filled, max_gap):  # pragma: no cover - compiled
    t, n = x.shape
    for j in range(n):
        prev = -1
        for i in range(t):
            if not np.isfinite(x[i, j]):
                continue
            if prev >= 0 and 1 <= i - prev - 1 <= max_gap:
                a, b = x[prev, j], x[i, j]
                for k in range(prev + 1, i):
                    w = (k - prev) / (i - prev)
                    out[k, j] = a * (1 - w) + b * w
                    filled[k, j] = True
            prev = i
