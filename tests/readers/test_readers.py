"""Readers of the real archives and ``smkit ingest``, on fixtures written in each product's format.

Nothing can be downloaded here, so every fixture is written at test time by
``granules.py`` (one section per archive) in the product's real layout:
file-name conventions, variable names, attributes, integer scaling and fill
values, flags, descending latitudes, 0-360 longitudes, (time, lon, lat) IMERG
arrays, sinusoidal MODIS GeoTIFFs. Fields
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

from granules import (  # noqa: E402  (tests/readers is on sys.path: pytest's rootdir-less import mode)
    BBOX,
    COARSE,
    DAYS,
    FINE,
    doy,
    f_alb,
    f_cci,
    f_dem,
    f_lst,
    f_ndvi,
    f_rain,
    july_day,
    lst_raw,
    make_archive,
    make_config,
    make_summer_archive,
    qc_raw,
    write_albedo,
    write_cci,
    write_csv,
    write_era5,
    write_era5_grib,
    write_geographic,
    write_gldas,
    write_imerg_day,
    write_imerg_hhr,
    write_ismn,
    write_modis_lst,
    write_modis_ndvi,
    write_sinusoidal,
    write_srtm,
    write_srtm_hgt,
    write_terraclimate,
)

from smkit import readers  # noqa: E402
from smkit.core.grid import Grid  # noqa: E402
from smkit.readers import (  # noqa: E402
    ReadError,
    ingestion,
    ismn,
    registry,
)
from smkit.readers.config import resolve_files  # noqa: E402


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


@pytest.mark.slow
@pytest.mark.notebooks
def test_ingested_cube_runs_through_reproduce(tmp_path):
    """A cube ingested from raw files of every archive, in every format they come in (HDF4
    granules beside GeoTIFFs, GRIB beside NetCDF, .hgt beside GeoTIFF, half-hourly HDF5 beside
    daily NetCDF), over the demo box, runs through every notebook with ``smkit reproduce``."""
    pytest.importorskip("pyhdf")
    pytest.importorskip("cfgrib")
    pytest.importorskip("eccodes")
    import yaml
    from typer.testing import CliRunner

    from smkit.cli import app
    from smkit.core.scenario import open_scenario
    from smkit.workflow import reproduce

    cfg = make_summer_archive(str(tmp_path / "raw"))
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(cfg))
    cube = tmp_path / "cube.zarr"
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--config", str(config), "--out", str(cube), "--no-progress"])
    assert res.exit_code == 0, res.output
    # every format went in, and each gave the fields it was written with
    sc = open_scenario(cube)
    files = " ".join(f for group in (sc.fine, sc.coarse, sc.era5, sc.noah, sc.pdsi)
                     for v in json.loads(group.attrs["ingest_sources"]).values()
                     for f in v.get("files", []))
    for pattern in ("MOD11A1.A2009182.h25v05.061.", "MOD11A1.A2010182.h25v05.061.2021201000000_LST_Day_1km.tif",
                    "MOD13A2.A2010177.h26v05", "MCD43C3.A2009182.061", "N37E101.SRTMGL3.hgt",
                    "n37_e099_3arc_v2.tif", "3B-HHR.MS.MRG.3IMERG.20100715-S233000",
                    "era5land_2009.grib", "era5land_2010.nc", "GLDAS_NOAH025_3H.A20090701.0300.021.nc4"):
        assert pattern in files, pattern
    fine = sc.fine
    assert dict(fine.sizes) == {"time": 396, "lat": 300, "lon": 300}  # 2009-07-01 .. 2010-07-31
    la, lo = mesh(fine)
    inside = (la > 37.03) & (la < 39.97) & (lo > 99.03) & (lo < 101.97)
    for day in ("2009-07-03", "2010-07-03"):  # HDF4 granules (4 tiles), then their GeoTIFFs
        k = july_day(pd.Timestamp(day))
        # bilinear from the sinusoidal grid, a little off on the seams of the HDF4 tiles
        np.testing.assert_allclose(fine["lst"].sel(time=day).values[inside],
                                   f_lst(la, lo, k)[inside], atol=0.05)
        np.testing.assert_allclose(fine["ndvi"].sel(time=day).values[inside],
                                   f_ndvi(la, lo, 0)[inside], atol=8e-4)
        cla, clo = np.floor(la / 0.05) * 0.05 + 0.025, np.floor(lo / 0.05) * 0.05 + 0.025
        np.testing.assert_allclose(fine["albedo"].sel(time=day).values, f_alb(cla, clo, k),
                                   atol=6e-4)  # CMG HDF4 granules, then GeoTIFFs
    # nine tiles, .hgt and GeoTIFF: the seams are means of both tiles
    np.testing.assert_allclose(fine["dem"].values, f_dem(la, lo), atol=0.3)
    k = july_day(pd.Timestamp("2010-07-15"))
    cell_lon = np.floor(lo * 10) / 10 + 0.05
    np.testing.assert_allclose(fine["precip"].sel(time="2010-07-15").values,
                               f_rain(la, cell_lon, k % 4), rtol=1e-5)  # 48 HHR granules
    era5 = sc.era5["sm"].load()
    assert int(era5.notnull().any(["lat", "lon"]).sum()) == 62
    elat = era5["lat"].values[:, None] + 0 * era5["lon"].values
    for day, d in (("2009-07-03", 2), ("2010-07-03", 2)):  # GRIB, then NetCDF
        np.testing.assert_allclose(era5.sel(time=day).values, 0.20 + 0.01 * d + 0.01 * (elat - 38),
                                   atol=2e-5)
    assert int(sc.noah["sm"].notnull().any(["lat", "lon"]).sum()) == 62
    assert int(sc.pdsi["pdsi"].notnull().any(["lat", "lon"]).sum()) == 13  # whole years: every month
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
    # (the stations are the retrieval + 0.02 + a wobble of up to 0.04: CCI's own RMSE is 0.03-0.04;
    # the products add the sub-grid correction learned from 11 stations over the 3 x 3 degree box)
    for metric, bound in (("R", (0.9, 1.0)), ("RMSE (m3 m-3)", (0.0, 0.06))):
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
    with pytest.raises(readers.ReadError, match=r"group 'Grid' \[[^]]*'precipitation'"):
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




def test_era5_land_grib_as_the_cds_delivers_it(tmp_path):
    pytest.importorskip("cfgrib")
    pytest.importorskip("eccodes")
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
    # a folder of GRIB months beside NetCDF ones (eccodes' centres differ from NetCDF's by ~1e-13
    # degree): one grid, and smkit ingest's folder search finds both
    mix = tmp_path / "mix"
    mix.mkdir()
    write_era5_grib(str(mix), DAYS[:2], lon, lat, name="era5land_a.grib")
    write_era5(str(mix), DAYS[2:4], lon, lat, name="era5land_b.nc")
    both = readers.read_era5_land(mix, bbox)["sm"].load()
    assert both.sizes["time"] == 4
    np.testing.assert_allclose(both.isel(time=slice(0, 2)).values, from_nc.values, atol=2e-5)
    found = resolve_files("mix", str(tmp_path), registry.SOURCES["era5"][1], "sources.era5")
    assert sorted(os.path.basename(f) for f in found) == ["era5land_a.grib", "era5land_b.nc"]


def test_files_of_other_formats_are_named_not_called_corrupt(tmp_path):
    hdf4 = tmp_path / "MOD11A1.A2009182.h25v05.061.2021135033815.hdf"
    hdf4.write_bytes(b"\x0e\x03\x13\x01" + bytes(64))
    with pytest.raises(ReadError, match="is an HDF4 file"):
        readers.read_era5_land(hdf4)
    junk = tmp_path / "era5.nc"
    junk.write_bytes(b"<html>quota exceeded</html>")
    with pytest.raises(ReadError, match="starts like no format smkit reads"):
        readers.read_era5_land(junk)


def test_srtm_hgt_tiles_read_as_the_geotiffs(tmp_path):
    """NASA's unzipped ``N38E100.SRTMGL3.hgt`` (raw big-endian int16) gives the USGS GeoTIFF's dem."""
    (tmp_path / "hgt").mkdir()
    (tmp_path / "tif").mkdir()
    write_srtm_hgt(str(tmp_path / "hgt"), 38, 100)
    write_srtm(str(tmp_path / "tif"), 38, 100)
    hgt = readers.read_srtm(tmp_path / "hgt", FINE)["dem"].load()
    tif = readers.read_srtm(tmp_path / "tif", FINE)["dem"].load()
    la, lo = mesh(hgt)
    np.testing.assert_allclose(hgt.values, f_dem(la, lo), atol=0.05)
    np.testing.assert_allclose(hgt.values, tif.values, atol=0.05)


def test_srtm_cells_on_the_seam_of_two_tiles_are_means_of_both(tmp_path):
    """Tiles share their edge row of 90 m cells (centred on the degree line, half a pixel beyond
    it): the grid cells just above the seam are means over both tiles, not the lower tile's
    sliver (which would be 1.5 m low on a 300 m/degree slope)."""
    write_srtm(str(tmp_path), 38, 100)
    write_srtm_hgt(str(tmp_path), 39, 100)  # the upper tile as .hgt: formats mix in one folder
    grid = Grid(100.0, 101.0, 38.5, 39.5, 0.01)
    dem = readers.read_srtm(tmp_path, grid)["dem"].load()
    la, lo = mesh(dem)
    np.testing.assert_allclose(dem.values, f_dem(la, lo), atol=0.3)
