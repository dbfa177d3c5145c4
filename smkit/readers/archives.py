"""Readers of the real archives, and ingestion into the analysis-ready cube.

Each reader takes the files of one product as the archive distributes them and
returns smkit's data model (see ``DESIGN.md``): CF attributes and ``units`` on
every variable, ascending latitude, longitude in -180..180, daily
``datetime64[ns]`` time, NaN where there is no valid value. Scale factors,
fill values and quality flags are applied by the reader, which knows the
product; the core never guesses.

Readers (product -> variables of the data model):

* :func:`read_esacci` -- ESA CCI SM COMBINED, daily 0.25 degree -> coarse ``sm``,
  ``sm_uncertainty`` (m3 m-3), ``flag``;
* :func:`read_mod11a1` -- MOD11A1/MYD11A1 -> fine ``lst`` (K);
* :func:`read_mod13a2` -- MOD13A2/MYD13A2 16-day composites -> fine ``ndvi`` (1);
* :func:`read_mcd43c3` -- MCD43C3, 0.05 degree -> fine ``albedo`` (1);
* :func:`read_imerg` -- GPM IMERG -> fine ``precip`` (mm day-1);
* :func:`read_srtm` -- SRTM tiles -> static fine ``dem`` (m);
* :func:`read_era5_land` -- ERA5-Land ``swvl1`` -> ``sm`` (m3 m-3), native grid;
* :func:`read_noah` -- GLDAS/Noah ``SoilMoi0_10cm_inst`` -> ``sm`` (m3 m-3), native grid;
* :func:`read_terraclimate_pdsi` -- TerraClimate -> monthly ``pdsi`` (1), native grid;
* :func:`read_ismn` -- ISMN header+values files -> stations ``sm`` (m3 m-3);
* :func:`read_nzw`, :func:`read_cern`, :func:`read_qxz` (:func:`read_station_csv`) --
  smkit's CSV templates of the paper's Chinese networks -> stations ``rsm`` (percent) or
  ``sm`` (m3 m-3); :func:`merge_stations` puts several together.

Gridded readers are lazy: every file is opened once when the reader is called
(its variables, coordinates, CRS and time are checked then), and its data are
read by a dask task when computed (the reads themselves are serialised: the
netCDF4 library is not thread-safe, nor are the warning filters rasterio sets).
Every problem with a file -- corrupt or truncated, a missing variable, a wrong
CRS or grid -- raises a :class:`ReadError` that names the file.

:func:`ingest` (command line: ``smkit ingest``) reads a whole ``sources.yaml``
into a Zarr store shaped like :meth:`smkit.synth.Scenario.to_zarr`, so that
:func:`smkit.synth.open_scenario` opens it in place of a synthetic scenario
(its ``truth`` group is empty: real data have no 1-km truth). See
``docs/data-sources.md`` for the archives and the configuration format.
"""

from __future__ import annotations

import csv
import datetime as _dt
import glob
import hashlib
import inspect
import io as _stdio
import json
import os
import re
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from smkit import __version__
from smkit.core.grid import LAT_ATTRS, LON_ATTRS, TIME_ATTRS, Grid, nesting_factor
from smkit.core.schema import InputError, check_coarse, check_fine, check_stations, encode_group
from smkit.core.vocabulary import CUBE_GROUPS, NETWORK_CADENCE, SM_ATTRS

__all__ = [
    "READER_VERSIONS", "NZW_COLUMNS", "VOLUMETRIC_COLUMNS", "ConfigError", "ReadError",
    "read_esacci", "read_mod11a1", "read_mod13a2", "read_mcd43c3", "read_srtm", "read_imerg",
    "read_era5_land", "read_noah", "read_terraclimate_pdsi", "read_ismn", "read_station_csv",
    "read_nzw", "read_cern", "read_qxz", "merge_stations", "load_config", "ingest",
]

#: Version of each reader's interpretation of its product; recorded in the
#: cube's provenance and part of the resume fingerprint (bump on any change of
#: what a reader returns).
READER_VERSIONS = {
    "read_esacci": "1.0", "read_mod11a1": "1.0", "read_mod13a2": "1.0", "read_mcd43c3": "1.0",
    "read_srtm": "1.0", "read_imerg": "1.0", "read_era5_land": "1.0", "read_noah": "1.0",
    "read_terraclimate_pdsi": "1.0", "read_ismn": "1.0", "read_nzw": "1.0", "read_cern": "1.0",
    "read_qxz": "1.0",
}

#: Columns of the NZW CSV template (see :func:`read_nzw`).
NZW_COLUMNS = ("station_id", "name", "lat", "lon", "elevation", "land_cover", "date", "rsm",
               "field_capacity", "bulk_density")
#: Columns of the CERN and QXZ CSV template (see :func:`read_cern`).
VOLUMETRIC_COLUMNS = ("station_id", "name", "lat", "lon", "elevation", "land_cover", "date", "sm")

_SM_UNITS = {"m3 m-3", "m3/m3", "m^3 m^-3", "m**3 m**-3", "m3m-3", "cm3 cm-3", "cm3/cm3"}
_LAT_NAMES = ("lat", "latitude", "Latitude", "nav_lat")
_LON_NAMES = ("lon", "longitude", "Longitude", "nav_lon")
_TIME_NAMES = ("time", "valid_time", "Time")
#: Every file is read under this lock: the netCDF4 C library is not thread-safe, and
#: rasterio/rioxarray enter ``warnings.catch_warnings`` (which is not thread-safe
#: either) around their calls, so that concurrent reads can swallow all later warnings.
_IO_LOCK = threading.RLock()


# =========================================================================== errors
class ReadError(InputError):
    """A source file cannot be read into smkit's data model.

    A subclass of :class:`smkit.core.schema.InputError` whose message starts with the
    file. Attributes ``path``, ``kind``, ``variable``, ``problem`` and ``fix``.
    """

    def __init__(self, path, kind: str, variable: str | None, problem: str, fix: str = ""):
        self.path = str(path)
        self.kind, self.variable, self.problem, self.fix = kind, variable, problem, fix
        what = f", variable '{variable}'" if variable else ""
        msg = f"{self.path}: {kind} file{what}: {problem}"
        ValueError.__init__(self, msg + (f". Fix: {fix}" if fix else ""))

    def __reduce__(self):
        return type(self), (self.path, self.kind, self.variable, self.problem, self.fix)


class ConfigError(ValueError):
    """An ingestion configuration (``sources.yaml``) is invalid; the message says where."""


def _guarded(func, path, kind: str, variable: str | None, *args, **kwargs):
    """Call ``func``; any failure other than a :class:`ReadError` becomes one naming ``path``."""
    try:
        return func(*args, **kwargs)
    except ReadError:
        raise
    except Exception as err:  # noqa: BLE001 - re-raised with the file named
        raise ReadError(path, kind, variable, f"reading failed ({type(err).__name__}: {err}); "
                        "the file is probably corrupt or truncated",
                        "download the file again") from err


# =========================================================================== files
def _as_files(files, kind: str, pattern: str | tuple[str, ...] = "*") -> list[str]:
    """Sorted unique paths from a path, a folder (searched with ``pattern``), a glob or a list."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    patterns = (pattern,) if isinstance(pattern, str) else tuple(pattern)
    out: list[str] = []
    for item in files:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = [f for pat in patterns
                     for f in glob.glob(os.path.join(item, "**", pat), recursive=True)]
        elif glob.has_magic(item):
            found = glob.glob(item, recursive=True)
        else:
            if not os.path.exists(item):
                raise FileNotFoundError(f"{kind}: no such file: {item}")
            found = [item]
        out += [f for f in found if os.path.isfile(f)]
    out = sorted(set(out))
    if not out:
        raise FileNotFoundError(f"{kind}: no files found in {list(map(str, files))} "
                                f"(pattern {pattern!r} in folders)")
    return out


def _days(time) -> pd.DatetimeIndex | None:
    if time is None:
        return None
    t = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]")).normalize()
    return t.drop_duplicates().sort_values()


def _time_coord(times) -> xr.Variable:
    return xr.Variable("time", pd.DatetimeIndex(times).values.astype("datetime64[ns]"), TIME_ATTRS)


def _as_bbox(bbox) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` from a Grid, a 4-sequence or None."""
    if bbox is None:
        return None
    if isinstance(bbox, Grid):
        return bbox.lon0, bbox.lat0, bbox.lon1, bbox.lat1
    w, s, e, n = (float(v) for v in bbox)
    if not (w < e and s < n):
        raise ValueError(f"bbox must be (west, south, east, north) with west < east and "
                         f"south < north, got {bbox}")
    return w, s, e, n


def _extent(grid: Grid) -> str:
    return f"lon {grid.lon0:g}..{grid.lon1:g}, lat {grid.lat0:g}..{grid.lat1:g}"


def _say_missing(kind: str, missing: pd.DatetimeIndex, what: str = "day"):
    if len(missing):
        shown = ", ".join(str(d.date()) for d in missing[:5])
        shown += ", ..." if len(missing) > 5 else ""
        warnings.warn(f"{kind}: no file for {len(missing)} {what}(s) of the period ({shown}); "
                      "they are NaN", UserWarning, stacklevel=3)


# =========================================================================== NetCDF / HDF5
def _open_engine(path: str, engine: str, group: str | None = None) -> xr.Dataset:
    kw = {"phony_dims": "sort"} if engine == "h5netcdf" else {}
    return xr.open_dataset(path, engine=engine, group=group, cache=False, chunks=None,
                           decode_timedelta=False, **kw)


def _open_nc(path: str, kind: str, group: str | None = None) -> tuple[xr.Dataset, str]:
    """Open a NetCDF-4/HDF5 or NetCDF-3 file (netCDF4, else h5netcdf), or raise a ReadError.

    netCDF4 comes first: it opens files about ten times faster than h5netcdf
    here; all reads are serialised with a lock (see ``_IO_LOCK``).
    """
    errors = []
    for engine in ("netcdf4", "h5netcdf"):
        try:
            with _IO_LOCK:
                return _open_engine(path, engine, group), engine
        except Exception as err:  # noqa: BLE001 - all reported below
            errors.append(f"{engine}: {type(err).__name__}: {err}")
    raise ReadError(path, kind, None, "cannot be opened as NetCDF-4/HDF5 or NetCDF-3; the file is "
                    "corrupt, truncated or not NetCDF (" + " | ".join(errors) + ")",
                    "download the file again")


def _find(ds: xr.Dataset, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in ds.variables), None)


@dataclass(frozen=True)
class _NcLayout:
    """What reading one NetCDF/HDF5 file needs, found when it was opened."""

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


def _scan_nc(path: str, kind: str, required: Sequence[str], optional: Sequence[str] = (),
             groups: Sequence[str] = (), date: pd.Timestamp | None = None) -> _NcLayout:
    """Open a gridded NetCDF/HDF5 file and check variables, lat/lon grid and time."""
    with _IO_LOCK:
        return _scan_nc_locked(path, kind, required, optional, groups, date)


