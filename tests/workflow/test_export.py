"""smkit export: a product as CF NetCDF4 and as Cloud-Optimised GeoTIFFs that GIS tools open georeferenced."""

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from smkit.cli import app
from smkit.workflow.export import export_geotiff, export_netcdf, select

rasterio = pytest.importorskip("rasterio")
netCDF4 = pytest.importorskip("netCDF4")

ACDD = ("Conventions", "title", "summary", "keywords", "source", "references", "product_version", "history",
        "date_created", "time_coverage_start", "time_coverage_end", "geospatial_lat_min",
        "geospatial_lat_max", "geospatial_lon_min", "geospatial_lon_max", "geospatial_lat_units",
        "geospatial_lon_units")


@pytest.fixture(scope="module")
def store(tiny, tmp_path_factory):
    from smkit.engine import downscale

    path = tmp_path_factory.mktemp("export") / "p.zarr"
    sel = {"time": slice("2009-07-01", "2009-07-03")}
    downscale(tiny.coarse.sel(sel), tiny.fine.sel(sel), learners=("mlr", "rf"),
              params={"rf": {"n_estimators": 10}}, progress=False, out=path)
    return path


def test_netcdf_is_cf_and_gis_readable(store, tmp_path):
    cfx = pytest.importorskip("cf_xarray")  # noqa: F841  (registers .cf)
    rioxarray = pytest.importorskip("rioxarray")
    out = export_netcdf(store, tmp_path / "p.nc")
    assert out == tmp_path / "p.nc" and not list(tmp_path.glob("*.partial"))
    with netCDF4.Dataset(out) as nc:  # what ncdump -h shows
        assert nc.data_model == "NETCDF4"
        for name in ("lat", "lon", "clat", "clon", "time", "model", "lat_bnds", "lon_bnds", "crs"):
            assert "_FillValue" not in nc[name].ncattrs(), name
        sm = nc["sm"]
        assert sm.filters()["zlib"] and sm.chunking() == [1, 1, 80, 80]
        assert sm.getncattr("grid_mapping") == "crs" and np.isnan(sm.getncattr("_FillValue"))
        assert nc["crs"].getncattr("grid_mapping_name") == "latitude_longitude"
        attrs = set(nc.ncattrs())
    assert set(ACDD) <= attrs, set(ACDD) - attrs
    ds = xr.open_dataset(out, decode_coords="all")
    assert ds.rio.crs.to_epsg() == 4326
    assert ds.cf["latitude"].name == "lat" and ds.cf["longitude"].name == "lon"
    assert ds.cf["volume_fraction_of_condensed_water_in_soil"].name == "sm"
    assert ds.attrs["history"].splitlines()[-1].endswith("exported to NetCDF4 (p.nc)")
    assert [str(m) for m in ds["model"].values] == ["mlr", "rf"]
    stored = xr.open_zarr(store, consolidated=False)["sm"].load()
    xr.testing.assert_allclose(ds["sm"].drop_vars("crs").load(), stored)
    with rasterio.open(f"netcdf:{out}:sm") as src:  # GDAL's netCDF driver: bands are model x day
        assert src.crs.to_epsg() == 4326 and src.count == 2 * 3
        assert (src.transform.a, src.transform.c, src.transform.f) == pytest.approx((0.025, 99.5, 39.5))
    # the export opens as a product again, e.g. to export one model's days, which rioxarray reads as rasters
    # (it reads one extra dimension besides time; several models are GDAL bands by model index)
    part = export_netcdf(out, tmp_path / "part.nc", models="rf", days=slice("2009-07-02", None))
    assert xr.open_dataset(part)["sm"].shape == (1, 2, 80, 80)
    raster = rioxarray.open_rasterio(part, variable="sm")
    assert raster.rio.crs.to_epsg() == 4326 and raster["sm"].shape == (2, 80, 80)

