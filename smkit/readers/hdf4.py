"""NASA HDF4 / HDF-EOS2 grid granules through pyhdf (no GDAL HDF4 driver needed).

PyPI's rasterio wheels are built against a GDAL without the HDF4 driver, so the
MODIS granules as LP DAAC distributes them (``MOD11A1.A2009182.h26v04.061.*.hdf``)
are read here with :mod:`pyhdf`:

* the file is checked to *be* HDF4 (an Earthdata login page saved as ``.hdf``,
  an empty file or a ZIP archive is named as such, with the fix);
* the global ``StructMetadata.0`` (ODL text of the HDF-EOS library) gives the
  grid of a science data set (SDS): its size, ``UpperLeftPointMtrs`` /
  ``LowerRightMtrs`` corners and projection (``GCTP_SNSOID`` sinusoidal tiles
  in metres, or ``GCTP_GEO`` lat/lon whose corners are packed DDDMMMSSS.SS);
* an SDS becomes an :class:`xarray.DataArray` (``y``, ``x``) of its raw stored
  integers with its CRS and affine transform written by rioxarray, which
  :func:`smkit.readers.raster.warp_into` reprojects onto a lat/lon grid;
* :func:`decode_sds` turns the raw integers into physical values with the
  SDS's own ``_FillValue``, ``valid_range``, ``scale_factor`` and
  ``add_offset``, in the scale convention of the product (see there).

Callers hold :data:`smkit.readers.common.IO_LOCK` (the HDF4 library is not
thread-safe); :mod:`smkit.readers.raster` does.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import xarray as xr

from smkit.readers.common import EARTHDATA_LOGIN, SIGNATURES, ReadError, check_download

__all__ = [
    "HDF4_SIGNATURE", "MODIS_SPHERE_RADIUS", "Hdf4Grid", "Hdf4Source", "check_hdf4_file",
    "parse_odl", "struct_metadata", "grids", "unpack_dms", "sds_grid", "hdf4_source", "scan_sds",
    "open_sds", "scale_convention", "decode_sds",
]

#: The 4 bytes every HDF4 file starts with.
HDF4_SIGNATURE = next(sig for sig, name in SIGNATURES if name == "HDF4")
#: Radius (m) of the sphere of the MODIS sinusoidal grid, used when ProjParams gives none.
MODIS_SPHERE_RADIUS = 6371007.181


@dataclass(frozen=True)
class Hdf4Source:
    """An SDS of an HDF4 granule, as :func:`smkit.readers.raster.raster_source` hands it on.

    Attributes
    ----------
    path : str
        The granule.
    sds : str
        The science data set's name (e.g. ``"LST_Day_1km"``, ``"1 km 16 days NDVI"``).
    """

    path: str
    sds: str


@dataclass(frozen=True)
class Hdf4Grid:
    """An HDF-EOS2 grid of ``StructMetadata.0``.

    Attributes
    ----------
    name : str
        ``GridName`` (e.g. ``"MODIS_Grid_Daily_1km_LST"``).
    xdim, ydim : int
        Columns and rows.
    crs : str
        PROJ string (sinusoidal sphere) or ``"EPSG:4326"``.
    transform : tuple of float
        GDAL geotransform ``(x0, dx, 0, y0, 0, dy)`` of the pixel edges, in
        metres (sinusoidal) or degrees (geographic); ``dy`` negative (rows
        from the north, ``GridOrigin=HDFE_GD_UL``).
    fields : tuple of str
        ``DataFieldName`` of the grid's fields.
    """

    name: str
    xdim: int
    ydim: int
    crs: str
    transform: tuple
    fields: tuple


# --------------------------------------------------------------------------- the file
def check_hdf4_file(path: str, kind: str):
    """Raise a ReadError unless ``path`` starts with the HDF4 signature.

    The message names what was found instead: an empty file, an HTML page
    (the Earthdata login page a download without credentials saves), a ZIP or
    gzip archive, an HDF5 file, or the first bytes.

    Parameters
    ----------
    path : str
        The file.
    kind : str
        The product, for the message.

    Raises
    ------
    ReadError
        If the file cannot be read or is not HDF4.
    """
    fmt = check_download(path, kind, "HDF4", login=EARTHDATA_LOGIN, noun="granule")
    if fmt == "HDF4":
        return
    if fmt == "HDF5":
        raise ReadError(path, kind, None, "is an HDF5 file, not an HDF4 granule",
                        "download the collection's HDF4 (.hdf) granules, or convert the layers "
                        "to GeoTIFF")
    with open(path, "rb") as f:
        head = f.read(8)
    found = f"a {fmt} file" if fmt else f"found {head.hex(' ')}"
    raise ReadError(path, kind, None, f"does not start with the HDF4 signature 0e 03 13 01 "
                    f"({found}): corrupt, truncated or another format",
                    "download the granule again")


def _open_sd(path: str, kind: str):
    from pyhdf.SD import SD, SDC

    check_hdf4_file(path, kind)
    try:
        return SD(os.fspath(path), SDC.READ)
    except Exception as err:  # noqa: BLE001 - pyhdf raises HDF4Error for everything
        raise ReadError(path, kind, None, f"cannot be opened by the HDF4 library ({err}): "
                        "corrupt or truncated", "download the granule again") from err


# --------------------------------------------------------------------------- StructMetadata
def _odl_value(text: str):
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        return tuple(_odl_value(p) for p in text[1:-1].split(",") if p.strip())
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_odl(text: str) -> dict:
    """Parse ODL text (HDF-EOS ``StructMetadata``) into nested dicts.

    ``GROUP=name`` / ``OBJECT=name`` open a dict under ``name``; ``key=value``
    lines fill it: numbers become int/float, ``"..."`` strings lose their
    quotes, ``(a,b,...)`` become tuples.

    Parameters
    ----------
    text : str
        The ODL text.

    Returns
    -------
    dict
    """
    root: dict = {}
    stack = [root]
    for line in text.replace("\x00", "").splitlines():
        line = line.strip()
        if line == "END":
            break
        if "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if key in ("GROUP", "OBJECT"):
            node: dict = {}
            stack[-1][value] = node
            stack.append(node)
        elif key in ("END_GROUP", "END_OBJECT"):
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1][key] = _odl_value(value)
    return root


def struct_metadata(attrs: dict) -> str:
    """The ``StructMetadata.0`` text of a granule's global attributes (``.1``, ... appended)."""
    keys = sorted((k for k in attrs if k.startswith("StructMetadata.")),
                  key=lambda k: int(k.rsplit(".", 1)[1]) if k.rsplit(".", 1)[1].isdigit() else 0)
    return "".join(str(attrs[k]) for k in keys)