def _scan_nc_locked(path, kind, required, optional, groups, date) -> _NcLayout:
    ds, engine = _open_nc(path, kind)
    group = None
    try:
        if required[0] not in ds.variables:
            for g in groups:
                try:
                    gds = _open_engine(path, engine, g)
                except Exception:  # noqa: BLE001 - the group is absent
                    continue
                if required[0] in gds.variables:
                    ds.close()
                    ds, group = gds, g
                    break
                gds.close()
        missing = [v for v in required if v not in ds.variables]
        if missing:
            where = f" (also looked in group(s) {list(groups)})" if groups else ""
            raise ReadError(path, kind, missing[0], f"missing{where}; variables found: "
                            f"{sorted(map(str, ds.data_vars))}",
                            "check that the file is the right product (and version)")
        names = tuple(required) + tuple(v for v in optional
                                        if v in ds.variables and v not in required)
        var = ds[required[0]]
        latn, lonn = _find(ds, _LAT_NAMES), _find(ds, _LON_NAMES)
        if latn is None or lonn is None:
            proj = [n for n in ("x", "y", "xc", "yc", "easting", "northing") if n in ds.variables]
            raise ReadError(path, kind, required[0], "has no latitude/longitude coordinates"
                            + (f" but projected ones {proj} (wrong CRS)" if proj else "")
                            + f"; variables found: {sorted(map(str, ds.variables))}",
                            "smkit reads this product on its regular lat/lon grid; use the "
                            "archive's file or regrid to EPSG:4326")
        _check_nc_crs(ds, var, path, kind, required[0])
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
        tname = _find(ds, _TIME_NAMES)
        sizes = dict(var.sizes)
        dims = list(var.dims)
        ydim, xdim = lat.dims[0], lon.dims[0]
        tdim = ds[tname].dims[0] if tname is not None and ds[tname].ndim == 1 else None
        if ydim not in dims or xdim not in dims:  # unnamed (phony) dimensions: match by size
            by_size = {lat.size: "y", lon.size: "x"}
            if tname is not None:
                by_size.setdefault(ds[tname].size, "t")
            if len(by_size) < 2 + (tname is not None):
                raise ReadError(path, kind, required[0], "its dimensions cannot be matched to "
                                "lat/lon/time (equal lengths and no dimension names)",
                                "write the file with named dimensions")
            roles = {by_size.get(sizes[d]): d for d in dims}
            ydim, xdim, tdim = roles.get("y"), roles.get("x"), roles.get("t")
            if ydim is None or xdim is None:
                raise ReadError(path, kind, required[0], f"dims {tuple(dims)} do not include "
                                "the latitude and longitude axes", "check the file")
        if tdim is not None and tdim not in dims:
            tdim = None
        scalar_time = tname is not None and tdim is None and ds[tname].size == 1
        extra = tuple(d for d in dims if d not in (tdim, ydim, xdim))
        big = [d for d in extra if sizes[d] != 1]
        if big:
            raise ReadError(path, kind, required[0], f"has unexpected dimension(s) "
                            f"{[(d, sizes[d]) for d in big]}", "select one level/member first")
        for n in names[1:]:
            if ds[n].dims != var.dims:
                raise ReadError(path, kind, n, f"has dims {ds[n].dims}, unlike "
                                f"'{required[0]}' {var.dims}", "check the file")
        if tdim is not None or scalar_time:
            t = ds[tname]
            if not np.issubdtype(t.dtype, np.datetime64):
                raise ReadError(path, kind, str(tname), f"could not be decoded to dates "
                                f"(units '{t.attrs.get('units', t.encoding.get('units'))}')",
                                "check the time units of the file")
            times = np.asarray(t.values, dtype="datetime64[ns]")
        elif date is not None:
            times = np.array([np.datetime64(pd.Timestamp(date), "ns")])
        else:
            raise ReadError(path, kind, required[0], "has no time coordinate and its name "
                            "gives no date", "keep the archive's file names")
        units = {n: ds[n].attrs.get("units") for n in names}
        raw_int = {n: bool(np.issubdtype(ds[n].dtype, np.integer)
                           and "scale_factor" not in ds[n].encoding) for n in names}
        return _NcLayout(path, engine, group, names, tdim, ydim, xdim, extra, times,
                         np.asarray(lat.values, dtype=np.float64),
                         np.asarray(lon.values, dtype=np.float64), units, raw_int)
    finally:
        ds.close()


def _read_nc(lay: _NcLayout, ysl: slice, xsl: slice, yidx: np.ndarray, xidx: np.ndarray
             ) -> dict[str, np.ndarray]:
    """Read the selected cells of every variable, as (time, lat, lon) arrays."""
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

    with _IO_LOCK:
        return load()


def _normal_lon(lon: np.ndarray) -> np.ndarray:
    return np.where(lon >= 180.0, lon - 360.0, lon)


@dataclass(frozen=True)
class _Selection:
    """Cells of a file to read: covering slices and the index order inside them."""

    ysl: slice
    xsl: slice
    yidx: np.ndarray
    xidx: np.ndarray
    lat: np.ndarray  # ascending
    lon: np.ndarray  # ascending, -180..180


def _select_cover(lay: _NcLayout, bbox, margin: float = 0.0, kind: str = "") -> _Selection:
    """Select the file's cells whose centres fall in ``bbox`` (+ margin), ascending."""
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
    return _Selection(slice(y0, int(yi.max()) + 1), slice(x0, int(xi.max()) + 1), yi - y0, xi - x0,
                      lat[yi], lon[xi])


def _select_grid(lay: _NcLayout, grid: Grid, kind: str) -> _Selection:
    """Select the file's cells that are exactly the cells of ``grid`` (same centres)."""
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
    return _Selection(slice(y0, int(yi.max()) + 1), slice(x0, int(xi.max()) + 1), yi - y0, xi - x0,
                      grid.lat, grid.lon)


def _check_same_grid(lays: Sequence[_NcLayout], kind: str):
    first = lays[0]
    for lay in lays[1:]:
        if not (np.array_equal(lay.lat, first.lat) and np.array_equal(lay.lon, first.lon)):
            raise ReadError(lay.path, kind, lay.names[0], f"has another grid than {first.path} "
                            f"({lay.lat.size}x{lay.lon.size} vs {first.lat.size}x{first.lon.size} "
                            "cells or other coordinates)", "use files of one product, version "
                            "and region")


def _check_unique_times(lays: Sequence[_NcLayout], kind: str):
    seen: dict = {}
    for lay in lays:
        for t in lay.times:
            if t in seen:
                raise ReadError(lay.path, kind, None, f"time {pd.Timestamp(t)} is also in "
                                f"{seen[t]}", "remove duplicate files (e.g. two versions)")
            seen[t] = lay.path


def _lazy_stack(lays, task, names, shape_yx, dtypes, kind, *args) -> dict[str, da.Array]:
    """Dask arrays (time, y, x) of ``names``, one task per file, in the order of ``lays``."""
    parts: dict[str, list] = {n: [] for n in names}
    for lay in lays:
        d = dask.delayed(_guarded, pure=True)(task, lay.path, kind, None, lay, *args)
        for n in names:
            parts[n].append(da.from_delayed(d[n], (lay.times.size, *shape_yx), dtype=dtypes[n]))
    return {n: da.concatenate(p, axis=0) for n, p in parts.items()}


def _daily(arr: xr.DataArray, days: pd.DatetimeIndex | None, kind: str, how: str = "mean"
           ) -> xr.DataArray:
    """Sub-daily or daily steps to daily values on ``days`` (NaN where no file)."""
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
        _say_missing(kind, days.difference(got))
        out = out.reindex(time=days)
    return out.assign_coords(time=_time_coord(out["time"].values))


def _grid_coords(lat, lon) -> dict[str, xr.Variable]:
    return {"lat": xr.Variable("lat", np.round(np.asarray(lat, np.float64), 8), LAT_ATTRS),
            "lon": xr.Variable("lon", np.round(np.asarray(lon, np.float64), 8), LON_ATTRS)}


def _norm_units(u) -> str:
    return re.sub(r"\s+", " ", str(u).strip().lower()) if u is not None else ""


# =========================================================================== ESA CCI
_CCI_NAME = re.compile(r"(ESACCI|C3S)-SOILMOISTURE-L3S-SSM([VS])-([A-Z]+)-(?:DAILY-)?"
                       r"(\d{8})(\d{6})-(fv\d+(?:\.\d+)*|[TI]CDR-v\d+(?:\.\d+)*)")


def _post_cci(lay, sel, keep_flags, fill):
    arrs = _read_nc(lay, sel.ysl, sel.xsl, sel.yidx, sel.xidx)
    sm = arrs["sm"].astype(np.float32)
    bad = ~np.isfinite(sm) | (sm == fill) | (sm < 0) | (sm > 1)
    out = {}
    if "flag" in arrs:
        flag = np.asarray(arrs["flag"], dtype=np.float64)
        flag = np.where(np.isfinite(flag), flag, -1).astype(np.int16)
        if keep_flags is not None:
            bad |= ~np.isin(flag, np.asarray(keep_flags, dtype=np.int16))
        out["flag"] = flag
    out["sm"] = np.where(bad, np.float32(np.nan), sm)
    if "sm_uncertainty" in arrs:
        unc = arrs["sm_uncertainty"].astype(np.float32)
        unc = np.where(bad | ~np.isfinite(unc) | (unc == fill) | (unc < 0), np.float32(np.nan), unc)
        out["sm_uncertainty"] = unc
    return out


def read_esacci(files, grid: Grid | None = None, *, time=None,
                keep_flags: Sequence[int] | None = (0,),
                variables: Sequence[str] = ("sm", "sm_uncertainty", "flag")) -> xr.Dataset:
    """Read ESA CCI SM daily COMBINED files into a coarse dataset.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched recursively for
        ``*-SOILMOISTURE-L3S-SSMV-COMBINED-*.nc``) or globs. Names must
        follow the archive's pattern
        ``ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-YYYYMMDD000000-fvXX.Y.nc`` (CEDA),
        or the Copernicus CDS one
        ``C3S-SOILMOISTURE-L3S-SSMV-COMBINED-DAILY-YYYYMMDD000000-TCDR-vX.Y.Z.nc``.
    grid : smkit.core.grid.Grid, optional
        Target coarse grid; its cell centres must be cells of the product's
        0.25-degree grid. Default: the files' whole grid.
    time : array-like of dates, optional
        Daily axis of the result; days without a file are NaN (with a
        warning). Default: the days of the files.
    keep_flags : sequence of int or None, default (0,)
        Values of the product's ``flag`` for which ``sm`` is kept (0: no
        inconsistency detected); other retrievals become NaN. The flag is a
        bit field: 1 snow or frozen soil, 2 dense vegetation, 4 no
        convergence, 8 value beyond physical bounds, 16 weight below
        threshold, 32 all inputs unreliable, 64 barren-ground advisory
        (v08+, over deserts; add 64 to keep those retrievals). ``None``
        keeps every retrieval.
    variables : sequence of str
        Variables to return; ``sm`` is required, ``sm_uncertainty`` and
        ``flag`` are optional in the files.

    Returns
    -------
    xarray.Dataset
        Lazy (dask) ``sm`` (m3 m-3, float32), ``sm_uncertainty`` (m3 m-3)
        and ``flag`` (int16, the product's bits; -1 where a day has no file),
        dims (time, lat, lon), latitude ascending. The product's fill value
        (-9999) and values outside 0..1 are NaN.

    Raises
    ------
    ReadError
        Naming the file: unreadable (corrupt/truncated), not a COMBINED file,
        a missing variable, a grid that is not lat/lon or differs between
        files, a date in the name that differs from the file's time.
    """
    kind = "ESA CCI SM"
    paths = _as_files(files, kind, "*-SOILMOISTURE-L3S-SSMV-COMBINED-*.nc")
    variables = tuple(variables)
    if "sm" not in variables:
        raise ValueError("variables must include 'sm'")
    need_flag = keep_flags is not None
    lays, versions = [], set()
    for p in paths:
        m = _CCI_NAME.search(os.path.basename(p))
        if m is None:
            raise ReadError(p, kind, None, "the file name does not follow the ESA CCI pattern "
                            "ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-YYYYMMDD000000-fvXX.Y.nc (or "
                            "C3S-SOILMOISTURE-L3S-SSMV-COMBINED-DAILY-YYYYMMDD000000-TCDR-vX.nc)",
                            "keep the archive's file names")
        if m.group(3) != "COMBINED" or m.group(2) != "V":
            raise ReadError(p, kind, None, f"is the {m.group(3)} product (SSM{m.group(2)}); the "
                            "coarse input is the COMBINED volumetric product (SSMV)",
                            "download ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED files")
        versions.add(f"{m.group(1)} {m.group(6)}")
        date = pd.Timestamp(m.group(4))
        req = ("sm", "flag") if need_flag else ("sm",)
        opt = tuple(v for v in variables if v not in req)
        lay = _scan_nc(p, kind, req, opt, date=date)
        if lay.times.size != 1 or pd.Timestamp(lay.times[0]).normalize() != date:
            raise ReadError(p, kind, "time", f"holds {[str(pd.Timestamp(t)) for t in lay.times]} "
                            f"but the name says {date.date()}", "download the file again")
        u = _norm_units(lay.units.get("sm"))
        if u and u not in _SM_UNITS:
            raise ReadError(p, kind, "sm", f"has units '{lay.units['sm']}', not m3 m-3: is this "
                            "the volumetric COMBINED product?", "use the SSMV COMBINED files")
        lays.append(lay)
    if len(versions) > 1:
        warnings.warn(f"{kind}: files of several product versions {sorted(versions)} are mixed",
                      UserWarning, stacklevel=2)
    _check_same_grid(lays, kind)
    _check_unique_times(lays, kind)
    if grid is None:
        sel = _select_cover(lays[0], None, kind=kind)
    else:
        sel = _select_grid(lays[0], grid, kind)
    names = [v for v in variables if v in lays[0].names]
    dtypes = {"sm": np.float32, "sm_uncertainty": np.float32, "flag": np.int16}
    arrs = _lazy_stack(lays, _post_cci, names, (sel.lat.size, sel.lon.size), dtypes, kind, sel,
                       None if keep_flags is None else tuple(int(f) for f in keep_flags), -9999.0)
    times = np.concatenate([lay.times for lay in lays])
    coords = {"time": times, **_grid_coords(sel.lat, sel.lon)}
    attrs = {
        "sm": {**SM_ATTRS, "long_name": "ESA CCI SM COMBINED volumetric soil moisture",
               "source_flags_kept": "all" if keep_flags is None else str(list(keep_flags))},
        "sm_uncertainty": {"long_name": "ESA CCI SM uncertainty (standard deviation)",
                           "units": "m3 m-3"},
        "flag": {"long_name": "ESA CCI SM flag (bits of the product; -1: no file)", "units": "1"},
    }
    days = _days(time)
    out = {}
    for n, a in arrs.items():
        v = xr.DataArray(a, dims=("time", "lat", "lon"), coords=coords)
        if n == "flag":
            v = _daily(v.astype(np.float32), days, kind, "first")
            v = v.fillna(-1).astype(np.int16)
        else:
            v = _daily(v, days, kind)
        v.attrs = attrs[n]
        out[n] = v
    ds = xr.Dataset(out)
    ds.attrs = {"source": "ESA CCI Soil Moisture COMBINED, daily, 0.25 degree",
                "product_version": ",".join(sorted(versions))}
    return ds


