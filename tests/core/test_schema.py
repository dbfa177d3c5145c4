import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from smkit.core.grid import Grid
from smkit.core.schema import (
    REQUIRED,
    InputError,
    NormalisationWarning,
    check_coarse,
    check_fine,
    check_stations,
    normalise,
    relative_to_volumetric,
    stations_to_volumetric,
)

COARSE = Grid(100.0, 101.0, 38.0, 39.0, 0.25)  # 4 x 4 cells
FINE = COARSE.with_res(0.05)  # 20 x 20 pixels, factor 5
TIMES = pd.date_range("2020-06-01", periods=5, freq="D")


def _gridded(grid, variables, times=TIMES):
    coords = {"time": ("time", times.values.astype("datetime64[ns]")), **grid.coords()}
    rng = np.random.default_rng(0)
    data = {}
    for name, (lo, hi, units) in variables.items():
        shape = grid.shape if name == "dem" else (len(times), *grid.shape)
        dims = ("lat", "lon") if name == "dem" else ("time", "lat", "lon")
        data[name] = (dims, rng.uniform(lo, hi, shape).astype(np.float32), {"units": units})
    return xr.Dataset(data, coords=coords)


def make_coarse(times=TIMES):
    ds = _gridded(
        COARSE, {"sm": (0.05, 0.4, "m3 m-3"), "sm_uncertainty": (0.01, 0.05, "m3 m-3")}, times
    )
    ds["sm"][0, 0, 0] = np.nan
    ds["flag"] = (("time", "lat", "lon"), np.zeros(ds["sm"].shape, np.int8), {"units": "1"})
    return ds


def make_fine(times=TIMES, grid=FINE):
    return _gridded(
        grid,
        {
            "lst": (270.0, 320.0, "K"),
            "ndvi": (-0.1, 0.8, "1"),
            "albedo": (0.1, 0.4, "1"),
            "precip": (0.0, 20.0, "mm day-1"),
            "dem": (1000.0, 2000.0, "m"),
        },
        times,
    )


def make_stations(rsm=True):
    n = 3
    sm = np.full((n, len(TIMES)), np.nan, np.float32)
    sm[:2] = [[0.1, 0.2, np.nan, 0.3, 0.25], [0.15, np.nan, 0.2, 0.22, 0.18]]
    data = {"sm": (("station", "time"), sm, {"units": "m3 m-3"})}
    coords = {
        "time": TIMES.values.astype("datetime64[ns]"),
        "station": np.arange(n),
        "name": ("station", np.array(["Alpha", "Beta", "Gamma"], dtype=object)),
        "network": ("station", np.array(["QXZ", "CERN", "NZW"], dtype=object)),
        "lat": ("station", [38.2, 38.6, 38.9], {"units": "degrees_north"}),
        "lon": ("station", [100.1, 100.5, 100.8], {"units": "degrees_east"}),
        "elevation": ("station", [1500.0, 1600.0, 1400.0], {"units": "m"}),
        "land_cover": ("station", np.array(["grassland", "desert", "cropland"], dtype=object)),
    }
    if rsm:
        r = np.full((n, len(TIMES)), np.nan, np.float32)
        r[2] = [80.0, np.nan, 60.0, 70.0, np.nan]
        data["rsm"] = (("station", "time"), r, {"units": "percent"})
        coords["field_capacity"] = ("station", [np.nan, np.nan, 0.25], {"units": "g g-1"})
        coords["bulk_density"] = ("station", [np.nan, np.nan, 1.4], {"units": "g cm-3"})
    return xr.Dataset(data, coords=coords)


def raises(func, *args, match, **kw):
    with pytest.raises(InputError) as info:
        func(*args, **kw)
    msg = str(info.value)
    for word in np.atleast_1d(match):
        assert word in msg, msg
    return msg


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no unannounced fixes
        yield


# ------------------------------------------------------------------ valid inputs
def test_valid_inputs_pass_unchanged():
    c, f, s = make_coarse(), make_fine(), make_stations()
    assert check_coarse(c) is c
    assert check_fine(f, coarse=c) is f
    assert check_stations(s, grid=COARSE) is s
    xr.testing.assert_identical(c, make_coarse())