def unpack_dms(value: float) -> float:
    """Degrees of a GCTP packed angle ``DDDMMMSSS.SS`` (e.g. -180000000.0 -> -180.0)."""
    sign = -1.0 if value < 0 else 1.0
    a = abs(float(value))
    deg = math.floor(a / 1e6)
    minutes = math.floor((a - deg * 1e6) / 1e3)
    seconds = a - deg * 1e6 - minutes * 1e3
    return sign * (deg + minutes / 60.0 + seconds / 3600.0)


def _grid_of(node: dict, path: str, kind: str) -> Hdf4Grid:
    name = str(node.get("GridName", "?"))
    try:
        xdim, ydim = int(node["XDim"]), int(node["YDim"])
        (x0, y0), (x1, y1) = node["UpperLeftPointMtrs"], node["LowerRightMtrs"]
    except (KeyError, TypeError, ValueError) as err:
        raise ReadError(path, kind, None, f"StructMetadata.0 grid {name!r} lacks XDim, YDim, "
                        f"UpperLeftPointMtrs or LowerRightMtrs ({err})",
                        "download the granule again (LP DAAC granules carry them)") from err
    proj = str(node.get("Projection", ""))
    params = node.get("ProjParams", ())
    params = params if isinstance(params, tuple) else (params,)
    if proj in ("GCTP_SNSOID", "GCTP_ISINUS"):
        radius = float(params[0]) if params and float(params[0]) > 0 else MODIS_SPHERE_RADIUS
        lon0 = unpack_dms(float(params[4])) if len(params) > 4 else 0.0
        crs = (f"+proj=sinu +lon_0={lon0:g} +x_0=0 +y_0=0 +R={radius:.6f} +units=m +no_defs")
    elif proj == "GCTP_GEO":
        corners = (float(x0), float(y0), float(x1), float(y1))
        if max(abs(c) for c in corners) > 360.0:  # packed DDDMMMSSS.SS, as MODIS CMGs write
            corners = tuple(unpack_dms(c) for c in corners)
        x0, y0, x1, y1 = corners
        crs = "EPSG:4326"
    else:
        raise ReadError(path, kind, None, f"grid {name!r} is in projection {proj or 'none'!r}; "
                        "smkit reads GCTP_SNSOID (MODIS sinusoidal tiles) and GCTP_GEO "
                        "(lat/lon climate-modelling grids)",
                        "convert the layer to GeoTIFF in EPSG:4326 (e.g. with AppEEARS)")
    dx, dy = (float(x1) - float(x0)) / xdim, (float(y1) - float(y0)) / ydim
    if not (dx > 0 and dy < 0):
        raise ReadError(path, kind, None, f"grid {name!r} has corners ({x0}, {y0}) .. "
                        f"({x1}, {y1}) that are not upper-left .. lower-right",
                        "download the granule again")
    fields = tuple(str(v.get("DataFieldName")) for v in node.get("DataField", {}).values()
                   if isinstance(v, dict) and "DataFieldName" in v)
    return Hdf4Grid(name, xdim, ydim, crs, (float(x0), dx, 0.0, float(y0), 0.0, dy), fields)


