"""Readers of the real archives and ``smkit ingest``, on fixtures written in each product's format.

Nothing can be downloaded here, so every fixture is written by this file in the
product's real layout: file-name conventions, variable names, attributes,
integer scaling and fill values, flags, descending latitudes, 0-360
longitudes, (time, lon, lat) IMERG arrays, sinusoidal MODIS GeoTIFFs. Fields
are simple functions of position and day, so the readers' output can be
checked against the formula.
"""

import functools
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

rioxarray = pytest.importorskip("rioxarray")

from smkit import readers  # noqa: E402
from smkit.core.grid import Grid  # noqa: E402
from smkit.readers import (  # noqa: E402
    ReadError,  # noqa: E402
    ingestion,
    ismn,
    registry,
)

BBOX = (100.0, 38.0, 101.0, 39.0)
COARSE = Grid(100.0, 101.0, 38.0, 39.0, 0.25)
FINE = COARSE.with_res(0.01)
DAYS = pd.date_range("2009-07-01", "2009-07-06", freq="D")

# MODIS sinusoidal grid (MODLAND): sphere radius, tile size, 1-km pixel, upper-left corner
SIN = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
TILE = 1111950.5196666666
PIX = TILE / 1200
X0, Y0 = -20015109.354, 10007554.677


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


# =========================================================================== writers
def doy(date):
    date = pd.Timestamp(date)
    return f"{date.year}{date.day_of_year:03d}"


def write_cci(folder, date, d, *, drop=None, kind="COMBINED", code="V", global_grid=True):
    """An ESA CCI SM v08.1 daily COMBINED file (global 0.25-degree grid, descending latitude)."""
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
    ds = xr.Dataset(
        {
            "sm": (("time", "lat", "lon"), sm[None], {
                "long_name": "Volumetric Soil Moisture", "units": "m3 m-3",
                "valid_range": [0.0, 1.0]}),
            "sm_uncertainty": (("time", "lat", "lon"), unc[None], {
                "long_name": "Volumetric Soil Moisture Uncertainty", "units": "m3 m-3"}),
            "flag": (("time", "lat", "lon"), flag[None], {
                "long_name": "Flag", "flag_values": np.array([0, 1, 2, 4, 8, 16, 32, 64], np.int8),
                "flag_meanings": " ".join([
                    "no_data_inconsistency_detected", "snow_coverage_or_temperature_below_zero",
                    "dense_vegetation",
                    "others_no_convergence_in_the_model_thus_no_valid_sm_estimates",
                    "soil_moisture_value_exceeds_physical_boundary",
                    "weight_of_measurement_below_threshold", "all_datasets_deemed_unreliable",
                    "barren_ground_advisory_flag"])}),
            "t0": (("time", "lat", "lon"), np.where(region, t + 0.3, -9999.0)[None], {
                "long_name": "Observation Timestamp",
                "units": "days since 1970-01-01 00:00:00 UTC"}),
        },
        coords={
            "time": ("time", [float(t)], {"units": "days since 1970-01-01 00:00:00 UTC",
                                          "standard_name": "time", "calendar": "standard"}),
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
        attrs={"title": "ESA CCI Surface Soil Moisture Product", "product_version": "08.1"},
    )
    if drop:
        ds = ds.drop_vars(drop)
    enc = {v: {"zlib": True, "complevel": 1} for v in ds.data_vars}
    for v in ("sm", "sm_uncertainty", "t0"):
        if v in ds:
            enc[v]["_FillValue"] = -9999.0
    enc["time"] = {"dtype": "float64"}
    name = f"ESACCI-SOILMOISTURE-L3S-SSM{code}-{kind}-{pd.Timestamp(date):%Y%m%d}000000-fv08.1.nc"
    path = os.path.join(folder, name)
    ds.to_netcdf(path, engine="netcdf4", encoding=enc, format="NETCDF4")
    return path


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
    p = os.path.join(folder, f"MOD11A1.061_LST_Day_1km_doy{doy(date)}_aid0001.tif")
    write_sinusoidal(p, lst_raw(d, cloud), lon_range, lat_range, np.uint16, 0)
    q = os.path.join(folder, f"MOD11A1.061_QC_Day_doy{doy(date)}_aid0001.tif")
    write_sinusoidal(q, qc_raw(poor), lon_range, lat_range, np.uint8, None)
    return p, q


def write_modis_ndvi(folder, date, k):
    p = os.path.join(folder, f"MOD13A2.061__1_km_16_days_NDVI_doy{doy(date)}_aid0001.tif")
    write_sinusoidal(p, lambda la, lo: np.round(f_ndvi(la, lo, k) / 0.0001), (99.8, 101.2),
                     (37.8, 39.2), np.int16, -3000)
    return p


def write_albedo(folder, date, d):
    """MCD43C3 on a part of the 0.05-degree CMG (int16, scale 0.001, fill 32767)."""
    p = os.path.join(folder, f"MCD43C3.061_Albedo_WSA_shortwave_doy{doy(date)}_aid0001.tif")
    write_geographic(p, lambda la, lo: np.round(f_alb(la, lo, d) / 0.001), 99.5, 39.5, 0.05, 40, 40,
                     np.int16, 32767)
    return p


def write_srtm(folder, lat0, lon0, void=None):
    """A 3-arc-second SRTM GeoTIFF tile (1201 x 1201, pixel centres on the tile's edges)."""
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


def write_imerg_day(folder, date, d, variable="precipitation"):
    """A GPM IMERG V07 final daily file (NetCDF-4, (time, lon, lat), mm/day), regional subset."""
    lon = np.round(np.arange(99.05, 102.0, 0.1), 2).astype(np.float32)
    lat = np.round(np.arange(37.05, 40.0, 0.1), 2).astype(np.float32)
    lo, la = np.meshgrid(lon.astype(float), lat.astype(float), indexing="ij")
    p = f_rain(la, lo, d).astype(np.float32)
    t = (pd.Timestamp(date) - pd.Timestamp("1970-01-01")).days
    ds = xr.Dataset(
        {
            variable: (("time", "lon", "lat"), p[None], {
                "units": "mm/day",
                "long_name": "Daily mean precipitation rate (combined microwave-IR) estimate. "
                             "Formerly precipitationCal."}),
            "precipitation_cnt": (("time", "lon", "lat"), np.full((1, *p.shape), 48, np.int8),
                                  {"units": "count"}),
            "randomError": (("time", "lon", "lat"), (0.1 * p)[None], {"units": "mm/day"}),
        },
        coords={"time": ("time", [t], {"units": "days since 1970-01-01 00:00:00Z",
                                       "standard_name": "time"}),
                "lon": ("lon", lon, {"units": "degrees_east"}),
                "lat": ("lat", lat, {"units": "degrees_north"})},
    )
    name = f"3B-DAY.MS.MRG.3IMERG.{pd.Timestamp(date):%Y%m%d}-S000000-E235959.V07B.nc4"
    path = os.path.join(folder, name)
    ds.to_netcdf(path, engine="netcdf4",
                 encoding={variable: {"_FillValue": np.float32(-9999.9)},
                           "time": {"dtype": "int32"}})
    return path


def write_imerg_hhr(folder, start, values):
    """A half-hourly IMERG V07 HDF5 granule: group 'Grid', precipitation in mm/hr."""
    lon = np.round(np.arange(99.05, 102.0, 0.1), 2).astype(np.float32)
    lat = np.round(np.arange(37.05, 40.0, 0.1), 2).astype(np.float32)
    start = pd.Timestamp(start)
    sec = int((start - pd.Timestamp("1970-01-01")).total_seconds())
    # as the real granules: Grid/time declares the Julian calendar (on seconds since 1970, UTC)
    ds = xr.Dataset(
        {"precipitation": (("time", "lon", "lat"),
                           np.full((1, lon.size, lat.size), values, np.float32),
                           {"units": "mm/hr", "DimensionNames": "time,lon,lat", "CodeMissingValue": "-9999.9"})},
        coords={"time": ("time", np.array([sec], np.int32),
                         {"units": "seconds since 1970-01-01 00:00:00 UTC", "calendar": "julian",
                          "standard_name": "time", "LongName": "Representative time of data", "axis": "T"}),
                "lon": ("lon", lon, {"units": "degrees_east"}),
                "lat": ("lat", lat, {"units": "degrees_north"})},
    )
    end = start + pd.Timedelta(minutes=29, seconds=59)
    name = (f"3B-HHR.MS.MRG.3IMERG.{start:%Y%m%d}-S{start:%H%M%S}-E{end:%H%M%S}."
            f"{start.hour * 60 + start.minute:04d}.V07B.HDF5")
    path = os.path.join(folder, name)
    ds.to_netcdf(path, engine="netcdf4", group="Grid", mode="w",
                 encoding={"precipitation": {"_FillValue": np.float32(-9999.9)}})
    return path


def write_era5(folder, days, lon, lat, name="era5land_swvl1.nc"):
    """ERA5-Land from the new CDS: valid_time, descending latitude, number and expver."""
    times = pd.date_range(days[0], days[-1] + pd.Timedelta(hours=23), freq="h")
    d = ((times - times[0].normalize()).days).to_numpy()[:, None, None]
    hour = times.hour.to_numpy()[:, None, None]
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    sm = (0.20 + 0.01 * d + 0.002 * (hour - 11.5) + 0.01 * (la - 38) + 0.0 * lo).astype(np.float32)
    ds = xr.Dataset(
        {"swvl1": (("valid_time", "latitude", "longitude"), sm, {
            "units": "m**3 m**-3", "long_name": "Volumetric soil water layer 1",
            "GRIB_paramId": 39})},
        coords={
            "number": ((), 0), "valid_time": ("valid_time", times.values),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
            "expver": ("valid_time", np.array(["0001"] * times.size, dtype=object)),
        },
        attrs={"GRIB_centre": "ecmf", "Conventions": "CF-1.7"},
    )
    path = os.path.join(folder, name)
    enc = {"valid_time": {"units": "seconds since 1970-01-01", "dtype": "int64"}}
    ds.to_netcdf(path, engine="netcdf4", encoding=enc)
    return path


def write_gldas(folder, stamps, water, units="kg m-2"):
    """GLDAS-2.1 Noah 3-hourly (regional subset): SoilMoi0_10cm_inst in kg m-2, fill -9999.

    One file per time step as GES DISC serves them, or one file holding several
    steps (a subset request) when ``stamps`` has several.
    """
    stamps = pd.DatetimeIndex(np.atleast_1d(pd.to_datetime(stamps)))
    water = np.atleast_1d(water).astype(np.float32)
    lat = np.arange(37.625, 39.9, 0.25)
    lon = np.arange(99.625, 101.9, 0.25)
    arr = np.broadcast_to(water[:, None, None], (stamps.size, lat.size, lon.size)).copy()
    arr[:, 0, 0] = -9999.0
    days = (stamps - pd.Timestamp("2000-01-01")) / pd.Timedelta(days=1)
    ds = xr.Dataset(
        {"SoilMoi0_10cm_inst": (("time", "lat", "lon"), arr, {
            "units": units, "long_name": "Soil moisture content (0-10 cm)"})},
        coords={"time": ("time", np.asarray(days, float),
                         {"units": "days since 2000-01-01 00:00:00"}),
                "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
    )
    if stamps.size == 1:
        name = f"GLDAS_NOAH025_3H.A{stamps[0]:%Y%m%d}.{stamps[0]:%H%M}.021.nc4"
    else:
        name = f"GLDAS_NOAH025_3H.A{stamps[0]:%Y%m%d}-{stamps[-1]:%Y%m%d}.021.subset.nc4"
    path = os.path.join(folder, name)
    ds.to_netcdf(path, engine="netcdf4", encoding={"SoilMoi0_10cm_inst": {"_FillValue": -9999.0}})
    return path


def write_terraclimate(folder, year):
    """TerraClimate PDSI (1/24 degree, descending latitude, int16 with scale_factor 0.01)."""
    res = 1.0 / 24
    lat = 39.5 - (np.arange(48) + 0.5) * res
    lon = 99.5 + (np.arange(48) + 0.5) * res
    months = pd.date_range(f"{year}-01-01", periods=12, freq="MS")
    la = lat[None, :, None] + 0 * lon[None, None, :]
    val = (np.arange(12)[:, None, None] - 6.0) + 0.1 * (la - 38.0)
    ds = xr.Dataset(
        {"PDSI": (("time", "lat", "lon"), val.astype(np.float64), {
            "long_name": "Palmer Drought Severity Index", "units": "unitless"})},
        coords={"time": ("time", months.values), "lat": ("lat", lat, {"units": "degrees_north"}),
                "lon": ("lon", lon, {"units": "degrees_east"})},
    )
    path = os.path.join(folder, f"TerraClimate_PDSI_{year}.nc")
    ds.to_netcdf(path, engine="netcdf4", encoding={
        "PDSI": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 0.0, "_FillValue": -32768},
        "time": {"units": "days since 1900-01-01"}})
    return path


def write_ismn(folder, network, station, lat, lon, depth, var, rows, sensor="5TM"):
    sub = os.path.join(folder, network, station)
    os.makedirs(sub, exist_ok=True)
    name = (f"{network}_{network}_{station}_{var}_{depth[0]:.6f}_{depth[1]:.6f}_{sensor}_"
            f"20090701_20090706.stm")
    lines = [f"{network} {network} {station} {lat:.5f} {lon:.5f} 1560.00 {depth[0]:.4f} "
             f"{depth[1]:.4f} {sensor}"]
    lines += [f"{t:%Y/%m/%d %H:%M} {v:.4f} {flag} M" for t, v, flag in rows]
    path = os.path.join(sub, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def write_csv(path, header, rows):
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


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    dirs = make_archive(str(root))
    return root, dirs


def interior(lat, lon, margin=0.03):
    return (lat > 38 + margin) & (lat < 39 - margin) & (lon > 100 + margin) & (lon < 101 - margin)


def mesh(ds):
    return np.meshgrid(ds["lat"].values, ds["lon"].values, indexing="ij")


pytestmark = [
    # rioxarray with affine 3 (third-party, harmless)
    pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning"),
    # the ismn package (third-party)
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.set_index"),
]


def truncate(path, fraction=0.5):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * fraction))
    return path