def test_registry_describes_the_data_model():
    assert REQUIRED["coarse"]["sm"] == (("time", "lat", "lon"), "m3 m-3")
    assert REQUIRED["fine"]["dem"] == (("lat", "lon"), "m")
    assert set(REQUIRED["fine"]) == {"lst", "ndvi", "albedo", "precip", "dem"}


@pytest.mark.parametrize(
    "units", ["m3/m3", "m^3 m^-3", "m**3 m**-3", "cm3 cm-3", "m3.m-3", " M3 M-3 "]
)
def test_sm_unit_aliases(units):
    c = make_coarse()
    c["sm"].attrs["units"] = units
    check_coarse(c)


@pytest.mark.parametrize(
    ("var", "units"),
    [
        ("lst", "kelvin"),
        ("lst", "Kelvin"),
        ("ndvi", ""),
        ("ndvi", "-"),
        ("albedo", "dimensionless"),
        ("albedo", "unitless"),
        ("precip", "mm/day"),
        ("precip", "mm d-1"),
        ("precip", "kg m-2 d-1"),
        ("precip", "mm/d"),
        ("precip", "kg m-2 day-1"),
        ("dem", "metres"),
        ("dem", "meters"),
        ("dem", "meter"),
    ],
)
def test_fine_unit_aliases(var, units):
    f = make_fine()
    f[var].attrs["units"] = units
    check_fine(f)


# ------------------------------------------------------------------ errors
def test_missing_variable_lists_found():
    msg = raises(check_fine, make_fine().drop_vars("precip"), match=["precip", "missing", "lst"])
    assert "fine" in msg
    raises(check_coarse, make_coarse().rename(sm="soil_moisture"), match=["'sm'", "soil_moisture"])
    raises(check_stations, make_stations().drop_vars(["sm", "rsm"]), match=["sm", "rsm"])


def test_wrong_dims():
    f = make_fine()
    f["dem"] = f["dem"].expand_dims(time=f.time).transpose("time", "lat", "lon")
    raises(check_fine, f, match=["dem", "dims"])


@pytest.mark.parametrize(
    ("kind", "var", "units", "words"),
    [
        ("coarse", "sm", "%", ["divide by 100", "m3 m-3"]),
        ("coarse", "sm_uncertainty", "percent", ["divide", "100"]),
        ("stations", "sm", "percent", ["divide", "100", "rsm", "field_capacity", "bulk_density"]),
        ("fine", "lst", "degC", ["273.15"]),
        ("fine", "lst", "celsius", ["273.15"]),
        ("fine", "lst", "C", ["273.15"]),
        ("fine", "precip", "mm h-1", ["24"]),
        ("fine", "precip", "mm/hr", ["24"]),
        ("fine", "precip", "kg m-2 s-1", ["86400"]),
        ("fine", "dem", "ft", ["'m'"]),
        ("fine", "ndvi", "W m-2", ["'1'"]),
    ],
)
def test_wrong_units_name_the_fix(kind, var, units, words):
    ds = {"coarse": make_coarse, "fine": make_fine, "stations": make_stations}[kind]()
    ds[var].attrs["units"] = units
    check = {"coarse": check_coarse, "fine": check_fine, "stations": check_stations}[kind]
    msg = raises(check, ds, match=[var, units, *words])
    assert msg.startswith(kind)


def test_missing_units():
    f = make_fine()
    del f["precip"].attrs["units"]
    raises(check_fine, f, match=["precip", "no 'units'", "mm day-1"])


