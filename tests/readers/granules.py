"""Writers of small MODIS HDF4 (HDF-EOS2) granules, faithful to LP DAAC's files.

Nothing can be downloaded in the tests and no binary file is committed, so the
granules are written here, at test time, with pyhdf in the layout of the real
collection-6.1 files:

* file names ``MOD11A1.A2009182.h25v05.061.2021201000000.hdf`` (product,
  ``AYYYYDDD``, tile, collection, production time);
* the science data sets' names, types and dimension names
  (``YDim:MODIS_Grid_Daily_1km_LST``), and their attributes as the MODIS
  production code writes them: ``long_name``, ``units``, ``valid_range``,
  ``_FillValue`` and the HDF calibration ``scale_factor``, ``scale_factor_err``,
  ``add_offset``, ``add_offset_err``, ``calibrated_nt`` (``SDsetcal``);
  MOD13A2 with ``scale_factor = 10000`` (NDVI = raw / 10000);
* the global ``HDFEOSVersion`` and ``StructMetadata.0`` ODL text (GridStructure
  with XDim, YDim, UpperLeftPointMtrs, LowerRightMtrs, Projection, ProjParams,
  SphereCode, GridOrigin, Dimension and DataField objects), plus short
  ``CoreMetadata.0`` / ``ArchiveMetadata.0``.

The granules are small: a window of a sinusoidal tile (or of the 0.05-degree
CMG) with ``XDim``/``YDim`` and the corners of that window, so the window is
georeferenced exactly where it lies in the real tile. Values come from
functions of the pixel centres' (lat, lon) (or sinusoidal x, y), so a test can
compute what a reader must return.
"""

import os

import numpy as np
import pandas as pd

#: MODIS sinusoidal grid (MODLAND): sphere radius (m), tile size (m), 1-km pixel, grid origin.
R = 6371007.181
TILE = 1111950.5196666666
PIX = TILE / 1200  # 926.625433 m
X0, Y0 = -20015109.354, 10007554.677
SIN = f"+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R={R} +units=m +no_defs"
PRODUCTION = "2021201000000"


def doy(date):
    date = pd.Timestamp(date)
    return f"{date.year}{date.day_of_year:03d}"


def tile_origin(h, v):
    """Upper-left corner (x, y) in metres of sinusoidal tile hHHvVV."""
    return X0 + h * TILE, Y0 - v * TILE