# =========================================================================== ESA CCI
def test_esacci_global_files(tmp_path):
    write_cci(str(tmp_path), DAYS[1], 1)
    ds = readers.read_esacci(tmp_path, COARSE, time=DAYS[1:2])
    assert set(ds.data_vars) == {"sm", "sm_uncertainty", "flag"}
    assert ds["sm"].attrs["units"] == "m3 m-3" and ds["sm_uncertainty"].attrs["units"] == "m3 m-3"
    assert ds["lat"].attrs["units"] == "degrees_north" and np.all(np.diff(ds["lat"].values) > 0)
    assert ds["time"].dtype == "datetime64[ns]"
    np.testing.assert_allclose(ds["lat"], COARSE.lat)
    np.testing.assert_allclose(ds["lon"], COARSE.lon)
    ds = ds.load()
    la, lo = mesh(ds)
    masked = {(38.125, 100.125), (38.875, 100.875), (38.375, 100.625)}  # frozen, vegetation, fill
    is_masked = np.array([[(a, b) in masked for b in COARSE.lon] for a in COARSE.lat])
    sm = ds["sm"].isel(time=0).values
    np.testing.assert_allclose(sm[~is_masked], f_cci(la, lo, 1)[~is_masked], atol=1e-6)
    assert np.isnan(sm[is_masked]).all()
    assert int(ds["flag"].sel(lat=38.125, lon=100.125).isel(time=0)) == 1
    assert int(ds["flag"].sel(lat=38.875, lon=100.875).isel(time=0)) == 2
    # flags kept on request; the fill value stays missing
    every = readers.read_esacci(tmp_path, COARSE, keep_flags=None)["sm"].isel(time=0).load()
    assert np.isfinite(every.sel(lat=38.125, lon=100.125))
    assert np.isnan(every.sel(lat=38.375, lon=100.625))
    # the whole file, ascending; a day without file is NaN and announced
    whole = readers.read_esacci(tmp_path)
    assert whole.sizes == {"time": 1, "lat": 720, "lon": 1440}
    assert float(whole["lat"][0]) == -89.875
    with pytest.warns(UserWarning, match="no file for 1 day.*2009-07-01"):
        more = readers.read_esacci(tmp_path, COARSE, time=DAYS[:2])
    assert bool(more["sm"].isel(time=0).isnull().all())
    assert int(more["flag"].isel(time=0).max()) == -1


