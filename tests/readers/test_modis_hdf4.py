"""MODIS HDF4 granules read with pyhdf (no GDAL HDF4 driver), on granules written by granules.py.

The fixtures are written at test time in LP DAAC's layout (see granules.py); the
checks compare the readers' output with values computed independently of the
reader: pixel centres through pyproj, the MODLAND tile grid from its published
constants.
"""

import gzip
import os
import zipfile

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyhdf")
rioxarray = pytest.importorskip("rioxarray")

import granules as g  # noqa: E402

from smkit import readers  # noqa: E402
from smkit.core.grid import Grid  # noqa: E402
from smkit.readers import ReadError, hdf4  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")

LON, LAT = (100.3, 100.5), (38.4, 38.6)
GRID = Grid(LON[0], LON[1], LAT[0], LAT[1], 0.01)
DAY = pd.Timestamp("2009-07-01")


def const(value, dtype=None):
    return lambda *a: np.full(a[0].shape, value, dtype=dtype)


def centres(grid):
    return np.meshgrid(grid.lat, grid.lon, indexing="ij")


def inner(grid, margin=0.02):
    la, lo = centres(grid)
    return ((la > grid.lat0 + margin) & (la < grid.lat1 - margin) & (lo > grid.lon0 + margin)
            & (lo < grid.lon1 - margin))


# =========================================================================== StructMetadata
def test_struct_metadata_of_a_full_tile_is_modland_h26v04():
    ul = g.tile_origin(26, 4)
    lr = (ul[0] + 1200 * g.PIX, ul[1] - 1200 * g.PIX)
    text = g.struct_metadata("MODIS_Grid_Daily_1km_LST", (1200, 1200), ul, lr, "GCTP_SNSOID",
                             [("LST_Day_1km", np.uint16), ("QC_Day", np.uint8)])
    (grid,) = hdf4.grids({"StructMetadata.0": text})
    x0, dx, _, y0, _, dy = grid.transform
    assert grid.name == "MODIS_Grid_Daily_1km_LST" and (grid.xdim, grid.ydim) == (1200, 1200)
    assert grid.fields == ("LST_Day_1km", "QC_Day")
    np.testing.assert_allclose([x0, y0], [-20015109.354 + 26 * 1111950.5197,
                                          10007554.677 - 4 * 1111950.5197], atol=0.01)
    np.testing.assert_allclose([dx, -dy], 926.625433, atol=1e-6)
    # h26v04's north edge is 50 N; its corners through pyproj with the reader's CRS
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(
        x0 + 600 * dx, y0)
    np.testing.assert_allclose(lat, 50.0, atol=1e-9)
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(x0, y0 + 1200 * dy)
    np.testing.assert_allclose(lat, 40.0, atol=1e-9)
    np.testing.assert_allclose(lon, 80.0 / np.cos(np.radians(40.0)), rtol=1e-9)  # 26*10-180
    # the integerized-sinusoidal spelling of older file specs is the same grid
    isin = text.replace("GCTP_SNSOID", "GCTP_ISINUS").replace(
        "(6371007.181000,0,0,0,0,0,0,0,0,0,0,0,0)", "(6371007.181000,0,0,0,0,0,0,0,21600,0,1,0,0)")
    assert hdf4.grids({"StructMetadata.0": isin})[0] == grid


def test_odl_and_packed_dms():
    tree = hdf4.parse_odl('GROUP=A\n\tX=(1.5,-2)\n\tN="name"\n\tK=7\n\tP=GCTP_GEO\nEND_GROUP=A\nEND')
    assert tree == {"A": {"X": (1.5, -2), "N": "name", "K": 7, "P": "GCTP_GEO"}}
    assert hdf4.unpack_dms(-180000000.0) == -180.0 and hdf4.unpack_dms(90000000.0) == 90.0
    assert hdf4.unpack_dms(99030000.0) == 99.5 and hdf4.unpack_dms(39015000.0) == 39.25
    np.testing.assert_allclose(hdf4.unpack_dms(-12003036.0), -(12 + 3 / 60 + 36 / 3600))
    for deg in (-180.0, 99.5, 37.45, -0.05):
        np.testing.assert_allclose(hdf4.unpack_dms(g.pack_dms(deg)), deg, atol=1e-9)
    # the full MCD43C3 CMG: 7200 x 3600 at 0.05 degrees from -180, 90
    text = g.struct_metadata("MCD_CMG_BRDF_0.05Deg", (3600, 7200), (-180000000.0, 90000000.0),
                             (180000000.0, -90000000.0), "GCTP_GEO", [("BRDF_Quality", np.uint8)])
    (grid,) = hdf4.grids({"StructMetadata.0": text})
    assert grid.crs == "EPSG:4326"
    np.testing.assert_allclose(grid.transform, (-180.0, 0.05, 0.0, 90.0, 0.0, -0.05))