def grids(attrs: dict, path: str = "?", kind: str = "HDF4") -> list[Hdf4Grid]:
    """The grids of a granule's ``StructMetadata.0``.

    Parameters
    ----------
    attrs : dict
        The granule's global attributes (``SD(path).attributes()``).
    path, kind : str
        File and product, for the messages.

    Returns
    -------
    list of Hdf4Grid

    Raises
    ------
    ReadError
        If there is no ``StructMetadata.0`` (not an HDF-EOS file) or a grid is
        incomplete or in a projection other than sinusoidal or lat/lon.
    """
    text = struct_metadata(attrs)
    if not text:
        raise ReadError(path, kind, None, "has no StructMetadata.0 attribute (an HDF4 file, but "
                        "not an HDF-EOS grid granule)", "use the LP DAAC granule as downloaded "
                        "(tools that rewrite HDF files can drop it), or a GeoTIFF export")
    nodes = parse_odl(text).get("GridStructure", {})
    return [_grid_of(n, path, kind) for n in nodes.values()
            if isinstance(n, dict) and "GridName" in n]


def sds_grid(gridlist: list[Hdf4Grid], sds: str, dims: tuple, shape: tuple, path: str,
             kind: str) -> Hdf4Grid:
    """The grid an SDS lies on: named by its dimensions (``YDim:GRIDNAME``) or its DataField."""
    named = {d.split(":", 1)[1] for d in dims if ":" in d}
    hit = [g for g in gridlist if g.name in named] or [g for g in gridlist if sds in g.fields]
    if not hit and len(gridlist) == 1:
        hit = gridlist
    if not hit:
        raise ReadError(path, kind, sds, f"lies on none of the grids of StructMetadata.0 "
                        f"({[g.name for g in gridlist]})", "download the granule again")
    g = hit[0]
    if tuple(shape) != (g.ydim, g.xdim):
        raise ReadError(path, kind, sds, f"has shape {tuple(shape)} but its grid {g.name!r} is "
                        f"{g.ydim} x {g.xdim} (YDim x XDim)", "download the granule again")
    return g


# --------------------------------------------------------------------------- data sets
def hdf4_source(path: str, sds: str, kind: str) -> Hdf4Source:
    """Check that ``path`` is an HDF4 granule holding ``sds``; return its :class:`Hdf4Source`.

    Accepts the SDS name with spaces or with underscores (``1_km_16_days_NDVI``).

    Raises
    ------
    ReadError
        If the file is not HDF4 (see :func:`check_hdf4_file`), cannot be
        opened, or lacks the SDS (the message lists those it has).
    """
    sd = _open_sd(path, kind)
    try:
        names = list(sd.datasets())
    finally:
        sd.end()
    want = {sds, sds.replace(" ", "_")}
    hit = [n for n in names if n in want or n.replace(" ", "_") in want]
    if not hit:
        raise ReadError(path, kind, sds, f"missing; the granule's data sets: {names}",
                        "check that the file is the right product (and collection)")
    return Hdf4Source(str(path), hit[0])