def test_esacci_errors_name_the_file(tmp_path):
    bad = truncate(write_cci(str(tmp_path), DAYS[0], 0, global_grid=False), 0.5)
    with pytest.raises(ReadError, match=os.path.basename(bad) + ".*(corrupt|truncated)"):
        readers.read_esacci(bad, COARSE)
    os.remove(bad)
    missing = write_cci(str(tmp_path), DAYS[1], 1, drop="sm", global_grid=False)
    with pytest.raises(ReadError, match=os.path.basename(missing) + ".*variable 'sm': missing"):
        readers.read_esacci(missing, COARSE)
    passive = write_cci(str(tmp_path), DAYS[2], 2, kind="PASSIVE", global_grid=False)
    with pytest.raises(ReadError, match=os.path.basename(passive) + ".*COMBINED"):
        readers.read_esacci(passive, COARSE)
    # a projected grid (EASE-Grid 2.0 metres) instead of lat/lon
    x = np.arange(8) * 25000.0 + 9e6
    ease = xr.Dataset({"sm": (("time", "y", "x"), np.full((1, 8, 8), 0.2, np.float32),
                              {"units": "m3 m-3", "grid_mapping": "crs"}),
                       "flag": (("time", "y", "x"), np.zeros((1, 8, 8), np.int8)),
                       "crs": ((), 0, {"grid_mapping_name": "lambert_cylindrical_equal_area"})},
                      coords={"time": [pd.Timestamp(DAYS[3])], "x": ("x", x, {"units": "m"}),
                              "y": ("y", x / 2, {"units": "m"})})
    name = f"ESACCI-SOILMOISTURE-L3S-SSMV-COMBINED-{DAYS[3]:%Y%m%d}000000-fv08.1.nc"
    path = os.path.join(tmp_path, name)
    ease.to_netcdf(path, engine="netcdf4")
    with pytest.raises(ReadError, match=os.path.basename(path) + ".*wrong CRS"):
        readers.read_esacci(path, COARSE)


# =========================================================================== MODIS
def test_mod11a1_values_cloud_and_qc(archive):
    _, dirs = archive
    ds = readers.read_mod11a1(dirs["MOD11A1"], FINE, time=DAYS)
    assert ds["lst"].attrs["units"] == "K" and ds["lst"].dims == ("time", "lat", "lon")
    lst = ds["lst"].load()
    la, lo = mesh(lst)
    inside = interior(la, lo)
    np.testing.assert_allclose(lst.isel(time=0).values[inside], f_lst(la, lo, 0)[inside], atol=0.03)
    cloud = (la > 38.6) & (la < 38.8) & (lo > 100.6) & (lo < 100.8)
    assert np.isnan(lst.isel(time=1).values[cloud]).all()
    near = (la > 38.53) & (la < 38.87) & (lo > 100.53) & (lo < 100.87)  # cloud edges, bilinear
    assert np.isfinite(lst.isel(time=1).values[inside & ~near]).all()
    poor = (la > 38.2) & (la < 38.4) & (lo > 100.2) & (lo < 100.4)
    assert np.isnan(lst.isel(time=2).values[poor]).all()
    unscreened = readers.read_mod11a1(dirs["MOD11A1"], FINE, time=DAYS[2:3], max_error=None)
    np.testing.assert_allclose(unscreened["lst"].isel(time=0).values[poor], f_lst(la, lo, 2)[poor],
                               atol=0.03)


def test_mod11a1_mosaics_tiles(tmp_path):
    """Two sinusoidal tiles (h25v04 above 40 N, h25v05 below), and one far away."""
    grid = Grid(100.0, 101.0, 39.5, 40.5, 0.01)
    for h, v in ((25, 4), (25, 5)):
        p = tmp_path / f"MOD11A1.A2009182.h{h:02d}v{v:02d}.061.2021201000000_LST_Day_1km.tif"
        write_sinusoidal(str(p), lst_raw(0), (99.8, 101.2), (39.3, 40.7), np.uint16, 0, tile=(h, v))
    write_sinusoidal(str(tmp_path / "MOD11A1.A2009182.h27v05.061.2021201000000_LST_Day_1km.tif"),
                     lst_raw(0), (120.0, 120.2), (35.0, 35.2), np.uint16, 0)
    lst = readers.read_mod11a1(tmp_path, grid, max_error=None)["lst"].isel(time=0).load()
    la, lo = mesh(lst)
    inside = (la > 39.53) & (la < 40.47) & (lo > 100.03) & (lo < 100.97)
    np.testing.assert_allclose(lst.values[inside], f_lst(la, lo, 0)[inside], atol=0.03)


def test_modis_errors_name_the_file(tmp_path):
    d = str(tmp_path)
    name = f"MOD11A1.061_LST_Day_1km_doy{doy(DAYS[0])}_aid0001.tif"
    # a wrong CRS (web mercator)
    p = write_geographic(os.path.join(d, name), lambda la, lo: 15000 + 0 * la, 1.11e7, 4.7e6,
                         1000.0, 20, 20, np.uint16, 0, crs="EPSG:3857")
    with pytest.raises(ReadError, match=name + ".*wrong CRS"):
        readers.read_mod11a1(p, FINE, max_error=None)
    # no georeferencing
    p = write_geographic(p, lambda la, lo: 15000 + 0 * la, 100.0, 39.0, 0.01, 20, 20, np.uint16, 0,
                         crs=None)
    with pytest.raises(ReadError, match=name + ".*no CRS"):
        readers.read_mod11a1(p, FINE, max_error=None)
    # not a GeoTIFF at all
    with open(p, "wb") as f:
        f.write(b"II*\x00" + os.urandom(2000))
    with pytest.raises(ReadError, match=name + ".*(corrupt|truncated)"):
        readers.read_mod11a1(p, FINE, max_error=None)
    # truncated: cut in the middle of the pixel data
    p, _ = write_modis_lst(d, DAYS[0], 0)
    truncate(p, 0.6)
    with pytest.raises(ReadError, match=name + ".*(corrupt|truncated)"):
        readers.read_mod11a1(p, FINE, max_error=None).compute()
    # quality screening needs the QC layer
    p, q = write_modis_lst(d, DAYS[0], 0)
    os.remove(q)
    with pytest.raises(ReadError, match=name + ".*QC_Day"):
        readers.read_mod11a1(d, FINE, max_error=2).compute()
    # physical values without prescaled=True
    write_sinusoidal(p, lambda la, lo: f_lst(la, lo, 0), (99.8, 101.2), (37.8, 39.2), np.float32,
                     None)
    with pytest.raises(ReadError, match=name + ".*scaled integers"):
        readers.read_mod11a1(p, FINE, max_error=None)
    lst = readers.read_mod11a1(p, FINE, max_error=None, prescaled=True)["lst"].isel(time=0).load()
    la, lo = mesh(lst)
    inside = interior(la, lo)
    np.testing.assert_allclose(lst.values[inside], f_lst(la, lo, 0)[inside], atol=0.01)
    # an HDF4 granule (read with pyhdf, no GDAL HDF4 driver needed) cut after its signature;
    # granules that read are tested in test_modis_hdf4.py
    hdf = tmp_path / "hdf" / "MOD11A1.A2009182.h25v05.061.2021201000000.hdf"
    hdf.parent.mkdir()
    hdf.write_bytes(b"\x0e\x03\x13\x01" + bytes(100))
    with pytest.raises(ReadError, match=hdf.name + ".*(corrupt|truncated)"):
        readers.read_mod11a1(hdf.parent, FINE, max_error=None)