# =========================================================================== georeferencing
def test_a_known_pixel_lands_at_its_lat_lon(tmp_path):
    """One 1-km pixel marked; nearest sampling puts it in the grid cell whose centre pyproj says."""
    w = g.Window.around(LON, LAT)
    r, c = 11, 23
    xx, yy, lat, lon = w.centres()
    x_c, y_c = w.ul[0] + (c + 0.5) * g.PIX, w.ul[1] - (r + 0.5) * g.PIX
    lon_c, lat_c = g.from_sin(x_c, y_c)  # the pixel centre, independently of the reader

    def lst(x, y, la, lo):
        out = np.full(x.shape, 15000, np.uint16)  # 300 K
        out[r, c] = 16000  # 320 K
        return out

    g.write_mod11a1(str(tmp_path), DAY, w, lst)
    # a 0.005-degree grid with a cell centred on the marked pixel's centre
    res = 0.005
    grid = Grid(lon_c - 10.5 * res, lon_c + 10.5 * res, lat_c - 10.5 * res, lat_c + 10.5 * res, res)
    out = readers.read_mod11a1(tmp_path, grid, max_error=None, resampling="nearest")["lst"]
    out = out.isel(time=0).load()
    assert float(out.sel(lat=lat_c, lon=lon_c, method="nearest")) == pytest.approx(320.0)
    assert out.attrs["units"] == "K" and not np.isnan(out.values).any()
    # every cell: the pixel its centre falls in, by pyproj (the pixels are sheared parallelograms
    # in lat/lon); cells within 0.15 pixel of a pixel edge are left out (GDAL's approximate
    # transformer is exact to 0.125 pixel)
    la, lo = centres(grid)
    x, y = g.to_sin(lo, la)
    fc, fr = (x - w.ul[0]) / g.PIX, (w.ul[1] - y) / g.PIX
    sure = [abs(f - np.round(f)) > 0.15 for f in (fc, fr)]
    expect = np.where((np.floor(fr) == r) & (np.floor(fc) == c), 320.0, 300.0)
    sure = sure[0] & sure[1]
    assert sure.sum() > 0.4 * sure.size and (expect[sure] == 320.0).any()
    np.testing.assert_array_equal(out.values[sure], expect[sure])


def test_a_linear_field_in_sinusoidal_space_is_reprojected_right(tmp_path):
    """LST linear in sinusoidal x, y; each lat/lon cell must hold the field at its pyproj x, y."""
    w = g.Window.around(LON, LAT)
    xm, ym = np.mean([w.ul[0], w.lr[0]]), np.mean([w.ul[1], w.lr[1]])

    def field(x, y):
        return 300.0 + 0.5 * (x - xm) / 1e4 - 0.4 * (y - ym) / 1e4  # K, +-1.5 K over the window

    g.write_mod11a1(str(tmp_path), DAY, w, lambda x, y, la, lo: field(x, y))
    out = readers.read_mod11a1(tmp_path, GRID, max_error=None)["lst"].isel(time=0).load()
    la, lo = centres(GRID)
    x, y = g.to_sin(lo, la)
    ok = inner(GRID)
    np.testing.assert_allclose(out.values[ok], field(x, y)[ok], atol=0.02)  # 0.01 K rounding


