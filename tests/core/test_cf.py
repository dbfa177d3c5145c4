"""CF-1.11 / ACDD-1.3 metadata of products (smkit.core.cf)."""

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.core.cf import CONVENTIONS, GRID_MAPPING, PROVENANCE_ATTRS, cf_product

#: ACDD-1.3 attributes smkit knows and writes (creator, institution and licence are not known, so absent).
ACDD = ("Conventions", "title", "summary", "keywords", "source", "references", "product_version",
        "time_coverage_start", "time_coverage_end", "geospatial_lat_min", "geospatial_lat_max",
        "geospatial_lon_min", "geospatial_lon_max", "geospatial_lat_units", "geospatial_lon_units")


def hand_product(lazy=False):
    lat = np.round(37.0 + 0.025 * (np.arange(8) + 0.5), 8)
    lon = np.round(99.0 + 0.025 * (np.arange(12) + 0.5), 8)
    data = np.full((2, 3, lat.size, lon.size), 0.2, np.float32)
    return xr.Dataset(
        {"sm": (("model", "time", "lat", "lon"), da.from_array(data) if lazy else data,
                {"long_name": "downscaled soil moisture", "units": "m3 m-3"}),
         "window_sw": (("time", "clat", "clon"), np.full((3, 2, 3), 3, np.int8),
                       {"long_name": "spatial window size", "units": "cells"})},
        coords={"model": ["rf", "bma"], "time": pd.date_range("2009-07-01", periods=3),
                "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
                "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
                "clat": ("clat", [37.05, 37.15], {"units": "degrees_north", "standard_name": "latitude"}),
                "clon": ("clon", [99.05, 99.15, 99.25], {"units": "degrees_east"})},
        attrs={"title": "smkit downscaled soil moisture", "covariates": "lst,ndvi"})


def test_cf_xarray_finds_the_one_latitude_longitude_and_soil_moisture():
    cfx = pytest.importorskip("cf_xarray")  # noqa: F841  (registers .cf)
    ds = cf_product(hand_product())
    assert ds.cf["latitude"].name == "lat" and ds.cf["longitude"].name == "lon"
    assert ds.cf["volume_fraction_of_condensed_water_in_soil"].name == "sm"
    assert ds.cf.axes["X"] == ["lon"] and ds.cf.axes["Y"] == ["lat"] and ds.cf.axes["T"] == ["time"]
    assert ds.cf.bounds["lat"] == ["lat_bnds"] and ds.cf.grid_mapping_names == {"latitude_longitude": ["crs"]}
    assert "standard_name" not in ds["clat"].attrs and "units" not in ds["clat"].attrs


def test_the_product_gets_crs_bounds_and_acdd_attributes():
    ds = cf_product(hand_product())
    assert ds.attrs["Conventions"] == CONVENTIONS == "CF-1.11, ACDD-1.3"
    assert all(ds.attrs.get(k) not in (None, "") for k in ACDD), [k for k in ACDD if k not in ds.attrs]
    assert not {"license", "creator_name", "institution"} & set(ds.attrs)  # not known: not invented
    assert "Liu et al." in ds.attrs["references"] and "Bayesian model averaging" in ds.attrs["references"]
    assert ds.attrs["time_coverage_start"] == "2009-07-01T00:00:00Z"
    assert ds.attrs["time_coverage_end"] == "2009-07-03T00:00:00Z"
    # the grid's outer edges, not the pixel centres
    assert (ds.attrs["geospatial_lat_min"], ds.attrs["geospatial_lat_max"]) == (37.0, 37.2)
    assert (ds.attrs["geospatial_lon_min"], ds.attrs["geospatial_lon_max"]) == (99.0, 99.3)
    assert not set(PROVENANCE_ATTRS) & set(ds.attrs)  # nothing stamped unless asked
    crs = ds[GRID_MAPPING]
    assert crs.ndim == 0 and np.issubdtype(crs.dtype, np.integer)
    assert crs.attrs["grid_mapping_name"] == "latitude_longitude" and crs.attrs["epsg_code"] == "EPSG:4326"
    assert "WGS 84" in crs.attrs["crs_wkt"] and crs.attrs["spatial_ref"] == crs.attrs["crs_wkt"]
    sm = ds["sm"].attrs
    assert sm["standard_name"] == "volume_fraction_of_condensed_water_in_soil" and "0-5 cm" in sm["comment"]
    assert sm["grid_mapping"] == "crs" and sm["coverage_content_type"] == "modelResult"
    assert ds["lat"].attrs["axis"] == "Y" and ds["lon"].attrs["axis"] == "X"
    assert ds["lat"].attrs["bounds"] == "lat_bnds" and ds["lat_bnds"].dims == ("lat", "bnds")
    np.testing.assert_allclose(ds["lat_bnds"].values[0], [37.0, 37.025])
    np.testing.assert_allclose(ds["lon_bnds"].values[-1], [99.275, 99.3])
    assert ds["lat"].encoding["_FillValue"] is None and ds["clat"].encoding["_FillValue"] is None
    assert ds["model"].attrs["models_long_name"] == "rf: random forest; bma: Bayesian model average"
    assert ds["window_sw"].attrs["units"] == "1" and "in coarse cells" in ds["window_sw"].attrs["long_name"]


def test_cf_product_is_lazy_idempotent_and_leaves_its_input_alone():
    raw = hand_product(lazy=True)
    before = raw.copy(deep=True)
    def forbid(*args, **kwargs):
        raise AssertionError("cf_product computed dask data")

    with dask.config.set(scheduler=forbid):
        ds = cf_product(raw)
    assert isinstance(ds["sm"].data, da.Array)
    xr.testing.assert_identical(raw, before)
    xr.testing.assert_identical(cf_product(ds), ds)


def test_a_written_product_is_stamped_once_with_its_creation_and_each_later_step():
    ds = cf_product(hand_product(), created="2026-12-04T20:00:00Z")
    assert ds.attrs["date_created"] == "2026-12-04T20:00:00Z"
    assert ds.attrs["history"].startswith("2026-12-04T20:00:00Z smkit ")
    assert "downscale" in ds.attrs["history"]
    later = cf_product(ds, created="2026-12-05T08:00:00Z", history="exported")
    assert later.attrs["date_created"] == "2026-12-04T20:00:00Z"  # the data's creation is kept
    assert later.attrs["history"].splitlines()[1].endswith(": exported")


def test_every_product_store_and_the_bma_product_carry_the_metadata(tiny, tmp_path):
    from smkit.engine import downscale

    sel = {"time": slice("2009-07-01", "2009-07-02")}
    p = downscale(tiny.coarse.sel(sel), tiny.fine.sel(sel), learners=("mlr",), progress=False,
                  out=tmp_path / "p.zarr")
    assert p.attrs["Conventions"] == CONVENTIONS and p.attrs["date_created"]
    assert p["sm"].attrs["grid_mapping"] == "crs" and "crs_wkt" in p["crs"].attrs
    assert p["clat"].attrs == {"long_name": "coarse-cell centre latitude (degrees north)"}
    assert p.attrs["geospatial_lat_min"] == 37.5 and p.attrs["geospatial_lon_max"] == 101.5