@pytest.mark.parametrize(
    ("var", "scale", "words"),
    [
        ("sm", 100.0, ["looks like percent", "divide by 100"]),
        ("lst", None, ["looks like Celsius", "273.15"]),
        ("ndvi", 10000.0, ["looks scaled", "0.0001"]),
        ("albedo", 1000.0, ["looks scaled", "scale factor", "0.001"]),
    ],
)
def test_value_ranges(var, scale, words):
    ds = make_coarse() if var == "sm" else make_fine()
    ds[var] = ds[var] - 273.15 if scale is None else ds[var] * scale
    ds[var].attrs["units"] = REQUIRED["coarse" if var == "sm" else "fine"][var][1]
    check = check_coarse if var == "sm" else check_fine
    raises(check, ds, match=[var, *words])
    check(ds, check_values=False)  # the range check can be skipped


def test_station_values_look_like_percent():
    s = make_stations()
    s["sm"] = s["sm"] * 100
    s["sm"].attrs["units"] = "m3 m-3"
    raises(check_stations, s, match=["sm", "percent", "rsm"])


def test_coordinate_units_required():
    c = make_coarse()
    del c["lat"].attrs["units"]
    raises(check_coarse, c, match=["lat", "units", "degrees_north"])
    s = make_stations()
    del s["lon"].attrs["units"]
    raises(check_stations, s, match=["lon", "degrees_east"])
    # CF names (ESA CCI, ERA5) are renamed with a warning, as the readers do, not refused
    c = make_coarse().rename(lat="latitude", lon="longitude")
    with pytest.warns(NormalisationWarning, match="renamed 'latitude' to 'lat'"):
        out = check_coarse(c)
    assert {"lat", "lon"} <= set(out.dims)


def test_irregular_grid():
    c = make_coarse()
    lon = c["lon"].values.copy()
    lon[-1] += 0.1
    c = c.assign_coords(lon=c["lon"].copy(data=lon))
    raises(check_coarse, c, match=["lon", "irregular"])


def test_duplicate_and_unsorted_times():
    t = TIMES.insert(3, TIMES[2])[:5]
    msg = raises(check_coarse, make_coarse(times=t), match=["time", "duplicate", "2020-06-03"])
    assert "drop_duplicates" in msg
    t = pd.DatetimeIndex([TIMES[i] for i in (0, 1, 3, 2, 4)])
    raises(
        check_coarse,
        make_coarse(times=t),
        match=["time", "not increasing", "2020-06-03", "position 3", "sortby"],
    )


def test_fine_must_nest_in_coarse():
    # 0.25 / 0.04 = 6.25 is not an integer
    msg = raises(
        check_fine,
        make_fine(grid=Grid(100.0, 101.0, 38.0, 39.0, 0.04)),
        coarse=make_coarse(),
        match=["fine", "coarse", "nest"],
    )
    assert "integer" in msg
    shifted = Grid(100.0, 100.95, 38.0, 39.0, 0.05)
    raises(check_fine, make_fine(grid=shifted), coarse=make_coarse(), match=["nest", "edge"])


def test_fine_must_cover_coarse_times():
    c = make_coarse(times=pd.date_range("2020-06-01", periods=7, freq="D"))
    raises(
        check_fine,
        make_fine(),
        coarse=c,
        match=["time", "2 coarse date", "2020-06-06", "2020-06-07"],
    )
    check_fine(make_fine(), coarse=make_coarse(times=TIMES[1:4]))  # fine covers more: fine


# ------------------------------------------------------------------ normalisation
def test_descending_latitude_is_normalised():
    c = make_coarse()
    flipped = c.isel(lat=slice(None, None, -1))
    with pytest.warns(NormalisationWarning, match="latitude"):
        out = check_coarse(flipped)
    xr.testing.assert_identical(out, c)


def test_0_360_longitude_is_normalised():
    g = Grid(-1.0, 1.0, 38.0, 39.0, 0.25)
    c = _gridded(g, {"sm": (0.05, 0.4, "m3 m-3")})
    wrapped = c.assign_coords(lon=c["lon"].copy(data=np.mod(c["lon"].values, 360))).sortby("lon")
    assert wrapped["lon"].values.max() > 180
    with pytest.warns(NormalisationWarning, match="longitude"):
        out = check_coarse(wrapped)
    xr.testing.assert_identical(out, c)
    assert out["sm"].attrs["units"] == "m3 m-3"


