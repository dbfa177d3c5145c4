"""Writers of small raw files of every archive smkit ingests, faithful to the real products.

Nothing can be downloaded in the tests and no binary file is committed, so
every fixture is written here, at test time, in the layout of the real files.
One section per archive; each writer's docstring names the real file whose
header it follows (groups, dimension order, variable names and types,
``_FillValue``, ``scale_factor``, ``valid_range``, ``flag_values`` /
``flag_meanings``, time units and epochs, ``calendar``, compression and
chunking, file-name pattern) and says where the fixture departs from it
(always a smaller grid: a regional window instead of the globe).

Sections:

* shared constants (the test box, its grids and days) and analytic fields;
* ESA CCI SM v08.1 daily COMBINED NetCDF-4;
* MODIS as AppEEARS GeoTIFFs (MOD11A1, MOD13A2, MCD43C3);
* MODIS as raw HDF4 (HDF-EOS2) granules from LP DAAC, written with pyhdf;
* SRTM 3-arc-second tiles (USGS GeoTIFF and NASA ``.hgt``);
* GPM IMERG V07 (GES DISC daily NetCDF-4, PPS half-hourly HDF5);
* ERA5-Land from the Climate Data Store (new-CDS NetCDF-4 and GRIB1);
* GLDAS-2.1 Noah 3-hourly NetCDF-4;
* TerraClimate PDSI yearly NetCDF;
* ISMN ``.stm`` files and the Chinese networks' CSV templates;
* whole archives and their ``sources`` configuration (``make_archive``,
  ``make_summer_archive``).

Values come from simple functions of position and day (``f_cci``, ``f_lst``,
...), so a test can compute what a reader must return.

About the MODIS HDF4 granules: file names
``MOD11A1.A2009182.h25v05.061.2021201000000.hdf`` (product, ``AYYYYDDD``,
tile, collection, production time); the science data sets' names, types and
dimension names (``YDim:MODIS_Grid_Daily_1km_LST``), and their attributes as
the MODIS production code writes them: ``long_name``, ``units``,
``valid_range``, ``_FillValue`` and the HDF calibration ``scale_factor``,
``scale_factor_err``, ``add_offset``, ``add_offset_err``, ``calibrated_nt``
(``SDsetcal``); MOD13A2 with ``scale_factor = 10000`` (NDVI = raw / 10000);
the global ``HDFEOSVersion`` and ``StructMetadata.0`` ODL text (GridStructure
with XDim, YDim, UpperLeftPointMtrs, LowerRightMtrs, Projection, ProjParams,
SphereCode, GridOrigin, Dimension and DataField objects), plus short
``CoreMetadata.0`` / ``ArchiveMetadata.0``. The granules are small: a window
of a sinusoidal tile (or of the 0.05-degree CMG) with ``XDim``/``YDim`` and
the corners of that window, so the window is georeferenced exactly where it
lies in the real tile.
"""

import functools
import os

import numpy as np
import pandas as pd
import xarray as xr

from smkit import readers
from smkit.core.grid import Grid

#: MODIS sinusoidal grid (MODLAND): sphere radius (m), tile size (m), 1-km pixel, grid origin.
R = 6371007.181
TILE = 1111950.5196666666
PIX = TILE / 1200  # 926.625433 m
X0, Y0 = -20015109.354, 10007554.677
SIN = f"+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R={R} +units=m +no_defs"
PRODUCTION = "2021201000000"

# =========================================================================== the test box
#: The box of the fast tests (lon0, lat0, lon1, lat1), its 0.25-degree and 0.01-degree grids, days.
BBOX = (100.0, 38.0, 101.0, 39.0)
COARSE = Grid(100.0, 101.0, 38.0, 39.0, 0.25)
FINE = COARSE.with_res(0.01)
DAYS = pd.date_range("2009-07-01", "2009-07-06", freq="D")


# =========================================================================== analytic fields
def f_cci(lat, lon, d):
    return 0.12 + 0.08 * (lat - 38.0) + 0.04 * (lon - 100.0) + 0.01 * d


def f_lst(lat, lon, d):
    return 295.0 + 4.0 * (lon - 100.0) - 3.0 * (lat - 38.0) + 0.5 * d


def f_ndvi(lat, lon, k):
    return 0.30 + 0.10 * (lat - 38.0) + 0.05 * (lon - 100.0) + 0.05 * k


def f_alb(lat, lon, d):
    return 0.20 + 0.02 * (lat - 38.0) - 0.01 * (lon - 100.0) + 0.001 * d


def f_dem(lat, lon):
    return 1500.0 + 300.0 * (lat - 38.0) + 200.0 * (lon - 100.0)


def f_rain(lat, lon, d):
    return (d + 1) * (1.0 + (lon - 99.0)) + 0.0 * lat


def f_era5(lat, lon, day_index, hour):
    """ERA5-Land swvl1 (m3 m-3): day ``day_index`` of the file, hour 0-23."""
    return 0.20 + 0.01 * day_index + 0.002 * (hour - 11.5) + 0.01 * (lat - 38) + 0.0 * lon


def doy(date):
    date = pd.Timestamp(date)
    return f"{date.year}{date.day_of_year:03d}"


# =========================================================================== ESA CCI SM
CCI_FLAG_MEANINGS = (
    "no_data_inconsistency_detected snow_coverage_or_temperature_below_zero dense_vegetation "
    "others_no_convergence_in_the_model_thus_no_valid_sm_estimates "
    "soil_moisture_value_exceeds_physical_boundary weight_of_measurement_below_threshold "
    "all_datasets_deemed_unreliable barren_ground_advisory_flag")