def test_mod13a2_composites_are_held(tmp_path):
    write_modis_ndvi(str(tmp_path), "2009-06-26", 0)  # DOY 177
    write_modis_ndvi(str(tmp_path), "2009-07-12", 1)  # DOY 193
    days = pd.date_range("2009-06-26", "2009-07-28")
    with pytest.warns(UserWarning, match="no file for 1 day.*2009-07-28"):
        ds = readers.read_mod13a2(tmp_path, FINE, time=days)
    assert ds["ndvi"].attrs["units"] == "1"
    ndvi = ds["ndvi"].load()
    la, lo = mesh(ndvi)
    inside = interior(la, lo)
    for day, k in (("2009-06-26", 0), ("2009-07-11", 0), ("2009-07-12", 1), ("2009-07-27", 1)):
        np.testing.assert_allclose(ndvi.sel(time=day).values[inside], f_ndvi(la, lo, k)[inside],
                                   atol=2e-4)
    assert bool(ndvi.sel(time="2009-07-28").isnull().all())


def test_modis_options(tmp_path):
    d = str(tmp_path)
    # night LST and the day/night mean
    write_modis_lst(d, DAYS[0], 0)
    night = os.path.join(d, f"MOD11A1.061_LST_Night_1km_doy{doy(DAYS[0])}_aid0001.tif")
    write_sinusoidal(night, lst_raw(-20), (99.8, 101.2), (37.8, 39.2), np.uint16, 0)
    write_sinusoidal(night.replace("LST_Night_1km", "QC_Night"), qc_raw(), (99.8, 101.2),
                     (37.8, 39.2), np.uint8, None)
    mean = readers.read_mod11a1(d, FINE, overpass="mean")["lst"].isel(time=0).load()
    la, lo = mesh(mean)
    inside = interior(la, lo)
    np.testing.assert_allclose(mean.values[inside], f_lst(la, lo, -10)[inside], atol=0.03)
    # NDVI pixel reliability: 3 (cloudy) in the west half
    write_modis_ndvi(d, "2009-06-26", 0)
    rel = os.path.join(d, "MOD13A2.061__1_km_16_days_pixel_reliability_doy2009177_aid0001.tif")
    write_sinusoidal(rel, lambda la, lo: np.where(lo < 100.5, 3, 0), (99.8, 101.2), (37.8, 39.2),
                     np.int8, -1)
    ndvi = readers.read_mod13a2(d, FINE, time=DAYS[:1], reliability=[0, 1])["ndvi"]
    ndvi = ndvi.isel(time=0).load()
    assert np.isnan(ndvi.values[inside & (lo < 100.48)]).all()
    assert np.isfinite(ndvi.values[inside & (lo > 100.52)]).all()
    # MCD43C3 BRDF quality: 4 (magnitude inversions) in the south half
    write_albedo(d, DAYS[0], 0)
    q = os.path.join(d, f"MCD43C3.061_BRDF_Quality_doy{doy(DAYS[0])}_aid0001.tif")
    write_geographic(q, lambda la, lo: np.where(la < 38.5, 4, 0), 99.5, 39.5, 0.05, 40, 40,
                     np.uint8, 255)
    alb = readers.read_mcd43c3(d, FINE, max_quality=3)["albedo"].isel(time=0).load()
    assert np.isnan(alb.values[la < 38.5]).all() and np.isfinite(alb.values[la > 38.5]).all()
    # bilinear precipitation between the 0.1-degree centres
    write_imerg_day(d, DAYS[0], 0)
    p = readers.read_imerg(d, FINE, resampling="linear")["precip"].isel(time=0).load()
    np.testing.assert_allclose(p.values, f_rain(la, lo, 0), rtol=1e-5)  # linear in lon


def test_mcd43c3_and_srtm(archive):
    _, dirs = archive
    alb = readers.read_mcd43c3(dirs["MCD43C3"], FINE, time=DAYS[:2])["albedo"]
    assert alb.attrs["units"] == "1"
    alb = alb.load()
    la, lo = mesh(alb)
    cla, clo = np.floor(la / 0.05) * 0.05 + 0.025, np.floor(lo / 0.05) * 0.05 + 0.025  # CMG centres
    np.testing.assert_allclose(alb.isel(time=1).values, f_alb(cla, clo, 1), atol=6e-4)
    dem = readers.read_srtm(dirs["srtm"], FINE)["dem"]
    assert dem.dims == ("lat", "lon") and dem.attrs["units"] == "m"
    dem = dem.load()
    # means of the 90-m cells; the void (-32768) is left out of the means, not averaged in
    void = (la > 38.49) & (la < 38.53) & (lo > 100.49) & (lo < 100.53)
    np.testing.assert_allclose(dem.values[~void], f_dem(la, lo)[~void], atol=1.0)
    np.testing.assert_allclose(dem.values[void], f_dem(la, lo)[void], atol=3.0)


def test_srtm_errors(tmp_path):
    p = str(tmp_path / "n38_e100_3arc_v2.tif")
    with open(p, "wb") as f:
        f.write(b"MM\x00*" + os.urandom(500))
    with pytest.raises(ReadError, match="n38_e100_3arc_v2.tif.*(corrupt|truncated)"):
        readers.read_srtm(p, FINE)
    p = write_geographic(p, f_dem, 100, 39, 0.01, 100, 100, np.int16, -32768, crs=None)
    with pytest.raises(ReadError, match="n38_e100_3arc_v2.tif.*no CRS"):
        readers.read_srtm(p, FINE)
    write_geographic(p, f_dem, 500000.0, 4300000.0, 90.0, 100, 100, np.int16, -32768,
                     crs="EPSG:32647")  # UTM 47N
    with pytest.raises(ReadError, match="n38_e100_3arc_v2.tif.*wrong CRS"):
        readers.read_srtm(p, FINE)


# =========================================================================== IMERG
def test_imerg_daily_and_half_hourly(archive, tmp_path):
    _, dirs = archive
    ds = readers.read_imerg(dirs["imerg"], FINE, time=DAYS)
    assert ds["precip"].attrs["units"] == "mm day-1" and ds["precip"].dims == ("time", "lat", "lon")
    p = ds["precip"].load()
    la, lo = mesh(p)
    cell_lon = np.floor(lo * 10) / 10 + 0.05  # the 0.1-degree cell holding each pixel
    for k in (0, 5):
        np.testing.assert_allclose(p.isel(time=k).values, f_rain(la, cell_lon, k), rtol=1e-5)
    # half-hourly HDF5 granules (group Grid, mm/hr): daily mean rate x 24
    for i, rate in enumerate((1.0, 2.0, 3.0, 4.0)):
        start = pd.Timestamp("2009-07-01") + pd.Timedelta(minutes=30 * i)
        write_imerg_hhr(str(tmp_path), start, rate)
    hh = readers.read_imerg(tmp_path, FINE)["precip"].load()
    assert hh.sizes["time"] == 1 and str(hh["time"].values[0])[:10] == "2009-07-01"
    np.testing.assert_allclose(hh.values, 2.5 * 24)
    # version-06 name of the variable
    v6 = tmp_path / "v6"
    v6.mkdir()
    path = write_imerg_day(str(v6), DAYS[0], 0, variable="precipitationCal")
    with pytest.raises(ReadError,
                       match=os.path.basename(path) + ".*variable 'precipitation': missing"):
        readers.read_imerg(v6, FINE)
    assert readers.read_imerg(v6, FINE, variable="precipitationCal")["precip"].notnull().all()