def test_geotiff_per_model_and_day(store, tmp_path):
    files = export_geotiff(store, tmp_path / "tif", models=["rf"], days=slice("2009-07-02", "2009-07-03"))
    assert [f.name for f in files] == ["sm_rf_20090702.tif", "sm_rf_20090703.tif"]
    product = xr.open_zarr(store, consolidated=False)
    with rasterio.open(files[0]) as src:
        assert src.crs.to_epsg() == 4326 and src.count == 1 and src.dtypes == ("float32",)
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        t = src.transform
        assert (t.a, t.e, t.b, t.d) == (0.025, -0.025, 0.0, 0.0)  # pixel size = the grid's resolution
        assert (t.c, t.f) == (99.5, 39.5)  # the top-left edge of the grid
        # the product's own long_name ("downscaled soil moisture"), the model, the day and the units
        assert src.descriptions[0] == "downscaled soil moisture, rf (random forest), 2009-07-02, m3 m-3"
        assert np.isnan(src.nodata) and src.tags()["units"] == "m3 m-3"
        values = src.read(1)
    expected = product["sm"].sel(model="rf", time="2009-07-02").values[::-1]  # north up
    np.testing.assert_array_equal(values, expected)


def test_geotiff_band_says_what_the_map_is(tmp_path):
    """The explorer's plain and difference maps: the band description and tags follow sm's attrs."""
    from smkit.app.downloads import map_dataset, map_file
    from smkit.core.grid import Grid

    grid = Grid(lon0=100.0, lon1=100.5, lat0=38.0, lat1=38.25, res=0.025)
    values = np.linspace(-0.1, 0.3, grid.nlat * grid.nlon, dtype=np.float32).reshape(grid.shape)
    cases = {
        "plain": (map_dataset(values, grid, "XG", "2009-07-02"),
                  "volumetric soil moisture, XG, 2009-07-02, m3 m-3"),
        "products": (map_dataset(values, grid, "XG", "2009-07-02", reference="CCI"),
                     "difference of volumetric soil moisture, XG minus CCI, 2009-07-02, m3 m-3"),
        "dates": (map_dataset(values, grid, "XG", "2009-07-02", date_b="2009-07-04"),
                  "difference of volumetric soil moisture, XG, 2009-07-04 minus 2009-07-02, m3 m-3"),
    }
    for what, (ds, want) in cases.items():
        path = tmp_path / f"{what}.tif"
        path.write_bytes(map_file(ds, "geotiff").getvalue())
        with rasterio.open(path) as src:
            assert src.descriptions[0] == want, what
            assert src.tags()["long_name"] == want and src.tags()["units"] == "m3 m-3", what
            assert ("difference" in src.descriptions[0]) == (what != "plain"), what
            np.testing.assert_array_equal(src.read(1), values[::-1])
    # other units and no long_name: the attrs, or the defaults, not hard-coded wording
    ds = cases["plain"][0]
    ds["sm"].attrs = {"long_name": "soil moisture anomaly", "units": "1"}
    (path,) = export_geotiff(ds, tmp_path / "anomaly")
    with rasterio.open(path) as src:
        assert src.descriptions[0] == "soil moisture anomaly, xgb (XGBoost), 2009-07-02, 1"
        assert src.tags()["units"] == "1"
    ds["sm"].attrs = {}
    (path,) = export_geotiff(ds, tmp_path / "bare")
    with rasterio.open(path) as src:
        assert src.descriptions[0] == "volumetric soil moisture, xgb (XGBoost), 2009-07-02, m3 m-3"


def test_select_says_what_the_product_has(store):
    with pytest.raises(KeyError, match=r"no model \['svr'\]; it has \['mlr', 'rf'\]"):
        select(store, models=["svr"])
    with pytest.raises(ValueError, match="runs from 2009-07-01 to 2009-07-03"):
        select(store, days=slice("2010-01-01", None))


def test_the_export_command(store, tmp_path):
    runner = CliRunner()
    nc, tifs = tmp_path / "out.nc", tmp_path / "tifs"
    res = runner.invoke(app, ["export", str(store), "--to", str(nc), "--to-geotiff", str(tifs),
                              "--model", "mlr", "--start", "2009-07-03"])
    assert res.exit_code == 0, res.output
    assert nc.exists() and sorted(p.name for p in tifs.iterdir()) == ["sm_mlr_20090703.tif"]
    assert "wrote 1 GeoTIFFs" in res.output
    res = runner.invoke(app, ["export", str(store), "--to", str(nc), "--model", "xgb"])
    assert res.exit_code == 2 and "no model ['xgb']" in res.output
    res = runner.invoke(app, ["export", str(store)])
    assert res.exit_code != 0 and "--to" in res.output
    res = runner.invoke(app, ["export", str(tmp_path / "nothing.zarr"), "--to", str(nc)])
    assert res.exit_code != 0 and "no product store" in res.output