def write_cci(folder, date, d, *, drop=None, kind="COMBINED", code="V", global_grid=True):
    """An ESA CCI SM v08.1 daily COMBINED file, ``sm = f_cci(lat, lon, d)`` over 99-102 E, 37-40 N.

    Follows the header of the CEDA/CDS files
    ``ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-20090701000000-fv08.1.nc`` (checked
    against a real ``...-SSMV-PASSIVE-20161227000000-fv04.2.nc`` and the v08
    COMBINED attribute table of TU Wien's ``esa_cci_sm`` package):
    NETCDF4_CLASSIC, deflate level 9 with shuffle; dims (time, lat, lon), one
    time; ``lat`` float32 *descending* 89.875 .. -89.875 and ``lon`` float32
    -179.875 .. 179.875 (0.25 degree, ``valid_range``, ``_CoordinateAxisType``);
    ``time`` float64 "days since 1970-01-01 00:00:00 UTC", calendar standard;
    ``sm`` and ``sm_uncertainty`` float32 m3 m-3, ``_FillValue`` -9999,
    ``valid_range`` [0, 1]; ``flag`` int8 with ``_FillValue`` 127 (the sea and
    days without retrieval), ``flag_values``/``flag_meanings`` (v08 bits);
    ``t0`` float64 "Observation Timestamp", days since 1970-01-01 00:00:00 UTC,
    ``_FillValue`` -9999; ``dnflag``, ``mode`` (int8) and ``sensor``,
    ``freqbandID`` (int16), fill 0. ``global_grid=False`` writes a regional
    window (96-103 E, 36-41 N), as a CDS subset.

    Marked cells: frozen (flag 1) at (38.125, 100.125), dense vegetation
    (flag 2) at (38.875, 100.875), no retrieval (sm fill, flag 0) at
    (38.375, 100.625).
    """
    lat = np.arange(89.875, -90.0, -0.25, dtype=np.float32)
    lon = np.arange(-179.875, 180.0, 0.25, dtype=np.float32)
    if not global_grid:
        lat, lon = lat[(lat > 36) & (lat < 41)], lon[(lon > 98) & (lon < 103)]
    la, lo = np.meshgrid(lat.astype(float), lon.astype(float), indexing="ij")
    region = (la > 37) & (la < 40) & (lo > 99) & (lo < 102)
    sm = np.where(region, f_cci(la, lo, d), -9999.0).astype(np.float32)
    unc = np.where(region, 0.04, -9999.0).astype(np.float32)
    flag = np.where(region, 0, 127).astype(np.int8)
    i, j = np.argmin(abs(lat - 38.125)), np.argmin(abs(lon - 100.125))  # frozen soil
    flag[i, j] = 1
    i, j = np.argmin(abs(lat - 38.875)), np.argmin(abs(lon - 100.875))  # dense vegetation
    flag[i, j] = 2
    i, j = np.argmin(abs(lat - 38.375)), np.argmin(abs(lon - 100.625))  # no retrieval
    sm[i, j] = -9999.0
    t = (pd.Timestamp(date) - pd.Timestamp("1970-01-01")).days
    axes = {"_CoordinateAxes": "time lat lon"}
    ds = xr.Dataset(
        {
            "t0": (("time", "lat", "lon"), np.where(region, t + 0.3, -9999.0)[None], {
                "long_name": "Observation Timestamp",
                "units": "days since 1970-01-01 00:00:00 UTC",
                "valid_range": np.array([t - 0.5, t + 0.5]), **axes}),
            "sm": (("time", "lat", "lon"), sm[None], {
                "long_name": "Volumetric Soil Moisture", "units": "m3 m-3",
                "valid_range": np.array([0.0, 1.0], np.float32), **axes}),
            "sm_uncertainty": (("time", "lat", "lon"), unc[None], {
                "long_name": "Volumetric Soil Moisture Uncertainty", "units": "m3 m-3",
                "description": "Uncertainty is the estimated standard deviation of the observation",
                "valid_range": np.array([0.0, 1.0], np.float32), **axes}),
            "dnflag": (("time", "lat", "lon"), np.where(region, 3, 0).astype(np.int8)[None], {
                "long_name": "Day / Night Flag", "flag_values": np.array([0, 1, 2, 3], np.int8),
                "flag_meanings": "NaN day night day_night_combination", **axes}),
            "flag": (("time", "lat", "lon"), flag[None], {
                "long_name": "Flag",
                "flag_values": np.array([0, 1, 2, 4, 8, 16, 32, 64], np.int8),
                "flag_meanings": CCI_FLAG_MEANINGS, **axes}),
            "freqbandID": (("time", "lat", "lon"), np.where(region, 4, 0).astype(np.int16)[None], {
                "long_name": "Frequency Band Identification", **axes}),
            "mode": (("time", "lat", "lon"), np.where(region, 3, 0).astype(np.int8)[None], {
                "long_name": "Satellite Mode", "flag_values": np.array([0, 1, 2, 3], np.int8),
                "flag_meanings": "NaN ascending descending ascending_descending_combination",
                **axes}),
            "sensor": (("time", "lat", "lon"), np.where(region, 512, 0).astype(np.int16)[None], {
                "long_name": "Sensor", **axes}),
        },
        coords={
            "time": ("time", [float(t)], {"units": "days since 1970-01-01 00:00:00 UTC",
                                          "_CoordinateAxisType": "Time",
                                          "standard_name": "time", "calendar": "standard"}),
            "lat": ("lat", lat, {"units": "degrees_north", "_CoordinateAxisType": "Lat",
                                 "standard_name": "latitude",
                                 "valid_range": np.array([-90.0, 90.0], np.float32)}),
            "lon": ("lon", lon, {"units": "degrees_east", "_CoordinateAxisType": "Lon",
                                 "standard_name": "longitude",
                                 "valid_range": np.array([-180.0, 180.0], np.float32)}),
        },
        attrs={"title": f"ESA CCI Surface Soil Moisture merged {kind} Product",
               "product_version": "08.1", "Conventions": "CF-1.7",
               "id": f"ESACCI-SOILMOISTURE-L3S-SSM{code}-{kind}-{pd.Timestamp(date):%Y%m%d}000000-fv08.1.nc",
               "geospatial_lat_resolution": "0.25 degree",
               "geospatial_lon_resolution": "0.25 degree", "time_coverage_resolution": "P1D"},
    )
    if drop:
        ds = ds.drop_vars(drop)
    enc = {v: {"zlib": True, "complevel": 9, "shuffle": True} for v in (*ds.data_vars, *ds.coords)}
    fills = {"t0": -9999.0, "sm": -9999.0, "sm_uncertainty": -9999.0, "dnflag": 0, "flag": 127,
             "freqbandID": 0, "mode": 0, "sensor": 0}
    for v in ds.data_vars:
        enc[v]["_FillValue"] = fills[v]
    for v in ds.coords:
        enc[v]["_FillValue"] = None
    enc["time"]["dtype"] = "float64"
    path = os.path.join(folder, ds.attrs["id"])
    ds.to_netcdf(path, engine="netcdf4", encoding=enc, format="NETCDF4_CLASSIC")
    return path


# =========================================================================== MODIS (AppEEARS GeoTIFFs)
# AppEEARS exports one single-band GeoTIFF per layer and date
# (``MOD11A1.061_LST_Day_1km_doy2009182_aid0001.tif``): the stored integers (no
# scaling applied), the layer's fill as GDAL nodata, on the MODIS sinusoidal
# grid (or the CMG's lat/lon for MCD43C3). Tiles fetched from LP DAAC and
# converted with GDAL keep the granule name
# (``MOD11A1.A2009182.h25v05.061.2021201000000_LST_Day_1km.tif``).


def sin_forward(lon, lat):
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", SIN, always_xy=True).transform(lon, lat)


@functools.lru_cache(maxsize=16)
def _sin_pixels(c0, c1, r0, r1):
    from pyproj import Transformer

    x = X0 + (np.arange(c0, c1) + 0.5) * PIX
    y = Y0 - (np.arange(r0, r1) + 0.5) * PIX
    xx, yy = np.meshgrid(x, y)
    lon, lat = Transformer.from_crs(SIN, "EPSG:4326", always_xy=True).transform(xx, yy)
    return x, y, lat, lon


def write_sinusoidal(path, values_of, lon_range, lat_range, dtype, nodata, tile=None, crs=SIN):
    """A MODIS 1-km layer on the sinusoidal grid over a lon/lat box (or one tile's part of it)."""
    import rioxarray  # noqa: F401  (the .rio accessor)

    lons = [lon_range[0], lon_range[1], lon_range[0], lon_range[1]]
    lats = [lat_range[0], lat_range[0], lat_range[1], lat_range[1]]
    xs, ys = sin_forward(lons, lats)
    c0, c1 = int(np.floor((min(xs) - X0) / PIX)) - 2, int(np.ceil((max(xs) - X0) / PIX)) + 2
    r0, r1 = int(np.floor((Y0 - max(ys)) / PIX)) - 2, int(np.ceil((Y0 - min(ys)) / PIX)) + 2
    if tile is not None:
        h, v = tile
        c0, c1 = max(c0, h * 1200), min(c1, (h + 1) * 1200)
        r0, r1 = max(r0, v * 1200), min(r1, (v + 1) * 1200)
    x, y, lat, lon = _sin_pixels(c0, c1, r0, r1)
    arr = values_of(lat, lon).astype(dtype)
    da_ = xr.DataArray(arr, dims=("y", "x"), coords={"y": y, "x": x})
    if crs is not None:
        da_ = da_.rio.write_crs(crs)
    if nodata is not None:
        da_ = da_.rio.write_nodata(nodata)
    da_.rio.to_raster(path)
    return path