def test_mcd43c3_cmg_window(tmp_path):
    def alb(la, lo):
        return 0.20 + 0.02 * (la - 38.0) - 0.01 * (lo - 100.0)

    g.write_mcd43c3(str(tmp_path), DAY, alb)
    out = readers.read_mcd43c3(tmp_path, GRID)["albedo"].isel(time=0).load()
    la, lo = centres(GRID)
    cla, clo = np.floor(la / 0.05) * 0.05 + 0.025, np.floor(lo / 0.05) * 0.05 + 0.025
    np.testing.assert_allclose(out.values, alb(cla, clo), atol=6e-4)
    assert out.attrs["units"] == "1"
    # the real global grid (7200 x 3600 from -180000000, 90000000 packed DMS): only the
    # window over the grid is read
    d = tmp_path / "globe"
    d.mkdir()
    p = g.write_mcd43c3(str(d), DAY, alb, lambda la, lo: np.where(la < 38.5, 4, 0),
                        full_globe=True)
    src = hdf4.hdf4_source(p, "Albedo_WSA_shortwave", "MCD43C3")
    assert hdf4.scan_sds(src, "MCD43C3")[1:3] == ((-180.0, 0.05, 0.0, 90.0, 0.0, -0.05),
                                                   (3600, 7200))
    part = hdf4.open_sds(src, "MCD43C3", bbox=(GRID.lon0, GRID.lat0, GRID.lon1, GRID.lat1))
    assert part.shape == (8, 8)  # 0.2 degrees = 4 cells, and 2 around
    np.testing.assert_allclose(part.rio.bounds(), (100.2, 38.3, 100.6, 38.7), atol=1e-9)
    glob = readers.read_mcd43c3(d, GRID, max_quality=3)["albedo"].isel(time=0).load()
    np.testing.assert_allclose(glob.values[la > 38.5], alb(cla, clo)[la > 38.5], atol=6e-4)
    assert np.isnan(glob.values[la < 38.5]).all()


# =========================================================================== values
def test_fill_and_out_of_range_values_become_nan(tmp_path):
    w = g.Window.around(LON, LAT)

    def lst(x, y, la, lo):
        out = np.full(x.shape, 15000, np.uint16)
        out[(la > 38.52) & (lo < 100.38)] = 0  # _FillValue (cloud)
        out[(la < 38.48) & (lo > 100.42)] = 7000  # below valid_range 7500
        return out

    g.write_mod11a1(str(tmp_path), DAY, w, lst)
    out = readers.read_mod11a1(tmp_path, GRID, max_error=None, resampling="nearest")["lst"]
    out = out.isel(time=0).load().values
    la, lo = centres(GRID)
    assert np.isnan(out[(la > 38.53) & (lo < 100.37)]).all()
    assert np.isnan(out[(la < 38.47) & (lo > 100.43)]).all()
    clear = ((la < 38.51) | (lo > 100.39)) & ((la > 38.49) | (lo < 100.41))
    np.testing.assert_array_equal(out[clear], np.float32(300.0))


def test_scale_conventions_give_kelvin_and_ndvi(tmp_path):
    w = g.Window.around(LON, LAT)

    def ndvi(x, y, la, lo):  # -0.2 .. 1 across the window, with a fill corner
        v = -0.2 + 1.2 * (lo - LON[0]) / (LON[1] - LON[0])
        raw = np.round(np.clip(v, -0.2, 1.0) * 10000).astype(np.int16)
        raw[(la > 38.55) & (lo < 100.35)] = -3000
        return raw

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    g.write_mod13a2(str(a), "2009-06-26", w, ndvi)  # scale_factor 10000: NDVI = raw / 10000
    g.write_mod13a2(str(b), "2009-06-26", w, ndvi, scale=0.0001)  # the HDF convention
    one = readers.read_mod13a2(a, GRID, time=[DAY], resampling="nearest")["ndvi"].load()
    two = readers.read_mod13a2(b, GRID, time=[DAY], resampling="nearest")["ndvi"].load()
    np.testing.assert_array_equal(one.values, two.values)
    v = one.values[np.isfinite(one.values)]
    assert v.min() >= -0.2 - 1e-6 and v.max() <= 1.0 + 1e-6 and v.max() > 0.9 and v.min() < -0.1
    la, lo = centres(GRID)
    assert np.isnan(one.isel(time=0).values[(la > 38.56) & (lo < 100.34)]).all()
    expect = -0.2 + 1.2 * (lo - LON[0]) / (LON[1] - LON[0])
    ok = inner(GRID) & ~((la > 38.54) & (lo < 100.36))
    np.testing.assert_allclose(one.isel(time=0).values[ok], expect[ok], atol=0.07)  # one pixel: 0.064
    # a scale_factor that fits neither convention
    c = tmp_path / "c"
    c.mkdir()
    p = g.write_mod13a2(str(c), "2009-06-26", w, ndvi, scale=0.5)
    with pytest.raises(ReadError, match=os.path.basename(p) + ".*scale_factor 0.5"):
        readers.read_mod13a2(c, GRID).compute()
    # LST: raw * 0.02 K
    g.write_mod11a1(str(tmp_path), DAY, w, const(14650, np.uint16))
    lst = readers.read_mod11a1(tmp_path, GRID, max_error=None)["lst"].load()
    np.testing.assert_allclose(lst.values, 293.0, rtol=1e-6)