def test_normalise_transposes_dims():
    f = make_fine()
    with pytest.warns(NormalisationWarning, match="transposed"):
        out = normalise(f.transpose("lon", "lat", "time"), "fine")
    xr.testing.assert_identical(out, f)
    s = make_stations()
    with pytest.warns(NormalisationWarning):
        xr.testing.assert_identical(check_stations(s.transpose("time", "station")), s)


def test_station_longitudes_normalised():
    s = make_stations()
    s2 = s.assign_coords(lon=s["lon"].copy(data=s["lon"].values + 360))
    with pytest.warns(NormalisationWarning):
        out = normalise(s2, "stations")
    np.testing.assert_allclose(out["lon"].values, s["lon"].values)
    assert out["lon"].attrs["units"] == "degrees_east"


# ------------------------------------------------------------------ stations
def _with_outsider():
    s = make_stations()
    lat, lon = s["lat"].values.copy(), s["lon"].values.copy()
    lat[1], lon[1] = 40.5, 102.25
    return s.assign_coords(lat=s["lat"].copy(data=lat), lon=s["lon"].copy(data=lon))


def test_station_outside_raises():
    raises(
        check_stations,
        _with_outsider(),
        grid=COARSE,
        match=["Beta", "40.5", "102.25", "lon 100 to 101", "lat 38 to 39"],
    )


def test_station_outside_dropped_with_warning():
    with pytest.warns(UserWarning, match="Beta"):
        out = check_stations(_with_outsider(), grid=COARSE, on_outside="drop")
    assert list(out["name"].values) == ["Alpha", "Gamma"]


def test_station_outside_kept():
    s = _with_outsider()
    assert check_stations(s, grid=COARSE, on_outside="keep").sizes["station"] == 3
    with pytest.raises(ValueError, match="on_outside"):
        check_stations(s, grid=COARSE, on_outside="ignore")


def test_rsm_needs_soil_properties():
    raises(check_stations, make_stations().drop_vars("bulk_density"), match=["rsm", "bulk_density"])
    s = make_stations()
    s["field_capacity"].values[2] = np.nan
    raises(check_stations, s, match=["rsm", "Gamma", "field_capacity"])
    check_stations(make_stations().drop_vars("sm"))  # rsm alone is enough


def test_station_coords_required():
    raises(check_stations, make_stations().drop_vars("land_cover"), match=["land_cover", "missing"])


# ------------------------------------------------------------------ conversion
def test_relative_to_volumetric_value():
    assert relative_to_volumetric(80.0, 0.25, 1.4) == pytest.approx(0.28)
    s = make_stations()
    theta = relative_to_volumetric(s["rsm"], s["field_capacity"], s["bulk_density"])
    assert theta.dims == ("station", "time") and theta.attrs["units"] == "m3 m-3"
    assert float(theta[2, 0]) == pytest.approx(0.28)
    np.testing.assert_allclose(
        relative_to_volumetric(np.array([[80.0, 60.0]]), np.array([0.25]), 1.4), [[0.28, 0.21]]
    )


def test_stations_to_volumetric():
    s = make_stations()
    out = stations_to_volumetric(s)
    np.testing.assert_allclose(out["sm"].values[2], [0.28, np.nan, 0.21, 0.245, np.nan], rtol=1e-6)
    np.testing.assert_array_equal(out["sm"].values[:2], s["sm"].values[:2])
    assert out["sm"].attrs["units"] == "m3 m-3" and out["sm"].dtype == s["sm"].dtype
    assert np.isnan(s["sm"].values[2]).all()  # input untouched
    only_rsm = stations_to_volumetric(s.drop_vars("sm"))
    assert float(only_rsm["sm"][2, 0]) == pytest.approx(0.28)


def test_input_error_pickles():
    err = InputError("coarse", "sm", "bad", "fix it")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and back.variable == "sm"