def write_geographic(path, values_of, lon0, lat1, res, nx, ny, dtype, nodata, crs="EPSG:4326"):
    """A single-band GeoTIFF on a lat/lon grid (upper-left corner lon0, lat1; ``res`` degrees)."""
    import rioxarray  # noqa: F401  (the .rio accessor)

    lon = lon0 + (np.arange(nx) + 0.5) * res
    lat = lat1 - (np.arange(ny) + 0.5) * res
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    da_ = xr.DataArray(values_of(la, lo).astype(dtype), dims=("y", "x"),
                       coords={"y": lat, "x": lon})
    if crs is not None:
        da_ = da_.rio.write_crs(crs)
    if nodata is not None:
        da_ = da_.rio.write_nodata(nodata)
    da_.rio.to_raster(path)
    return path


def lst_raw(d, cloud=None):
    def values(lat, lon):
        raw = np.round(f_lst(lat, lon, d) / 0.02)
        if cloud is not None:
            (a, b), (c, e) = cloud
            raw = np.where((lat > a) & (lat < b) & (lon > c) & (lon < e), 0, raw)
        return raw
    return values


def qc_raw(poor=None):
    def values(lat, lon):
        qc = np.zeros(lat.shape)
        if poor is not None:
            (a, b), (c, e) = poor
            # mandatory QA 01 (other quality) with LST error class 11 (> 3 K)
            qc = np.where((lat > a) & (lat < b) & (lon > c) & (lon < e), 0b11000001, qc)
        return qc
    return values


def write_modis_lst(folder, date, d, cloud=None, poor=None, lon_range=(99.8, 101.2),
                    lat_range=(37.8, 39.2)):
    """MOD11A1 ``LST_Day_1km`` (uint16, 0.02 K, fill 0) and ``QC_Day`` (uint8) AppEEARS GeoTIFFs."""
    p = os.path.join(folder, f"MOD11A1.061_LST_Day_1km_doy{doy(date)}_aid0001.tif")
    write_sinusoidal(p, lst_raw(d, cloud), lon_range, lat_range, np.uint16, 0)
    q = os.path.join(folder, f"MOD11A1.061_QC_Day_doy{doy(date)}_aid0001.tif")
    write_sinusoidal(q, qc_raw(poor), lon_range, lat_range, np.uint8, None)
    return p, q


def write_modis_ndvi(folder, date, k, lon_range=(99.8, 101.2), lat_range=(37.8, 39.2)):
    """MOD13A2 ``1 km 16 days NDVI`` (int16, NDVI x 10000, fill -3000) AppEEARS GeoTIFF of the
    composite starting on ``date`` (its DOY in the name)."""
    p = os.path.join(folder, f"MOD13A2.061__1_km_16_days_NDVI_doy{doy(date)}_aid0001.tif")
    write_sinusoidal(p, lambda la, lo: np.round(f_ndvi(la, lo, k) / 0.0001), lon_range, lat_range,
                     np.int16, -3000)
    return p


def write_albedo(folder, date, d, lon0=99.5, lat1=39.5, nx=40, ny=40):
    """MCD43C3 ``Albedo_WSA_shortwave`` on a part of the 0.05-degree CMG (int16, scale 0.001,
    fill 32767), upper-left corner (lon0, lat1), as AppEEARS exports it."""
    p = os.path.join(folder, f"MCD43C3.061_Albedo_WSA_shortwave_doy{doy(date)}_aid0001.tif")
    write_geographic(p, lambda la, lo: np.round(f_alb(la, lo, d) / 0.001), lon0, lat1, 0.05, nx, ny,
                     np.int16, 32767)
    return p


# =========================================================================== MODIS (raw HDF4 granules)
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



def write_granule_tifs(folder, product, date, window, layers):
    """Layers of one sinusoidal granule converted to GeoTIFF by GDAL, one file per layer.

    As ``gdal_translate HDF4_EOS:EOS_GRID:"<granule>":<grid>:<SDS>`` writes them
    and users name them: ``MOD11A1.A2009182.h25v05.061.2021201000000_LST_Day_1km.tif``
    (the granule's name, then the SDS with spaces as underscores); the stored
    integers on the granule's window (same pixels as :func:`write_mod11a1`
    on ``window``), the SDS ``_FillValue`` as GDAL nodata, the MODIS sinusoidal
    CRS. ``layers``: ``{sds_name: (f(x, y, lat, lon) -> stored integers, dtype, fill or None)}``.
    """
    import rioxarray  # noqa: F401  (the .rio accessor)

    xx, yy, lat, lon = window.centres()
    base = granule_name(product, date, (window.h, window.v))[:-len(".hdf")]
    paths = []
    for sds, (values, dtype, fill) in layers.items():
        arr = np.asarray(values(xx, yy, lat, lon)).astype(dtype)
        layer = xr.DataArray(arr, dims=("y", "x"), coords={"y": yy[:, 0], "x": xx[0]})
        layer = layer.rio.write_crs(SIN)
        if fill is not None:
            layer = layer.rio.write_nodata(fill)
        path = os.path.join(folder, f"{base}_{sds.replace(' ', '_')}.tif")
        layer.rio.to_raster(path)
        paths.append(path)
    return paths


# =========================================================================== SRTM
def write_srtm(folder, lat0, lon0, void=None):
    """A 3-arc-second SRTM tile as USGS EarthExplorer's GeoTIFF ``n38_e100_3arc_v2.tif``.

    Follows the real tiles: 1201 x 1201 int16 metres, EPSG:4326, pixel
    centres on the tile's edges (the first centre at lon0, lat0 + 1), voids
    -32768 as GDAL nodata. ``void`` ((lat0, lat1), (lon0, lon1)) writes a void.
    """
    res = 1.0 / 1200
    name = f"n{lat0:02d}_e{lon0:03d}_3arc_v2.tif"

    def values(la, lo):
        z = np.round(f_dem(la, lo))
        if void is not None:
            (a, b), (c, e) = void
            z = np.where((la > a) & (la < b) & (lo > c) & (lo < e), -32768, z)
        return z
    return write_geographic(os.path.join(folder, name), values, lon0 - res / 2, lat0 + 1 + res / 2,
                            res, 1201, 1201, np.int16, -32768)


def write_srtm_hgt(folder, lat0, lon0, void=None):
    """A 3-arc-second SRTM tile as NASA's unzipped ``N38E100.SRTMGL3.hgt`` (LP DAAC SRTMGL3).

    Follows the real ``.hgt``: no header, 1201 x 1201 big-endian int16 metres,
    rows north to south from lat0 + 1 to lat0, columns west to east, voids
    -32768; the tile is named by its south-west corner (GDAL's SRTMHGT driver
    reads the georeferencing from the name).
    """
    n = 1201
    lat = lat0 + 1 - np.arange(n) / 1200.0
    lon = lon0 + np.arange(n) / 1200.0
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    z = np.round(f_dem(la, lo))
    if void is not None:
        (a, b), (c, e) = void
        z = np.where((la > a) & (la < b) & (lo > c) & (lo < e), -32768, z)
    ns, ew = ("N" if lat0 >= 0 else "S"), ("E" if lon0 >= 0 else "W")
    path = os.path.join(folder, f"{ns}{abs(lat0):02d}{ew}{abs(lon0):03d}.SRTMGL3.hgt")
    z.astype(">i2").tofile(path)
    return path


