"""GPM IMERG precipitation (daily or half-hourly files): the fine ``precip``.

Owns the product's units (mm/day or mm/hr), its fill and the regridding of its
0.1-degree cells onto the fine grid; the NetCDF/HDF5 mechanics are
:mod:`smkit.readers.netcdf`'s.
"""

from __future__ import annotations

import os
import re

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid
from smkit.readers.common import (
    EARTHDATA_LOGIN,
    ReadError,
    as_bbox,
    as_files,
    check_download,
    day_index,
    guarded,
    norm_units,
)
from smkit.readers.netcdf import (
    check_same_grid,
    check_unique_times,
    read_nc,
    scan_nc,
    select_cover,
    to_daily,
)

__all__ = ["read_imerg"]

_RATE = {"mm/day": 1.0, "mm day-1": 1.0, "mm d-1": 1.0, "mm/d": 1.0, "mm": 1.0,
         "kg m-2 day-1": 1.0, "mm/hr": 24.0, "mm/h": 24.0, "mm h-1": 24.0, "mm hr-1": 24.0,
         "kg m-2 h-1": 24.0}


def _regrid_nearest(a: np.ndarray, slat, slon, grid: Grid) -> np.ndarray:
    """Each grid cell takes the source cell (regular, ascending centres) holding its centre."""
    def index(src, tgt):
        step = (src[-1] - src[0]) / max(src.size - 1, 1) if src.size > 1 else 1.0
        k = np.rint((tgt - src[0]) / step).astype(np.int64)
        ok = (k >= 0) & (k < src.size)
        k = np.clip(k, 0, src.size - 1)
        ok &= np.abs(src[k] - tgt) <= step / 2 + 1e-9
        return k, ok

    yi, yok = index(slat, grid.lat)
    xi, xok = index(slon, grid.lon)
    out = a[:, yi][:, :, xi].astype(np.float32)
    out[:, ~yok] = np.nan
    out[:, :, ~xok] = np.nan
    return out


def _regrid_linear(a: np.ndarray, slat, slon, grid: Grid) -> np.ndarray:
    from scipy.interpolate import RegularGridInterpolator

    yy, xx = np.meshgrid(grid.lat, grid.lon, indexing="ij")
    pts = np.column_stack([yy.ravel(), xx.ravel()])
    out = np.empty((a.shape[0], *grid.shape), dtype=np.float32)
    for t in range(a.shape[0]):
        f = RegularGridInterpolator((slat, slon), a[t].astype(np.float64), bounds_error=False,
                                    fill_value=np.nan)
        out[t] = f(pts).reshape(grid.shape)
    return out


def _post_imerg(lay, sel, variable, factor, grid, method):
    a = read_nc(lay, sel.ysl, sel.xsl, sel.yidx, sel.xidx)[variable].astype(np.float32)
    a = np.where(np.isfinite(a) & (a >= 0), a * np.float32(factor), np.float32(np.nan))
    regrid = _regrid_nearest if method == "nearest" else _regrid_linear
    return {"precip": regrid(a, sel.lat, sel.lon, grid)}


def read_imerg(files, grid: Grid, *, time=None, variable: str = "precipitation",
               resampling: str = "nearest") -> xr.Dataset:
    """Read GPM IMERG precipitation onto a lat/lon grid, as daily totals.

    Final-run daily files (``3B-DAY.MS.MRG.3IMERG.20090701-S000000-E235959.V07B.nc4``,
    NetCDF-4, ``precipitation`` in mm/day with dims (time, lon, lat) as IMERG
    stores them) or half-hourly HDF5 granules (``3B-HHR.MS.MRG.3IMERG.*.HDF5``,
    group ``Grid``, mm/hr: their daily mean rate times 24 gives mm/day).

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``3B-*IMERG*``) or globs.
    grid : smkit.core.grid.Grid
        Target (fine) grid.
    time : array-like of dates, optional
        Daily axis of the result. Default: the files' days.
    variable : str, default "precipitation"
        ``precipitationCal`` for version 06 files.
    resampling : {"nearest", "linear"}
        "nearest": every grid cell takes the 0.1-degree cell holding it
        (preserves totals); "linear": bilinear between cell centres.

    Returns
    -------
    xarray.Dataset
        Lazy ``precip`` (mm day-1, float32), dims (time, lat, lon); negative
        (fill) values are NaN.
    """
    kind = "GPM IMERG"
    if resampling not in ("nearest", "linear"):
        raise ValueError(f"resampling must be 'nearest' or 'linear', not {resampling!r}")
    paths = as_files(files, kind, "3B-*IMERG*")
    lays = []
    for p in paths:
        check_download(p, kind, "NetCDF-4/HDF5", login=EARTHDATA_LOGIN)
        m = re.search(r"3IMERG\.(\d{8})", os.path.basename(p))
        lay = scan_nc(p, kind, (variable,), groups=("Grid",),
                       date=pd.Timestamp(m.group(1)) if m else None)
        u = norm_units(lay.units.get(variable))
        if u not in _RATE:
            raise ReadError(p, kind, variable, f"has units '{lay.units.get(variable)}'; expected "
                            "mm/day (daily files) or mm/hr (half-hourly files)",
                            "check the product")
        lays.append(lay)
    check_same_grid(lays, kind)
    check_unique_times(lays, kind)
    step = float(np.median(np.abs(np.diff(lays[0].lat)))) if lays[0].lat.size > 1 else 0.1
    sel = select_cover(lays[0], as_bbox(grid), margin=step, kind=kind)
    parts = []
    for lay in lays:
        factor = _RATE[norm_units(lay.units[variable])]
        d = dask.delayed(guarded, pure=True)(_post_imerg, lay.path, kind, variable, lay, sel,
                                              variable, factor, grid, resampling)
        parts.append(da.from_delayed(d["precip"], (lay.times.size, *grid.shape), dtype=np.float32))
    times = np.concatenate([lay.times for lay in lays])
    v = xr.DataArray(da.concatenate(parts, axis=0), dims=("time", "lat", "lon"),
                     coords={"time": times, **grid.coords()})
    v = to_daily(v, day_index(time), kind).astype(np.float32)
    v.attrs = {"long_name": "precipitation (GPM IMERG)", "standard_name": "lwe_precipitation_rate",
               "units": "mm day-1"}
    return xr.Dataset({"precip": v}, attrs={"source": "GPM IMERG"})