# =========================================================================== NetCDF errors
NETCDF_READERS = {
    # reader, writer of one good file, variable, region argument
    "imerg": (lambda f, g: readers.read_imerg(f, FINE), lambda d: write_imerg_day(d, DAYS[0], 0),
              "precipitation"),
    "era5": (readers.read_era5_land, lambda d: write_era5(
        d, DAYS[:1], np.round(np.arange(99.5, 101.55, 0.1), 1),
        np.round(np.arange(39.5, 37.45, -0.1), 1)), "swvl1"),
    "noah": (readers.read_noah, lambda d: write_gldas(d, pd.Timestamp(DAYS[0]), 20.0),
             "SoilMoi0_10cm_inst"),
    "pdsi": (readers.read_terraclimate_pdsi, lambda d: write_terraclimate(d, 2009), "PDSI"),
}


@pytest.mark.parametrize("product", sorted(NETCDF_READERS))
def test_netcdf_readers_name_the_file(tmp_path, product):
    read, write, var = NETCDF_READERS[product]
    for case in ("truncated", "missing", "projected"):
        folder = tmp_path / case
        folder.mkdir()
        path = write(str(folder))
        name = os.path.basename(path)
        if case == "truncated":
            truncate(path, 0.4)
            match = name + ".*(corrupt|truncated)"
        else:
            ds = xr.open_dataset(path).load()
            lat = "latitude" if "latitude" in ds.dims else "lat"
            lon = "longitude" if "longitude" in ds.dims else "lon"
            if case == "missing":
                ds = ds.rename({var: var + "_v2"})
                match = name + f".*variable '{var}': missing"
            else:  # the same grid in metres of a projection
                ds = ds.rename({lat: "y", lon: "x"})
                ds["x"].attrs, ds["y"].attrs = {"units": "m"}, {"units": "m"}
                match = name + ".*wrong CRS"
            os.remove(path)
            ds.to_netcdf(path, engine="netcdf4")
        with pytest.raises(ReadError, match=match):
            read(str(folder), COARSE).load()


# =========================================================================== models
@pytest.mark.parametrize("time_name", ["valid_time", "time"])
def test_era5_land_0_360_and_daily_mean(tmp_path, time_name):
    lon = np.round(np.arange(248.0, 262.01, 0.1), 1)  # 0-360 longitudes (112 W - 98 W)
    lat = np.round(np.arange(40.0, 34.99, -0.1), 1)
    path = write_era5(str(tmp_path), DAYS[:2], lon, lat)
    if time_name == "time":  # the legacy CDS layout
        legacy = xr.open_dataset(path).load()
        legacy = legacy.rename(valid_time="time").drop_vars(["expver", "number"])
        os.remove(path)
        legacy.to_netcdf(path)
    ds = readers.read_era5_land(path, (-110.0, 36.0, -100.0, 39.0))
    sm = ds["sm"].load()
    assert sm.attrs["units"] == "m3 m-3" and sm.sizes["time"] == 2
    assert float(sm["lon"].min()) == pytest.approx(-110.0)
    assert float(sm["lon"].max()) == pytest.approx(-100.0)
    assert np.all(np.diff(sm["lat"].values) > 0) and np.all(np.diff(sm["lon"].values) > 0)
    lat = sm["lat"].values[None, :, None]
    expect = 0.20 + 0.01 * np.arange(2)[:, None, None] + 0.01 * (lat - 38)
    np.testing.assert_allclose(sm.values, np.broadcast_to(expect, sm.shape), atol=1e-5)


def test_noah_gldas_three_hourly_to_daily_volumetric(tmp_path):
    for h in range(8):
        write_gldas(str(tmp_path), pd.Timestamp("2009-07-01") + pd.Timedelta(hours=3 * h), 20.0 + h)
    ds = readers.read_noah(tmp_path, (99.5, 37.5, 100.5, 38.5))
    sm = ds["sm"].load()
    assert sm.attrs["units"] == "m3 m-3" and sm.sizes["time"] == 1
    assert np.isnan(sm.values[0, 0, 0])  # the fill value -9999
    # 23.5 kg m-2 of water in a 0.1 m layer: 23.5 / (1000 kg m-3 * 0.1 m) = 0.235 m3 m-3
    np.testing.assert_allclose(sm.values[0][np.isfinite(sm.values[0])], 0.235, rtol=1e-6)
    (tmp_path / "bad").mkdir()
    bad = write_gldas(str(tmp_path / "bad"), pd.Timestamp("2009-07-02"), 20.0, units="kg")
    with pytest.raises(ReadError, match=os.path.basename(bad) + ".*units 'kg'"):
        readers.read_noah(bad)


def test_terraclimate_pdsi(archive):
    _, dirs = archive
    ds = readers.read_terraclimate_pdsi(dirs["terraclimate"], COARSE, time=DAYS)
    p = ds["pdsi"].load()
    assert p.attrs["units"] == "1" and p.dtype == np.float32
    assert list(p["time"].values) == [np.datetime64("2009-07-01", "ns")]
    assert np.all(np.diff(p["lat"].values) > 0)
    expect = 0.1 * (p["lat"].values - 38.0)[:, None] + 0 * p["lon"].values
    np.testing.assert_allclose(p.isel(time=0).values, expect, atol=0.006)  # stored to 0.01
    year = readers.read_terraclimate_pdsi(dirs["terraclimate"], COARSE)["pdsi"].load()
    assert year.sizes["time"] == 12
    np.testing.assert_allclose(year.isel(time=0).values, expect - 6.0, atol=0.006)


# =========================================================================== stations
def test_ismn_reader(archive, tmp_path):
    _, dirs = archive
    with pytest.warns(UserWarning, match="skipped 1 file"):
        st = readers.read_ismn(dirs["ismn"], time=DAYS, engine="builtin")
    assert st.sizes == {"station": 1, "time": len(DAYS)}
    assert str(st["network"].values[0]) == "HiWATER_EHWSN" and str(st["name"].values[0]) == "EC01"
    assert float(st["lat"][0]) == 38.55 and float(st["elevation"][0]) == 1560.0
    assert st["sm"].attrs["units"] == "m3 m-3" and str(st["cadence"].values[0]) == "daily"
    hours = np.array([h for h in range(24) if h != 5])  # the D01-flagged hour is dropped
    expect = [0.20 + 0.01 * d.day + 0.001 * hours.mean() for d in DAYS]
    np.testing.assert_allclose(st["sm"].values[0], expect, rtol=1e-5)
    if ismn._ismn_engine("auto") == "ismn":
        with pytest.warns(UserWarning, match="skipped"):
            other = readers.read_ismn(dirs["ismn"], time=DAYS, engine="ismn")
        xr.testing.assert_identical(other.drop_attrs(), st.drop_attrs())
    # a truncated file: the last line is cut
    rows = [(t, 0.2, "G") for t in pd.date_range("2009-07-01", periods=10, freq="h")]
    p = write_ismn(str(tmp_path), "MAQU", "CST_01", 33.9, 102.1, (0.05, 0.05), "sm", rows)
    with open(p) as f:
        text = f.read()
    with open(p, "w") as f:
        f.write(text[: text.rindex("0.2000")])
    for engine in ("builtin", ismn._ismn_engine("auto")):
        with pytest.raises(ReadError, match=os.path.basename(p) + ".*truncated"):
            readers.read_ismn(p, engine=engine)
    with open(p, "w") as f:
        f.write("garbage\n")
    with pytest.raises(ReadError, match=os.path.basename(p) + ".*header"):
        readers.read_ismn(p)