# =========================================================================== GPM IMERG
IMERG_LON = np.round(np.arange(99.05, 102.0, 0.1), 2).astype(np.float32)
IMERG_LAT = np.round(np.arange(37.05, 40.0, 0.1), 2).astype(np.float32)


def _imerg_bounds(lon, lat):
    return (np.stack([lon - 0.05, lon + 0.05], axis=1).astype(np.float32),
            np.stack([lat - 0.05, lat + 0.05], axis=1).astype(np.float32))


def write_imerg_day(folder, date, d, variable="precipitation"):
    """A GPM IMERG V07 Final daily file from GES DISC (GPM_3IMERGDF), regional subset.

    Follows ``3B-DAY.MS.MRG.3IMERG.20090701-S000000-E235959.V07B.nc4``:
    NetCDF-4, dims ``time, lon, lat`` *in that order* (arrays (time, lon, lat),
    lon before lat), lon/lat float32 0.1-degree cell centres, ascending, with
    ``lon_bnds``/``lat_bnds``; ``time`` int32 "days since 1970-01-01 00:00:00Z"
    with ``time_bnds``; ``precipitation`` float32 mm/day (V06 called it
    ``precipitationCal``), ``_FillValue`` -9999.9; ``precipitation_cnt``
    int8 count; ``randomError`` mm/day. Values ``f_rain(lat, lon, d)``.
    """
    lon, lat = IMERG_LON, IMERG_LAT
    lo, la = np.meshgrid(lon.astype(float), lat.astype(float), indexing="ij")
    p = f_rain(la, lo, d).astype(np.float32)
    t = (pd.Timestamp(date) - pd.Timestamp("1970-01-01")).days
    lon_b, lat_b = _imerg_bounds(lon, lat)
    ds = xr.Dataset(
        {
            variable: (("time", "lon", "lat"), p[None], {
                "units": "mm/day",
                "long_name": "Daily mean precipitation rate (combined microwave-IR) estimate. "
                             "Formerly precipitationCal."}),
            "precipitation_cnt": (("time", "lon", "lat"), np.full((1, *p.shape), 48, np.int8),
                                  {"units": "count", "long_name": "Count of all valid half-hourly "
                                                                  "precipitation retrievals for the day"}),
            "randomError": (("time", "lon", "lat"), (0.1 * p)[None], {"units": "mm/day"}),
            "time_bnds": (("time", "nv"), np.array([[t, t + 1]], np.int32),
                          {"units": "days since 1970-01-01 00:00:00Z"}),
            "lon_bnds": (("lon", "nv"), lon_b, {"units": "degrees_east"}),
            "lat_bnds": (("lat", "nv"), lat_b, {"units": "degrees_north"}),
        },
        coords={"time": ("time", np.array([t], np.int32), {
                    "units": "days since 1970-01-01 00:00:00Z", "standard_name": "time",
                    "long_name": "time", "bounds": "time_bnds"}),
                "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude",
                                     "long_name": "Longitude", "bounds": "lon_bnds"}),
                "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude",
                                     "long_name": "Latitude", "bounds": "lat_bnds"})},
        attrs={"BeginDate": f"{pd.Timestamp(date):%Y-%m-%d}", "BeginTime": "00:00:00.000Z",
               "EndTime": "23:59:59.999Z", "ShortName": "GPM_3IMERGDF", "Conventions": "CF-1.6"},
    )
    name = f"3B-DAY.MS.MRG.3IMERG.{pd.Timestamp(date):%Y%m%d}-S000000-E235959.V07B.nc4"
    path = os.path.join(folder, name)
    enc = {variable: {"_FillValue": np.float32(-9999.9), "zlib": True},
           "randomError": {"_FillValue": np.float32(-9999.9)}, "time": {"dtype": "int32"},
           "time_bnds": {"dtype": "int32"}}
    ds.to_netcdf(path, engine="netcdf4", encoding=enc)
    return path


def write_imerg_hhr(folder, start, values):
    """A half-hourly IMERG V07 Final granule from PPS/GES DISC (GPM_3IMERGHH), regional subset.

    Follows ``3B-HHR.MS.MRG.3IMERG.20090701-S000000-E002959.0000.V07B.HDF5``: HDF5
    with everything in group ``Grid``; ``precipitation`` float32 mm/hr, dims
    (time, lon, lat) (attribute ``DimensionNames`` "time,lon,lat"),
    ``_FillValue`` -9999.9 and ``CodeMissingValue`` "-9999.9"; ``Grid/time``
    int32 "seconds since 1970-01-01 00:00:00 UTC" with ``calendar`` **julian**
    (xarray decodes it to cftime), ``time_bnds``/``lon_bnds``/``lat_bnds``;
    ``randomError`` mm/hr and ``probabilityLiquidPrecipitation`` int16
    percent; the global ``FileHeader`` text. The name carries start, end and
    the minute of the day (``.0000.`` .. ``.1410.``). Departure: written with
    netCDF4 (so the file also has ``_NCProperties``), the real granules with
    the HDF5 library (both open as NetCDF-4 with ``group='Grid'``).
    """
    lon, lat = IMERG_LON, IMERG_LAT
    start = pd.Timestamp(start)
    sec = int((start - pd.Timestamp("1970-01-01")).total_seconds())
    lon_b, lat_b = _imerg_bounds(lon, lat)
    shape = (1, lon.size, lat.size)
    ds = xr.Dataset(
        {"precipitation": (("time", "lon", "lat"), np.full(shape, values, np.float32),
                           {"units": "mm/hr", "DimensionNames": "time,lon,lat",
                            "CodeMissingValue": "-9999.9"}),
         "randomError": (("time", "lon", "lat"), np.full(shape, 0.1, np.float32),
                         {"units": "mm/hr", "DimensionNames": "time,lon,lat",
                          "CodeMissingValue": "-9999.9"}),
         "probabilityLiquidPrecipitation": (("time", "lon", "lat"), np.full(shape, 100, np.int16),
                                            {"units": "percent", "DimensionNames": "time,lon,lat",
                                             "CodeMissingValue": "-9999"}),
         "time_bnds": (("time", "nv"), np.array([[sec, sec + 1800]], np.int32),
                       {"units": "seconds since 1970-01-01 00:00:00 UTC", "calendar": "julian"}),
         "lon_bnds": (("lon", "lonv"), lon_b, {"units": "degrees_east"}),
         "lat_bnds": (("lat", "latv"), lat_b, {"units": "degrees_north"})},
        coords={"time": ("time", np.array([sec], np.int32),
                         {"units": "seconds since 1970-01-01 00:00:00 UTC", "calendar": "julian",
                          "standard_name": "time", "LongName": "Representative time of data",
                          "axis": "T", "bounds": "time_bnds"}),
                "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude",
                                     "axis": "X", "bounds": "lon_bnds"}),
                "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude",
                                     "axis": "Y", "bounds": "lat_bnds"})},
    )
    end = start + pd.Timedelta(minutes=29, seconds=59)
    name = (f"3B-HHR.MS.MRG.3IMERG.{start:%Y%m%d}-S{start:%H%M%S}-E{end:%H%M%S}."
            f"{start.hour * 60 + start.minute:04d}.V07B.HDF5")
    path = os.path.join(folder, name)
    header = xr.Dataset(attrs={"FileHeader": (
        f"DOI=10.5067/GPM/IMERG/3B-HH/07;\nAlgorithmID=3IMERGHH;\nFileName={name};\n"
        f"StartGranuleDateTime={start:%Y-%m-%dT%H:%M:%S}.000Z;\nTimeInterval=HALF_HOUR;\n"
        "ProductVersion=V07B;\n")})
    header.to_netcdf(path, engine="netcdf4", mode="w")
    ds.to_netcdf(path, engine="netcdf4", group="Grid", mode="a",
                 encoding={"precipitation": {"_FillValue": np.float32(-9999.9)},
                           "randomError": {"_FillValue": np.float32(-9999.9)},
                           "probabilityLiquidPrecipitation": {"_FillValue": np.int16(-9999)},
                           "time_bnds": {"dtype": "int32"}})
    return path