# =========================================================================== MODIS
@dataclass(frozen=True)
class _Modis:
    name: str
    aliases: tuple[str, ...]
    layers: dict  # key -> (GeoTIFF name token, HDF4 SDS name)
    scale: float
    fill: int
    valid: tuple[int, int]
    crs: tuple[str, ...]
    period: int  # days a file stands for
    units: str
    long_name: str


_MODIS = {
    "MOD11A1": _Modis(
        "MOD11A1", ("MOD11A1", "MYD11A1"),
        {"LST_Day_1km": ("LST_Day_1km", "LST_Day_1km"),
         "LST_Night_1km": ("LST_Night_1km", "LST_Night_1km"),
         "QC_Day": ("QC_Day", "QC_Day"), "QC_Night": ("QC_Night", "QC_Night")},
        0.02, 0, (7500, 65535), ("sinusoidal", "geographic"), 1, "K",
        "land surface temperature (MOD11A1)"),
    "MOD13A2": _Modis(
        "MOD13A2", ("MOD13A2", "MYD13A2"),
        {"NDVI": ("1_km_16_days_NDVI", "1 km 16 days NDVI"),
         "pixel_reliability": ("1_km_16_days_pixel_reliability", "1 km 16 days pixel reliability")},
        0.0001, -3000, (-2000, 10000), ("sinusoidal", "geographic"), 16, "1",
        "normalized difference vegetation index (MOD13A2 16-day composite)"),
    "MCD43C3": _Modis(
        "MCD43C3", ("MCD43C3",),
        {"Albedo_WSA_shortwave": ("Albedo_WSA_shortwave", "Albedo_WSA_shortwave"),
         "Albedo_BSA_shortwave": ("Albedo_BSA_shortwave", "Albedo_BSA_shortwave"),
         "BRDF_Quality": ("BRDF_Quality", "BRDF_Quality")},
        0.001, 32767, (0, 1000), ("geographic",), 1, "1",
        "surface albedo (MCD43C3, 0.05 degree climate-modelling grid)"),
}
_QC_LAYERS = ("QC_Day", "QC_Night", "pixel_reliability", "BRDF_Quality")
_MODIS_DATE = (re.compile(r"doy(\d{4})(\d{3})"), re.compile(r"\.A(\d{4})(\d{3})\."))
_MODIS_TILE = re.compile(r"h(\d{2})v(\d{2})")
_RESAMPLING = ("nearest", "bilinear", "cubic", "average", "mode", "min", "max", "med")


def _hdf4_available() -> bool:
    import rasterio

    with rasterio.Env() as env:
        return "HDF4" in env.drivers()


def _crs_kind(crs) -> str | None:
    if crs is None:
        return None
    try:
        if crs.is_geographic:
            return "geographic"
        if crs.to_dict().get("proj") == "sinu":
            return "sinusoidal"
    except Exception:  # noqa: BLE001 - an exotic CRS is reported as such
        pass
    return "other"


def _check_raster_crs(path, kind, variable, crs, accepted: Sequence[str], product: str):
    k = _crs_kind(crs)
    if k is None:
        raise ReadError(path, kind, variable, "has no CRS (no georeferencing)",
                        "export the GeoTIFF with its projection (AppEEARS and GDAL keep it)")
    if k not in accepted:
        name = {"sinusoidal": "the MODIS sinusoidal projection",
                "geographic": "geographic lat/lon (e.g. EPSG:4326)"}
        raise ReadError(path, kind, variable, f"has CRS '{crs.to_string()}' but {product} comes in "
                        + " or ".join(name[a] for a in accepted) + " (wrong CRS)",
                        "export the product in its native projection or in EPSG:4326")


def _raster_source(path: str, sds: str | None, kind: str) -> str:
    """Return the GDAL name of a GeoTIFF, or of the subdataset ``sds`` of an HDF4 granule."""
    if sds is None:
        return path
    import rasterio

    if not _hdf4_available():
        raise ReadError(path, kind, sds, f"is an HDF4 granule but this rasterio's GDAL "
                        f"({rasterio.__gdal_version__}) has no HDF4 driver (PyPI wheels have none)",
                        "download GeoTIFFs (e.g. from AppEEARS), convert with gdal_translate, or "
                        "install a rasterio built against a GDAL with HDF4")
    try:
        with _IO_LOCK, rasterio.open(path) as src:
            subs = list(src.subdatasets)
    except Exception as err:  # noqa: BLE001
        raise ReadError(path, kind, None, f"cannot be opened ({err}): corrupt or truncated",
                        "download the file again") from err
    hit = [s for s in subs if s.endswith(":" + sds) or s.endswith(":" + sds.replace(" ", "_"))]
    if not hit:
        names = [s.rsplit(":", 1)[-1] for s in subs]
        raise ReadError(path, kind, sds, f"missing; subdatasets: {names}",
                        "check that the file is the right product")
    return hit[0]


def _open_raster(src: str):
    import rioxarray

    return rioxarray.open_rasterio(src, masked=False, mask_and_scale=False, cache=False)


def _scan_raster(path: str, src: str, kind: str, variable: str, accepted, product: str):
    """CRS check and lon/lat bounds of a raster, or a ReadError naming the file."""
    with _IO_LOCK:
        return _scan_raster_locked(path, src, kind, variable, accepted, product)


def _scan_raster_locked(path, src, kind, variable, accepted, product):
    try:
        with _open_raster(src) as r:
            crs = r.rio.crs
            _check_raster_crs(path, kind, variable, crs, accepted, product)
            bounds = r.rio.transform_bounds("EPSG:4326", densify_pts=21)
            dtype = r.dtype
    except ReadError:
        raise
    except Exception as err:  # noqa: BLE001
        raise ReadError(path, kind, variable, f"cannot be opened as a raster "
                        f"({type(err).__name__}: {err}); the file is corrupt, truncated or not "
                        "a GeoTIFF/HDF",
                        "download or export the file again") from err
    return tuple(float(b) for b in bounds), dtype


def _modis_catalog(paths: list[str], prod: _Modis, layers: Sequence[str], kind: str,
                   grid: Grid, prescaled: bool) -> dict[tuple, dict[str, tuple[str, str | None]]]:
    """``{(date, tile): {layer: (path, sds)}}`` of the files overlapping ``grid``."""
    cat: dict[tuple, dict] = {}
    tokens = {k: prod.layers[k][0] for k in layers}
    for p in paths:
        base = os.path.basename(p)
        if not any(a in base for a in prod.aliases):
            raise ReadError(p, kind, None, f"the file name does not name {'/'.join(prod.aliases)}",
                            f"keep the archive's (or AppEEARS') file names of {prod.name}")
        m = next((r.search(base) for r in _MODIS_DATE if r.search(base)), None)
        if m is None:
            raise ReadError(p, kind, None, "the file name has no date ('doyYYYYDDD' as AppEEARS "
                            "writes it, or '.AYYYYDDD.' as LP DAAC granules)",
                            "keep the archive's file names")
        date = pd.Timestamp(int(m.group(1)), 1, 1) + pd.Timedelta(days=int(m.group(2)) - 1)
        t = _MODIS_TILE.search(base)
        tile = t.group(0) if t else "-"
        if base.lower().endswith((".hdf", ".hdf4", ".h4")):
            entries = {k: (p, prod.layers[k][1]) for k in layers}
        else:
            hit = [k for k, tok in tokens.items() if tok in base]
            if not hit:
                known = [v[0] for v in prod.layers.values()]
                if any(tok in base for tok in known):
                    continue  # another layer of the product (e.g. night LST): not needed
                raise ReadError(p, kind, None, f"the file name names none of the layers {known}",
                                "keep AppEEARS' layer names in the file names")
            entries = {max(hit, key=lambda k: len(tokens[k])): (p, None)}
        for k, (path, sds) in entries.items():
            src = _raster_source(path, sds, kind)
            bounds, dtype = _scan_raster(path, src, kind, prod.layers[k][0], prod.crs, prod.name)
            w, s, e, n = bounds
            if e <= grid.lon0 or w >= grid.lon1 or n <= grid.lat0 or s >= grid.lat1:
                continue
            if not prescaled and k not in _QC_LAYERS and not np.issubdtype(dtype, np.integer):
                raise ReadError(path, kind, prod.layers[k][0], f"holds {dtype} values, not the "
                                f"product's scaled integers (scale {prod.scale:g})",
                                "export the raw layer, or pass prescaled=True if the values are "
                                f"already in {prod.units}")
            slot = cat.setdefault((date, tile), {})
            if k in slot and slot[k][0] != path:
                raise ReadError(path, kind, prod.layers[k][0], f"duplicates {slot[k][0]} "
                                f"(same date {date.date()} and tile {tile})",
                                "remove one of them (e.g. two collections)")
            slot[k] = (path, src)
    return cat


def _read_layer(path: str, src: str, kind: str, layer: str):
    """Read a raster layer (rioxarray, band dropped) with its values loaded."""
    def load():
        with _open_raster(src) as r:
            return r.squeeze("band", drop=True).load() if "band" in r.dims else r.load()

    return _guarded(load, path, kind, layer)


def _grid_window(bounds, grid: Grid):
    """Rows from the north (r0, r1) and columns (c0, c1) of ``grid`` overlapping ``bounds``."""
    w, s, e, n = bounds
    c0 = max(0, int(np.floor((w - grid.lon0) / grid.res + 1e-9)))
    c1 = min(grid.nlon, int(np.ceil((e - grid.lon0) / grid.res - 1e-9)))
    r0 = max(0, int(np.floor((grid.lat1 - n) / grid.res + 1e-9)))
    r1 = min(grid.nlat, int(np.ceil((grid.lat1 - s) / grid.res - 1e-9)))
    return (r0, r1, c0, c1) if (r1 > r0 and c1 > c0) else None


def _warp_into(out: np.ndarray, values: xr.DataArray, grid: Grid, resampling: str, path: str,
               kind: str, layer: str):
    """Reproject ``values`` (float, NaN nodata) onto ``grid`` and fill the NaN of ``out``."""
    from affine import Affine
    from rasterio.enums import Resampling

    values = values.rio.write_nodata(np.nan, encoded=False)
    win = _grid_window(values.rio.transform_bounds("EPSG:4326", densify_pts=21), grid)
    if win is None:
        return
    r0, r1, c0, c1 = win
    transform = Affine(grid.res, 0.0, grid.lon0 + c0 * grid.res,
                       0.0, -grid.res, grid.lat1 - r0 * grid.res)
    warped = _guarded(values.rio.reproject, path, kind, layer, "EPSG:4326",
                      shape=(r1 - r0, c1 - c0), transform=transform,
                      resampling=Resampling[resampling], nodata=np.nan)
    block = np.asarray(warped.values, dtype=np.float32)[::-1]  # rows south to north
    rows = slice(grid.nlat - r1, grid.nlat - r0)
    target = out[rows, c0:c1]
    np.copyto(target, block, where=np.isnan(target) & np.isfinite(block))


def _modis_values(prod: _Modis, path, src, kind, layer_key, prescaled) -> xr.DataArray:
    raw = _read_layer(path, src, kind, prod.layers[layer_key][0])
    v = np.asarray(raw.values)
    if prescaled:
        vals = v.astype(np.float32)
        nod = raw.rio.nodata
        bad = ~np.isfinite(vals) | ((vals == nod) if nod is not None else False)
        return raw.copy(data=np.where(bad, np.float32(np.nan), vals))
    lo, hi = prod.valid
    bad = (v == prod.fill) | (v < lo) | (v > hi)
    nod = raw.rio.nodata
    if nod is not None and np.isfinite(nod):
        bad |= v == nod
    vals = (v.astype(np.float64) * prod.scale).astype(np.float32)
    return raw.copy(data=np.where(bad, np.float32(np.nan), vals))


def _qc_values(path, src, kind, layer, like: xr.DataArray) -> np.ndarray:
    qc = _read_layer(path, src, kind, layer)
    if qc.shape != like.shape:
        raise ReadError(path, kind, layer, f"has shape {qc.shape} but its data layer has "
                        f"{like.shape}", "use the QC layer of the same granule/export")
    return np.asarray(qc.values)


