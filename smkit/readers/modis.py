"""MODIS land products: MOD11A1/MYD11A1 LST, MOD13A2/MYD13A2 NDVI, MCD43C3 albedo.

Owns the products' table (layers, scale, fill, valid range, CRS, period), their
file names (AppEEARS exports and LP DAAC granules), quality screening and the
daily mosaic of tiles; the raster mechanics are :mod:`smkit.readers.raster`'s.

Native HDF4 granules (``.hdf``) are always read with pyhdf
(:mod:`smkit.readers.hdf4`), so they need no GDAL HDF4 driver. Their values are
decoded with each data set's own ``_FillValue``, ``valid_range``,
``scale_factor`` and ``add_offset``. The scale conventions differ per product:
MOD11A1 LST (``scale_factor`` 0.02) and MCD43C3 albedo (0.001) mean
physical = scale_factor * (raw - add_offset); MOD13A2 NDVI writes
``scale_factor`` 10000 and means physical = (raw - add_offset) / 10000. The
product table's scale tells which convention a file follows (a file with 0.0001
for NDVI reads right too); a scale that fits neither is an error naming the file.
GeoTIFF exports, which carry no such attributes, are decoded with the table.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.grid import Grid
from smkit.readers.common import (
    EARTHDATA_LOGIN,
    IO_LOCK,
    ReadError,
    as_files,
    check_download,
    day_index,
    extent_text,
    time_coord,
    warn_missing,
)
from smkit.readers.hdf4 import Hdf4Source, decode_sds
from smkit.readers.raster import (
    check_resampling,
    raster_source,
    read_layer,
    scan_raster,
    warp_into,
)

__all__ = ["read_mod11a1", "read_mod13a2", "read_mcd43c3"]


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
_READER = {"MOD11A1": "read_mod11a1 (source 'lst')", "MOD13A2": "read_mod13a2 (source 'ndvi')",
           "MCD43C3": "read_mcd43c3 (source 'albedo')"}
_QC_LAYERS = ("QC_Day", "QC_Night", "pixel_reliability", "BRDF_Quality")
_MODIS_DATE = (re.compile(r"doy(\d{4})(\d{3})"), re.compile(r"\.A(\d{4})(\d{3})\."))
_MODIS_TILE = re.compile(r"h(\d{2})v(\d{2})")


def _modis_catalog(paths: list[str], prod: _Modis, layers: Sequence[str], kind: str,
                   grid: Grid, prescaled: bool) -> dict[tuple, dict[str, tuple[str, str | None]]]:
    """``{(date, tile): {layer: (path, sds)}}`` of the files overlapping ``grid``."""
    cat: dict[tuple, dict] = {}
    tokens = {k: prod.layers[k][0] for k in layers}
    for p in paths:
        base = os.path.basename(p)
        hdf = base.lower().endswith((".hdf", ".hdf4", ".h4"))
        check_download(p, kind, "HDF4" if hdf else "GeoTIFF", login=EARTHDATA_LOGIN,
                       noun="granule" if hdf else "file")
        if not any(a in base for a in prod.aliases):
            other = next((o for o in _MODIS.values() for a in o.aliases if a in base), None)
            if other is not None:
                raise ReadError(p, kind, None, f"the file name names {other.name}, not "
                                f"{'/'.join(prod.aliases)}: another MODIS product",
                                f"give it to {_READER[other.name]}, and {prod.name} files to this one")
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
            src = raster_source(path, sds, kind)
            bounds, dtype = scan_raster(path, src, kind, prod.layers[k][0], prod.crs, prod.name)
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


def _modis_values(prod: _Modis, path, src, kind, layer_key, prescaled, bbox) -> xr.DataArray:
    raw = read_layer(path, src, kind, prod.layers[layer_key][0], bbox)
    if isinstance(src, Hdf4Source):  # the granule's own fill, range and scale
        return decode_sds(raw, prod.scale, path, kind, prod.layers[layer_key][1])
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


def _qc_values(path, src, kind, layer, like: xr.DataArray, bbox) -> np.ndarray:
    qc = read_layer(path, src, kind, layer, bbox)
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
    with IO_LOCK:
        return _modis_day_locked(slots, prod, kind, layers, grid, resampling, rule, rule_arg,
                                 prescaled)


def _modis_day_locked(slots, prod, kind, layers, grid, resampling, rule, rule_arg, prescaled):
    outs = []
    bbox = (grid.lon0, grid.lat0, grid.lon1, grid.lat1)  # HDF4: read only this window
    for data_key, qc_key in layers:
        out = np.full(grid.shape, np.nan, dtype=np.float32)
        for slot in slots:
            if data_key not in slot:
                continue
            path, src = slot[data_key]
            vals = _modis_values(prod, path, src, kind, data_key, prescaled, bbox)
            if rule_arg is not None and qc_key is not None:
                if qc_key not in slot:
                    raise ReadError(path, kind, prod.layers[data_key][0], f"has no "
                                    f"{prod.layers[qc_key][0]} file of the same date and tile, "
                                    "needed for the quality screening",
                                    "download the QC layer too, or switch the screening off")
                qpath, qsrc = slot[qc_key]
                qc = _qc_values(qpath, qsrc, kind, prod.layers[qc_key][0], vals, bbox)
                if rule == "lst":
                    ok = _lst_ok(qc, float(rule_arg))
                elif rule == "reliability":
                    ok = np.isin(qc, np.asarray(rule_arg))
                else:  # BRDF quality
                    ok = (qc >= 0) & (qc <= int(rule_arg))
                vals = vals.copy(data=np.where(ok, vals.values, np.float32(np.nan)))
            warp_into(out, vals, grid, resampling, path, kind, prod.layers[data_key][0])
        outs.append(out)
    if len(outs) == 1:
        return outs[0]
    both = np.isfinite(outs[0]) & np.isfinite(outs[1])
    return np.where(both, (outs[0] + outs[1]) / 2, np.float32(np.nan)).astype(np.float32)


def _read_modis(files, prod: _Modis, grid: Grid, layers, rule, rule_arg, *, time, resampling,
                prescaled, name, attrs) -> xr.Dataset:
    kind = prod.name
    check_resampling(resampling)
    keys = sorted({k for pair in layers for k in pair if k is not None}
                  if rule_arg is not None else {d for d, _ in layers})
    paths = as_files(files, kind, tuple(f"*{a}*" for a in prod.aliases))
    cat = _modis_catalog(paths, prod, keys, kind, grid, prescaled)
    by_date: dict[pd.Timestamp, list[dict]] = {}
    for (date, _tile), slot in sorted(cat.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if any(d in slot for d, _ in layers):
            by_date.setdefault(date, []).append(slot)
    if not by_date:
        raise FileNotFoundError(f"{kind}: none of the {len(paths)} file(s) overlaps the grid "
                                f"({extent_text(grid)})")
    dates = pd.DatetimeIndex(sorted(by_date))
    arrays = {
        d: da.from_delayed(dask.delayed(_modis_day, pure=True)(
            by_date[d], prod, kind, layers, grid, resampling, rule, rule_arg, prescaled),
            grid.shape, dtype=np.float32)
        for d in dates
    }
    days = day_index(time)
    if days is None:
        days = dates if prod.period == 1 else pd.date_range(dates[0], dates[-1] + pd.Timedelta(
            days=prod.period - 1), freq="D")
    # each day takes the latest file starting at most `period` - 1 days before it
    pos = np.searchsorted(dates.values, days.values, side="right") - 1
    ok = pos >= 0
    ok[ok] = (days.values[ok] - dates.values[pos[ok]]) < np.timedelta64(prod.period, "D")
    warn_missing(kind, days[~ok])
    empty = da.full(grid.shape, np.nan, dtype=np.float32, chunks=grid.shape)
    stack = da.stack([arrays[dates[p]] if good else empty for p, good in zip(pos, ok, strict=True)])
    v = xr.DataArray(stack, dims=("time", "lat", "lon"),
                     coords={"time": time_coord(days), **grid.coords()}, attrs=attrs)
    return xr.Dataset({name: v}, attrs={"source": f"{prod.name} ({'/'.join(prod.aliases)})"})


def read_mod11a1(files, grid: Grid, *, time=None, overpass: str = "day",
                 max_error: float | None = 2.0, resampling: str = "bilinear",
                 prescaled: bool = False) -> xr.Dataset:
    """Read MOD11A1 (or MYD11A1) daily land surface temperature onto a lat/lon grid.

    GeoTIFF exports (AppEEARS: ``MOD11A1.061_LST_Day_1km_doy2009182_aid0001.tif``,
    ``..._QC_Day_doy2009182...``; or a GDAL conversion of a granule that keeps
    ``.A2009182.h25v05.`` and the layer name) in the sinusoidal projection or
    in geographic lat/lon, and the native LP DAAC granules
    ``MOD11A1.A2009182.h25v05.061.*.hdf`` (HDF4, read with pyhdf: no GDAL HDF4
    driver needed; each granule holds all layers, QC included). Tiles of a day
    are mosaicked; each is reprojected with ``rio.reproject`` onto ``grid``.

    Parameters
    ----------
    files : str, path, or sequence of them
        Files, folders (searched for ``*MOD11A1*`` and ``*MYD11A1*``) or globs.
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
        (scale 0.02 K, fill 0, valid 7500-65535). Not for HDF4 granules, which
        always hold the integers and are decoded with their own attributes.

    Returns
    -------
    xarray.Dataset
        Lazy ``lst`` (K, float32), dims (time, lat, lon); NaN = fill, cloud,
        screened out or no file.

    Raises
    ------
    ReadError
        Naming the file: unreadable, no CRS or a CRS other than sinusoidal or
        lat/lon, a missing QC layer, float values without ``prescaled``; a
        ``.hdf`` that is not HDF4 (an Earthdata login page saved as the
        granule, an empty file, a ZIP archive), lacks the layer or has a
        ``scale_factor`` that does not fit the product.
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
    or HDF4 granules (``MOD13A2.A2009177.h26v04.061.*.hdf``, SDS
    ``1 km 16 days NDVI`` with ``scale_factor`` 10000 meaning NDVI = raw / 10000),
    as for :func:`read_mod11a1`. A composite dated day D
    stands for days D to D+15: each day of the result takes the latest
    composite that started at most 15 days before it.

    Parameters
    ----------
    files, grid, time
        As for :func:`read_mod11a1`; folders are searched for ``*MOD13A2*`` and ``*MYD13A2*``,
        and the default days are the composites'.
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
    in geographic lat/lon, or the HDF4 granules ``MCD43C3.A2009182.061.*.hdf``
    (the global 7200 x 3600 grid ``MCD_CMG_BRDF_0.05Deg``, read with pyhdf).

    Parameters
    ----------
    files, grid, time
        As for :func:`read_mod11a1`; folders are searched for ``*MCD43C3*``.
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