# =========================================================================== ERA5-Land
def era5_times(days):
    return pd.date_range(days[0], days[-1] + pd.Timedelta(hours=23), freq="h")


def write_era5(folder, days, lon, lat, name="era5land_swvl1.nc"):
    """ERA5-Land ``swvl1`` hourly as the new Climate Data Store (2024-) delivers NetCDF.

    Follows the CDS-Beta/new-CDS ``data_stream-oper_stepType-instant.nc``
    (``reanalysis-era5-land``, netCDF4 via cfgrib's converter): dims
    ``valid_time, latitude, longitude``; ``valid_time`` int64 "seconds since
    1970-01-01"; ``latitude`` float64 *descending* (north first),
    ``longitude`` float64 as requested (0-360 for a whole-globe request);
    coordinates ``number`` (scalar int64, 0) and ``expver`` (string per
    ``valid_time``, "0001"); ``swvl1`` float32 "m**3 m**-3" with ``_FillValue``
    NaN and the ``GRIB_*`` attributes (paramId 39, shortName swvl1, regular_ll);
    globals ``GRIB_centre`` ecmf and ``Conventions`` CF-1.7. The legacy CDS
    (before 2024) named the time ``time`` and had no ``number``/``expver``.
    Values ``f_era5``.
    """
    times = era5_times(days)
    d = ((times - times[0].normalize()).days).to_numpy()[:, None, None]
    hour = times.hour.to_numpy()[:, None, None]
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    sm = f_era5(la, lo, d, hour).astype(np.float32)
    ds = xr.Dataset(
        {"swvl1": (("valid_time", "latitude", "longitude"), sm, {
            "units": "m**3 m**-3", "long_name": "Volumetric soil water layer 1",
            "standard_name": "unknown", "GRIB_paramId": 39, "GRIB_shortName": "swvl1",
            "GRIB_units": "m**3 m**-3", "GRIB_name": "Volumetric soil water layer 1",
            "GRIB_cfVarName": "swvl1", "GRIB_gridType": "regular_ll",
            "GRIB_typeOfLevel": "depthBelowLandLayer", "GRIB_stepType": "instant"})},
        coords={
            "number": ((), np.int64(0), {"long_name": "ensemble member numerical id",
                                         "standard_name": "realization", "units": "1"}),
            "valid_time": ("valid_time", times.values, {"long_name": "time",
                                                        "standard_name": "time"}),
            "latitude": ("latitude", np.asarray(lat, np.float64), {
                "units": "degrees_north", "standard_name": "latitude", "long_name": "latitude",
                "stored_direction": "decreasing"}),
            "longitude": ("longitude", np.asarray(lon, np.float64), {
                "units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"}),
            "expver": ("valid_time", np.array(["0001"] * times.size, dtype=object)),
        },
        attrs={"GRIB_centre": "ecmf", "GRIB_centreDescription":
               "European Centre for Medium-Range Weather Forecasts", "GRIB_subCentre": 0,
               "Conventions": "CF-1.7",
               "institution": "European Centre for Medium-Range Weather Forecasts"},
    )
    path = os.path.join(folder, name)
    enc = {"valid_time": {"units": "seconds since 1970-01-01", "dtype": "int64"},
           "swvl1": {"_FillValue": np.float32(np.nan), "zlib": True}}
    ds.to_netcdf(path, engine="netcdf4", encoding=enc)
    return path


def write_era5_grib(folder, days, lon, lat, name="era5land_swvl1.grib"):
    """ERA5-Land ``swvl1`` as the Climate Data Store delivers GRIB (its default format).

    Follows the CDS GRIB: GRIB1 messages from ECMWF (centre ecmf, paramId 39,
    shortName swvl1, m**3 m**-3, level ``depthBelowLandLayer`` 0-7 cm), one
    per hour (dataDate/dataTime, step 0), on a regular lat/lon grid scanned
    north to south, 16-bit simple packing. Written with eccodes from its
    ``regular_ll_sfc_grib1`` sample; the values of :func:`write_era5`.
    """
    import eccodes

    times = era5_times(days)
    path = os.path.join(folder, name)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    with open(path, "wb") as f:
        for t in times:
            gid = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib1")
            d = (t.normalize() - times[0].normalize()).days
            sm = f_era5(la, lo, d, t.hour)
            for key, value in (("centre", "ecmf"), ("paramId", 39), ("typeOfLevel", "depthBelowLandLayer"),
                               ("topLevel", 0), ("bottomLevel", 7), ("dataDate", int(f"{t:%Y%m%d}")),
                               ("dataTime", t.hour * 100), ("stepRange", "0"), ("Ni", lon.size),
                               ("Nj", lat.size), ("latitudeOfFirstGridPointInDegrees", float(lat[0])),
                               ("longitudeOfFirstGridPointInDegrees", float(lon[0])),
                               ("latitudeOfLastGridPointInDegrees", float(lat[-1])),
                               ("longitudeOfLastGridPointInDegrees", float(lon[-1])),
                               ("iDirectionIncrementInDegrees", 0.1), ("jDirectionIncrementInDegrees", 0.1),
                               ("bitsPerValue", 16)):
                eccodes.codes_set(gid, key, value)
            eccodes.codes_set_values(gid, sm.ravel())
            eccodes.codes_write(gid, f)
            eccodes.codes_release(gid)
    return path