def test_station_csv_templates(archive, tmp_path):
    _, dirs = archive
    nzw = readers.read_nzw(dirs["nzw"], time=DAYS)
    assert sorted(nzw["name"].values) == ["Gaotai", "Zhangye"]
    z = nzw.isel(station=list(nzw["name"].values).index("Zhangye"))
    assert float(z["rsm"].sel(time="2009-07-01")) == 65.0 and z["rsm"].attrs["units"] == "percent"
    assert float(z["field_capacity"]) == 0.22 and float(z["bulk_density"]) == 1.40
    assert str(z["cadence"].values) == "dekad" and bool(nzw["sm"].isnull().all())
    qxz = readers.read_qxz(dirs["qxz"], time=DAYS)
    aro = qxz.isel(station=list(qxz["name"].values).index("Arou"))
    assert float(aro["sm"].sel(time="2009-07-01")) == pytest.approx(0.31)  # mean of two readings
    assert np.isnan(float(aro["sm"].sel(time="2009-07-02")))
    yke = qxz.isel(station=list(qxz["name"].values).index("Yingke"))
    assert float(yke["sm"].sel(time="2009-07-03")) == pytest.approx(0.25)
    cern = readers.read_cern(dirs["cern"], time=DAYS)
    assert str(cern["cadence"].values[0]) == "pentad"
    merged = readers.merge_stations([nzw, qxz, cern], time=DAYS)
    assert merged.sizes["station"] == 6 and "rsm" in merged
    assert np.isnan(merged["field_capacity"][2])
    from smkit.core.schema import check_stations

    with pytest.warns(UserWarning, match="Miyun"):
        kept = check_stations(merged, grid=COARSE, on_outside="drop")
    assert kept.sizes["station"] == 5
    # errors name the file
    p = write_csv(str(tmp_path / "qxz_bad.csv"), ["station_id", "name", "lat", "lon", "date", "sm"],
                  [("A", "A", 38.1, 100.1, "2009-07-01", 0.2)])
    with pytest.raises(ReadError, match="qxz_bad.csv.*elevation, land_cover.*missing"):
        readers.read_qxz(p)
    p = write_csv(str(tmp_path / "qxz_cut.csv"), readers.VOLUMETRIC_COLUMNS,
                  [("A", "A", 38.1, 100.1, 1500, "Grass", "2009-07-01", 0.2)])
    with open(p, "a") as f:
        f.write("A,A,38.1,100.1,15")
    with pytest.raises(ReadError, match="qxz_cut.csv.*line 3.*truncated"):
        readers.read_qxz(p)
    p = write_csv(str(tmp_path / "cern_pct.csv"), readers.VOLUMETRIC_COLUMNS,
                  [("A", "A", 38.1, 100.1, 1500, "Grass", "2009-07-01", 23.5)])
    with pytest.raises(ReadError, match="cern_pct.csv.*'sm'.*percent"):
        readers.read_cern(p)
    p = write_csv(str(tmp_path / "nzw_pct.csv"), readers.NZW_COLUMNS,
                  [("1", "A", 38.1, 100.1, 1500, "Farmland", "2009-07-01", 60, 22, 1.4)])
    with pytest.raises(ReadError, match="nzw_pct.csv.*'field_capacity'.*percent"):
        readers.read_nzw(p)


# =========================================================================== configuration
def test_config_errors_and_example(archive):
    root, _ = archive
    cfg = make_config(root)
    ok = readers.load_config(cfg)
    assert ok["region"]["bbox"] == list(BBOX) and ok["chunks"] == {"time": 4, "space": 50}
    for change, match in [
        (lambda c: c["sources"].pop("albedo"), "missing required source.*albedo"),
        (lambda c: c["sources"].update(soil={"files": "x"}), "unknown source.*soil"),
        (lambda c: c["sources"]["lst"].update(overpas="day"),
         "sources.lst.*unknown option.*overpas"),
        (lambda c: c["region"].update(bbox=[101, 38, 100, 39]), "bbox"),
        (lambda c: c["region"].update(fine_res=0.03), "does not nest"),
        (lambda c: c["sources"]["stations"].append({"format": "csv", "files": "x"}), "format"),
        (lambda c: c.update(period={"start": "2009-07-06", "end": "2009-07-01"}), "before start"),
    ]:
        bad = make_config(root)
        change(bad)
        with pytest.raises(readers.ConfigError, match=match):
            readers.load_config(bad)
    snapped = make_config(root)
    snapped["region"]["bbox"] = [100.1, 38.0, 100.9, 39.0]
    with pytest.warns(UserWarning, match="snapped"):
        assert readers.load_config(snapped)["region"]["bbox"] == list(BBOX)
    example = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "sources.example.yaml")
    ex = readers.load_config(example)
    assert set(ex["sources"]) == set(readers.SOURCES)


# =========================================================================== ingestion
GROUPS = ("coarse", "fine", "stations", "era5", "noah", "pdsi")


def open_group(path, group):
    return xr.open_zarr(path, group=group, consolidated=False).load()


@pytest.fixture(scope="module")
def cube(archive, tmp_path_factory):
    root, _ = archive
    out = tmp_path_factory.mktemp("cube") / "cube.zarr"
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        readers.ingest(make_config(root), out, progress=False)
    said = [str(w.message) for w in seen if issubclass(w.category, UserWarning)]
    assert any("Miyun" in m for m in said) and any("ISMN: skipped 1 file" in m for m in said)
    return out, time.perf_counter() - t0


def test_ingest_cube_opens_as_scenario_and_downscales(archive, cube):
    from smkit.core.scenario import open_scenario
    from smkit.core.schema import check_coarse, check_fine, check_stations
    from smkit.engine import downscale

    root, dirs = archive
    out, _ = cube
    sc = open_scenario(out)
    assert sc.truth.sizes == {} and "truth" in sc.truth.attrs["comment"]
    coarse = check_coarse(sc.coarse)
    fine = check_fine(sc.fine, coarse=coarse)
    stations = check_stations(sc.stations, grid=COARSE)
    assert dict(coarse.sizes) == {"time": 6, "lat": 4, "lon": 4}
    assert dict(fine.sizes) == {"time": 6, "lat": 100, "lon": 100}
    assert {v: fine[v].attrs["units"] for v in fine.data_vars} == {
        "lst": "K", "ndvi": "1", "albedo": "1", "precip": "mm day-1", "dem": "m"}
    assert fine["time"].dtype == "datetime64[ns]" and fine["dem"].dims == ("lat", "lon")
    assert sorted(stations["network"].values) == [
        "CERN", "HiWATER_EHWSN", "NZW", "NZW", "QXZ", "QXZ"]
    # the same values as the readers give
    direct = readers.read_esacci(dirs["esacci"], COARSE, time=DAYS).load()
    xr.testing.assert_equal(sc.coarse["sm"].load(), direct["sm"])
    lat, lon = mesh(sc.era5)
    np.testing.assert_allclose(sc.era5["sm"].isel(time=2).values, 0.22 + 0.01 * (lat - 38),
                               atol=1e-5)
    noah = sc.noah["sm"].load()  # water 20 + step/8 kg m-2, 8 steps a day
    np.testing.assert_allclose(noah.isel(time=1).values, (20 + (8 + 3.5) / 8) / 100, rtol=1e-6)
    assert sc.pdsi.sizes["time"] == 1
    # provenance
    attrs = sc.attrs
    sources = json.loads(attrs["ingest_sources"])
    assert sources["sm"]["reader"] == "smkit.readers.read_esacci"
    assert len(sources["sm"]["files"]) == 6
    assert json.loads(sc.fine.attrs["ingest_sources"])["lst"]["reader_version"] == "1.0"
    assert json.loads(attrs["ingest_config"])["region"]["bbox"] == list(BBOX)
    assert "rioxarray" in json.loads(attrs["library_versions"]) and attrs["smkit_version"]
    # end to end: the engine runs on the ingested cube
    product = downscale(sc.coarse, sc.fine, learners=("mlr",), progress=False)
    sm = product["sm"].load()
    assert sm.dims == ("model", "time", "lat", "lon") and float(np.isfinite(sm).mean()) > 0.9


def test_explorer_opens_an_ingested_cube(cube):
    """Real data have no truth: the explorer shows the product, retrieval, references, stations."""
    from smkit import app

    out, _ = cube
    data = app.load(out, quick="baselines", zones=3)
    assert data.truth is None and data.product.sizes["time"] == 6
    layout = app.explorer(data.product, **data.kwargs())
    assert layout is not None
    data = app.load(out, quick="mlr", zones=None, progress=False)
    assert list(data.product["model"].values) == ["mlr"]
    app.explorer(data.product, **data.kwargs())