def tile_of(lon, lat):
    """The (h, v) of the tile holding a point."""
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", SIN, always_xy=True).transform(lon, lat)
    return int((x - X0) // TILE), int((Y0 - y) // TILE)


def to_sin(lon, lat):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", SIN, always_xy=True).transform(lon, lat)


def from_sin(x, y):
    from pyproj import Transformer

    return Transformer.from_crs(SIN, "EPSG:4326", always_xy=True).transform(x, y)


def pack_dms(deg):
    """GCTP packed DDDMMMSSS.SS of an angle in degrees (as the CMG corners are written)."""
    sign = -1.0 if deg < 0 else 1.0
    a = abs(deg)
    d = int(a + 1e-12)
    m = int((a - d) * 60 + 1e-9)
    s = round(((a - d) * 60 - m) * 60, 6)
    return sign * (d * 1e6 + m * 1e3 + s)


class Window:
    """A window of a tile: rows r0..r1 and columns c0..c1 of tile (h, v), 1-km pixels."""

    def __init__(self, h, v, r0, r1, c0, c1):
        self.h, self.v, self.r0, self.r1, self.c0, self.c1 = h, v, r0, r1, c0, c1
        tx, ty = tile_origin(h, v)
        self.ul = (tx + c0 * PIX, ty - r0 * PIX)
        self.lr = (tx + c1 * PIX, ty - r1 * PIX)
        self.shape = (r1 - r0, c1 - c0)

    @classmethod
    def around(cls, lon_range, lat_range, margin=3, tile=None):
        """The window of tile ``tile`` (default: the box centre's) covering a lon/lat box."""
        h, v = tile or tile_of(np.mean(lon_range), np.mean(lat_range))
        lons = [lon_range[0], lon_range[1], lon_range[0], lon_range[1], np.mean(lon_range)]
        lats = [lat_range[0], lat_range[0], lat_range[1], lat_range[1], lat_range[1]]
        xs, ys = to_sin(lons, lats)
        tx, ty = tile_origin(h, v)
        c0 = max(0, int(np.floor((min(xs) - tx) / PIX)) - margin)
        c1 = min(1200, int(np.ceil((max(xs) - tx) / PIX)) + margin)
        r0 = max(0, int(np.floor((ty - max(ys)) / PIX)) - margin)
        r1 = min(1200, int(np.ceil((ty - min(ys)) / PIX)) + margin)
        return cls(h, v, r0, r1, c0, c1)

    def centres(self):
        """Sinusoidal x, y and lat, lon of the pixel centres, each (rows, cols)."""
        x = self.ul[0] + (np.arange(self.shape[1]) + 0.5) * PIX
        y = self.ul[1] - (np.arange(self.shape[0]) + 0.5) * PIX
        xx, yy = np.meshgrid(x, y)
        lon, lat = from_sin(xx, yy)
        return xx, yy, lat, lon


# --------------------------------------------------------------------------- ODL text
_DFNT = {np.dtype(np.uint8): "DFNT_UINT8", np.dtype(np.int8): "DFNT_INT8",
         np.dtype(np.uint16): "DFNT_UINT16", np.dtype(np.int16): "DFNT_INT16",
         np.dtype(np.int32): "DFNT_INT32", np.dtype(np.float32): "DFNT_FLOAT32"}


def struct_metadata(grid_name, shape, ul, lr, projection, fields,
                    proj_params="(6371007.181000,0,0,0,0,0,0,0,0,0,0,0,0)", sphere=-1):
    """``StructMetadata.0`` of a one-grid HDF-EOS2 file, laid out as the HDF-EOS library writes it."""
    ydim, xdim = shape
    t = "\t"
    lines = ["GROUP=SwathStructure", "END_GROUP=SwathStructure", "GROUP=GridStructure",
             f"{t}GROUP=GRID_1", f'{t}{t}GridName="{grid_name}"', f"{t}{t}XDim={xdim}",
             f"{t}{t}YDim={ydim}", f"{t}{t}UpperLeftPointMtrs=({ul[0]:.6f},{ul[1]:.6f})",
             f"{t}{t}LowerRightMtrs=({lr[0]:.6f},{lr[1]:.6f})", f"{t}{t}Projection={projection}"]
    if projection != "GCTP_GEO":
        lines.append(f"{t}{t}ProjParams={proj_params}")
    lines += [f"{t}{t}SphereCode={sphere}", f"{t}{t}GridOrigin=HDFE_GD_UL",
              f"{t}{t}GROUP=Dimension", f"{t}{t}END_GROUP=Dimension", f"{t}{t}GROUP=DataField"]
    for i, (name, dtype) in enumerate(fields, 1):
        lines += [f"{t}{t}{t}OBJECT=DataField_{i}", f'{t}{t}{t}{t}DataFieldName="{name}"',
                  f"{t}{t}{t}{t}DataType={_DFNT[np.dtype(dtype)]}",
                  f'{t}{t}{t}{t}DimList=("YDim","XDim")', f"{t}{t}{t}END_OBJECT=DataField_{i}"]
    lines += [f"{t}{t}END_GROUP=DataField", f"{t}{t}GROUP=MergedFields",
              f"{t}{t}END_GROUP=MergedFields", f"{t}END_GROUP=GRID_1", "END_GROUP=GridStructure",
              "GROUP=PointStructure", "END_GROUP=PointStructure", "END", ""]
    return "\n".join(lines)


def _core_metadata(name, date, tile):
    d = pd.Timestamp(date)
    return "\n".join([
        "GROUP                  = INVENTORYMETADATA", "  GROUPTYPE            = MASTERGROUP",
        "  GROUP                  = ECSDATAGRANULE", "    OBJECT                 = LOCALGRANULEID",
        "      NUM_VAL              = 1", f'      VALUE                = "{name}"',
        "    END_OBJECT             = LOCALGRANULEID", "  END_GROUP              = ECSDATAGRANULE",
        "  GROUP                  = RANGEDATETIME",
        "    OBJECT                 = RANGEBEGINNINGDATE", "      NUM_VAL              = 1",
        f'      VALUE                = "{d:%Y-%m-%d}"', "    END_OBJECT             = RANGEBEGINNINGDATE",
        "  END_GROUP              = RANGEDATETIME",
        f'  /* tile {tile} */', "END_GROUP              = INVENTORYMETADATA", "END", ""])


# --------------------------------------------------------------------------- the writer
def write_granule(path, grid_name, projection, ul, lr, fields, *, date="2009-07-01", tile="-",
                  proj_params="(6371007.181000,0,0,0,0,0,0,0,0,0,0,0,0)", deflate=False):
    """Write an HDF-EOS2 grid granule with pyhdf.

    Parameters
    ----------
    path : str
        The file (its base name is the granule's LocalGranuleID).
    grid_name, projection : str
        ``GridName`` and ``Projection`` (``GCTP_SNSOID`` or ``GCTP_GEO``).
    ul, lr : tuple
        ``UpperLeftPointMtrs`` and ``LowerRightMtrs`` (metres, or packed DMS).
    fields : list of dict
        Each: ``name``, ``values`` (2-D array of the stored type) and optional
        ``long_name``, ``units``, ``fill``, ``valid`` (lo, hi), ``scale``,
        ``offset`` (written with ``setcal`` like MODIS' code).
    deflate : bool, default False
        Compress the data sets (as the MCD43 collection-6 granules are).
    """
    from pyhdf.SD import SD, SDC

    sdc = {np.dtype(np.uint8): SDC.UINT8, np.dtype(np.int8): SDC.INT8,
           np.dtype(np.uint16): SDC.UINT16, np.dtype(np.int16): SDC.INT16,
           np.dtype(np.int32): SDC.INT32, np.dtype(np.float32): SDC.FLOAT32}
    shape = np.asarray(fields[0]["values"]).shape
    sd = SD(str(path), SDC.WRITE | SDC.CREATE)
    try:
        sd.attr("HDFEOSVersion").set(SDC.CHAR8, "HDFEOS_V2.19")
        text = struct_metadata(grid_name, shape, ul, lr, projection,
                               [(f["name"], np.asarray(f["values"]).dtype) for f in fields],
                               proj_params=proj_params)
        sd.attr("StructMetadata.0").set(SDC.CHAR8, text)
        sd.attr("CoreMetadata.0").set(SDC.CHAR8, _core_metadata(os.path.basename(path), date, tile))
        sd.attr("ArchiveMetadata.0").set(SDC.CHAR8, "GROUP = ARCHIVEDMETADATA\nEND_GROUP = "
                                         "ARCHIVEDMETADATA\nEND\n")
        for f in fields:
            v = np.asarray(f["values"])
            s = sd.create(f["name"], sdc[v.dtype], v.shape)
            if deflate:
                s.setcompress(SDC.COMP_DEFLATE, value=1)
            s.dim(0).setname(f"YDim:{grid_name}")
            s.dim(1).setname(f"XDim:{grid_name}")
            s.long_name = f.get("long_name", f["name"])
            s.units = f.get("units", "none")
            py = int if np.issubdtype(v.dtype, np.integer) else float
            if "valid" in f:
                s.setrange(*(py(b) for b in f["valid"]))
            if "fill" in f:
                s.setfillvalue(py(f["fill"]))
            if "scale" in f:
                s.setcal(float(f["scale"]), 0.0, float(f.get("offset", 0.0)), 0.0,
                         sdc[v.dtype])
            s[:] = v
            s.endaccess()
    finally:
        sd.end()
    return str(path)


def granule_name(product, date, tile=None, collection="061"):
    t = f".h{tile[0]:02d}v{tile[1]:02d}" if tile else ""
    return f"{product}.A{doy(date)}{t}.{collection}.{PRODUCTION}.hdf"


# --------------------------------------------------------------------------- products
def write_mod11a1(folder, date, window, lst, qc=None, *, night=None, product="MOD11A1"):
    """A MOD11A1 granule: ``LST_Day_1km`` (uint16, 0.02 K, fill 0) and ``QC_Day`` (uint8) ...

    ``lst``/``qc``/``night`` are functions ``f(x, y, lat, lon)`` of the pixel
    centres giving the stored integers (``lst`` may give K as float: it is
    divided by 0.02 and rounded unless already integer).
    """
    xx, yy, lat, lon = window.centres()

    def raw_lst(f):
        v = np.asarray(f(xx, yy, lat, lon))
        return (v if np.issubdtype(v.dtype, np.integer) else np.round(v / 0.02)).astype(np.uint16)

    qc_vals = (np.zeros(window.shape) if qc is None else qc(xx, yy, lat, lon)).astype(np.uint8)
    lst_attrs = dict(units="K", fill=0, valid=(7500, 65535), scale=0.02, offset=0.0)
    qc_attrs = dict(units="none", valid=(0, 255))
    fields = [
        dict(name="LST_Day_1km", values=raw_lst(lst),
             long_name="Daily daytime 1km grid Land-surface Temperature", **lst_attrs),
        dict(name="QC_Day", values=qc_vals,
             long_name="Quality control for daytime LST and emissivity", **qc_attrs),
        dict(name="Day_view_time", values=np.full(window.shape, 105, np.uint8),
             long_name="(local solar) Time of daytime Land-surface Temperature observation",
             units="hrs", fill=255, valid=(0, 240), scale=0.1),
        dict(name="Day_view_angl", values=np.full(window.shape, 65, np.uint8),
             long_name="View zenith angle of daytime Land-surface Temperature", units="deg",
             fill=255, valid=(0, 130), scale=1.0, offset=65.0),
        dict(name="LST_Night_1km", values=raw_lst(night or (lambda *a: np.zeros(window.shape,
                                                                                  np.uint16))),
             long_name="Daily nighttime 1km grid Land-surface Temperature", **lst_attrs),
        dict(name="QC_Night", values=np.zeros(window.shape, np.uint8),
             long_name="Quality control for nighttime LST and emissivity", **qc_attrs),
        dict(name="Emis_31", values=np.full(window.shape, 240, np.uint8),
             long_name="Band 31 emissivity", units="none", fill=0, valid=(1, 255), scale=0.002,
             offset=-245.0),
    ]
    tile = (window.h, window.v)
    path = os.path.join(folder, granule_name(product, date, tile))
    return write_granule(path, "MODIS_Grid_Daily_1km_LST", "GCTP_SNSOID", window.ul, window.lr,
                         fields, date=date, tile=f"h{tile[0]:02d}v{tile[1]:02d}")


def write_mod13a2(folder, date, window, ndvi, reliability=None, *, scale=10000.0,
                  product="MOD13A2"):
    """A MOD13A2 granule: ``1 km 16 days NDVI`` (int16, scale_factor 10000, fill -3000) and
    ``1 km 16 days pixel reliability`` (int8, fill -1).

    ``ndvi`` gives NDVI (float, stored as round(NDVI * 10000)) or stored
    integers; ``scale`` the ``scale_factor`` attribute to write (10000 as
    LP DAAC's files; 0.0001 for the other convention, or a wrong one).
    """
    xx, yy, lat, lon = window.centres()
    v = np.asarray(ndvi(xx, yy, lat, lon))
    raw = (v if np.issubdtype(v.dtype, np.integer) else np.round(v * 10000)).astype(np.int16)
    rel = (np.zeros(window.shape) if reliability is None
           else reliability(xx, yy, lat, lon)).astype(np.int8)
    fields = [
        dict(name="1 km 16 days NDVI", values=raw, long_name="1 km 16 days NDVI", units="NDVI",
             fill=-3000, valid=(-2000, 10000), scale=scale),
        dict(name="1 km 16 days EVI", values=raw, long_name="1 km 16 days EVI", units="EVI",
             fill=-3000, valid=(-2000, 10000), scale=scale),
        dict(name="1 km 16 days VI Quality", values=np.zeros(window.shape, np.uint16),
             long_name="1 km 16 days VI Quality", units="bits", fill=65535, valid=(0, 65534)),
        dict(name="1 km 16 days pixel reliability", values=rel,
             long_name="1 km 16 days pixel reliability summary QA", units="rank", fill=-1,
             valid=(0, 3)),
    ]
    tile = (window.h, window.v)
    path = os.path.join(folder, granule_name(product, date, tile))
    return write_granule(path, "MODIS_Grid_16DAY_1km_VI", "GCTP_SNSOID", window.ul, window.lr,
                         fields, date=date, tile=f"h{tile[0]:02d}v{tile[1]:02d}")


def cmg_window(lon0, lat1, nx, ny, res=0.05):
    """Corners (packed DMS, as the CMG's StructMetadata.0) and pixel-centre lat/lon of a CMG window."""
    ul = (pack_dms(lon0), pack_dms(lat1))
    lr = (pack_dms(lon0 + nx * res), pack_dms(lat1 - ny * res))
    lon = lon0 + (np.arange(nx) + 0.5) * res
    lat = lat1 - (np.arange(ny) + 0.5) * res
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    return ul, lr, la, lo


def write_mcd43c3(folder, date, albedo, quality=None, *, lon0=99.5, lat1=39.5, nx=40, ny=40,
                  full_globe=False):
    """An MCD43C3 granule (window of the 0.05-degree CMG ``MCD_CMG_BRDF_0.05Deg``, GCTP_GEO):
    ``Albedo_WSA_shortwave``/``Albedo_BSA_shortwave`` (int16, 0.001, fill 32767) and
    ``BRDF_Quality`` (uint8, fill 255). ``albedo(lat, lon)`` gives albedo (float) or integers.

    ``full_globe=True`` writes the real 7200 x 3600 grid (corners -180000000, 90000000
    packed DMS; deflated), fill outside the window, and only the WSA and quality layers.
    """
    ul, lr, la, lo = cmg_window(lon0, lat1, nx, ny)
    v = np.asarray(albedo(la, lo))
    raw = (v if np.issubdtype(v.dtype, np.integer) else np.round(v / 0.001)).astype(np.int16)
    q = (np.zeros(la.shape) if quality is None else quality(la, lo)).astype(np.uint8)
    if full_globe:
        r0, c0 = int(round((90.0 - lat1) / 0.05)), int(round((lon0 + 180.0) / 0.05))
        big_raw = np.full((3600, 7200), 32767, np.int16)
        big_q = np.full((3600, 7200), 255, np.uint8)
        big_raw[r0:r0 + ny, c0:c0 + nx], big_q[r0:r0 + ny, c0:c0 + nx] = raw, q
        ul, lr = (pack_dms(-180.0), pack_dms(90.0)), (pack_dms(180.0), pack_dms(-90.0))
        alb = dict(units="reflectance, no units", fill=32767, valid=(0, 32766), scale=0.001)
        fields = [dict(name="Albedo_WSA_shortwave", values=big_raw,
                       long_name="Albedo_WSA_shortwave", **alb),
                  dict(name="BRDF_Quality", values=big_q, long_name="BRDF_Quality",
                       units="concatenated flags", fill=255, valid=(0, 254))]
        path = os.path.join(folder, granule_name("MCD43C3", date))
        return write_granule(path, "MCD_CMG_BRDF_0.05Deg", "GCTP_GEO", ul, lr, fields,
                             date=date, proj_params="(0,0,0,0,0,0,0,0,0,0,0,0,0)", deflate=True)
    alb = dict(units="reflectance, no units", fill=32767, valid=(0, 32766), scale=0.001)
    fields = [
        dict(name="Albedo_BSA_shortwave", values=raw, long_name="Albedo_BSA_shortwave", **alb),
        dict(name="Albedo_WSA_shortwave", values=raw, long_name="Albedo_WSA_shortwave", **alb),
        dict(name="BRDF_Quality", values=q, long_name="BRDF_Quality", units="concatenated flags",
             fill=255, valid=(0, 254)),
        dict(name="Percent_Snow", values=np.zeros(la.shape, np.uint8), long_name="Percent_Snow",
             units="percent", fill=255, valid=(0, 100), scale=0.01),
    ]
    path = os.path.join(folder, granule_name("MCD43C3", date))
    return write_granule(path, "MCD_CMG_BRDF_0.05Deg", "GCTP_GEO", ul, lr, fields, date=date,
                         proj_params="(0,0,0,0,0,0,0,0,0,0,0,0,0)")