# =========================================================================== GLDAS Noah
def write_gldas(folder, stamps, water, units="kg m-2", lon_range=(99.5, 102.0),
                lat_range=(37.5, 40.0)):
    """GLDAS-2.1 Noah 0.25-degree 3-hourly (GLDAS_NOAH025_3H.2.1), regional subset.

    Follows ``GLDAS_NOAH025_3H.A20090701.0300.021.nc4`` from GES DISC:
    NetCDF-4, dims (time, lat, lon) with ``lat`` ascending (-59.875 ..
    89.875) and ``lon`` -179.875 .. 179.875, float32, cell centres;
    ``time`` double "days since <the file's own date and time>" (so the
    value is 0), calendar standard, ``bounds`` ``time_bnds``, with
    ``begin_date``/``begin_time``/``time_increment`` 10800;
    ``SoilMoi0_10cm_inst`` float32 in kg m-2 (water in the 0-10 cm layer),
    ``_FillValue`` and ``missing_value`` -9999, ``standard_name``
    soil_moisture_content, ``cell_methods`` "time: point". One file per time
    step as GES DISC serves them, or one file of several steps (a subset
    request, time relative to its first step) when ``stamps`` has several.
    Water ``water`` everywhere but the fill at the first cell.
    """
    stamps = pd.DatetimeIndex(np.atleast_1d(pd.to_datetime(stamps)))
    water = np.atleast_1d(water).astype(np.float32)
    lat = np.arange(lat_range[0] + 0.125, lat_range[1] - 0.1, 0.25).astype(np.float32)
    lon = np.arange(lon_range[0] + 0.125, lon_range[1] - 0.1, 0.25).astype(np.float32)
    arr = np.broadcast_to(water[:, None, None], (stamps.size, lat.size, lon.size)).copy()
    arr[:, 0, 0] = -9999.0
    epoch = stamps[0]
    days = np.asarray((stamps - epoch) / pd.Timedelta(days=1), float)
    units_t = f"days since {epoch:%Y-%m-%d %H:%M:%S}"
    ds = xr.Dataset(
        {"SoilMoi0_10cm_inst": (("time", "lat", "lon"), arr, {
            "units": units, "long_name": "Soil moisture content",
            "standard_name": "soil_moisture_content", "cell_methods": "time: point",
            "vmin": np.float32(2.0), "vmax": np.float32(60.0)}),
         "time_bnds": (("time", "bnds"), np.stack([days, days + 0.125], axis=1), {})},
        coords={"time": ("time", days, {"units": units_t, "calendar": "standard",
                                        "standard_name": "time", "bounds": "time_bnds",
                                        "begin_date": f"{epoch:%Y%m%d}",
                                        "begin_time": f"{epoch:%H%M%S}",
                                        "time_increment": np.int32(10800)}),
                "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude",
                                     "vmin": np.float32(-60.0), "vmax": np.float32(90.0)}),
                "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude",
                                     "vmin": np.float32(-180.0), "vmax": np.float32(180.0)})},
        attrs={"title": "GLDAS2.1 LIS land surface model output", "institution": "NASA GSFC",
               "Conventions": "CF-1.6", "tavg_def": "past 3-hour average",
               "SHORTNAME": "GLDAS_NOAH025_3H", "VERSION": "2.1"},
    )
    if stamps.size == 1:
        name = f"GLDAS_NOAH025_3H.A{stamps[0]:%Y%m%d}.{stamps[0]:%H%M}.021.nc4"
    else:
        name = f"GLDAS_NOAH025_3H.A{stamps[0]:%Y%m%d}-{stamps[-1]:%Y%m%d}.021.subset.nc4"
    path = os.path.join(folder, name)
    ds.to_netcdf(path, engine="netcdf4", encoding={
        "SoilMoi0_10cm_inst": {"_FillValue": np.float32(-9999.0), "missing_value": np.float32(-9999.0),
                               "zlib": True},
        "time": {"dtype": "float64"}, "time_bnds": {"dtype": "float64"}})
    return path


# =========================================================================== TerraClimate
def write_terraclimate(folder, year, lon0=99.5, lat1=39.5, n=48):
    """TerraClimate PDSI for one year (Climatology Lab / Northwest Knowledge THREDDS), subset.

    Follows ``TerraClimate_PDSI_2009.nc``: NetCDF-4, 1/24-degree grid
    (4320 x 8640 cell centres, here 48 x 48 over 99.5-101.5 E, 37.5-39.5 N),
    ``lat`` float64 *descending*, ``lon`` ascending; ``time`` double "days
    since 1900-01-01 00:00:00", 12 months at the first of each month;
    ``PDSI`` int16 with ``scale_factor`` 0.01, ``add_offset`` 0,
    ``_FillValue`` and ``missing_value`` -32768, dims (time, lat, lon),
    chunked one month at a time; a ``crs`` variable (latitude_longitude,
    WGS84). Values: month - 6 + 0.1 (lat - 38).
    """
    res = 1.0 / 24
    lat = lat1 - (np.arange(n) + 0.5) * res
    lon = lon0 + (np.arange(n) + 0.5) * res
    months = pd.date_range(f"{year}-01-01", periods=12, freq="MS")
    la = lat[None, :, None] + 0 * lon[None, None, :]
    val = (np.arange(12)[:, None, None] - 6.0) + 0.1 * (la - 38.0)
    ds = xr.Dataset(
        {"PDSI": (("time", "lat", "lon"), val.astype(np.float64), {
            "long_name": "Palmer Drought Severity Index", "units": "unitless",
            "description": "Palmer Drought Severity Index", "dimensions": "lon lat time",
            "grid_mapping": "crs"}),
         "crs": ((), np.int16(3), {"grid_mapping_name": "latitude_longitude",
                                   "longitude_of_prime_meridian": 0.0,
                                   "semi_major_axis": 6378137.0,
                                   "inverse_flattening": 298.257223563})},
        coords={"time": ("time", months.values, {"long_name": "time", "axis": "T"}),
                "lat": ("lat", lat, {"units": "degrees_north", "long_name": "latitude",
                                     "axis": "Y", "standard_name": "latitude"}),
                "lon": ("lon", lon, {"units": "degrees_east", "long_name": "longitude",
                                     "axis": "X", "standard_name": "longitude"})},
        attrs={"title": "TerraClimate: monthly climate and climatic water balance for global land "
                        "surfaces", "institution": "University of Idaho",
               "Conventions": "CF-1.6", "method": "These layers from TerraClimate were derived "
                                                  "from the essential climate variables"},
    )
    path = os.path.join(folder, f"TerraClimate_PDSI_{year}.nc")
    ds.to_netcdf(path, engine="netcdf4", encoding={
        "PDSI": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 0.0, "_FillValue": -32768,
                 "missing_value": -32768, "zlib": True, "chunksizes": (1, n, n)},
        "time": {"units": "days since 1900-01-01 00:00:00", "dtype": "float64"}})
    return path