# =========================================================================== quality screening
def test_quality_screening_as_for_geotiffs(tmp_path):
    w = g.Window.around(LON, LAT)
    la, lo = centres(GRID)
    west, east = lo < 100.39, lo > 100.41

    def qc(x, y, lat, lon):  # mandatory QA 01 with LST error > 3 K (class 11) in the west
        return np.where(lon < 100.4, 0b11000001, 0)

    g.write_mod11a1(str(tmp_path), DAY, w, const(15000, np.uint16), qc,
                    night=const(14000, np.uint16))
    lst = readers.read_mod11a1(tmp_path, GRID)["lst"].isel(time=0).load().values
    assert np.isnan(lst[west]).all() and np.isfinite(lst[east]).all()
    lst = readers.read_mod11a1(tmp_path, GRID, max_error=None)["lst"].isel(time=0).load().values
    assert np.isfinite(lst).all()
    mean = readers.read_mod11a1(tmp_path, GRID, overpass="mean", max_error=None)["lst"]
    np.testing.assert_allclose(mean.isel(time=0).values, (300.0 + 280.0) / 2, rtol=1e-6)
    # MOD13A2 pixel reliability 3 (cloudy) in the west
    d = tmp_path / "ndvi"
    d.mkdir()
    g.write_mod13a2(str(d), "2009-06-26", w, const(0.5),
                    lambda x, y, lat, lon: np.where(lon < 100.4, 3, 0))
    ndvi = readers.read_mod13a2(d, GRID, time=[DAY], reliability=[0, 1])["ndvi"]
    ndvi = ndvi.isel(time=0).load().values
    assert np.isnan(ndvi[west]).all() and np.allclose(ndvi[east], 0.5)
    # MCD43C3 BRDF_Quality 4 in the south
    d = tmp_path / "alb"
    d.mkdir()
    g.write_mcd43c3(str(d), DAY, lambda lat, lon: 0.2 + 0 * lat,
                    lambda lat, lon: np.where(lat < 38.5, 4, 0))
    alb = readers.read_mcd43c3(d, GRID, max_quality=3)["albedo"].isel(time=0).load().values
    assert np.isnan(alb[la < 38.5]).all() and np.allclose(alb[la > 38.5], 0.2)


# =========================================================================== bad files
NAME = "MOD11A1.A2009182.h25v05.061.2021201000000.hdf"


def _bad(folder, content):
    p = folder / NAME
    p.write_bytes(content)
    return p


