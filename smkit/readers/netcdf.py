"""NetCDF-4/HDF5 and NetCDF-3 files of gridded products: opening, scanning, reading.

Owns what every NetCDF reader (:mod:`~smkit.readers.esacci`,
:mod:`~smkit.readers.imerg`, :mod:`~smkit.readers.models`) does the same way: open a
file with netCDF4 (else h5netcdf) and check its variables, lat/lon grid, CRS and
time once (:func:`scan_nc` -> :class:`NcLayout`); select the cells of a region or
grid (:func:`select_cover`, :func:`select_grid` -> :class:`Selection`); read them
in a dask task (:func:`read_nc`, :func:`lazy_stack`); and bring sub-daily steps to
daily values (:func:`to_daily`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import LAT_ATTRS, LON_ATTRS, Grid
from smkit.readers.common import (
    IO_LOCK,
    SIGNATURES,
    ReadError,
    check_download,
    file_format,
    guarded,
    time_coord,
    warn_missing,
)

__all__ = [
    "NcLayout", "Selection", "scan_nc", "read_nc", "select_cover", "select_grid",
    "check_same_grid", "check_unique_times", "lazy_stack", "to_daily", "grid_coords", "MAGIC", "file_format",
    "PRODUCT_VARIABLES",
]

_LAT_NAMES = ("lat", "latitude", "Latitude", "nav_lat")
_LON_NAMES = ("lon", "longitude", "Longitude", "nav_lon")
_TIME_NAMES = ("time", "valid_time", "Time")


def _open_engine(path: str, engine: str, group: str | None = None) -> xr.Dataset:
    kw = {"phony_dims": "sort"} if engine == "h5netcdf" else {}
    if engine == "cfgrib":  # no .idx files beside the user's archive; ERA5's analysis fields
        kw = {"backend_kwargs": {"indexpath": ""}}
        return xr.open_dataset(path, engine=engine, cache=False, chunks=None, decode_timedelta=False, **kw)
    return xr.open_dataset(path, engine=engine, group=group, cache=False, chunks=None,
                           decode_timedelta=False, **kw)


#: The first bytes of file formats smkit meets in the archives, and what they are
#: (:data:`smkit.readers.common.SIGNATURES`; :func:`file_format` is common's too).
MAGIC = dict(SIGNATURES)


def _check_grib_messages(path: str, kind: str):
    """Raise a ReadError if the last GRIB message of ``path`` is cut short (cfgrib reads the rest silently).

    Walks the messages by the total length of their section 0 (GRIB1: 3 bytes, GRIB2: 8
    bytes); a GRIB1 message in ECMWF's large-message convention stops the walk unchecked.
    """
    size = os.path.getsize(path)
    pos, count = 0, 0
    with open(path, "rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if not head.startswith(b"GRIB"):
                f.seek(pos)
                rest = f.read(65536)
                k = rest.find(b"GRIB")
                if k < 0:
                    return  # trailing padding
                pos += k
                continue
            edition = head[7] if len(head) > 7 else 0
            if edition == 1:
                length = int.from_bytes(head[4:7], "big")
                if length & 0x800000:
                    return  # ECMWF's large-GRIB1 length coding: not checked
            elif edition == 2 and len(head) == 16:
                length = int.from_bytes(head[8:16], "big")
            else:
                length = 0
            f.seek(pos + length - 4)
            if length < 8 or pos + length > size or f.read(4) != b"7777":
                raise ReadError(path, kind, None, f"is a GRIB file whose message {count + 1} (at byte "
                                f"{pos}) is cut short: the file is truncated ({size} bytes; "
                                f"{count} complete message(s) before it)", "download the file again")
            pos += length
            count += 1


def _open_grib(path: str, kind: str) -> tuple[xr.Dataset, str]:
    try:
        import cfgrib  # noqa: F401 - the engine must be importable
    except ImportError:
        raise ReadError(path, kind, None, "is a GRIB file, which smkit reads with cfgrib",
                        "pip install cfgrib eccodes (wheels, no system library needed)") from None
    _check_grib_messages(path, kind)
    try:
        with IO_LOCK:
            return _open_engine(path, "cfgrib"), "cfgrib"
    except Exception as err:  # noqa: BLE001 - reported with the format found
        raise ReadError(path, kind, None, f"is a GRIB file that cfgrib cannot read ({type(err).__name__}: "
                        f"{err}); it may hold several kinds of fields", "request one variable and one level "
                        "type per file, or convert it: grib_to_netcdf -o out.nc file.grib") from None


def _open_nc(path: str, kind: str) -> tuple[xr.Dataset, str]:
    """Open a NetCDF-4/HDF5, NetCDF-3 or GRIB file (netCDF4, else h5netcdf; cfgrib), or raise a ReadError.

    netCDF4 comes first: it opens files about ten times faster than h5netcdf
    here; all reads are serialised with a lock (see ``IO_LOCK``). A GRIB file
    (the Climate Data Store's default delivery) is opened with cfgrib; the
    error for a file that opens with none says which format its first bytes are.
    """
    found = check_download(path, kind, "NetCDF-4/HDF5, NetCDF-3 or GRIB")
    if found == "GRIB":
        return _open_grib(path, kind)
    if found == "HDF4":
        raise ReadError(path, kind, None, "is an HDF4 file (as MODIS granules are), not NetCDF/HDF5",
                        "pass MODIS granules to the MODIS readers (read_mod11a1, read_mod13a2, read_mcd43c3)")
    errors = []
    for engine in ("netcdf4", "h5netcdf"):
        try:
            with IO_LOCK:
                return _open_engine(path, engine), engine
        except Exception as err:  # noqa: BLE001 - all reported below
            errors.append(f"{engine}: {type(err).__name__}: {err}")
    what = f"starts like {found}" if found else "starts like no format smkit reads (NetCDF, HDF5, GRIB)"
    raise ReadError(path, kind, None, f"cannot be opened as NetCDF-4/HDF5 or NetCDF-3; it {what}, so "
                    "it is corrupt, truncated or another product (" + " | ".join(errors) + ")",
                    "download the file again, or check it is the product's own file")


def _find(ds: xr.Dataset, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in ds.variables), None)


@dataclass(frozen=True)
class NcLayout:
    """What reading one NetCDF/HDF5 file needs, found when it was opened.

    The file's ``path``, the ``engine`` and ``group`` that open it, the variable
    ``names`` to read, the dimensions playing time (``tdim``, None for a
    file without one), latitude and longitude, the ``extra`` length-1
    dimensions, the file's ``times`` (``datetime64[ns]``), ``lat``/``lon``
    centres (degrees, as stored), each variable's ``units`` and whether it is
    stored as integers without a CF ``scale_factor`` (``raw_int``).
    """

    path: str
    engine: str
    group: str | None
    names: tuple[str, ...]
    tdim: str | None
    ydim: str
    xdim: str
    extra: tuple[str, ...]
    times: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    units: dict = field(default_factory=dict)
    raw_int: dict = field(default_factory=dict)


def _check_nc_crs(ds: xr.Dataset, var: xr.DataArray, path: str, kind: str, name: str):
    """Raise a ReadError unless ``var`` is on a lat/lon grid in degrees."""
    gm = var.attrs.get("grid_mapping") or var.encoding.get("grid_mapping")
    if gm and gm in ds.variables:
        mapping = ds[gm].attrs.get("grid_mapping_name", "")
        if mapping and mapping != "latitude_longitude":
            raise ReadError(path, kind, name, f"is on a '{mapping}' projection (grid_mapping "
                            f"'{gm}'), not a regular latitude/longitude grid (wrong CRS)",
                            "use the product's native lat/lon files or regrid to EPSG:4326")
        wkt = str(ds[gm].attrs.get("crs_wkt", ds[gm].attrs.get("spatial_ref", "")))
        if wkt.lstrip().upper().startswith(("PROJCS", "PROJCRS")):
            raise ReadError(path, kind, name, "has a projected CRS in its grid mapping (wrong "
                            "CRS); a geographic lat/lon grid is expected",
                            "use the product's native lat/lon files or regrid to EPSG:4326")


def scan_nc(path: str, kind: str, required: Sequence[str], optional: Sequence[str] = (),
            groups: Sequence[str] = (), date: pd.Timestamp | None = None) -> NcLayout:
    """Open a gridded NetCDF/HDF5 file and check its variables, lat/lon grid and time.

    Parameters
    ----------
    path : str
        The file.
    kind : str
        The product, for the messages.
    required : sequence of str
        Variables the file must hold (looked for in ``groups`` too when the
        first is not at the root).
    optional : sequence of str
        Variables read when present.
    groups : sequence of str
        HDF5 groups to look in.
    date : pandas.Timestamp, optional
        The file's day when it has no time coordinate (from its name).

    Returns
    -------
    NcLayout

    Raises
    ------
    ReadError
        Naming the file: unreadable, a missing variable, no or projected or
        curvilinear lat/lon, dimensions that cannot be matched, undecodable time.
    """
    with IO_LOCK:
        return _scan_nc_locked(path, kind, required, optional, groups, date)


def _scan_nc_locked(path, kind, required, optional, groups, date) -> NcLayout:
    ds, engine = _open_nc(path, kind)
    group, seen = None, {}
    try:
        if required[0] not in ds.variables:
            ds, group, seen = _open_group_holding(ds, path, engine, required[0], groups)
        names = _variable_names(ds, path, kind, required, optional, groups, seen)
        var = ds[required[0]]
        lat, lon = _lat_lon(ds, var, path, kind, required[0])
        tname = _find(ds, _TIME_NAMES)
        tdim, ydim, xdim, extra = _match_dims(ds, var, lat, lon, tname, path, kind, required[0])
        for n in names[1:]:
            if ds[n].dims != var.dims:
                raise ReadError(path, kind, n, f"has dims {ds[n].dims}, unlike "
                                f"'{required[0]}' {var.dims}", "check the file")
        times = _nc_times(ds, tname, tdim, date, path, kind, required[0])
        units = {n: ds[n].attrs.get("units") for n in names}
        raw_int = {n: bool(np.issubdtype(ds[n].dtype, np.integer)
                           and "scale_factor" not in ds[n].encoding) for n in names}
        return NcLayout(path, engine, group, names, tdim, ydim, xdim, extra, times,
                        np.asarray(lat.values, dtype=np.float64),
                        np.asarray(lon.values, dtype=np.float64), units, raw_int)
    finally:
        ds.close()


def _open_group_holding(ds, path, engine, name, groups) -> tuple[xr.Dataset, str | None, dict]:
    """The first of ``groups`` holding ``name`` (closing ``ds``), else ``ds``; and each opened group's variables."""
    seen = {}
    for g in groups:
        try:
            gds = _open_engine(path, engine, g)
        except Exception:  # noqa: BLE001 - the group is absent
            continue
        if name in gds.variables:
            ds.close()
            return gds, g, seen
        seen[g] = sorted(map(str, gds.data_vars))
        gds.close()
    return ds, None, seen


#: Variables that tell which product a file is, for the message of a file given to another reader.
PRODUCT_VARIABLES = {
    "swvl1": "ERA5-Land (read_era5_land; source 'era5')",
    "SoilMoi0_10cm_inst": "GLDAS Noah (read_noah; source 'noah')",
    "PDSI": "TerraClimate PDSI (read_terraclimate_pdsi; source 'pdsi')",
    "precipitation": "GPM IMERG V07 (read_imerg; source 'precip')",
    "precipitationCal": "GPM IMERG V06 (read_imerg with variable='precipitationCal')",
    "sm": "ESA CCI SM (read_esacci; source 'coarse')",
}


def _variable_names(ds, path, kind, required, optional, groups, seen=None) -> tuple[str, ...]:
    """The required and present optional variables, or a ReadError listing what root and groups hold."""
    missing = [v for v in required if v not in ds.variables]
    if missing:
        where = f" (also looked in group(s) {list(groups)})" if groups else ""
        found = [f"root {sorted(map(str, ds.data_vars))}"] + [f"group '{g}' {v}" for g, v in (seen or {}).items()]
        held = set(map(str, ds.data_vars)).union(*[set(v) for v in (seen or {}).values()])
        other = [p for v, p in PRODUCT_VARIABLES.items() if v in held and v not in required]
        fix = "check that the file is the right product (and version), or pass its variable name"
        if other and not set(required) & held:
            fix = f"this looks like a file of {other[0]}: give it to that reader, or download the {kind} files"
        raise ReadError(path, kind, missing[0], f"missing{where}; variables found: " + ", ".join(found),
                        fix)
    return tuple(required) + tuple(v for v in optional if v in ds.variables and v not in required)


def _lat_lon(ds, var, path, kind, name) -> tuple[xr.DataArray, xr.DataArray]:
    """The 1-D latitude and longitude of ``var`` in degrees, or a ReadError (wrong CRS, curvilinear)."""
    latn, lonn = _find(ds, _LAT_NAMES), _find(ds, _LON_NAMES)
    if latn is None or lonn is None:
        proj = [n for n in ("x", "y", "xc", "yc", "easting", "northing") if n in ds.variables]
        raise ReadError(path, kind, name, "has no latitude/longitude coordinates"
                        + (f" but projected ones {proj} (wrong CRS)" if proj else "")
                        + f"; variables found: {sorted(map(str, ds.variables))}",
                        "smkit reads this product on its regular lat/lon grid; use the "
                        "archive's file or regrid to EPSG:4326")
    _check_nc_crs(ds, var, path, kind, name)
    lat, lon = ds[latn], ds[lonn]
    for c, axis in ((lat, "north"), (lon, "east")):
        if c.ndim != 1:
            raise ReadError(path, kind, c.name, f"is {c.ndim}-dimensional: a curvilinear grid",
                            "regrid to a regular lat/lon grid")
        units = str(c.attrs.get("units", "degrees")).lower()
        if "degree" not in units:
            raise ReadError(path, kind, c.name, f"has units '{c.attrs.get('units')}', not "
                            f"degrees_{axis} (wrong CRS)",
                            "regrid to a lat/lon grid in degrees")
    return lat, lon


def _match_dims(ds, var, lat, lon, tname, path, kind, name):
    """``(tdim, ydim, xdim, extra)``: the dims of ``var`` playing time, lat, lon, and the others."""
    sizes = dict(var.sizes)
    dims = list(var.dims)
    ydim, xdim = lat.dims[0], lon.dims[0]
    tdim = ds[tname].dims[0] if tname is not None and ds[tname].ndim == 1 else None
    if ydim not in dims or xdim not in dims:  # unnamed (phony) dimensions: match by size
        ydim, xdim, tdim = _dims_by_size(ds, lat, lon, tname, sizes, dims, path, kind, name)
    if tdim is not None and tdim not in dims:
        tdim = None
    extra = tuple(d for d in dims if d not in (tdim, ydim, xdim))
    big = [d for d in extra if sizes[d] != 1]
    if big:
        raise ReadError(path, kind, name, f"has unexpected dimension(s) "
                        f"{[(d, sizes[d]) for d in big]}", "select one level/member first")
    return tdim, ydim, xdim, extra


def _dims_by_size(ds, lat, lon, tname, sizes, dims, path, kind, name):
    """``(ydim, xdim, tdim)`` of unnamed dimensions, told apart by their lengths."""
    by_size = {lat.size: "y", lon.size: "x"}
    if tname is not None:
        by_size.setdefault(ds[tname].size, "t")
    if len(by_size) < 2 + (tname is not None):
        raise ReadError(path, kind, name, "its dimensions cannot be matched to "
                        "lat/lon/time (equal lengths and no dimension names)",
                        "write the file with named dimensions")
    roles = {by_size.get(sizes[d]): d for d in dims}
    ydim, xdim, tdim = roles.get("y"), roles.get("x"), roles.get("t")
    if ydim is None or xdim is None:
        raise ReadError(path, kind, name, f"dims {tuple(dims)} do not include "
                        "the latitude and longitude axes", "check the file")
    return ydim, xdim, tdim


def _nc_times(ds, tname, tdim, date, path, kind, name) -> np.ndarray:
    """The file's times (``datetime64[ns]``): its time coordinate, else ``date``."""
    scalar_time = tname is not None and tdim is None and ds[tname].size == 1
    if tdim is not None or scalar_time:
        t = ds[tname]
        values = np.atleast_1d(t.values)  # a scalar time (GRIB -> netCDF conversions) is one time
        if values.dtype == object:
            values = _from_cftime(values, t, path, kind)
        if not np.issubdtype(values.dtype, np.datetime64):
            raise ReadError(path, kind, str(tname), f"could not be decoded to dates "
                            f"(units '{t.attrs.get('units', t.encoding.get('units'))}')",
                            "check the time units of the file")
        return np.asarray(values, dtype="datetime64[ns]")
    if date is not None:
        return np.array([np.datetime64(pd.Timestamp(date), "ns")])
    raise ReadError(path, kind, name, "has no time coordinate and its name "
                    "gives no date", "keep the archive's file names")


def _from_cftime(values: np.ndarray, t: xr.DataArray, path, kind) -> np.ndarray:
    """Dates of a non-standard calendar as datetime64, where that is exact.

    GPM IMERG declares ``calendar = "julian"`` on seconds since 1970: between 1901-03-01 and
    2100-02-28 the Julian and the Gregorian calendars have the same leap years, so the decoded
    year-month-day-time fields are the dates the file means (its names say the same day).
    """
    calendar = str(t.encoding.get("calendar", t.attrs.get("calendar", getattr(values[0], "calendar", ""))))
    inside = all(hasattr(d, "year") and (1901, 3, 1) <= (d.year, d.month, d.day) <= (2100, 2, 28)
                 for d in values)
    if calendar.lower() in ("julian", "proleptic_gregorian", "gregorian", "standard") and inside:
        return np.array([np.datetime64(f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
                                       f"{d.second:02d}", "ns") for d in values])
    raise ReadError(path, kind, str(t.name), f"uses the '{calendar}' calendar, whose dates smkit cannot "
                    "map exactly to the standard calendar", "convert the file with ds.convert_calendar("
                    "'standard', align_on='date') and pass the converted file")


def read_nc(lay: NcLayout, ysl: slice, xsl: slice, yidx: np.ndarray, xidx: np.ndarray
            ) -> dict[str, np.ndarray]:
    """Read the selected cells of every variable of ``lay``, as (time, lat, lon) arrays.

    ``ysl``/``xsl`` cover the cells, ``yidx``/``xidx`` order them inside the
    slices (see :class:`Selection`). Values are as stored (CF-decoded).
    """
    def load():
        ds = _open_engine(lay.path, lay.engine, lay.group)
        try:
            out = {}
            for n in lay.names:
                v = ds[n].isel({**{d: 0 for d in lay.extra}, lay.ydim: ysl, lay.xdim: xsl})
                order = ([lay.tdim] if lay.tdim else []) + [lay.ydim, lay.xdim]
                a = np.asarray(v.transpose(*order).values)
                if lay.tdim is None:
                    a = a[None]
                out[n] = a[:, yidx][:, :, xidx]
            return out
        finally:
            ds.close()

    with IO_LOCK:
        return load()


def _normal_lon(lon: np.ndarray) -> np.ndarray:
    return np.where(lon >= 180.0, lon - 360.0, lon)


@dataclass(frozen=True)
class Selection:
    """Cells of a file to read: covering slices and the index order inside them.

    ``lat`` and ``lon`` are the selected centres (degrees), ascending, longitude
    in -180..180.
    """

    ysl: slice
    xsl: slice
    yidx: np.ndarray
    xidx: np.ndarray
    lat: np.ndarray  # ascending
    lon: np.ndarray  # ascending, -180..180


def select_cover(lay: NcLayout, bbox, margin: float = 0.0, kind: str = "") -> Selection:
    """Select the file's cells whose centres fall in ``bbox`` (+ ``margin`` degrees), ascending.

    ``bbox`` is ``(west, south, east, north)`` in degrees, or None for every cell.

    Raises
    ------
    ReadError
        If no cell of the file falls inside.
    """
    lat, lon = lay.lat, _normal_lon(lay.lon)
    if bbox is None:
        yi, xi = np.arange(lat.size), np.arange(lon.size)
    else:
        w, s, e, n = bbox
        eps = 1e-9
        yi = np.flatnonzero((lat >= s - margin - eps) & (lat <= n + margin + eps))
        xi = np.flatnonzero((lon >= w - margin - eps) & (lon <= e + margin + eps))
    if yi.size < 1 or xi.size < 1:
        raise ReadError(lay.path, kind, lay.names[0], f"covers lat {lat.min():g}..{lat.max():g}, "
                        f"lon {lon.min():g}..{lon.max():g}: nothing inside the region {bbox}",
                        "download the files for the region, or fix the bbox")
    yi = yi[np.argsort(lat[yi], kind="stable")]
    xi = xi[np.argsort(lon[xi], kind="stable")]
    y0, x0 = int(yi.min()), int(xi.min())
    return Selection(slice(y0, int(yi.max()) + 1), slice(x0, int(xi.max()) + 1), yi - y0, xi - x0,
                     lat[yi], lon[xi])


def select_grid(lay: NcLayout, grid: Grid, kind: str) -> Selection:
    """Select the file's cells that are exactly the cells of ``grid`` (same centres).

    Raises
    ------
    ReadError
        If a cell of ``grid`` is not centred on a cell of the file.
    """
    lat, lon = lay.lat, _normal_lon(lay.lon)

    def match(src, targets, axis):
        order = np.argsort(src, kind="stable")
        s = src[order]
        k = np.searchsorted(s, targets)
        k0, k1 = np.clip(k - 1, 0, s.size - 1), np.clip(k, 0, s.size - 1)
        k = np.where(np.abs(s[k0] - targets) <= np.abs(s[k1] - targets), k0, k1)
        off = np.abs(s[k] - targets)
        if np.any(off > grid.res * 1e-3):
            bad = targets[np.argmax(off)]
            raise ReadError(lay.path, kind, lay.names[0], f"has no cell centred at {axis} "
                            f"{bad:g} of the {grid.res:g}-degree target grid (file {axis} "
                            f"{s.min():g}..{s.max():g})", "choose a bbox on whole cells of the "
                            "product's grid, inside the file's coverage")
        return order[k]

    yi, xi = match(lat, grid.lat, "lat"), match(lon, grid.lon, "lon")
    y0, x0 = int(yi.min()), int(xi.min())
    return Selection(slice(y0, int(yi.max()) + 1), slice(x0, int(xi.max()) + 1), yi - y0, xi - x0,
                     grid.lat, grid.lon)


def check_same_grid(lays: Sequence[NcLayout], kind: str):
    """Raise a ReadError naming the first file whose lat/lon differ from the first file's.

    Coordinates equal to 1e-6 degree are the same grid: a GRIB file's centres,
    computed by eccodes from the first point and the increment, differ from the
    NetCDF ones of the same request by rounding (~1e-13 degree).
    """
    first = lays[0]

    def same(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=0.0, atol=1e-6)

    for lay in lays[1:]:
        if not (same(lay.lat, first.lat) and same(lay.lon, first.lon)):
            raise ReadError(lay.path, kind, lay.names[0], f"has another grid than {first.path} "
                            f"({lay.lat.size}x{lay.lon.size} vs {first.lat.size}x{first.lon.size} "
                            "cells or other coordinates)", "use files of one product, version "
                            "and region")


def check_unique_times(lays: Sequence[NcLayout], kind: str):
    """Raise a ReadError naming the file holding a time another file holds too."""
    seen: dict = {}
    for lay in lays:
        for t in lay.times:
            if t in seen:
                raise ReadError(lay.path, kind, None, f"time {pd.Timestamp(t)} is also in "
                                f"{seen[t]}", "remove duplicate files (e.g. two versions)")
            seen[t] = lay.path


def lazy_stack(lays, task, names, shape_yx, dtypes, kind, *args) -> dict[str, da.Array]:
    """Dask arrays (time, y, x) of ``names``, one task per file, in the order of ``lays``.

    ``task(lay, *args)`` reads one file and returns ``{name: array}``; a failure
    becomes a :class:`~smkit.readers.common.ReadError` naming the file.
    """
    parts: dict[str, list] = {n: [] for n in names}
    for lay in lays:
        d = dask.delayed(guarded, pure=True)(task, lay.path, kind, None, lay, *args)
        for n in names:
            parts[n].append(da.from_delayed(d[n], (lay.times.size, *shape_yx), dtype=dtypes[n]))
    return {n: da.concatenate(p, axis=0) for n, p in parts.items()}


def to_daily(arr: xr.DataArray, days: pd.DatetimeIndex | None, kind: str, how: str = "mean"
             ) -> xr.DataArray:
    """Sub-daily or daily steps to daily values on ``days`` (NaN, with a warning, where no file).

    ``how`` aggregates the steps of a day ("mean", NaN-skipping, or a resampler
    method such as "first"); ``days`` None keeps the days with a file.
    """
    t = pd.DatetimeIndex(arr["time"].values)
    order = np.argsort(t.values, kind="stable")
    if not np.all(order == np.arange(t.size)):
        arr = arr.isel(time=order)
        t = t[order]
    if np.all(t == t.normalize()):
        out = arr
    else:
        if how == "mean":  # sum / count: no "mean of empty slice" warnings from dask tasks
            total = arr.resample(time="1D").sum(skipna=True)
            count = arr.notnull().resample(time="1D").sum()
            out = total / count.where(count > 0)
        else:
            out = getattr(arr.resample(time="1D"), how)()
        got = pd.DatetimeIndex(t.normalize().unique())
        out = out.sel(time=got)
    got = pd.DatetimeIndex(out["time"].values)
    if days is not None:
        warn_missing(kind, days.difference(got))
        out = out.reindex(time=days)
    return out.assign_coords(time=time_coord(out["time"].values))


def grid_coords(lat, lon) -> dict[str, xr.Variable]:
    """CF ``lat``/``lon`` coordinates (degrees, rounded to 1e-8) of the given centres."""
    return {"lat": xr.Variable("lat", np.round(np.asarray(lat, np.float64), 8), LAT_ATTRS),
            "lon": xr.Variable("lon", np.round(np.asarray(lon, np.float64), 8), LON_ATTRS)}