# =========================================================================== stations
def write_ismn(folder, network, station, lat, lon, depth, var, rows, sensor="5TM"):
    """An ISMN "Header + values" ``.stm`` file, in the network/station folders of an ISMN download.

    Follows the real files (e.g. ``COSMOS_COSMOS_ARM-1_sm_0.000000_0.190000_Cosmic-ray-Probe_
    20170810_20180809.stm``): file name ``CSE_network_station_variable_depthfrom_depthto_sensor_
    start_end.stm`` (depths in metres with 6 decimals); a first line ``CSE network station
    latitude longitude elevation depth_from depth_to sensor`` in padded columns; then one line per
    measurement ``YYYY/MM/DD HH:MM value ISMN_flag provider_flag`` (soil moisture in m3 m-3,
    4 decimals; flags ``G``, ``U``, ``D01``..``D10``, ``C01``..``C03``, comma-joined when several).
    ``rows`` are (time, value, flag).
    """
    sub = os.path.join(folder, network, station)
    os.makedirs(sub, exist_ok=True)
    start, end = rows[0][0], rows[-1][0]
    name = (f"{network}_{network}_{station}_{var}_{depth[0]:.6f}_{depth[1]:.6f}_{sensor}_"
            f"{start:%Y%m%d}_{end:%Y%m%d}.stm")
    lines = [f"{network:<10s} {network:<15s} {station:<17s} {lat:9.5f} {lon:11.5f} {1560.0:7.2f} "
             f"{depth[0]:7.2f} {depth[1]:7.2f} {sensor}"]
    lines += [f"{t:%Y/%m/%d %H:%M} {v:8.4f} {flag} M" for t, v, flag in rows]
    path = os.path.join(sub, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def write_csv(path, header, rows):
    """A station table in one of smkit's CSV templates (NZW, CERN, QXZ): header row, then rows."""
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    return path


# =========================================================================== the raw archive
def make_archive(root):
    """Every source for BBOX and DAYS, in archive layout under ``root``."""
    dirs = {k: os.path.join(root, k) for k in ("esacci", "MOD11A1", "MOD13A2", "MCD43C3", "imerg",
                                               "srtm", "era5", "gldas", "terraclimate", "ismn",
                                               "nzw", "cern", "qxz")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for k, day in enumerate(DAYS):
        write_cci(dirs["esacci"], day, k, global_grid=False)
        cloud = ((38.55, 38.85), (100.55, 100.85)) if k == 1 else None
        poor = ((38.15, 38.45), (100.15, 100.45)) if k == 2 else None
        write_modis_lst(dirs["MOD11A1"], day, k, cloud, poor)
        write_albedo(dirs["MCD43C3"], day, k)
        write_imerg_day(dirs["imerg"], day, k)
    stamps = pd.date_range(DAYS[0], periods=8 * len(DAYS), freq="3h")
    write_gldas(dirs["gldas"], stamps, 20.0 + np.arange(stamps.size) / 8.0)
    write_modis_ndvi(dirs["MOD13A2"], "2009-06-26", 0)  # DOY 177 stands for June 26 - July 11
    write_srtm(dirs["srtm"], 38, 100, void=((38.5, 38.52), (100.5, 100.52)))
    write_era5(dirs["era5"], DAYS, np.round(np.arange(99.5, 101.55, 0.1), 1),
               np.round(np.arange(39.5, 37.45, -0.1), 1))
    write_terraclimate(dirs["terraclimate"], 2009)
    hours = pd.date_range("2009-07-01", "2009-07-06 23:00", freq="h")
    rows = [(t, 0.20 + 0.01 * t.day + 0.001 * t.hour, "D01" if t.hour == 5 else "G") for t in hours]
    write_ismn(dirs["ismn"], "HiWATER_EHWSN", "EC01", 38.55, 100.37, (0.04, 0.04), "sm", rows)
    write_ismn(dirs["ismn"], "HiWATER_EHWSN", "EC01", 38.55, 100.37, (0.20, 0.20), "sm",
               [(t, 0.5, "G") for t in hours])  # deeper than 10 cm: skipped
    write_ismn(dirs["ismn"], "HiWATER_EHWSN", "EC01", 38.55, 100.37, (0.04, 0.04), "ts",
               [(t, 290.0, "G") for t in hours])  # soil temperature: skipped
    write_csv(os.path.join(dirs["nzw"], "nzw_2009.csv"), readers.NZW_COLUMNS, [
        ("52652", "Zhangye", 38.93, 100.43, 1483, "Farmland", "2009-07-01", 65.0, 0.22, 1.40),
        ("52652", "Zhangye", 38.93, 100.43, 1483, "Farmland", "2009-07-11", 70.0, 0.22, 1.40),
        ("52546", "Gaotai", 38.65, 100.80, 1332, "Farmland", "2009-07-01", 55.5, 0.25, 1.35),
    ])
    write_csv(os.path.join(dirs["cern"], "cern.csv"), readers.VOLUMETRIC_COLUMNS, [
        ("LZD", "Linze", 38.33, 100.12, 1375, "Farmland", "2009-07-01", 0.18),
        ("LZD", "Linze", 38.33, 100.12, 1375, "Farmland", "2009-07-06", 0.21),
    ])
    write_csv(os.path.join(dirs["qxz"], "qxz.csv"), readers.VOLUMETRIC_COLUMNS, [
        ("ARO", "Arou", 38.04, 100.46, 2295, "Grassland", "2009-07-01 00:00", 0.30),
        ("ARO", "Arou", 38.04, 100.46, 2295, "Grassland", "2009-07-01 12:00", 0.32),
        ("ARO", "Arou", 38.04, 100.46, 2295, "Grassland", "2009-07-02", ""),
        ("YKE", "Yingke", 38.85, 100.42, 1519, "Farmland", "2009/07/03", 0.25),
        ("MIY", "Miyun", 40.63, 117.32, 350, "Farmland", "2009-07-03", 0.20),  # outside: dropped
    ])
    return dirs


def make_config(root):
    return {
        "region": {"bbox": list(BBOX), "coarse_res": 0.25, "fine_res": 0.01},
        "period": {"start": str(DAYS[0].date()), "end": str(DAYS[-1].date())},
        "root": str(root),
        "chunks": {"time": 4, "space": 50},
        "sources": {
            "coarse": {"files": "esacci", "keep_flags": [0]},
            "lst": {"files": "MOD11A1", "overpass": "day", "max_error": 2},
            "ndvi": {"files": "MOD13A2/*.tif"},
            "albedo": {"files": ["MCD43C3/*Albedo_WSA*.tif"]},
            "precip": {"files": "imerg"},
            "dem": {"files": "srtm"},
            "stations": [
                {"format": "ismn", "files": "ismn"},
                {"format": "nzw", "files": "nzw"},
                {"format": "cern", "files": "cern/cern.csv"},
                {"format": "qxz", "files": "qxz"},
            ],
            "era5": {"files": "era5"},
            "noah": {"files": "gldas"},
            "pdsi": {"files": "terraclimate"},
        },
    }


SUMMERS = pd.DatetimeIndex([*pd.date_range("2009-07-01", "2009-07-31"),
                            *pd.date_range("2010-07-01", "2010-07-31")])


def wobble(lat, lon, d):
    """A smooth, deterministic departure from the linear fields (so the learners differ)."""
    return 0.02 * np.sin(7.0 * lat + 3.0 * d) * np.cos(5.0 * lon - 2.0 * d)


def july_day(day):
    """Day number of the analytic fields: day of July, 2010 two days ahead of 2009."""
    return day.day - 1 + 2 * (day.year - 2009)


#: The demo box (lon0, lat0, lon1, lat1) of the end-to-end test: 99-102 E, 37-40 N.
DEMO = (99.0, 37.0, 102.0, 40.0)


def _mod11a1_raw(k, cloud):
    """Stored MOD11A1 integers (0.02 K; 0 = no retrieval inside ``cloud``) of day ``k``."""
    def values(x, y, lat, lon):
        raw = np.round(f_lst(lat, lon, k) / 0.02)
        if cloud is not None:
            (a, b), (c, e) = cloud
            raw = np.where((lat > a) & (lat < b) & (lon > c) & (lon < e), 0, raw)
        return raw.astype(np.uint16)
    return values


def demo_windows(lon_range=(98.8, 102.2), lat_range=(36.8, 40.2)):
    """The windows of the sinusoidal tiles covering the demo box (h25/h26, v04/v05)."""
    return [Window.around(lon_range, lat_range, tile=t) for t in ((25, 5), (26, 5), (25, 4), (26, 4))]


def make_summer_archive(root):
    """Two Julys (2009, 2010) of every source over the demo box :data:`DEMO`, as the archives
    hold them; the months between are missing, as in a partial download.

    Formats are mixed as a real archive gathered from several portals is:

    * ESA CCI SM: daily NetCDF-4 (CDS regional subset);
    * MOD11A1: July 2009 as raw LP DAAC HDF4 granules (tiles h25v05, h26v05, h25v04, h26v04),
      July 2010 as the same tiles' layers converted to GeoTIFF (one file per tile and layer);
    * MOD13A2: 2009 per-tile GeoTIFFs, 2010 HDF4 granules; MCD43C3: 2009 HDF4 CMG granules,
      2010 AppEEARS GeoTIFFs;
    * SRTM: nine 1-degree tiles, the eastern column as NASA ``.hgt``, the others USGS GeoTIFF;
    * IMERG: daily NetCDF-4, but 2010-07-15 as its 48 half-hourly HDF5 granules;
    * ERA5-Land: 2009 as GRIB (the CDS default), 2010 as new-CDS NetCDF;
    * GLDAS Noah: 2009 one file per 3-hour step, 2010 one subset file;
    * TerraClimate PDSI yearly files; ISMN ``.stm``; NZW, CERN and QXZ CSV templates.

    Returns the ``sources`` configuration of that archive.
    """
    dirs = {k: os.path.join(root, k) for k in ("esacci", "MOD11A1", "MOD13A2", "MCD43C3", "imerg",
                                               "srtm", "era5", "gldas", "terraclimate", "ismn",
                                               "nzw", "cern", "qxz")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    box = dict(lon_range=(98.8, 102.2), lat_range=(36.8, 40.2))
    windows = demo_windows(**box)
    for day in SUMMERS:
        k = july_day(day)
        write_cci(dirs["esacci"], day, k, global_grid=False)
        cloud = ((38.55, 38.85), (100.55, 100.85)) if k % 5 == 1 else None
        if day.year == 2009:
            for w in windows:
                write_mod11a1(dirs["MOD11A1"], day, w, _mod11a1_raw(k, cloud))
            write_mcd43c3(dirs["MCD43C3"], day, lambda la, lo, k=k: f_alb(la, lo, k),
                          lon0=98.5, lat1=40.5, nx=80, ny=80)
        else:
            # the same granules converted to GeoTIFF tile by tile (the same pixels: a format
            # switch between years must not change the covariates' sub-grid pattern)
            for w in windows:
                write_granule_tifs(dirs["MOD11A1"], "MOD11A1", day, w, {
                    "LST_Day_1km": (_mod11a1_raw(k, cloud), np.uint16, 0),
                    "QC_Day": (lambda *a: np.zeros(a[0].shape), np.uint8, None)})
            write_albedo(dirs["MCD43C3"], day, k, lon0=98.5, lat1=40.5, nx=80, ny=80)
        if day == pd.Timestamp("2010-07-15"):
            lo, la = np.meshgrid(IMERG_LON.astype(float), IMERG_LAT.astype(float), indexing="ij")
            rate = (f_rain(la, lo, k % 4) / 24.0).astype(np.float32)  # mm/hr
            for i in range(48):
                write_imerg_hhr(dirs["imerg"], day + pd.Timedelta(minutes=30 * i), rate)
        else:
            write_imerg_day(dirs["imerg"], day, k % 4)
    era5_lon = np.round(np.arange(98.9, 102.15, 0.1), 1)
    era5_lat = np.round(np.arange(40.1, 36.85, -0.1), 1)
    gldas_box = dict(lon_range=(98.5, 102.5), lat_range=(36.5, 40.5))
    for year in (2009, 2010):
        july = SUMMERS[SUMMERS.year == year]
        stamps = pd.date_range(july[0], periods=8 * len(july), freq="3h")
        water = 20.0 + np.arange(stamps.size) / 8.0
        if year == 2009:
            for stamp, w in zip(stamps, water, strict=True):
                write_gldas(dirs["gldas"], stamp, w, **gldas_box)
            write_era5_grib(dirs["era5"], july, era5_lon, era5_lat, name=f"era5land_{year}.grib")
        else:
            write_gldas(dirs["gldas"], stamps, water, **gldas_box)
            write_era5(dirs["era5"], july, era5_lon, era5_lat, name=f"era5land_{year}.nc")
        write_terraclimate(dirs["terraclimate"], year, lon0=98.5, lat1=40.5, n=96)
        for k, start in enumerate((f"{year}-06-26", f"{year}-07-12", f"{year}-07-28")):
            if year == 2009:
                for w in windows:
                    write_granule_tifs(dirs["MOD13A2"], "MOD13A2", start, w, {"1 km 16 days NDVI": (
                        lambda x, y, la, lo, k=k: np.round(f_ndvi(la, lo, k) * 10000), np.int16, -3000)})
            else:
                for w in windows:
                    write_mod13a2(dirs["MOD13A2"], start, w,
                                  lambda x, y, la, lo, k=k: f_ndvi(la, lo, k))
    for lat0 in (37, 38, 39):
        for lon0 in (99, 100, 101):
            (write_srtm_hgt if lon0 == 101 else write_srtm)(dirs["srtm"], lat0, lon0)

    def obs(lat, lon, day):
        d = july_day(day)
        return round(float(f_cci(lat, lon, d) + 2 * wobble(lat, lon, d) + 0.02), 4)

    hours = SUMMERS.repeat(4) + pd.to_timedelta(np.tile([0, 6, 12, 18], len(SUMMERS)), unit="h")
    for station, lat, lon in (("EC01", 38.55, 100.37), ("EC14", 38.30, 101.25)):
        write_ismn(dirs["ismn"], "HiWATER_EHWSN", station, lat, lon, (0.04, 0.04), "sm",
                   [(t, obs(lat, lon, t.normalize()), "G") for t in hours])
    nzw, cern, qxz = [], [], []
    for day in SUMMERS:
        for sid, name, lat, lon in (("52652", "Zhangye", 38.93, 100.43),
                                    ("52546", "Gaotai", 38.65, 100.80),
                                    ("52533", "Jiuquan", 39.77, 99.53)):
            if day.day in (1, 11, 21):  # NZW: % of field capacity (0.30 g g-1, 1.40 g cm-3)
                rh = 100.0 * obs(lat, lon, day) / (0.30 * 1.40)
                nzw.append((sid, name, lat, lon, 1400, "Farmland", str(day.date()),
                            round(rh, 2), 0.30, 1.40))
        if day.day % 5 == 1:
            cern.append(("LZD", "Linze", 38.33, 100.12, 1375, "Farmland", str(day.date()),
                         obs(38.33, 100.12, day)))
        for sid, name, lat, lon in (("ARO", "Arou", 38.04, 100.46), ("YKE", "Yingke", 38.85, 100.42),
                                    ("DMA", "Daman", 38.61, 100.69), ("EBO", "Ebao", 37.95, 100.92),
                                    ("SDQ", "Sidaoqiao", 37.35, 99.35)):
            qxz.append((sid, name, lat, lon, 1600, "Grassland", str(day.date()), obs(lat, lon, day)))
    write_csv(os.path.join(dirs["nzw"], "nzw.csv"), readers.NZW_COLUMNS, nzw)
    write_csv(os.path.join(dirs["cern"], "cern.csv"), readers.VOLUMETRIC_COLUMNS, cern)
    write_csv(os.path.join(dirs["qxz"], "qxz.csv"), readers.VOLUMETRIC_COLUMNS, qxz)
    cfg = make_config(root)
    cfg["region"]["bbox"] = list(DEMO)
    cfg["sources"]["ndvi"] = {"files": "MOD13A2"}  # GeoTIFFs and HDF4 granules side by side
    cfg["sources"]["albedo"] = {"files": "MCD43C3"}
    cfg["period"] = {"start": "2009-07-01", "end": "2010-07-31"}
    cfg["chunks"] = {"time": 31, "space": 100}
    return cfg