def test_ingest_command_line(archive, cube, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from smkit.cli import app

    root, _ = archive
    out, _ = cube
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(make_config(root)))
    runner = CliRunner()
    args = ["ingest", "--config", str(config), "--out", str(out), "--no-progress"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output  # everything done before: skipped, then validated
    assert "cube written" in res.output
    bad = make_config(root)
    bad["sources"].pop("dem")
    config.write_text(yaml.safe_dump(bad))
    res = runner.invoke(app, ["ingest", "--config", str(config), "--out", str(tmp_path / "x.zarr")])
    assert res.exit_code == 1 and "dem" in res.output


def test_ingest_resumes_after_an_interruption(archive, cube, tmp_path, monkeypatch):
    root, _ = archive
    ref, _ = cube
    out = tmp_path / "cube.zarr"
    cfg = make_config(root)
    cfg["validate"] = False  # checked in test_ingest_cube_opens_as_scenario_and_downscales
    real_write = ingestion._write_block
    calls = []

    def interrupted(path, group, part, region):
        if group == "fine" and region["time"].start > 0:
            raise KeyboardInterrupt("simulated interruption")
        calls.append((group, region["time"].start))
        real_write(path, group, part, region)

    monkeypatch.setattr(ingestion, "_write_block", interrupted)
    with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        readers.ingest(cfg, out, progress=False)
    assert calls == [("coarse", 0), ("coarse", 4), ("fine", 0)]
    state = json.loads((tmp_path / "cube.zarr.ingest.json").read_text())
    assert state["groups"]["coarse"]["done"] and not state["groups"]["fine"]["done"]
    assert state["groups"]["fine"]["blocks"] == [0]

    def spy(path, group, part, region):
        calls.append((group, region["time"].start))
        real_write(path, group, part, region)

    built = []
    real_cci = readers.read_esacci
    monkeypatch.setattr(ingestion, "_write_block", spy)
    monkeypatch.setitem(registry.SOURCES, "coarse", (functools.wraps(real_cci)(
        lambda *a, **k: built.append(1) or real_cci(*a, **k)), *registry.SOURCES["coarse"][1:]))
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        readers.ingest(cfg, out, progress=False)
    # the finished group is not rebuilt, the written block of the unfinished one is not redone
    assert not built and ("coarse", 0) not in calls and ("fine", 0) not in calls
    assert calls[0] == ("fine", 4)
    for g in GROUPS:
        xr.testing.assert_equal(open_group(out, g), open_group(ref, g))
    calls.clear()
    readers.ingest(cfg, out, progress=False)
    assert calls == [] and not built


@pytest.mark.slow
def test_ingest_redoes_changed_groups_only(archive, cube, tmp_path, monkeypatch):
    root, _ = archive
    ref, _ = cube
    out = tmp_path / "cube.zarr"
    shutil.copytree(ref, out)
    shutil.copy(str(ref) + ".ingest.json", str(out) + ".ingest.json")
    cfg = make_config(root)
    cfg["validate"] = False
    calls = []
    real_write = ingestion._write_block

    def spy(path, group, part, region):
        calls.append(group)
        real_write(path, group, part, region)

    monkeypatch.setattr(ingestion, "_write_block", spy)
    readers.ingest(cfg, out, progress=False)
    assert calls == []
    # a changed option redoes its group only
    cfg["sources"]["coarse"]["keep_flags"] = None
    readers.ingest(cfg, out, progress=False)
    assert set(calls) == {"coarse"}
    assert np.isfinite(open_group(out, "coarse")["sm"].sel(lat=38.125, lon=100.125)).all()
    # a source taken out of the configuration leaves an empty group, not stale data
    cfg["sources"].pop("pdsi")
    readers.ingest(cfg, out, progress=False)
    assert open_group(out, "pdsi").sizes == {} and open_group(out, "noah").sizes["time"] == 6


# =========================================================================== end to end
SUMMERS = pd.DatetimeIndex([*pd.date_range("2009-07-01", "2009-07-31"),
                            *pd.date_range("2010-07-01", "2010-07-31")])


def wobble(lat, lon, d):
    """A smooth, deterministic departure from the linear fields (so the learners differ)."""
    return 0.02 * np.sin(7.0 * lat + 3.0 * d) * np.cos(5.0 * lon - 2.0 * d)


def july_day(day):
    """Day number of the analytic fields: day of July, 2010 two days ahead of 2009."""
    return day.day - 1 + 2 * (day.year - 2009)


def make_summer_archive(root):
    """Two Julys (2009, 2010) of every source, as the archives hold them; the months between
    are missing, as in a partial download."""
    dirs = {k: os.path.join(root, k) for k in ("esacci", "MOD11A1", "MOD13A2", "MCD43C3", "imerg",
                                               "srtm", "era5", "gldas", "terraclimate", "ismn",
                                               "nzw", "cern", "qxz")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for day in SUMMERS:
        k = july_day(day)
        write_cci(dirs["esacci"], day, k, global_grid=False)
        cloud = ((38.55, 38.85), (100.55, 100.85)) if k % 5 == 1 else None
        write_modis_lst(dirs["MOD11A1"], day, k, cloud)
        write_albedo(dirs["MCD43C3"], day, k)
        write_imerg_day(dirs["imerg"], day, k % 4)
    for year in (2009, 2010):
        july = SUMMERS[SUMMERS.year == year]
        stamps = pd.date_range(july[0], periods=8 * len(july), freq="3h")
        write_gldas(dirs["gldas"], stamps, 20.0 + np.arange(stamps.size) / 8.0)
        write_era5(dirs["era5"], july, np.round(np.arange(99.5, 101.55, 0.1), 1),
                   np.round(np.arange(39.5, 37.45, -0.1), 1), name=f"era5land_{year}.nc")
        write_terraclimate(dirs["terraclimate"], year)
        for k, start in enumerate((f"{year}-06-26", f"{year}-07-12", f"{year}-07-28")):
            write_modis_ndvi(dirs["MOD13A2"], start, k)
    write_srtm(dirs["srtm"], 38, 100)

    def obs(lat, lon, day):
        d = july_day(day)
        return round(float(f_cci(lat, lon, d) + 2 * wobble(lat, lon, d) + 0.02), 4)

    hours = SUMMERS.repeat(4) + pd.to_timedelta(np.tile([0, 6, 12, 18], len(SUMMERS)), unit="h")
    write_ismn(dirs["ismn"], "HiWATER_EHWSN", "EC01", 38.55, 100.37, (0.04, 0.04), "sm",
               [(t, obs(38.55, 100.37, t.normalize()), "G") for t in hours])
    nzw, cern, qxz = [], [], []
    for day in SUMMERS:
        for sid, name, lat, lon in (("52652", "Zhangye", 38.93, 100.43),
                                    ("52546", "Gaotai", 38.65, 100.80)):
            if day.day in (1, 11, 21):  # NZW: % of field capacity (0.30 g g-1, 1.40 g cm-3)
                rh = 100.0 * obs(lat, lon, day) / (0.30 * 1.40)
                nzw.append((sid, name, lat, lon, 1400, "Farmland", str(day.date()),
                            round(rh, 2), 0.30, 1.40))
        if day.day % 5 == 1:
            cern.append(("LZD", "Linze", 38.33, 100.12, 1375, "Farmland", str(day.date()),
                         obs(38.33, 100.12, day)))
        for sid, name, lat, lon in (("ARO", "Arou", 38.04, 100.46), ("YKE", "Yingke", 38.85, 100.42),
                                    ("DMA", "Daman", 38.61, 100.69)):
            qxz.append((sid, name, lat, lon, 1600, "Grassland", str(day.date()), obs(lat, lon, day)))
    write_csv(os.path.join(dirs["nzw"], "nzw.csv"), readers.NZW_COLUMNS, nzw)
    write_csv(os.path.join(dirs["cern"], "cern.csv"), readers.VOLUMETRIC_COLUMNS, cern)
    write_csv(os.path.join(dirs["qxz"], "qxz.csv"), readers.VOLUMETRIC_COLUMNS, qxz)
    cfg = make_config(root)
    cfg["period"] = {"start": "2009-07-01", "end": "2010-07-31"}
    cfg["chunks"] = {"time": 31, "space": 50}
    return cfg


@pytest.mark.slow
@pytest.mark.notebooks
def test_ingested_cube_runs_through_reproduce(tmp_path):
    """A cube ingested from raw files runs through every notebook with ``smkit reproduce``."""
    import yaml
    from typer.testing import CliRunner

    from smkit.cli import app
    from smkit.workflow import reproduce

    cfg = make_summer_archive(str(tmp_path / "raw"))
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(cfg))
    cube = tmp_path / "cube.zarr"
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--config", str(config), "--out", str(cube), "--no-progress"])
    assert res.exit_code == 0, res.output
    small = yaml.safe_load((Path(__file__).parents[1] / "notebook_params.yaml").read_text())
    params = {"defaults": {"train_years": [2009], "test_years": [2010], "k": 3},
              "notebooks": small["notebooks"]}
    pfile = tmp_path / "params.yaml"
    pfile.write_text(yaml.safe_dump(params))
    out = tmp_path / "run"
    res = runner.invoke(app, ["reproduce", "--preset", str(cube), "--params", str(pfile),
                              "--out", str(out), "--cache", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= set(reproduce.NOTEBOOKS)
    table4 = pd.read_csv(out / "tables" / "04_insitu_validation_table4.csv")
    assert {"QXZ", "CERN", "NZW"} <= set(table4["network"])
    # the stations read the retrieval's field (plus a wobble): every product follows them
    for metric, bound in (("R", (0.9, 1.0)), ("RMSE (m3 m-3)", (0.0, 0.05))):
        rows = table4[table4["metric"] == metric].set_index("network")
        values = rows[["CCI", "RF", "MLR", "SVR", "XG", "BMA"]].to_numpy()
        assert ((values > bound[0]) & (values < bound[1])).all(), rows
    # every notebook's figures and tables are there, the truth-based ones left out
    assert (out / "figures" / "04_insitu_validation_station_map.png").exists()
    assert not (out / "tables" / "04_insitu_validation_truth_skill.csv").exists()
    assert (out / "tables" / "07_uncertainty_leave_one_out_scores.csv").exists()



def test_imerg_julian_calendar_granules_read_on_their_own_days(tmp_path):
    start = pd.Timestamp(DAYS[0])
    for k in range(2):
        write_imerg_hhr(str(tmp_path), start + pd.Timedelta(minutes=30 * k), 1.0)
    raw = xr.open_dataset(next(tmp_path.glob("*.HDF5")), group="Grid")
    assert raw["time"].encoding.get("calendar") == "julian" and raw["time"].dtype == object  # cftime
    hh = readers.read_imerg(tmp_path, FINE)["precip"]
    assert [str(d)[:10] for d in hh["time"].values] == [str(start.date())]


def test_imerg_missing_variable_names_what_the_groups_hold(tmp_path):
    write_imerg_hhr(str(tmp_path), pd.Timestamp(DAYS[0]), 1.0)
    with pytest.raises(readers.ReadError, match=r"group 'Grid' \['precipitation'\]"):
        readers.read_imerg(tmp_path, FINE, variable="precipitationCal")


def test_a_scalar_time_coordinate_is_one_time(tmp_path):
    path = write_imerg_day(str(tmp_path), DAYS[0], 0)
    ds = xr.open_dataset(path).load()
    scalar = ds.isel(time=0)  # a time without a dimension, as GRIB -> netCDF conversions write
    out = tmp_path / "scalar" / os.path.basename(path)
    out.parent.mkdir()
    scalar.to_netcdf(out)
    p = readers.read_imerg(out.parent, FINE)["precip"]
    assert p.sizes["time"] == 1 and str(p["time"].values[0])[:10] == str(pd.Timestamp(DAYS[0]).date())


def test_ismn_keeps_unchecked_values_and_says_when_flags_empty_a_station(tmp_path):
    # real ISMN downloads flag whole networks U (not checked by ISMN) or C03 (above saturation), never G
    hours = pd.date_range(DAYS[0], periods=48, freq="h")
    write_ismn(str(tmp_path / "u"), "REMEDHUS", "Canizal", 41.2, -5.36, (0.0, 0.05), "sm",
               [(t, 0.21, "U") for t in hours])
    st = readers.read_ismn(tmp_path / "u")
    assert readers.GOOD_FLAGS == ("G", "U") and float(st["sm"].isel(station=0, time=0)) == pytest.approx(0.21)
    write_ismn(str(tmp_path / "c"), "REMEDHUS", "Canizal", 41.2, -5.36, (0.0, 0.05), "sm",
               [(t, 0.48, "C03") for t in hours])
    with pytest.warns(UserWarning, match=r"every one of the 48 values .* \{'C03': 48\}"):
        empty = readers.read_ismn(tmp_path / "c")
    assert int(empty["sm"].count()) == 0
    kept = readers.read_ismn(tmp_path / "c", good_flags=("G", "U", "C03"))
    assert int(kept["sm"].count()) == 2


def write_era5_grib(folder, days, lon, lat, name="era5land_swvl1.grib"):
    """ERA5-Land swvl1 as the Climate Data Store delivers GRIB by default: GRIB1 messages from ECMWF
    (centre ecmf, paramId 39, shortName swvl1, m**3 m**-3, level depthBelowLandLayer 0-7 cm), one per
    hour, on a regular lat/lon grid scanned north to south; the values of :func:`write_era5`."""
    eccodes = pytest.importorskip("eccodes")
    times = pd.date_range(days[0], days[-1] + pd.Timedelta(hours=23), freq="h")
    path = os.path.join(folder, name)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    with open(path, "wb") as f:
        for t in times:
            gid = eccodes.codes_grib_new_from_samples("regular_ll_sfc_grib1")
            d = (t.normalize() - times[0].normalize()).days
            sm = 0.20 + 0.01 * d + 0.002 * (t.hour - 11.5) + 0.01 * (la - 38) + 0.0 * lo
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


def test_era5_land_grib_as_the_cds_delivers_it(tmp_path):
    pytest.importorskip("cfgrib")
    lon = np.round(np.arange(99.5, 101.51, 0.1), 1)
    lat = np.round(np.arange(39.5, 37.45, -0.1), 1)
    grib = write_era5_grib(str(tmp_path), DAYS[:2], lon, lat)
    with open(grib, "rb") as f:
        assert f.read(4) == b"GRIB"
    (tmp_path / "nc").mkdir()
    nc = write_era5(str(tmp_path / "nc"), DAYS[:2], lon, lat)
    bbox = (99.6, 37.6, 101.4, 39.4)
    from_grib = readers.read_era5_land(grib, bbox)["sm"].load()
    from_nc = readers.read_era5_land(nc, bbox)["sm"].load()
    assert from_grib.sizes == from_nc.sizes and from_grib.sizes["time"] == 2
    np.testing.assert_allclose(from_grib.values, from_nc.values, atol=2e-5)  # 16-bit GRIB packing
    assert not list(tmp_path.glob("*.idx"))  # nothing written beside the user's archive


def test_files_of_other_formats_are_named_not_called_corrupt(tmp_path):
    hdf4 = tmp_path / "MOD11A1.A2009182.h25v05.061.2021135033815.hdf"
    hdf4.write_bytes(b"\x0e\x03\x13\x01" + bytes(64))
    with pytest.raises(ReadError, match="is an HDF4 file"):
        readers.read_era5_land(hdf4)
    junk = tmp_path / "era5.nc"
    junk.write_bytes(b"<html>quota exceeded</html>")
    with pytest.raises(ReadError, match="starts like no format smkit reads"):
        readers.read_era5_land(junk)