#: LST error classes of MOD11A1 QC bits 6-7: upper bound in K.
_LST_ERROR = np.array([1.0, 2.0, 3.0, np.inf])


def _lst_ok(qc: np.ndarray, max_error: float) -> np.ndarray:
    """MOD11A1 QC: mandatory QA 00 (good), or 01 (other) with LST error <= ``max_error`` K."""
    qc = qc.astype(np.int64)
    mandatory = qc & 0b11
    bound = _LST_ERROR[(qc >> 6) & 0b11]
    return (mandatory == 0) | ((mandatory == 1) & (bound <= max_error))


def _modis_day(slots: list[dict], prod: _Modis, kind: str, layers: Sequence[str], grid: Grid,
               resampling: str, rule: str, rule_arg, prescaled: bool) -> np.ndarray:
    """One day (or composite) of a MODIS layer on ``grid``: masked, scaled, mosaicked."""
    with _IO_LOCK:
        return _modis_day_locked(slots, prod, kind, layers, grid, resampling, rule, rule_arg,
                                 prescaled)


def _modis_day_locked(slots, prod, kind, layers, grid, resampling, rule, rule_arg, prescaled):
    outs = []
    for data_key, qc_key in layers:
        out = np.full(grid.shape, np.nan, dtype=np.float32)
        for slot in slots:
            if data_key not in slot:
                continue
            path, src = slot[data_key]
            vals = _modis_values(prod, path, src, kind, data_key, prescaled)
            if rule_arg is not None and qc_key is not None:
                if qc_key not in slot:
                    raise ReadError(path, kind, prod.layers[data_key][0], f"has no "
                                    f"{prod.layers[qc_key][0]} file of the same date and tile, "
                                    "needed for the quality screening",
                                    "download the QC layer too, or switch the screening off")
                qpath, qsrc = slot[qc_key]
                qc = _qc_values(qpath, qsrc, kind, prod.layers[qc_key][0], vals)
                if rule == "lst":
                    ok = _lst_ok(qc, float(rule_arg))
                elif rule == "reliability":
                    ok = np.isin(qc, np.asarray(rule_arg))
                else:  # BRDF quality
                    ok = (qc >= 0) & (qc <= int(rule_arg))
                vals = vals.copy(data=np.where(ok, vals.values, np.float32(np.nan)))
            _warp_into(out, vals, grid, resampling, path, kind, prod.layers[data_key][0])
        outs.append(out)
    if len(outs) == 1:
        return outs[0]
    both = np.isfinite(outs[0]) & np.isfinite(outs[1])
    return np.where(both, (outs[0] + outs[1]) / 2, np.float32(np.nan)).astype(np.float32)