def _sds_meta(sd, src: Hdf4Source, kind: str):
    try:
        s = sd.select(src.sds)
    except Exception as err:  # noqa: BLE001
        raise ReadError(src.path, kind, src.sds, f"cannot be selected ({err})",
                        "download the granule again") from err
    name, rank, shape, _dtype, _nattr = s.info()
    if rank != 2:
        raise ReadError(src.path, kind, src.sds, f"has {rank} dimensions, not 2 (rows, columns)",
                        "check that the file is the right product")
    dims = tuple(s.dimensions().keys())
    grid = sds_grid(grids(sd.attributes(), src.path, kind), src.sds, dims, tuple(shape),
                    src.path, kind)
    return s, grid, tuple(shape)


def scan_sds(src: Hdf4Source, kind: str):
    """CRS, geotransform, shape and dtype of an SDS, without reading its values.

    Returns
    -------
    tuple
        ``(crs, transform, (rows, cols), dtype)``; see :class:`Hdf4Grid`.
    """
    sd = _open_sd(src.path, kind)
    try:
        s, grid, shape = _sds_meta(sd, src, kind)
        try:
            dtype = np.asarray(s[0:1, 0:1]).dtype
        except Exception as err:  # noqa: BLE001
            raise ReadError(src.path, kind, src.sds, f"cannot be read ({err}): corrupt or "
                            "truncated", "download the granule again") from err
        s.endaccess()
        return grid.crs, grid.transform, shape, dtype
    finally:
        sd.end()


def _window(grid: Hdf4Grid, shape, bbox, margin: int = 2):
    """Rows (r0, r1) and columns (c0, c1) of a grid covering a lon/lat bbox, plus ``margin``."""
    from rasterio.warp import transform_bounds

    rows, cols = shape
    if bbox is None:
        return 0, rows, 0, cols
    x0, dx, _, y0, _, dy = grid.transform
    w, s, e, n = transform_bounds("EPSG:4326", grid.crs, *bbox, densify_pts=21)
    c0 = max(0, int(np.floor((w - x0) / dx)) - margin)
    c1 = min(cols, int(np.ceil((e - x0) / dx)) + margin)
    r0 = max(0, int(np.floor((n - y0) / dy)) - margin)
    r1 = min(rows, int(np.ceil((s - y0) / dy)) + margin)
    if c1 <= c0 or r1 <= r0:  # outside: one pixel, which warps to nothing
        return 0, 1, 0, 1
    return r0, r1, c0, c1


def open_sds(src: Hdf4Source, kind: str, bbox=None) -> xr.DataArray:
    """An SDS of a granule as a georeferenced DataArray of its raw stored values.

    Parameters
    ----------
    src : Hdf4Source
        Granule and data set.
    kind : str
        The product, for the messages.
    bbox : tuple of float, optional
        ``(west, south, east, north)`` in degrees: read only the window of
        the SDS covering it (and 2 pixels around), not the whole grid (the
        MCD43C3 CMG is global, 7200 x 3600).

    Returns
    -------
    xarray.DataArray
        Dims (``y``, ``x``), rows from the north; coordinates the pixel
        centres in metres (sinusoidal) or degrees; the CRS and transform
        written by rioxarray; ``attrs`` the SDS's attributes (``_FillValue``,
        ``valid_range``, ``scale_factor``, ``add_offset``, ``units``,
        ``long_name`` ...), values not decoded (see :func:`decode_sds`).

    Raises
    ------
    ReadError
        Naming the file: not HDF4, corrupt, no StructMetadata.0 grid for the SDS.
    """
    import rioxarray  # noqa: F401 - registers the .rio accessor
    from affine import Affine

    sd = _open_sd(src.path, kind)
    try:
        s, grid, shape = _sds_meta(sd, src, kind)
        r0, r1, c0, c1 = _window(grid, shape, bbox)
        try:
            values = np.asarray(s[r0:r1, c0:c1])
            attrs = dict(s.attributes())
        except Exception as err:  # noqa: BLE001
            raise ReadError(src.path, kind, src.sds, f"cannot be read ({err}): corrupt or "
                            "truncated", "download the granule again") from err
        s.endaccess()
    finally:
        sd.end()
    x0, dx, _, y0, _, dy = grid.transform
    x0, y0 = x0 + c0 * dx, y0 + r0 * dy
    x = x0 + (np.arange(c1 - c0) + 0.5) * dx
    y = y0 + (np.arange(r1 - r0) + 0.5) * dy
    out = xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}, name=src.sds,
                       attrs={k: (list(v) if isinstance(v, (list, tuple)) else v)
                              for k, v in attrs.items()})
    out = out.rio.write_crs(grid.crs)
    return out.rio.write_transform(Affine(dx, 0.0, x0, 0.0, dy, y0))