def test_files_that_are_not_hdf4_name_the_file_what_it_is_and_the_fix(tmp_path):
    def fails(content, *patterns):
        p = _bad(tmp_path, content)
        with pytest.raises(ReadError) as err:
            readers.read_mod11a1(p, GRID, max_error=None).compute()
        msg = str(err.value)
        assert msg.startswith(str(p)), msg
        for pat in patterns:
            assert pat.lower() in msg.lower(), (pat, msg)
        return msg

    login = (b"<!DOCTYPE html>\n<html lang='en'><head><title>Earthdata Login</title></head>"
             b"<body>...</body></html>\n")
    fails(login, "HTML page", "'<!DOCTYPE html", "Earthdata", ".netrc")
    fails(b"\n  <html><body>401 Unauthorized</body></html>", "HTML page", "'<html")
    fails(b"", "empty (0 bytes)", "download the granule again")
    buf = tmp_path / "x.zip"
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("MOD11A1.hdf", b"\x0e\x03\x13\x01")
    fails(buf.read_bytes(), "ZIP archive", "'PK'", "unzip")
    fails(gzip.compress(b"\x0e\x03\x13\x01" + bytes(50)), "gzip", "gunzip")
    fails(b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5")
    fails(b"GIF89a" + bytes(40), "HDF4 signature", "47 49 46 38", "download the granule again")


def test_broken_granules_name_the_file(tmp_path):
    w = g.Window.around(LON, LAT)
    p = g.write_mod11a1(str(tmp_path), DAY, w, const(15000, np.uint16))
    data = open(p, "rb").read()
    # truncated mid-file: keeps its signature
    trunc = tmp_path / "cut"
    trunc.mkdir()
    (trunc / NAME).write_bytes(data[: len(data) // 3])
    with pytest.raises(ReadError, match=NAME + ".*(corrupt|truncated)"):
        readers.read_mod11a1(trunc, GRID, max_error=None).compute()
    # another product's granule under a MOD11A1 name: the layer is missing, the message lists them
    other = tmp_path / "other"
    other.mkdir()
    q = g.write_mod13a2(str(other), DAY, w, const(0.5))
    os.rename(q, other / NAME)
    with pytest.raises(ReadError, match=NAME + ".*LST_Day_1km.*missing.*1 km 16 days NDVI"):
        readers.read_mod11a1(other, GRID, max_error=None)
    # an HDF4 file without StructMetadata.0 (not HDF-EOS)
    from pyhdf.SD import SD, SDC

    plain = tmp_path / "plain"
    plain.mkdir()
    sd = SD(str(plain / NAME), SDC.WRITE | SDC.CREATE)
    s = sd.create("LST_Day_1km", SDC.UINT16, (4, 4))
    s[:] = np.full((4, 4), 15000, np.uint16)
    s.endaccess()
    sd.end()
    with pytest.raises(ReadError, match=NAME + ".*no StructMetadata.0"):
        readers.read_mod11a1(plain, GRID, max_error=None)
    # the QC layer is in the granule: screening needs no other file
    lst = readers.read_mod11a1(p, GRID, max_error=2)["lst"].load()
    assert np.isfinite(lst.values).all()


# =========================================================================== smkit ingest
def test_ingest_accepts_raw_mod11a1_granules(tmp_path):
    root = tmp_path / "raw"
    dirs = g.make_archive(str(root))
    hdf = root / "MOD11A1_hdf"
    hdf.mkdir()
    w = g.Window.around((99.8, 101.2), (37.8, 39.2), tile=(25, 5))
    for k, day in enumerate(g.DAYS):
        g.write_mod11a1(str(hdf), day, w, lambda x, y, la, lo, k=k: g.f_lst(la, lo, k))
    cfg = g.make_config(root)
    cfg["sources"]["lst"] = {"files": "MOD11A1_hdf", "overpass": "day", "max_error": 2}
    for key in ("stations", "era5", "noah", "pdsi"):
        cfg["sources"].pop(key)
    out = tmp_path / "cube.zarr"
    readers.ingest(cfg, out, progress=False)
    import xarray as xr

    fine = xr.open_zarr(out, group="fine", consolidated=False)
    lst = fine["lst"].load()
    assert lst.attrs["units"] == "K" and lst.sizes["time"] == len(g.DAYS)
    la, lo = np.meshgrid(lst["lat"].values, lst["lon"].values, indexing="ij")
    ok = inner(g.FINE, 0.03)
    for k in (0, 5):
        np.testing.assert_allclose(lst.isel(time=k).values[ok], g.f_lst(la, lo, k)[ok], atol=0.03)
    said = fine.attrs["ingest_sources"]
    assert NAME in said and "MOD11A1.061_LST_Day_1km" not in said and dirs["MOD11A1"]
