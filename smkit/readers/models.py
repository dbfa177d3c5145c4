"""Model and reanalysis fields on their native grids: ERA5-Land, Noah (GLDAS), TerraClimate.

ERA5-Land and Noah give daily ``sm``, TerraClimate the monthly ``pdsi``.

Owns each product's units and conversion (Noah's kg m-2 to m3 m-3, PDSI's
integer scaling) and the monthly axis of PDSI; the NetCDF mechanics are
:mod:`smkit.readers.netcdf`'s.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.vocabulary import SM_ATTRS
from smkit.readers.common import (
    CDS_LOGIN,
    EARTHDATA_LOGIN,
    SM_UNIT_ALIASES,
    ReadError,
    as_bbox,
    as_files,
    check_download,
    day_index,
    guarded,
    norm_units,
    time_coord,
    warn_missing,
)
from smkit.readers.netcdf import (
    NcLayout,
    check_same_grid,
    check_unique_times,
    grid_coords,
    read_nc,
    scan_nc,
    select_cover,
    to_daily,
)

__all__ = ["read_era5_land", "read_noah", "read_terraclimate_pdsi"]


def _post_model(lay, sel, variable, factor, offset, raw_scale):
    a = read_nc(lay, sel.ysl, sel.xsl, sel.yidx, sel.xidx)[variable].astype(np.float64)
    if raw_scale is not None:  # stored integers without a CF scale_factor
        a = np.where(a == -32768, np.nan, a) * raw_scale
    a = np.where(np.isfinite(a) & (a > -9000), a * factor + offset, np.nan)
    return {"v": a.astype(np.float32)}


def _read_native(files, kind, pattern, variable, bbox, *, attrs, units_factor, raw_scale=None,
                 groups=(), expected="NetCDF", login=None) -> tuple[xr.DataArray, list[NcLayout]]:
    paths = as_files(files, kind, pattern)
    for p in paths:
        check_download(p, kind, expected, login=login)
    lays = [scan_nc(p, kind, (variable,), groups=groups) for p in paths]
    check_same_grid(lays, kind)
    check_unique_times(lays, kind)
    sel = select_cover(lays[0], as_bbox(bbox), kind=kind)
    parts = []
    for lay in lays:
        factor, offset = units_factor(lay)
        rs = raw_scale if (raw_scale is not None and lay.raw_int.get(variable)) else None
        d = dask.delayed(guarded, pure=True)(_post_model, lay.path, kind, variable, lay, sel,
                                              variable, factor, offset, rs)
        parts.append(da.from_delayed(d["v"], (lay.times.size, sel.lat.size, sel.lon.size),
                                     dtype=np.float32))
    times = np.concatenate([lay.times for lay in lays])
    v = xr.DataArray(da.concatenate(parts, axis=0), dims=("time", "lat", "lon"),
                     coords={"time": times, **grid_coords(sel.lat, sel.lon)}, attrs=attrs)
    return v, lays


def read_era5_land(files, bbox=None, *, time=None, variable: str = "swvl1") -> xr.Dataset:
    """Read ERA5-Land top-layer soil moisture as daily means on its native 0.1-degree grid.

    Files from the Copernicus Climate Data Store, NetCDF or GRIB (its default
    delivery; read with cfgrib): ``swvl1`` (volumetric soil water layer 1,
    0-7 cm, m3 m-3), hourly, dims ``valid_time`` (new CDS) or ``time``
    (legacy, and GRIB), ``latitude`` (descending) and ``longitude`` (0..360 or
    -180..180).

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*.nc``, ``*.grib``, ``*.grb``) or globs.
    bbox : Grid or (west, south, east, north), optional
        Region: grid points whose centres fall inside (edges included).
        Default: the whole file.
    time : array-like of dates, optional
        Daily axis of the result. Default: the files' days.
    variable : str, default "swvl1"
        Variable name.

    Returns
    -------
    xarray.Dataset
        Lazy ``sm`` (m3 m-3, float32): the mean of the day's time steps
        (UTC days), latitude ascending, longitude in -180..180.
    """
    kind = "ERA5-Land"

    def units(lay):
        u = norm_units(lay.units.get(variable))
        if u and u not in SM_UNIT_ALIASES:
            raise ReadError(lay.path, kind, variable, f"has units '{lay.units[variable]}', not "
                            "m3 m-3", "download volumetric soil water (swvl1)")
        return 1.0, 0.0

    attrs = {**SM_ATTRS,
             "long_name": "ERA5-Land volumetric soil water layer 1 (0-7 cm), daily mean"}
    v, _ = _read_native(files, kind, ("*.nc", "*.grib", "*.grb"), variable, bbox, attrs=attrs,
                        units_factor=units, expected="NetCDF or GRIB", login=CDS_LOGIN)
    v = to_daily(v, day_index(time), kind).astype(np.float32)
    v.attrs = attrs
    return xr.Dataset({"sm": v}, attrs={"source": "ERA5-Land (Copernicus Climate Data Store)"})


def read_noah(files, bbox=None, *, time=None, variable: str = "SoilMoi0_10cm_inst",
              depth: float = 0.1) -> xr.Dataset:
    """Read Noah (GLDAS) 0-10 cm soil moisture as daily volumetric means on its native grid.

    GLDAS Noah NetCDF-4 files from GES DISC (``GLDAS_NOAH025_3H.A20090701.0300.021.nc4``,
    daily ``GLDAS_NOAH025_D`` or any Noah output with the same variable):
    ``SoilMoi0_10cm_inst`` is the water in the 0-10 cm layer in kg m-2; the
    volumetric content is ``theta = W / (rho_w * depth)`` with the water
    density ``rho_w`` = 1000 kg m-3 and ``depth`` = 0.1 m, i.e. ``W / 100``.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*.nc4``) or globs.
    bbox : Grid or (west, south, east, north), optional
        Region (grid points whose centres fall inside). Default: whole file.
    time : array-like of dates, optional
        Daily axis of the result. Default: the files' days.
    variable : str, default "SoilMoi0_10cm_inst"
        Variable name.
    depth : float, default 0.1
        Layer thickness, m.

    Returns
    -------
    xarray.Dataset
        Lazy ``sm`` (m3 m-3, float32), daily mean of the time steps; fill
        values (-9999) are NaN.
    """
    kind = "Noah"

    def units(lay):
        u = norm_units(lay.units.get(variable))
        if u in ("kg m-2", "kg/m2", "kg m**-2", "kg m^-2", "mm"):
            return 1.0 / (1000.0 * depth), 0.0
        if u in SM_UNIT_ALIASES:
            return 1.0, 0.0
        raise ReadError(lay.path, kind, variable, f"has units '{lay.units.get(variable)}'; "
                        "expected kg m-2 (layer water) or m3 m-3", "check the product")

    attrs = {**SM_ATTRS, "long_name": f"Noah 0-{depth * 100:g} cm volumetric soil moisture, daily "
             "mean", "conversion": f"kg m-2 / (1000 kg m-3 * {depth:g} m)"}
    v, _ = _read_native(files, kind, "*.nc4", variable, bbox, attrs=attrs,
                        units_factor=units, expected="NetCDF-4", login=EARTHDATA_LOGIN)
    v = to_daily(v, day_index(time), kind).astype(np.float32)
    v.attrs = attrs
    return xr.Dataset({"sm": v}, attrs={"source": "Noah land surface model (GLDAS)"})


def read_terraclimate_pdsi(files, bbox=None, *, time=None, variable: str = "PDSI") -> xr.Dataset:
    """Read TerraClimate monthly PDSI on its native 1/24-degree grid.

    Yearly NetCDF files ``TerraClimate_PDSI_2009.nc`` (Climatology Lab or its
    THREDDS server): ``PDSI`` stored as int16 with ``scale_factor`` 0.01
    (applied here; also to integers whose file lacks the attribute),
    latitude descending.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``TerraClimate_PDSI_*.nc``) or globs.
    bbox : Grid or (west, south, east, north), optional
        Region (grid points whose centres fall inside). Default: whole file.
    time : array-like of dates, optional
        Months of the result (any day of a month stands for it). Default:
        the files' months.
    variable : str, default "PDSI"
        Variable name.

    Returns
    -------
    xarray.Dataset
        Lazy ``pdsi`` (1, float32), dims (time, lat, lon), time at the first
        day of each month.
    """
    kind = "TerraClimate PDSI"
    attrs = {"long_name": "Palmer drought severity index (TerraClimate, monthly)", "units": "1"}
    v, lays = _read_native(files, kind, "TerraClimate_PDSI_*.nc", variable, bbox, attrs=attrs,
                           units_factor=lambda lay: (1.0, 0.0), raw_scale=0.01, expected="NetCDF")
    months = pd.DatetimeIndex(v["time"].values).to_period("M").to_timestamp()
    if months.duplicated().any():
        dup = months[months.duplicated()][0]
        raise ReadError(lays[0].path, kind, variable, f"two fields fall in month {dup:%Y-%m}",
                        "remove duplicate files")
    v = v.assign_coords(time=months.values)
    order = np.argsort(months.values, kind="stable")
    v = v.isel(time=order)
    if time is not None:
        want = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]")).to_period("M")
        want = want.unique().sort_values().to_timestamp()
        warn_missing(kind, want.difference(months), "month")
        v = v.reindex(time=want)
    v = v.assign_coords(time=time_coord(v["time"].values)).astype(np.float32)
    v.attrs = attrs
    return xr.Dataset({"pdsi": v}, attrs={"source": "TerraClimate (Abatzoglou et al., 2018)"})