finite = st.floats(0.0, 200.0, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(r1=finite, r2=finite, a=st.floats(-5, 5), fc=st.floats(0.05, 0.6), bd=st.floats(0.8, 2.0))
def test_relative_to_volumetric_is_linear(r1, r2, a, fc, bd):
    lhs = relative_to_volumetric(a * r1 + r2, fc, bd)
    rhs = a * relative_to_volumetric(r1, fc, bd) + relative_to_volumetric(r2, fc, bd)
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


maybe = st.one_of(st.just(np.nan), st.floats(0.0, 0.6))


@settings(max_examples=50, deadline=None)
@given(
    sm=arrays(np.float32, (3, 5), elements=maybe),
    rsm=arrays(
        np.float32, (3, 5), elements=st.one_of(st.just(np.nan), st.floats(0.0, 150.0, width=32))
    ),
)
def test_stations_to_volumetric_never_overwrites(sm, rsm):
    s = make_stations()
    s["sm"].values[:] = sm
    s["rsm"].values[:] = rsm
    out = stations_to_volumetric(s)["sm"].values
    have = np.isfinite(sm)
    np.testing.assert_array_equal(out[have], sm[have])
    gets = ~have & np.isfinite(rsm) & np.isfinite(s["field_capacity"].values)[:, None]
    assert np.isfinite(out[gets]).all()
    assert np.isnan(out[~have & ~gets]).all()


# ------------------------------------------------------------------ dask
def test_checks_on_dask_inputs_match():
    c, f, s = make_coarse(), make_fine(), make_stations()
    cc, fc, sc = c.chunk({"time": 2}), f.chunk({"time": 2}), s.chunk({"time": 2})
    oc, of, os_ = check_coarse(cc), check_fine(fc, coarse=cc), check_stations(sc, grid=COARSE)
    assert oc["sm"].chunks is not None and of["lst"].chunks is not None  # still lazy
    xr.testing.assert_identical(oc.compute(), check_coarse(c))
    xr.testing.assert_identical(of.compute(), check_fine(f, coarse=c))
    xr.testing.assert_identical(os_.compute(), check_stations(s, grid=COARSE))
    bad = make_fine()
    bad["lst"] = bad["lst"] - 273.15
    bad["lst"].attrs["units"] = "K"
    with pytest.raises(InputError) as eager:
        check_fine(bad)
    with pytest.raises(InputError) as lazy:
        check_fine(bad.chunk({"time": 2}))
    assert str(lazy.value) == str(eager.value)


def test_products_of_smkit_01_open_with_the_new_dimension_name(tmp_path):
    """A 0.1 store (``sm(method, ...)``) opens as ``sm(model, ...)`` with a warning; resuming it is refused."""
    import warnings

    from smkit.core.schema import rename_legacy
    from smkit.validate import match_stations  # noqa: F401  (old keyword still accepted below)
    from smkit.workflow.explorer_data import open_product

    old = xr.Dataset(
        {"sm": (("method", "time", "lat", "lon"), np.full((2, 3, 2, 2), 0.2, np.float32), {"units": "m3 m-3"})},
        coords={"method": ["rf", "mlr"], "time": pd.date_range("2009-07-01", periods=3),
                "lat": [40.0, 40.01], "lon": [100.0, 100.01]},
    )
    old.to_zarr(tmp_path / "old.zarr", consolidated=False)
    with pytest.warns(DeprecationWarning, match="smkit 0.1"):
        ds = open_product(tmp_path / "old.zarr")
    assert ds["sm"].dims == ("model", "time", "lat", "lon")
    assert ds.sel(model="rf")["sm"].dims == ("time", "lat", "lon")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rename_legacy(ds) is ds  # a current product is left alone, silently


def test_old_keywords_and_names_warn_and_forward():
    import smkit.validate as validate
    from smkit.core import vocabulary

    with pytest.warns(DeprecationWarning, match="MODEL_LABELS"):
        assert vocabulary.METHOD_LABELS is vocabulary.MODEL_LABELS
    with pytest.warns(DeprecationWarning, match="model_label"):
        assert validate.method_label is validate.model_label