def scale_convention(scale_factor: float, expected: float, path: str, kind: str,
                     layer: str) -> str:
    """How a granule's ``scale_factor`` turns stored integers into ``expected``-sized units.

    MODIS products write ``scale_factor`` in two conventions. Most (MOD11A1
    LST: 0.02; MCD43C3 albedo: 0.001) follow HDF's own calibration
    convention, physical = scale_factor * (raw - add_offset): ``"multiply"``.
    The vegetation indices (MOD13A2) write ``scale_factor = 10000`` and mean
    physical = (raw - add_offset) / scale_factor: ``"divide"``. Which one a
    file uses is told by the product's known multiplier ``expected`` (0.0001
    for NDVI), so both spellings of a file read right.

    Parameters
    ----------
    scale_factor : float
        The SDS's attribute.
    expected : float
        The product's physical value of one stored unit (e.g. 0.02 K).
    path, kind, layer : str
        For the message.

    Returns
    -------
    {"multiply", "divide"}

    Raises
    ------
    ReadError
        If neither ``scale_factor`` nor its inverse is ``expected``.
    """
    s = float(scale_factor)
    if s > 0 and math.isclose(s, expected, rel_tol=1e-6):
        return "multiply"
    if s > 0 and math.isclose(1.0 / s, expected, rel_tol=1e-6):
        return "divide"
    raise ReadError(path, kind, layer, f"has scale_factor {s:g}, but the product's values are "
                    f"stored in units of {expected:g} (scale_factor {expected:g}, or "
                    f"{1 / expected:g} in the MOD13 convention)",
                    "check that the file is the right product and collection (061)")


def decode_sds(raw: xr.DataArray, expected_scale: float, path: str, kind: str,
               layer: str) -> xr.DataArray:
    """Physical float32 values of a raw SDS (from :func:`open_sds`): fill and out-of-range NaN.

    Uses the SDS's own ``_FillValue``, ``valid_range`` (inclusive),
    ``scale_factor`` and ``add_offset`` (0 if absent), the scale in the
    convention :func:`scale_convention` finds.

    Parameters
    ----------
    raw : xarray.DataArray
        Raw stored integers with the SDS's attributes.
    expected_scale : float
        The product's physical value of one stored unit (0.02 K for LST,
        0.0001 for NDVI, 0.001 for albedo).
    path, kind, layer : str
        For the messages.

    Returns
    -------
    xarray.DataArray
        float32 of the same shape, coordinates and CRS; attributes dropped.
    """
    a = raw.attrs
    v = np.asarray(raw.values)
    bad = np.zeros(v.shape, dtype=bool)
    if "_FillValue" in a:
        bad |= v == np.asarray(a["_FillValue"]).ravel()[0]
    if "valid_range" in a:
        lo, hi = np.asarray(a["valid_range"]).ravel()[:2]
        bad |= (v < lo) | (v > hi)
    scale = float(np.asarray(a.get("scale_factor", expected_scale)).ravel()[0])
    offset = float(np.asarray(a.get("add_offset", 0.0)).ravel()[0])
    how = scale_convention(scale, expected_scale, path, kind, layer)
    phys = v.astype(np.float32)  # float32 throughout: the CMG is 26 M pixels
    if offset:
        phys -= np.float32(offset)
    phys *= np.float32(scale if how == "multiply" else 1.0 / scale)
    phys[bad] = np.nan
    out = raw.copy(data=phys)
    out.attrs = {}
    return out