def _read_modis(files, prod: _Modis, grid: Grid, layers, rule, rule_arg, *, time, resampling,
                prescaled, name, attrs) -> xr.Dataset:
    kind = prod.name
    if resampling not in _RESAMPLING:
        raise ValueError(f"unknown resampling {resampling!r}; choose from {list(_RESAMPLING)}")
    keys = sorted({k for pair in layers for k in pair if k is not None}
                  if rule_arg is not None else {d for d, _ in layers})
    paths = _as_files(files, kind, f"*{prod.name}*")
    cat = _modis_catalog(paths, prod, keys, kind, grid, prescaled)
    by_date: dict[pd.Timestamp, list[dict]] = {}
    for (date, _tile), slot in sorted(cat.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if any(d in slot for d, _ in layers):
            by_date.setdefault(date, []).append(slot)
    if not by_date:
        raise FileNotFoundError(f"{kind}: none of the {len(paths)} file(s) overlaps the grid "
                                f"({_extent(grid)})")
    dates = pd.DatetimeIndex(sorted(by_date))
    arrays = {
        d: da.from_delayed(dask.delayed(_modis_day, pure=True)(
            by_date[d], prod, kind, layers, grid, resampling, rule, rule_arg, prescaled),
            grid.shape, dtype=np.float32)
        for d in dates
    }
    days = _days(time)
    if days is None:
        days = dates if prod.period == 1 else pd.date_range(dates[0], dates[-1] + pd.Timedelta(
            days=prod.period - 1), freq="D")
    # each day takes the latest file starting at most `period` - 1 days before it
    pos = np.searchsorted(dates.values, days.values, side="right") - 1
    ok = pos >= 0
    ok[ok] = (days.values[ok] - dates.values[pos[ok]]) < np.timedelta64(prod.period, "D")
    _say_missing(kind, days[~ok])
    empty = da.full(grid.shape, np.nan, dtype=np.float32, chunks=grid.shape)
    stack = da.stack([arrays[dates[p]] if good else empty for p, good in zip(pos, ok, strict=True)])
    v = xr.DataArray(stack, dims=("time", "lat", "lon"),
                     coords={"time": _time_coord(days), **grid.coords()}, attrs=attrs)
    return xr.Dataset({name: v}, attrs={"source": f"{prod.name} ({'/'.join(prod.aliases)})"})


def read_mod11a1(files, grid: Grid, *, time=None, overpass: str = "day",
                 max_error: float | None = 2.0, resampling: str = "bilinear",
                 prescaled: bool = False) -> xr.Dataset:
    """Read MOD11A1 (or MYD11A1) daily land surface temperature onto a lat/lon grid.

    GeoTIFF exports (AppEEARS: ``MOD11A1.061_LST_Day_1km_doy2009182_aid0001.tif``,
    ``..._QC_Day_doy2009182...``; or a GDAL conversion of a granule that keeps
    ``.A2009182.h25v05.`` and the layer name) in the sinusoidal projection or
    in geographic lat/lon, and, where rasterio's GDAL has the HDF4 driver, the
    native ``MOD11A1.A2009182.h25v05.061.*.hdf`` granules. Tiles of a day are
    mosaicked; each is reprojected with ``rio.reproject`` onto ``grid``.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*MOD11A1*``) or globs.
    grid : smkit.core.grid.Grid
        Target (fine) grid.
    time : array-like of dates, optional
        Daily axis of the result (missing days NaN). Default: the files' days.
    overpass : {"day", "night", "mean"}
        ``LST_Day_1km`` (about 10:30 local), ``LST_Night_1km`` (22:30), or
        their mean where both are valid.
    max_error : float or None, default 2.0
        Quality screening with the ``QC_Day``/``QC_Night`` layer (needed):
        keep pixels of mandatory QA 00 (good), and of 01 (other quality)
        whose LST error class (bits 6-7: <=1, <=2, <=3, >3 K) is at most
        ``max_error`` K. ``None``: no screening (no QC file needed).
    resampling : str, default "bilinear"
        GDAL resampling of the reprojection (nearest, bilinear, average, ...).
    prescaled : bool, default False
        The files hold temperatures in K rather than the product's integers
        (scale 0.02 K, fill 0, valid 7500-65535).

    Returns
    -------
    xarray.Dataset
        Lazy ``lst`` (K, float32), dims (time, lat, lon); NaN = fill, cloud,
        screened out or no file.

    Raises
    ------
    ReadError
        Naming the file: unreadable, no CRS or a CRS other than sinusoidal or
        lat/lon, a missing QC layer, float values without ``prescaled``.
    """
    pairs = {"day": [("LST_Day_1km", "QC_Day")], "night": [("LST_Night_1km", "QC_Night")],
             "mean": [("LST_Day_1km", "QC_Day"), ("LST_Night_1km", "QC_Night")]}
    if overpass not in pairs:
        raise ValueError(f"overpass must be one of {list(pairs)}, not {overpass!r}")
    attrs = {"long_name": f"land surface temperature (MOD11A1, {overpass})",
             "standard_name": "surface_temperature", "units": "K",
             "quality_screening": "none" if max_error is None else
             f"QA 00, or 01 with LST error <= {max_error:g} K"}
    return _read_modis(files, _MODIS["MOD11A1"], grid, pairs[overpass], "lst", max_error, time=time,
                       resampling=resampling, prescaled=prescaled, name="lst", attrs=attrs)


def read_mod13a2(files, grid: Grid, *, time=None, reliability: Sequence[int] | None = None,
                 resampling: str = "bilinear", prescaled: bool = False) -> xr.Dataset:
    """Read MOD13A2 (or MYD13A2) 16-day NDVI onto a lat/lon grid, held over each period.

    GeoTIFF exports (``MOD13A2.061__1_km_16_days_NDVI_doy2009177_aid0001.tif``)
    or HDF4 granules, as for :func:`read_mod11a1`. A composite dated day D
    stands for days D to D+15: each day of the result takes the latest
    composite that started at most 15 days before it.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*MOD13A2*``) or globs.
    grid : smkit.core.grid.Grid
        Target (fine) grid.
    time : array-like of dates, optional
        Daily axis of the result. Default: the composites' days.
    reliability : sequence of int, optional
        Keep pixels whose ``1_km_16_days_pixel_reliability`` is one of these
        (0 good, 1 marginal, 2 snow/ice, 3 cloudy); needs that layer. ``None``
        (default): no screening.
    resampling : str, default "bilinear"
        GDAL resampling of the reprojection.
    prescaled : bool, default False
        Values already in NDVI units rather than integers (scale 0.0001,
        fill -3000, valid -2000..10000).

    Returns
    -------
    xarray.Dataset
        Lazy ``ndvi`` (1, float32), dims (time, lat, lon).
    """
    attrs = {"long_name": "normalized difference vegetation index (MOD13A2, 16-day composite "
             "held over its period)", "units": "1",
             "quality_screening": "none" if reliability is None else
             f"pixel reliability in {list(reliability)}"}
    rule_arg = None if reliability is None else tuple(int(r) for r in reliability)
    return _read_modis(files, _MODIS["MOD13A2"], grid, [("NDVI", "pixel_reliability")],
                       "reliability", rule_arg, time=time, resampling=resampling,
                       prescaled=prescaled, name="ndvi", attrs=attrs)


def read_mcd43c3(files, grid: Grid, *, time=None, layer: str = "Albedo_WSA_shortwave",
                 max_quality: int | None = None, resampling: str = "nearest",
                 prescaled: bool = False) -> xr.Dataset:
    """Read MCD43C3 daily albedo (0.05-degree climate-modelling grid) onto a lat/lon grid.

    GeoTIFF exports (``MCD43C3.061_Albedo_WSA_shortwave_doy2009182_aid0001.tif``)
    in geographic lat/lon, or the HDF4 granules ``MCD43C3.A2009182.061.*.hdf``.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*MCD43C3*``) or globs.
    grid : smkit.core.grid.Grid
        Target (fine) grid.
    time : array-like of dates, optional
        Daily axis of the result. Default: the files' days.
    layer : {"Albedo_WSA_shortwave", "Albedo_BSA_shortwave"}
        White-sky (default) or black-sky shortwave albedo.
    max_quality : int, optional
        Keep pixels with ``BRDF_Quality`` at most this (0 best ... 5; needs
        that layer). ``None`` (default): no screening.
    resampling : str, default "nearest"
        GDAL resampling from 0.05 degrees to the grid.
    prescaled : bool, default False
        Values already albedo (1) rather than integers (scale 0.001, fill
        32767, valid 0..1000).

    Returns
    -------
    xarray.Dataset
        Lazy ``albedo`` (1, float32), dims (time, lat, lon).
    """
    if layer not in ("Albedo_WSA_shortwave", "Albedo_BSA_shortwave"):
        raise ValueError("layer must be 'Albedo_WSA_shortwave' or 'Albedo_BSA_shortwave', "
                         f"not {layer!r}")
    attrs = {"long_name": f"surface albedo (MCD43C3 {layer})", "standard_name": "surface_albedo",
             "units": "1", "quality_screening": "none" if max_quality is None else
             f"BRDF_Quality <= {max_quality}"}
    return _read_modis(files, _MODIS["MCD43C3"], grid, [(layer, "BRDF_Quality")], "brdf",
                       max_quality, time=time, resampling=resampling, prescaled=prescaled,
                       name="albedo", attrs=attrs)


# =========================================================================== SRTM
def _srtm_mosaic(tiles: list[str], grid: Grid, resampling: str) -> np.ndarray:
    with _IO_LOCK:
        return _srtm_mosaic_locked(tiles, grid, resampling)


def _srtm_mosaic_locked(tiles: list[str], grid: Grid, resampling: str) -> np.ndarray:
    kind = "SRTM"
    out = np.full(grid.shape, np.nan, dtype=np.float32)
    for path in tiles:
        raw = _read_layer(path, path, kind, "elevation")
        v = np.asarray(raw.values).astype(np.float32)
        bad = ~np.isfinite(v) | (v == -32768)
        nod = raw.rio.nodata
        if nod is not None and np.isfinite(nod):
            bad |= v == np.float32(nod)
        _warp_into(out, raw.copy(data=np.where(bad, np.float32(np.nan), v)), grid, resampling,
                   path, kind, "elevation")
    return out


def read_srtm(files, grid: Grid, *, resampling: str = "average") -> xr.Dataset:
    """Mosaic SRTM elevation tiles and aggregate them onto a lat/lon grid.

    Parameters
    ----------
    files : str, path, or sequence of them
        GeoTIFF tiles (e.g. ``n38_e100_3arc_v2.tif`` or ``srtm_57_05.tif``,
        geographic lat/lon, int16 metres, voids -32768) or unzipped ``.hgt``
        tiles (``N38E100.SRTMGL3.hgt``, GDAL's SRTMHGT driver), folders
        (searched for ``*.tif``, ``*.tiff``, ``*.hgt``) or globs.
        Tiles not overlapping ``grid`` are skipped.
    grid : smkit.core.grid.Grid
        Target (fine) grid.
    resampling : str, default "average"
        GDAL resampling: "average" is the mean of the 90 m cells in each grid
        cell (voids excluded).

    Returns
    -------
    xarray.Dataset
        Lazy static ``dem`` (m, float32), dims (lat, lon).

    Raises
    ------
    ReadError
        Naming the tile: unreadable, no CRS or a projected CRS.
    """
    kind = "SRTM"
    if resampling not in _RESAMPLING:
        raise ValueError(f"unknown resampling {resampling!r}; choose from {list(_RESAMPLING)}")
    paths = _as_files(files, kind, ("*.tif", "*.tiff", "*.hgt"))
    tiles = []
    for p in paths:
        (w, s, e, n), _ = _scan_raster(p, p, kind, "elevation", ("geographic",), "SRTM")
        if e > grid.lon0 and w < grid.lon1 and n > grid.lat0 and s < grid.lat1:
            tiles.append(p)
    if not tiles:
        raise FileNotFoundError(f"{kind}: none of the {len(paths)} tile(s) overlaps the grid "
                                f"({_extent(grid)})")
    arr = da.from_delayed(dask.delayed(_srtm_mosaic, pure=True)(tiles, grid, resampling),
                          grid.shape, dtype=np.float32)
    dem = xr.DataArray(arr, dims=("lat", "lon"), coords=grid.coords(),
                       attrs={"long_name": "elevation (SRTM)", "standard_name": "surface_altitude",
                              "units": "m"})
    return xr.Dataset({"dem": dem}, attrs={"source": "SRTM", "tiles": len(tiles)})


# =========================================================================== IMERG
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
    a = _read_nc(lay, sel.ysl, sel.xsl, sel.yidx, sel.xidx)[variable].astype(np.float32)
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
    paths = _as_files(files, kind, "3B-*IMERG*")
    lays = []
    for p in paths:
        m = re.search(r"3IMERG\.(\d{8})", os.path.basename(p))
        lay = _scan_nc(p, kind, (variable,), groups=("Grid",),
                       date=pd.Timestamp(m.group(1)) if m else None)
        u = _norm_units(lay.units.get(variable))
        if u not in _RATE:
            raise ReadError(p, kind, variable, f"has units '{lay.units.get(variable)}'; expected "
                            "mm/day (daily files) or mm/hr (half-hourly files)",
                            "check the product")
        lays.append(lay)
    _check_same_grid(lays, kind)
    _check_unique_times(lays, kind)
    step = float(np.median(np.abs(np.diff(lays[0].lat)))) if lays[0].lat.size > 1 else 0.1
    sel = _select_cover(lays[0], _as_bbox(grid), margin=step, kind=kind)
    parts = []
    for lay in lays:
        factor = _RATE[_norm_units(lay.units[variable])]
        d = dask.delayed(_guarded, pure=True)(_post_imerg, lay.path, kind, variable, lay, sel,
                                              variable, factor, grid, resampling)
        parts.append(da.from_delayed(d["precip"], (lay.times.size, *grid.shape), dtype=np.float32))
    times = np.concatenate([lay.times for lay in lays])
    v = xr.DataArray(da.concatenate(parts, axis=0), dims=("time", "lat", "lon"),
                     coords={"time": times, **grid.coords()})
    v = _daily(v, _days(time), kind).astype(np.float32)
    v.attrs = {"long_name": "precipitation (GPM IMERG)", "standard_name": "lwe_precipitation_rate",
               "units": "mm day-1"}
    return xr.Dataset({"precip": v}, attrs={"source": "GPM IMERG"})


# =========================================================================== models on native grids
def _post_model(lay, sel, variable, factor, offset, raw_scale):
    a = _read_nc(lay, sel.ysl, sel.xsl, sel.yidx, sel.xidx)[variable].astype(np.float64)
    if raw_scale is not None:  # stored integers without a CF scale_factor
        a = np.where(a == -32768, np.nan, a) * raw_scale
    a = np.where(np.isfinite(a) & (a > -9000), a * factor + offset, np.nan)
    return {"v": a.astype(np.float32)}


def _read_native(files, kind, pattern, variable, bbox, *, attrs, units_factor, raw_scale=None,
                 groups=()) -> tuple[xr.DataArray, list[_NcLayout]]:
    paths = _as_files(files, kind, pattern)
    lays = [_scan_nc(p, kind, (variable,), groups=groups) for p in paths]
    _check_same_grid(lays, kind)
    _check_unique_times(lays, kind)
    sel = _select_cover(lays[0], _as_bbox(bbox), kind=kind)
    parts = []
    for lay in lays:
        factor, offset = units_factor(lay)
        rs = raw_scale if (raw_scale is not None and lay.raw_int.get(variable)) else None
        d = dask.delayed(_guarded, pure=True)(_post_model, lay.path, kind, variable, lay, sel,
                                              variable, factor, offset, rs)
        parts.append(da.from_delayed(d["v"], (lay.times.size, sel.lat.size, sel.lon.size),
                                     dtype=np.float32))
    times = np.concatenate([lay.times for lay in lays])
    v = xr.DataArray(da.concatenate(parts, axis=0), dims=("time", "lat", "lon"),
                     coords={"time": times, **_grid_coords(sel.lat, sel.lon)}, attrs=attrs)
    return v, lays


def read_era5_land(files, bbox=None, *, time=None, variable: str = "swvl1") -> xr.Dataset:
    """Read ERA5-Land top-layer soil moisture as daily means on its native 0.1-degree grid.

    NetCDF files from the Copernicus Climate Data Store: ``swvl1``
    (volumetric soil water layer 1, 0-7 cm, m3 m-3), hourly, dims
    ``valid_time`` (new CDS) or ``time`` (legacy), ``latitude`` (descending)
    and ``longitude`` (0..360 or -180..180).

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*.nc``) or globs.
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
        u = _norm_units(lay.units.get(variable))
        if u and u not in _SM_UNITS:
            raise ReadError(lay.path, kind, variable, f"has units '{lay.units[variable]}', not "
                            "m3 m-3", "download volumetric soil water (swvl1)")
        return 1.0, 0.0

    attrs = {**SM_ATTRS,
             "long_name": "ERA5-Land volumetric soil water layer 1 (0-7 cm), daily mean"}
    v, _ = _read_native(files, kind, "*.nc", variable, bbox, attrs=attrs,
                        units_factor=units)
    v = _daily(v, _days(time), kind).astype(np.float32)
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
        u = _norm_units(lay.units.get(variable))
        if u in ("kg m-2", "kg/m2", "kg m**-2", "kg m^-2", "mm"):
            return 1.0 / (1000.0 * depth), 0.0
        if u in _SM_UNITS:
            return 1.0, 0.0
        raise ReadError(lay.path, kind, variable, f"has units '{lay.units.get(variable)}'; "
                        "expected kg m-2 (layer water) or m3 m-3", "check the product")

    attrs = {**SM_ATTRS, "long_name": f"Noah 0-{depth * 100:g} cm volumetric soil moisture, daily "
             "mean", "conversion": f"kg m-2 / (1000 kg m-3 * {depth:g} m)"}
    v, _ = _read_native(files, kind, "*.nc4", variable, bbox, attrs=attrs,
                        units_factor=units)
    v = _daily(v, _days(time), kind).astype(np.float32)
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
                           units_factor=lambda lay: (1.0, 0.0), raw_scale=0.01)
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
        _say_missing(kind, want.difference(months), "month")
        v = v.reindex(time=want)
    v = v.assign_coords(time=_time_coord(v["time"].values)).astype(np.float32)
    v.attrs = attrs
    return xr.Dataset({"pdsi": v}, attrs={"source": "TerraClimate (Abatzoglou et al., 2018)"})


# =========================================================================== stations
@dataclass
class _Station:
    name: str
    network: str
    lat: float
    lon: float
    elevation: float
    land_cover: str
    cadence: str
    station_id: str
    sm: pd.Series | None = None  # daily, m3 m-3
    rsm: pd.Series | None = None  # daily, percent
    field_capacity: float = np.nan
    bulk_density: float = np.nan
    files: list = field(default_factory=list)


def _stations_dataset(stations: list[_Station], time, source: str) -> xr.Dataset:
    """Build the stations data model (dims station, time) from per-station daily series."""
    if not stations:
        raise ValueError("no stations")
    days = _days(time)
    if days is None:
        idx = [s.index for st in stations for s in (st.sm, st.rsm) if s is not None and len(s)]
        days = pd.DatetimeIndex(sorted(set().union(*[set(i) for i in idx]))) if idx else \
            pd.DatetimeIndex([])
    n, nt = len(stations), len(days)
    sm = np.full((n, nt), np.nan, dtype=np.float32)
    rsm = np.full((n, nt), np.nan, dtype=np.float32)
    for i, st in enumerate(stations):
        if st.sm is not None:
            sm[i] = st.sm.reindex(days).to_numpy(dtype=np.float32)
        if st.rsm is not None:
            rsm[i] = st.rsm.reindex(days).to_numpy(dtype=np.float32)
    has_rsm = any(st.rsm is not None for st in stations)
    data = {"sm": (("station", "time"), sm, {
        "long_name": "in-situ volumetric soil moisture, daily mean", "units": "m3 m-3"})}
    if has_rsm:
        data["rsm"] = (("station", "time"), rsm, {
            "long_name": "relative soil moisture, percent of field capacity", "units": "percent"})
    col = lambda a: np.array([getattr(st, a) for st in stations])  # noqa: E731
    coords = {
        "time": _time_coord(days),
        "station": ("station", np.arange(n)),
        "name": ("station", col("name").astype(object)),
        "station_id": ("station", col("station_id").astype(object)),
        "network": ("station", col("network").astype(object)),
        "cadence": ("station", col("cadence").astype(object)),
        "lat": ("station", col("lat").astype(float), {"units": "degrees_north",
                                                     "standard_name": "latitude"}),
        "lon": ("station", col("lon").astype(float), {"units": "degrees_east",
                                                     "standard_name": "longitude"}),
        "elevation": ("station", col("elevation").astype(float), {"units": "m"}),
        "land_cover": ("station", col("land_cover").astype(object)),
    }
    if has_rsm:
        coords["field_capacity"] = ("station", col("field_capacity").astype(float),
                                    {"long_name": "field capacity (gravimetric)", "units": "g g-1"})
        coords["bulk_density"] = ("station", col("bulk_density").astype(float),
                                  {"long_name": "soil bulk density", "units": "g cm-3"})
    files = sorted({f for st in stations for f in st.files})
    return xr.Dataset(data, coords=coords, attrs={"source": source, "source_files": files})


# ---------------------------------------------------------------- ISMN
_ISMN_NAME = re.compile(r"_(?P<var>[a-z]+)_(?P<d0>-?\d+\.\d+)_(?P<d1>-?\d+\.\d+)_"
                        r"(?P<sensor>.+)_(?P<start>\d{8})_(?P<end>\d{8})\.stm$")


def _ismn_header(path: str) -> dict:
    kind = "ISMN"
    try:
        with open(path, encoding="ascii", errors="strict") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError) as err:
        raise ReadError(path, kind, None, f"cannot be read as text ({err}): corrupt file",
                        "download the file again") from err
    tok = first.split()
    if len(tok) < 8:
        raise ReadError(path, kind, None, f"the header line has {len(tok)} field(s), not the "
                        "'CSE network station lat lon elevation depth_from depth_to sensor' of the "
                        "ISMN header+values format", "download the data in 'header+values' format")
    try:
        lat, lon, elev, d0, d1 = (float(t) for t in tok[3:8])
    except ValueError as err:
        raise ReadError(path, kind, None, f"the header line has non-numeric coordinates/depths: "
                        f"{first.strip()!r}",
                        "download the data in 'header+values' format") from err
    return {"network": tok[1], "station": tok[2], "lat": lat, "lon": lon, "elevation": elev,
            "depth_from": d0, "depth_to": d1, "sensor": " ".join(tok[8:]).strip("'")}


def _ismn_values_builtin(path: str) -> pd.DataFrame:
    kind = "ISMN"
    rows = []
    with open(path, encoding="ascii", errors="replace") as f:
        next(f)
        for k, line in enumerate(f, start=2):
            tok = line.split()
            if not tok:
                continue
            if len(tok) < 4:
                raise ReadError(path, kind, "sm", f"line {k} has {len(tok)} field(s) "
                                f"({line.strip()!r}); expected 'YYYY/MM/DD HH:MM value flag ...': "
                                "truncated file?",
                                "download the file again")
            rows.append((tok[0] + " " + tok[1], tok[2], tok[3]))
    if not rows:
        raise ReadError(path, kind, "sm", "has a header but no values: truncated file?",
                        "download the file again")
    df = pd.DataFrame(rows, columns=["time", "value", "flag"])
    t = pd.to_datetime(df["time"], format="%Y/%m/%d %H:%M", errors="coerce")
    v = pd.to_numeric(df["value"], errors="coerce")
    bad = t.isna() | v.isna()
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReadError(path, kind, "sm", f"line {k + 2} cannot be parsed ({' '.join(rows[k])!r}): "
                        "corrupt or truncated file?", "download the file again")
    return pd.DataFrame({"value": v.to_numpy(float), "flag": df["flag"].to_numpy(str)},
                        index=pd.DatetimeIndex(t))


def _ismn_values_package(path: str) -> pd.DataFrame:
    from ismn.filehandlers import DataFile

    p = Path(path)
    f = DataFile(str(p.parent), p.name)
    df = f.read_data()
    var = [c for c in df.columns if not c.endswith("_flag")]
    flag = [c for c in df.columns if c.endswith("_flag") and not c.endswith("orig_flag")]
    out = pd.DataFrame({"value": pd.to_numeric(df[var[0]], errors="coerce").to_numpy(float),
                        "flag": df[flag[0]].astype(str).to_numpy()},
                       index=pd.DatetimeIndex(df.index))
    if out["value"].isna().any() or out.index.isna().any() or not len(out):
        raise ReadError(path, "ISMN", "sm", "has lines that cannot be parsed: corrupt or "
                        "truncated file?", "download the file again")
    return out


def _ismn_engine(engine: str) -> str:
    if engine not in ("auto", "ismn", "builtin"):
        raise ValueError(f"engine must be 'auto', 'ismn' or 'builtin', not {engine!r}")
    if engine == "auto":
        try:
            import ismn.filehandlers  # noqa: F401
        except ImportError:
            return "builtin"
        return "ismn"
    return engine


def read_ismn(files, *, time=None, good_flags: Sequence[str] = ("G",), max_depth: float = 0.10,
              engine: str = "auto", cadence: str = "daily") -> xr.Dataset:
    """Read ISMN station files (``header+values`` format) into a stations dataset.

    An ISMN ``.stm`` file
    (``NETWORK_NETWORK_STATION_sm_0.050000_0.050000_SENSOR_YYYYMMDD_YYYYMMDD.stm``)
    holds one sensor: a header line ``CSE network station lat lon elevation
    depth_from depth_to sensor`` (degrees, m, m), then one line per
    measurement ``YYYY/MM/DD HH:MM value ISMN_flag provider_flag`` with soil
    moisture in m3 m-3 and ISMN quality flags (``G`` good; ``C..``/``D..``
    suspicious; ``M`` missing). Values with a flag outside ``good_flags`` are
    dropped; the rest are averaged per day and over the station's sensors
    down to ``max_depth``.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*_sm_*.stm``) or globs; files of other
        variables are skipped.
    time : array-like of dates, optional
        Daily axis of the result. Default: the days with data.
    good_flags : sequence of str, default ("G",)
        ISMN flags of the values kept (a value with several flags, e.g.
        ``D01,D03``, needs all of them in this list).
    max_depth : float, default 0.10
        Deepest sensor bottom kept, m.
    engine : {"auto", "ismn", "builtin"}
        Parse with the ``ismn`` package when installed ("auto") or with
        smkit's own parser of the same format.
    cadence : str, default "daily"
        Observing period recorded for the stations.

    Returns
    -------
    xarray.Dataset
        ``sm`` (m3 m-3, float32), dims (station, time), coords ``name``,
        ``station_id``, ``network`` (the ISMN network), ``cadence``, ``lat``,
        ``lon``, ``elevation`` (m), ``land_cover`` ("unknown").

    Raises
    ------
    ReadError
        Naming the file: not in header+values format, or a truncated or
        corrupt line.
    """
    kind = "ISMN"
    engine = _ismn_engine(engine)
    paths = _as_files(files, kind, "*_sm_*.stm")
    good = set(good_flags)
    series: dict[tuple, dict] = {}
    skipped = []
    for p in paths:
        m = _ISMN_NAME.search(os.path.basename(p))
        if m is None:
            raise ReadError(p, kind, None, "the file name does not follow the ISMN pattern "
                            "NETWORK_NETWORK_STATION_VAR_DEPTHFROM_DEPTHTO_SENSOR_START_END.stm",
                            "keep the archive's file names")
        if m.group("var") != "sm":
            skipped.append(p)
            continue
        head = _ismn_header(p)
        if head["depth_to"] > max_depth + 1e-9:
            skipped.append(p)
            continue
        df = _guarded(_ismn_values_package if engine == "ismn" else _ismn_values_builtin,
                      p, kind, "sm", p)
        ok = df["flag"].map(lambda f: set(str(f).split(",")) <= good).to_numpy(bool)
        daily = df["value"][ok].groupby(df.index[ok].normalize()).mean()
        key = (head["network"], head["station"])
        rec = series.setdefault(key, {"head": head, "series": [], "files": []})
        for c in ("lat", "lon"):
            if abs(rec["head"][c] - head[c]) > 1e-3:
                raise ReadError(p, kind, c, f"station {key[1]} has {c} {head[c]:g} here but "
                                f"{rec['head'][c]:g} in {rec['files'][0]}", "check the files")
        rec["series"].append(daily)
        rec["files"].append(p)
    if skipped:
        warnings.warn(f"{kind}: skipped {len(skipped)} file(s) of other variables or deeper than "
                      f"{max_depth:g} m", UserWarning, stacklevel=2)
    if not series:
        raise FileNotFoundError(f"{kind}: no soil moisture file down to {max_depth:g} m among "
                                f"{len(paths)} file(s)")
    stations = []
    for (net, name), rec in sorted(series.items()):
        sm = pd.concat(rec["series"], axis=1).mean(axis=1) if rec["series"] else None
        h = rec["head"]
        stations.append(_Station(name, net, h["lat"], h["lon"], h["elevation"], "unknown", cadence,
                                 f"{net}/{name}", sm=sm, files=rec["files"]))
    return _stations_dataset(stations, time, f"ISMN ({engine} parser)")


# ---------------------------------------------------------------- CSV templates
def _read_csv_rows(path: str, columns: Sequence[str], kind: str) -> pd.DataFrame:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ReadError(path, kind, None, f"cannot be read as UTF-8 text ({err}): corrupt file?",
                        "save the table as UTF-8 CSV") from err
    reader = csv.reader(_stdio.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ReadError(path, kind, None, "is empty",
                        "write the template's header and rows") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ReadError(path, kind, ", ".join(missing), f"column(s) missing; header has {header}",
                        f"use the template header {','.join(columns)}")
    rows = []
    for k, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) < len(header):
            raise ReadError(path, kind, None, f"line {k} has {len(row)} field(s) but the header "
                            f"has {len(header)}: truncated file?", "complete or remove the line")
        rows.append([c.strip() for c in row[:len(header)]])
    if not rows:
        raise ReadError(path, kind, None, "has a header but no rows", "add observations")
    return pd.DataFrame(rows, columns=header)[list(columns)].assign(_line=range(2, 2 + len(rows)))


def _numeric(df: pd.DataFrame, col: str, path: str, kind: str, allow_empty: bool) -> pd.Series:
    raw = df[col].replace("", np.nan)
    v = pd.to_numeric(raw, errors="coerce")
    bad = v.isna() & (raw.notna() if allow_empty else True)
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise ReadError(path, kind, col, f"line {int(df['_line'].iloc[k])}: "
                        f"{df[col].iloc[k]!r} is not a number", "fix the value (empty = missing)"
                        if allow_empty else "fill the value")
    return v.astype(float)


def _blank(x) -> bool:
    return x is None or x == "" or (isinstance(x, float) and np.isnan(x))


def read_station_csv(files, network: str, *, time=None, cadence: str | None = None) -> xr.Dataset:
    """Read station CSV files of smkit's templates (NZW, CERN, QXZ) into a stations dataset.

    Volumetric template (CERN, QXZ), one row per observation::

        station_id,name,lat,lon,elevation,land_cover,date,sm
        QXZ-ARO,Arou,38.04,100.46,2295,Grassland,2009-07-01,0.231

    NZW template (relative soil moisture), one row per observation::

        station_id,name,lat,lon,elevation,land_cover,date,rsm,field_capacity,bulk_density
        52681,Minqin,38.63,103.08,1367,Farmland,2009-07-08,62.5,0.21,1.42

    Units: ``lat``/``lon`` degrees north/east (WGS84), ``elevation`` m,
    ``date`` ``YYYY-MM-DD`` (or ``YYYY-MM-DD HH:MM``; several rows of a
    station on one day are averaged), ``sm`` m3 m-3, ``rsm`` percent of field
    capacity, ``field_capacity`` g g-1 (gravimetric fraction), ``bulk_density``
    g cm-3. Station columns repeat on every row and must agree. An empty
    value is a missing observation.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*.csv``) or globs.
    network : {"NZW", "CERN", "QXZ"} or str
        Network; "NZW" selects the relative template, any other name the
        volumetric one.
    time : array-like of dates, optional
        Daily axis of the result. Default: the days with data.
    cadence : {"daily", "pentad", "dekad"}, optional
        Observing period; default from the network (NZW dekad, CERN pentad,
        QXZ daily; others daily).

    Returns
    -------
    xarray.Dataset
        Dims (station, time): ``sm`` (m3 m-3; NaN for NZW) and, for NZW,
        ``rsm`` (percent) with coords ``field_capacity`` and
        ``bulk_density``; coords as :func:`read_ismn`. NZW values are
        converted to m3 m-3 later by :func:`smkit.core.schema.stations_to_volumetric`.

    Raises
    ------
    ReadError
        Naming the file: missing columns, a truncated line, a non-numeric
        value, inconsistent station columns, percent where fractions are due.
    """
    network = str(network)
    kind = f"{network} CSV"
    relative = network.upper() == "NZW"
    columns = NZW_COLUMNS if relative else VOLUMETRIC_COLUMNS
    cadence = cadence or NETWORK_CADENCE.get(network.upper(), "daily")
    paths = _as_files(files, kind, "*.csv")
    records: dict[str, dict] = {}
    for p in paths:
        df = _read_csv_rows(p, columns, kind)
        lat = _numeric(df, "lat", p, kind, False)
        lon = _numeric(df, "lon", p, kind, False)
        elev = _numeric(df, "elevation", p, kind, True)
        text = df["date"].str.replace("/", "-", regex=False)
        t = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if t.isna().any():
            k = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise ReadError(p, kind, "date", f"line {int(df['_line'].iloc[k])}: "
                            f"{df['date'].iloc[k]!r} is not a date", "write dates as YYYY-MM-DD")
        values = {c: _numeric(df, c, p, kind, True) for c in (("rsm",) if relative else ("sm",))}
        if relative:
            fc = _numeric(df, "field_capacity", p, kind, True)
            bd = _numeric(df, "bulk_density", p, kind, True)
            if np.nanmax(fc.to_numpy(), initial=0) > 1:
                raise ReadError(p, kind, "field_capacity", "values above 1 g g-1 look like percent",
                                "divide by 100 (gravimetric fraction)")
            if np.nanmax(bd.to_numpy(), initial=0) > 3:
                raise ReadError(p, kind, "bulk_density", "values above 3 g cm-3 look like kg m-3",
                                "divide by 1000")
        elif np.nanmax(values["sm"].to_numpy(), initial=0) > 1:
            raise ReadError(p, kind, "sm", "values above 1 m3 m-3 look like percent",
                            "divide by 100 (volumetric fraction)")
        for sid, idx in df.groupby("station_id", sort=True).groups.items():
            sub = df.loc[idx]
            meta = {"name": sub["name"], "lat": lat[idx], "lon": lon[idx], "elevation": elev[idx],
                    "land_cover": sub["land_cover"]}
            if relative:
                meta.update(field_capacity=fc[idx], bulk_density=bd[idx])
            one = {}
            for c, col in meta.items():
                u = list(dict.fromkeys(x for x in col.tolist() if not _blank(x)))
                if len(u) > 1:
                    raise ReadError(p, kind, c, f"station {sid} has several values {list(u)[:3]}",
                                    "station columns must agree on every row")
                one[c] = u[0] if len(u) else (np.nan if c not in ("name", "land_cover") else "")
            rec = records.setdefault(str(sid), {"meta": one, "parts": [], "files": []})
            for c in ("lat", "lon"):
                if abs(float(rec["meta"][c]) - float(one[c])) > 1e-6:
                    raise ReadError(p, kind, c, f"station {sid} has {c} {one[c]} here but "
                                    f"{rec['meta'][c]} in {rec['files'][0]}", "fix the coordinates")
            day = t[idx].dt.normalize()
            rec["parts"].append(pd.DataFrame({c: v[idx].to_numpy() for c, v in values.items()},
                                             index=pd.DatetimeIndex(day)))
            rec["files"].append(p)
    stations = []
    for sid, rec in sorted(records.items()):
        obs = pd.concat(rec["parts"]).groupby(level=0).mean()
        m = rec["meta"]
        st = _Station(str(m["name"] or sid), network, float(m["lat"]), float(m["lon"]),
                      float(m["elevation"]), str(m["land_cover"] or "unknown"), cadence, str(sid),
                      files=rec["files"])
        if relative:
            st.rsm = obs["rsm"]
            st.field_capacity = float(m["field_capacity"])
            st.bulk_density = float(m["bulk_density"])
            st.sm = pd.Series(np.nan, index=obs.index)
        else:
            st.sm = obs["sm"]
        stations.append(st)
    return _stations_dataset(stations, time, f"{network} stations (smkit CSV template)")


def read_nzw(files, *, time=None) -> xr.Dataset:
    """Read NZW stations (relative soil moisture, ten-day) from the NZW CSV template.

    See :func:`read_station_csv` for the template
    (``station_id,name,lat,lon,elevation,land_cover,date,rsm,field_capacity,bulk_density``;
    ``rsm`` percent of field capacity, ``field_capacity`` g g-1,
    ``bulk_density`` g cm-3).

    Parameters
    ----------
    files : str, path, or sequence of them
        CSV files, folders or globs.
    time : array-like of dates, optional
        Daily axis of the result.

    Returns
    -------
    xarray.Dataset
        Stations with ``rsm`` (percent), ``field_capacity``, ``bulk_density``.
    """
    return read_station_csv(files, "NZW", time=time)


def read_cern(files, *, time=None) -> xr.Dataset:
    """Read CERN stations (volumetric, five-day) from the volumetric CSV template.

    See :func:`read_station_csv` (``station_id,name,lat,lon,elevation,land_cover,date,sm``;
    ``sm`` m3 m-3).

    Parameters
    ----------
    files : str, path, or sequence of them
        CSV files, folders or globs.
    time : array-like of dates, optional
        Daily axis of the result.

    Returns
    -------
    xarray.Dataset
        Stations with ``sm`` (m3 m-3), cadence "pentad".
    """
    return read_station_csv(files, "CERN", time=time)


def read_qxz(files, *, time=None) -> xr.Dataset:
    """Read QXZ stations (volumetric, daily) from the volumetric CSV template.

    See :func:`read_station_csv` (``station_id,name,lat,lon,elevation,land_cover,date,sm``;
    ``sm`` m3 m-3; sub-daily rows are averaged per day).

    Parameters
    ----------
    files : str, path, or sequence of them
        CSV files, folders or globs.
    time : array-like of dates, optional
        Daily axis of the result.

    Returns
    -------
    xarray.Dataset
        Stations with ``sm`` (m3 m-3), cadence "daily".
    """
    return read_station_csv(files, "QXZ", time=time)


def merge_stations(datasets: Sequence[xr.Dataset], time=None) -> xr.Dataset:
    """Concatenate stations datasets along ``station`` on one daily axis.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        Results of the station readers.
    time : array-like of dates, optional
        Daily axis (default: the union of the inputs' days).

    Returns
    -------
    xarray.Dataset
        ``sm`` (m3 m-3) and, if any input has it, ``rsm`` (percent) with
        ``field_capacity``/``bulk_density`` (NaN where not known).
    """
    if not datasets:
        raise ValueError("no stations datasets to merge")
    days = _days(time)
    if days is None:
        days = pd.DatetimeIndex(sorted(set().union(*[set(pd.DatetimeIndex(d["time"].values))
                                                     for d in datasets])))
    has_rsm = any("rsm" in d.data_vars for d in datasets)
    parts = []
    for d in datasets:
        d = d.reindex(time=days)
        if has_rsm:
            if "rsm" not in d.data_vars:
                d["rsm"] = xr.full_like(d["sm"], np.nan)
                d["rsm"].attrs = {"long_name": "relative soil moisture, percent of field capacity",
                                  "units": "percent"}
            for c, u in (("field_capacity", "g g-1"), ("bulk_density", "g cm-3")):
                if c not in d.coords:
                    d = d.assign_coords({c: ("station", np.full(d.sizes["station"], np.nan),
                                             {"units": u})})
        parts.append(d.drop_vars("station"))
    out = xr.concat(parts, dim="station", combine_attrs="drop_conflicts",
                    data_vars="all", coords="different", compat="equals")
    out = out.assign_coords(station=("station", np.arange(out.sizes["station"])),
                            time=_time_coord(days))
    out.attrs = {"source": "; ".join(str(d.attrs.get("source", "")) for d in datasets),
                 "source_files": sorted({f for d in datasets
                                         for f in d.attrs.get("source_files", [])})}
    return out


# =========================================================================== configuration
#: source key -> (reader, default file pattern inside a folder, group)
SOURCES = {
    "coarse": (read_esacci, "*-SOILMOISTURE-L3S-SSMV-COMBINED-*.nc", "coarse"),
    "lst": (read_mod11a1, "*MOD11A1*", "fine"),
    "ndvi": (read_mod13a2, "*MOD13A2*", "fine"),
    "albedo": (read_mcd43c3, "*MCD43C3*", "fine"),
    "precip": (read_imerg, "3B-*IMERG*", "fine"),
    "dem": (read_srtm, ("*.tif", "*.tiff", "*.hgt"), "fine"),
    "stations": (None, None, "stations"),
    "era5": (read_era5_land, "*.nc", "era5"),
    "noah": (read_noah, "*.nc4", "noah"),
    "pdsi": (read_terraclimate_pdsi, "TerraClimate_PDSI_*.nc", "pdsi"),
}
#: station format key -> (reader, default file pattern inside a folder)
STATION_FORMATS = {"ismn": (read_ismn, "*_sm_*.stm"), "nzw": (read_nzw, "*.csv"),
                   "cern": (read_cern, "*.csv"), "qxz": (read_qxz, "*.csv")}
REQUIRED_SOURCES = ("coarse", "lst", "ndvi", "albedo", "precip", "dem")
GROUPS = CUBE_GROUPS
_TOP_KEYS = {"region", "period", "sources", "root", "chunks", "validate", "stations_outside"}


def _reader_options(reader) -> set[str]:
    sig = inspect.signature(reader)
    return {p.name for p in sig.parameters.values()
            if p.kind == p.KEYWORD_ONLY and p.name not in ("time",)}


def _check_options(where: str, reader, opts: Mapping):
    allowed = _reader_options(reader)
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown} for {reader.__name__}; valid: "
                          f"{sorted(allowed) + ['files']}")


def load_config(config) -> dict:
    """Read and check an ingestion configuration.

    Parameters
    ----------
    config : str, Path or mapping
        A ``sources.yaml`` path or the same content as a mapping (see
        ``docs/data-sources.md``).

    Returns
    -------
    dict
        The configuration with defaults filled in: ``region`` (``bbox``
        west, south, east, north in degrees, snapped outwards to whole coarse
        cells; ``coarse_res`` 0.25 and ``fine_res`` 0.01 degrees), ``period``
        (``start``, ``end`` as ISO dates), ``root`` (folder of relative
        paths: the YAML's folder or the working directory), ``chunks``
        (``time`` days, ``space`` fine pixels), ``validate``,
        ``stations_outside`` and ``sources``.

    Raises
    ------
    ConfigError
        Naming the key at fault.
    """
    import yaml

    base = Path.cwd()
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        if not path.exists():
            raise FileNotFoundError(f"no configuration file {path}")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from err
        base = path.resolve().parent
    else:
        raw = config
    if not isinstance(raw, Mapping):
        raise ConfigError("the configuration must be a mapping with keys region, period, sources")
    raw = dict(raw)
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; valid: {sorted(_TOP_KEYS)}")
    for key in ("region", "period", "sources"):
        if key not in raw:
            raise ConfigError(f"missing top-level key '{key}'")
    region = dict(raw["region"] or {})
    bad = sorted(set(region) - {"bbox", "coarse_res", "fine_res"})
    if bad:
        raise ConfigError(f"region: unknown key(s) {bad}; valid: bbox, coarse_res, fine_res")
    if "bbox" not in region:
        raise ConfigError("region: missing 'bbox' [west, south, east, north] (degrees)")
    try:
        w, s, e, n = (float(v) for v in region["bbox"])
    except (TypeError, ValueError):
        raise ConfigError(f"region.bbox must be four numbers [west, south, east, north], got "
                          f"{region['bbox']!r}") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"region.bbox {[w, s, e, n]} is not west < east in -180..180 and "
                          "south < north in -90..90")
    cres = float(region.get("coarse_res", 0.25))
    fres = float(region.get("fine_res", 0.01))
    snapped = [np.floor(w / cres + 1e-9) * cres, np.floor(s / cres + 1e-9) * cres,
               np.ceil(e / cres - 1e-9) * cres, np.ceil(n / cres - 1e-9) * cres]
    snapped = [float(np.round(v, 8)) for v in snapped]
    if not np.allclose(snapped, [w, s, e, n]):
        warnings.warn(f"region.bbox {[w, s, e, n]} snapped outwards to whole {cres:g}-degree "
                      f"cells: {snapped}", UserWarning, stacklevel=2)
    coarse = Grid(snapped[0], snapped[2], snapped[1], snapped[3], cres)
    try:
        nesting_factor(coarse, coarse.with_res(fres))
    except ValueError as err:
        raise ConfigError(f"region: fine_res {fres:g} does not nest in coarse_res {cres:g}: "
                          f"{err}") from None
    period = dict(raw["period"] or {})
    try:
        start, end = pd.Timestamp(period["start"]), pd.Timestamp(period["end"])
    except (KeyError, ValueError, TypeError):
        raise ConfigError("period needs 'start' and 'end' dates (YYYY-MM-DD), "
                          f"got {period!r}") from None
    if end < start:
        raise ConfigError(f"period: end {end.date()} is before start {start.date()}")
    chunks = {"time": 8, "space": 500, **dict(raw.get("chunks") or {})}
    if set(chunks) - {"time", "space"} or any(int(v) < 1 for v in chunks.values()):
        raise ConfigError(f"chunks takes positive 'time' (days) and 'space' (pixels), got {chunks}")
    outside = raw.get("stations_outside", "drop")
    if outside not in ("drop", "raise", "keep"):
        raise ConfigError(f"stations_outside must be drop, raise or keep, not {outside!r}")
    root = Path(raw.get("root") or base)
    if not root.is_absolute():
        root = (base / root).resolve()
    sources = dict(raw["sources"] or {})
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ConfigError(f"sources: unknown source(s) {unknown}; valid: {list(SOURCES)}")
    missing = [k for k in REQUIRED_SOURCES if k not in sources]
    if missing:
        raise ConfigError(f"sources: missing required source(s) {missing} (the cube needs coarse "
                          "sm and the five fine covariates)")
    norm = {}
    for key, spec in sources.items():
        if key == "stations":
            entries = spec if isinstance(spec, list) else [spec]
            out = []
            for i, ent in enumerate(entries):
                ent = dict(ent or {})
                fmt = str(ent.pop("format", "")).lower()
                if fmt not in STATION_FORMATS:
                    raise ConfigError(f"sources.stations[{i}]: 'format' must be one of "
                                      f"{list(STATION_FORMATS)}, got {fmt!r}")
                if "files" not in ent:
                    raise ConfigError(f"sources.stations[{i}]: missing 'files'")
                _check_options(f"sources.stations[{i}]", STATION_FORMATS[fmt][0],
                               {k: v for k, v in ent.items() if k != "files"})
                out.append({"format": fmt, **ent})
            norm[key] = out
            continue
        spec = {"files": spec} if isinstance(spec, (str, list)) else dict(spec or {})
        if "files" not in spec:
            raise ConfigError(f"sources.{key}: missing 'files' (a folder, glob or list of them)")
        _check_options(f"sources.{key}", SOURCES[key][0],
                       {k: v for k, v in spec.items() if k != "files"})
        norm[key] = spec
    return {
        "region": {"bbox": snapped, "coarse_res": cres, "fine_res": fres},
        "period": {"start": str(start.date()), "end": str(end.date())},
        "root": str(root), "chunks": {k: int(v) for k, v in chunks.items()},
        "validate": bool(raw.get("validate", True)), "stations_outside": outside,
        "sources": norm,
    }


def _resolve(spec_files, root: str, pattern, where: str) -> list[str]:
    items = spec_files if isinstance(spec_files, list) else [spec_files]
    absolute = [os.path.join(root, os.path.expanduser(str(i))) for i in items]
    try:
        return _as_files(absolute, where, pattern)
    except FileNotFoundError as err:
        raise ConfigError(f"{where}: {err}") from None


# =========================================================================== ingestion
def _library_versions() -> dict[str, str]:
    out = {"smkit": __version__, "xarray": xr.__version__, "dask": dask.__version__,
           "numpy": np.__version__, "pandas": pd.__version__}
    for mod in ("rioxarray", "rasterio", "pyproj", "h5netcdf", "netCDF4", "zarr", "ismn"):
        try:
            m = __import__(mod)
            out[mod] = str(getattr(m, "__version__", "?"))
        except ImportError:
            pass
    try:
        import rasterio

        out["GDAL"] = rasterio.__gdal_version__
    except ImportError:
        pass
    return out


def _fingerprint(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:20]


def _file_stamp(paths: Iterable[str]) -> list:
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([p, st.st_size, st.st_mtime_ns])
    return out


@dataclass
class _GroupPlan:
    name: str
    build: object  # callable() -> (Dataset, sources provenance)
    files: list
    spec: dict
    time_chunk: int
    space_chunk: int | None = None


def _rechunk(ds: xr.Dataset, tchunk: int, schunk: int | None) -> xr.Dataset:
    chunks = {}
    if "time" in ds.dims:
        chunks["time"] = tchunk
    for d in ("lat", "lon"):
        if d in ds.dims:
            chunks[d] = schunk if schunk else ds.sizes[d]
    data = {n: v.chunk({d: c for d, c in chunks.items() if d in v.dims})
            if v.chunks is not None else v for n, v in ds.data_vars.items()}
    out = ds.assign(data)
    for v in out.data_vars.values():
        v.encoding = {}
    return out


def _state_path(out: Path) -> Path:
    return out.with_name(out.name + ".ingest.json")


def _load_state(out: Path) -> dict:
    sp = _state_path(out)
    if not out.exists() or not sp.exists():
        return {"groups": {}}
    try:
        return json.loads(sp.read_text())
    except json.JSONDecodeError:
        return {"groups": {}}


def _save_state(out: Path, state: dict):
    sp = _state_path(out)
    tmp = sp.with_name(sp.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, sp)


def _group_exists(out: Path, group: str) -> bool:
    return (out / group / "zarr.json").exists()


def _write_template(out: Path, group: str, ds: xr.Dataset):
    """Write the group's metadata, coordinates and in-memory (static) variables."""
    encode_group(ds).to_zarr(out, group=group, mode="w", compute=False, consolidated=False)


def _write_block(out: Path, group: str, part: xr.Dataset, region: dict):
    """Compute and write one time block of a group into its place in the store."""
    part.to_zarr(out, group=group, region=region, mode="r+", consolidated=False)


def _time_blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def ingest(config, out, progress: bool = True) -> Path:
    """Build the analysis-ready cube from raw archive files (resumable).

    Reads every source of the configuration with its reader, onto the common
    grids of the region (coarse 0.25 degrees, fine 0.01 degrees nesting in it,
    by default) and the daily period, and writes a Zarr store with the groups
    ``coarse``, ``fine``, ``stations``, ``era5``, ``noah``, ``pdsi`` and an
    empty ``truth``, which :func:`smkit.synth.open_scenario` opens like a
    synthetic scenario. Data are read lazily with dask and written time block
    by time block (``chunks.time`` days).

    Resuming: the progress of each group is kept in ``<out>.ingest.json``
    beside the store (written atomically after every block). A rerun skips
    finished groups and, inside an unfinished one, finished blocks; a group
    whose sources, options, files (names, sizes, times) or smkit/reader
    versions changed is rewritten. A group is finished only once all its
    blocks are written.

    Provenance: every group's attributes hold ``smkit_version``,
    ``ingest_config`` (the checked configuration, JSON), ``ingest_sources``
    (per variable: reader, reader version, options, source files; JSON),
    ``library_versions`` (JSON) and ``date_created``.

    Parameters
    ----------
    config : str, Path or mapping
        ``sources.yaml`` or its content (:func:`load_config`).
    out : str or Path
        The Zarr store to write (``.zarr``).
    progress : bool, default True
        Show a tqdm progress bar over blocks.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ConfigError
        For an invalid configuration.
    ReadError
        Naming the file, for any unreadable source file.
    smkit.core.schema.InputError
        If the written cube does not pass :func:`smkit.core.schema.check_coarse`,
        :func:`smkit.core.schema.check_fine` or :func:`smkit.core.schema.check_stations`.
    """
    from tqdm.auto import tqdm

    cfg = load_config(config)
    out = Path(out)
    root, src = cfg["root"], cfg["sources"]
    w, s, e, n = cfg["region"]["bbox"]
    coarse_grid = Grid(w, e, s, n, cfg["region"]["coarse_res"])
    fine_grid = coarse_grid.with_res(cfg["region"]["fine_res"])
    days = pd.date_range(cfg["period"]["start"], cfg["period"]["end"], freq="D")
    tchunk, schunk = cfg["chunks"]["time"], cfg["chunks"]["space"]

    files = {k: _resolve(v["files"], root, SOURCES[k][1], f"sources.{k}")
             for k, v in src.items() if k != "stations"}
    station_files = [_resolve(ent["files"], root, STATION_FORMATS[ent["format"]][1],
                              f"sources.stations[{i}]")
                     for i, ent in enumerate(src.get("stations", []))]

    def opts(key):
        return {k: v for k, v in src[key].items() if k != "files"}

    def prov(key, reader, paths, options):
        return {"reader": f"smkit.readers.{reader.__name__}", "reader_version": READER_VERSIONS[reader.__name__],
                "options": options, "files": list(paths)}

    def build_coarse():
        reader = SOURCES["coarse"][0]
        ds = reader(files["coarse"], coarse_grid, time=days, **opts("coarse"))
        return ds, {"sm": prov("coarse", reader, files["coarse"], opts("coarse"))}

    def build_fine():
        parts, p = [], {}
        for key in ("lst", "ndvi", "albedo", "precip"):
            reader = SOURCES[key][0]
            parts.append(reader(files[key], fine_grid, time=days, **opts(key)))
            p[key] = prov(key, reader, files[key], opts(key))
        reader = SOURCES["dem"][0]  # static: no time
        dem = reader(files["dem"], fine_grid, **opts("dem"))
        p["dem"] = prov("dem", reader, files["dem"], opts("dem"))
        ds = xr.merge([*parts, dem], join="exact", combine_attrs="override")
        return ds, p

    def build_stations():
        dsets, p = [], {}
        for i, ent in enumerate(src["stations"]):
            reader = STATION_FORMATS[ent["format"]][0]
            o = {k: v for k, v in ent.items() if k not in ("files", "format")}
            dsets.append(reader(station_files[i], time=days, **o))
            p[f"{ent['format']}[{i}]"] = prov(ent["format"], reader, station_files[i], o)
        st = merge_stations(dsets, time=days)
        st = check_stations(st, grid=coarse_grid, on_outside=cfg["stations_outside"])
        if st.sizes["station"] == 0:
            raise ConfigError("sources.stations: no station inside the region "
                              f"{cfg['region']['bbox']}")
        st = st.assign_coords(station=("station", np.arange(st.sizes["station"])))
        st.attrs = {}
        return st, p

    def build_aux(key, reader, bbox_time):
        def build():
            ds = reader(files[key], coarse_grid, time=bbox_time, **opts(key))
            ds.attrs = {}
            return ds, {ds_var: prov(key, reader, files[key], opts(key)) for ds_var in ds.data_vars}
        return build

    plans = [_GroupPlan("coarse", build_coarse, files["coarse"], src["coarse"], tchunk)]
    fine_files = sorted(f for k in ("lst", "ndvi", "albedo", "precip", "dem") for f in files[k])
    plans.append(_GroupPlan("fine", build_fine, fine_files,
                            {k: src[k] for k in ("lst", "ndvi", "albedo", "precip", "dem")},
                            tchunk, schunk))
    if "stations" in src:
        plans.append(_GroupPlan("stations", build_stations,
                                sorted(f for fs in station_files for f in fs),
                                {"stations": src["stations"], "outside": cfg["stations_outside"]},
                                len(days)))
    for key in ("era5", "noah"):
        if key in src:
            plans.append(_GroupPlan(key, build_aux(key, SOURCES[key][0], days), files[key], src[key],
                                    tchunk))
    if "pdsi" in src:
        plans.append(_GroupPlan("pdsi", build_aux("pdsi", SOURCES["pdsi"][0], days),
                                files["pdsi"], src["pdsi"], 12))

    common = {"region": cfg["region"], "period": cfg["period"], "chunks": cfg["chunks"],
              "smkit": __version__, "readers": READER_VERSIONS}
    state = _load_state(out)
    if not out.exists():
        state = {"groups": {}}
    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config_json = json.dumps(cfg, default=str)
    libs = json.dumps(_library_versions())
    present = {p.name for p in plans}

    bar = tqdm(total=0, desc=f"ingest {out.name}", unit="block", disable=not progress)
    try:
        for plan in plans:
            fp = _fingerprint(common, plan.name, plan.spec, _file_stamp(plan.files))
            gs = state["groups"].get(plan.name, {})
            if gs.get("fingerprint") == fp and gs.get("done") and _group_exists(out, plan.name):
                bar.set_postfix_str(f"{plan.name}: done before, skipped")
                continue
            bar.set_postfix_str(f"{plan.name}: reading")
            ds, sources = plan.build()
            ds = _rechunk(ds, plan.time_chunk, plan.space_chunk)
            ds.attrs = {
                "Conventions": "CF-1.10",
                "title": f"smkit analysis-ready cube: {plan.name}",
                "source": "real observations, read by smkit.readers (see ingest_sources)",
                "smkit_version": __version__,
                "region_bbox": list(cfg["region"]["bbox"]),
                "ingest_config": config_json,
                "ingest_sources": json.dumps(sources),
                "library_versions": libs,
                "date_created": created,
            }
            fresh = not (gs.get("fingerprint") == fp and gs.get("template")
                         and _group_exists(out, plan.name))
            if fresh:
                static = [v for v in ds.data_vars if "time" not in ds[v].dims]
                if static:  # static fields (dem) are computed now and written with the template
                    bar.set_postfix_str(f"{plan.name}: static fields")
                    ds = ds.assign({v: ds[v].compute() for v in static})
                if plan.name == "stations":
                    ds = ds.compute()
                bar.set_postfix_str(f"{plan.name}: template")
                _write_template(out, plan.name, ds)
                gs = {"fingerprint": fp, "template": True, "blocks": [], "done": False}
                state["groups"][plan.name] = gs
                _save_state(out, state)
            timed = [v for v in ds.data_vars if "time" in ds[v].dims and ds[v].chunks is not None]
            blocks = _time_blocks(ds.sizes.get("time", 0), plan.time_chunk) if timed else []
            bar.total += len(blocks)
            bar.refresh()
            drop = [c for c in ds.coords if "time" not in ds[c].dims]
            for b, (t0, t1) in enumerate(blocks):
                if b in gs["blocks"]:
                    bar.update(1)
                    continue
                steps = "months" if plan.name == "pdsi" else "days"
                bar.set_postfix_str(f"{plan.name}: {steps} {t0 + 1}-{t1} of {ds.sizes['time']}")
                part = ds[timed].isel(time=slice(t0, t1)).drop_vars(drop)
                _write_block(out, plan.name, part, {"time": slice(t0, t1)})
                gs["blocks"].append(b)
                _save_state(out, state)
                bar.update(1)
            gs["done"] = True
            _save_state(out, state)
        for name in ("truth", *[g for g in GROUPS if g not in present]):
            # an empty group, also in place of one written by an earlier configuration
            stale = state["groups"].pop(name, None) is not None
            if stale or not _group_exists(out, name):
                why = ("no 1-km truth exists for real observations" if name == "truth"
                       else f"no '{name}' source was configured")
                xr.Dataset(attrs={"title": f"smkit analysis-ready cube: {name} (empty)",
                                  "comment": why, "smkit_version": __version__}).to_zarr(
                    out, group=name, mode="w", consolidated=False)
                _save_state(out, state)
    finally:
        bar.close()

    if cfg["validate"]:
        from smkit.synth import open_scenario

        sc = open_scenario(out)
        coarse = check_coarse(sc.coarse)
        check_fine(sc.fine, coarse=coarse)
        if "stations" in present:
            check_stations(sc.stations, grid=coarse_grid,
                           on_outside="keep" if cfg["stations_outside"] == "keep" else "raise")
        state["validated"] = True
        _save_state(out, state)
    return out
