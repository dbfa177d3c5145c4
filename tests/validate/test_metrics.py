import warnings

import dask
import numpy as np
import pytest
import scipy.stats
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import smkit.validate.metrics as M
from smkit.validate.metrics import METRICS, all_metrics, bias, get_metric, mae, n, r, rmse, ubrmse

NAMES = ("r", "rmse", "mae", "bias", "ubrmse", "n")
TOL = 1e-10


# ----------------------------------------------------------------- helpers --
def reference(x, y):
    """Independent plain-NumPy / SciPy metrics on the complete pairs of two 1-D series."""
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok].astype(np.float64), y[ok].astype(np.float64)
    if xs.size == 0:
        return dict.fromkeys(NAMES[:-1], np.nan) | {"n": 0}
    d = xs - ys
    out = {
        "rmse": np.sqrt(np.mean(d**2)),
        "mae": np.mean(np.abs(d)),
        "bias": np.mean(d),
        "n": xs.size,
    }
    out["ubrmse"] = np.sqrt(max(out["rmse"] ** 2 - out["bias"] ** 2, 0.0))
    out["r"] = scipy.stats.pearsonr(xs, ys).statistic if xs.size >= 2 else np.nan
    return out


def sm_pair(seed=0, shape=(120, 6, 7), nan_frac=0.2):
    """Random product/reference soil-moisture cubes (time, lat, lon) with NaNs in both."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.05, 0.45, shape)
    x = 0.8 * y + 0.05 + rng.normal(0, 0.04, shape)
    x[rng.random(shape) < nan_frac] = np.nan
    y[rng.random(shape) < nan_frac] = np.nan
    x[rng.random(shape) < 0.01] = np.inf  # non-finite, not a pair either
    coords = {
        "time": np.arange(shape[0]),
        "lat": np.linspace(40, 41, shape[1]),
        "lon": np.linspace(100, 101, shape[2]),
    }
    attrs = {"units": "m3 m-3"}
    return (
        xr.DataArray(x, dims=("time", "lat", "lon"), coords=coords, attrs=attrs, name="sm"),
        xr.DataArray(y, dims=("time", "lat", "lon"), coords=coords, attrs=attrs, name="sm"),
    )


def no_warnings(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    assert rec == [], [str(w.message) for w in rec]
    return out


def _forbid_compute(dsk, keys, **kwargs):
    raise AssertionError("a dask graph was computed before .compute()")


# ------------------------------------------------------------- agreement --
@pytest.mark.parametrize("name", NAMES)
def test_scalar_agrees_with_reference(name):
    x, y = sm_pair(seed=1)
    xs, ys = x.values[:, 2, 3], y.values[:, 2, 3]
    got = METRICS[name](xs, ys)
    assert np.ndim(got) == 0 and isinstance(got, np.generic)
    np.testing.assert_allclose(got, reference(xs, ys)[name], rtol=TOL, atol=TOL)


def test_maps_agree_with_per_pixel_reference():
    x, y = sm_pair(seed=2)
    maps = all_metrics(x, y, dim="time")
    assert isinstance(maps, xr.Dataset) and set(maps.data_vars) == set(NAMES)
    for name in NAMES:
        assert maps[name].dims == ("lat", "lon")
        single = METRICS[name](x, y, dim="time")
        np.testing.assert_array_equal(single.values, maps[name].values)
    for i, j in [(0, 0), (1, 4), (3, 2), (5, 6)]:
        ref = reference(x.values[:, i, j], y.values[:, i, j])
        for name in NAMES:
            got = maps[name].values[i, j]
            np.testing.assert_allclose(got, ref[name], rtol=TOL, atol=TOL, err_msg=name)
    assert maps["n"].dtype == np.int64
    assert all(maps[v].dtype == np.float64 for v in NAMES if v != "n")


def test_numpy_axes_and_full_reduction():
    x, y = (a.values for a in sm_pair(seed=3, shape=(40, 3, 4)))
    for name in NAMES:
        f = METRICS[name]
        per_pixel = f(x, y, axis=0)
        assert per_pixel.shape == (3, 4)
        np.testing.assert_array_equal(per_pixel, f(x, y, axis=(0,)))
        np.testing.assert_array_equal(per_pixel, f(x, y, axis=-3))
        # reducing time and lon leaves lat; compare with the flattened reference
        ref = [reference(x[:, i, :].ravel(), y[:, i, :].ravel())[name] for i in range(3)]
        np.testing.assert_allclose(f(x, y, axis=(0, 2)), ref, rtol=TOL, atol=TOL)
        full = reference(x.ravel(), y.ravel())[name]
        np.testing.assert_allclose(f(x, y), full, rtol=TOL, atol=TOL)


def test_broadcasting_reference_series_over_pixels():
    x, y = sm_pair(seed=4, shape=(60, 2, 3))
    station = y.isel(lat=0, lon=0, drop=True)  # (time,)
    got = rmse(x, station, dim="time")
    assert got.dims == ("lat", "lon")
    ref = reference(x.values[:, 1, 2], station.values)["rmse"]
    np.testing.assert_allclose(got.values[1, 2], ref, rtol=TOL)
    on_numpy = rmse(x.values, station.values[:, None, None], axis=0)
    np.testing.assert_array_equal(on_numpy, got.values)


def test_int_and_float32_inputs_accumulate_in_float64():
    x = np.array([1, 2, 3, 4])
    y = np.array([1, 3, 2, 4])
    assert rmse(x, y) == pytest.approx(np.sqrt(0.5))
    assert r(x, y).dtype == np.float64
    xf = xr.DataArray(np.float32([0.1, 0.2, 0.3]), dims="t")
    out = rmse(xf, xf * 0 + np.float32(0.1), dim="t")
    assert out.dtype == np.float64


# ------------------------------------------------------------ properties --
series = hnp.arrays(
    np.float64, st.integers(3, 40),
    elements=st.floats(0.0, 0.6, allow_nan=False, allow_infinity=False),
)
gappy = st.floats(0.0, 0.6) | st.just(np.nan)


def _spread(a):
    return float(np.std(a))


@settings(max_examples=60, deadline=None)
@given(series)
def test_r_with_itself_is_one(x):
    assume(np.ptp(x) > 0)
    assert r(x, x) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ubrmse_le_rmse_and_r_symmetric(data):
    x = data.draw(series)
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=gappy))
    assert ubrmse(x, y) <= rmse(x, y) or np.isnan(rmse(x, y))
    assert mae(x, y) <= rmse(x, y) * (1 + 1e-12) or np.isnan(rmse(x, y))
    a, b = r(x, y), r(y, x)
    assert a == b or (np.isnan(a) and np.isnan(b))
    assert n(x, y) == np.sum(np.isfinite(x) & np.isfinite(y))


@settings(max_examples=60, deadline=None)
@given(st.data(), st.floats(-0.5, 0.5))
def test_constant_offset(data, c):
    x = data.draw(series)
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(0.0, 0.6)))
    assume(_spread(x) > 1e-3 and _spread(y) > 1e-3)
    base, shifted = all_metrics(x, y), all_metrics(x + c, y)
    assert shifted["bias"] == pytest.approx(base["bias"] + c, abs=1e-12)
    assert shifted["ubrmse"] == pytest.approx(base["ubrmse"], abs=1e-12)
    assert shifted["r"] == pytest.approx(base["r"], abs=1e-9)
    # rmse moves with the bias: rmse^2 = ubrmse^2 + bias^2
    assert shifted["rmse"] == pytest.approx(np.hypot(base["ubrmse"], base["bias"] + c), abs=1e-12)
    assert shifted["n"] == base["n"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_invariant_to_permuting_pairs(data):
    x = data.draw(series)
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=gappy))
    perm = data.draw(st.permutations(range(x.size)))
    base, permuted = all_metrics(x, y), all_metrics(x[perm], y[perm])
    assert permuted["n"] == base["n"]
    for name in NAMES[:-1]:
        np.testing.assert_allclose(permuted[name], base[name], rtol=1e-12, atol=1e-13, err_msg=name)


# ------------------------------------------------------------ edge cases --
def test_no_overlap_is_nan_with_n_zero_and_no_warning():
    x = np.array([0.1, np.nan, 0.3, np.nan])
    y = np.array([np.nan, 0.2, np.nan, 0.4])
    out = no_warnings(all_metrics, x, y)
    assert out["n"] == 0
    assert all(np.isnan(out[k]) for k in NAMES[:-1])
    for name in NAMES:  # the single-metric functions too
        no_warnings(METRICS[name], x, y)
    # a map where some pixels never overlap
    xa, ya = sm_pair(seed=5, shape=(20, 2, 2))
    xa[:, 0, 0] = np.nan
    ds = no_warnings(all_metrics, xa, ya, dim="time")
    assert int(ds["n"][0, 0]) == 0 and np.isnan(ds["rmse"][0, 0]) and np.isnan(ds["r"][0, 0])
    assert int(ds["n"][1, 1]) > 0 and np.isfinite(ds["rmse"][1, 1])


def test_all_nan_product_and_empty_input():
    y = np.linspace(0.1, 0.4, 10)
    out = no_warnings(all_metrics, np.full(10, np.nan), y)
    assert out["n"] == 0 and np.isnan(out["bias"]) and np.isnan(out["r"])
    empty = no_warnings(all_metrics, np.array([]), np.array([]))
    assert empty["n"] == 0 and np.isnan(empty["rmse"])
    xa = xr.DataArray(np.full((5, 3), np.nan), dims=("time", "pixel"))
    ya = xr.DataArray(np.ones((5, 3)), dims=("time", "pixel"))
    ds = no_warnings(all_metrics, xa, ya, dim="time")
    assert (ds["n"] == 0).all() and ds["ubrmse"].isnull().all()


def test_one_pair_and_constant_series():
    out = no_warnings(all_metrics, np.array([0.3, np.nan]), np.array([0.2, 0.25]))
    assert out["n"] == 1 and np.isnan(out["r"])
    assert out["bias"] == pytest.approx(0.1) and out["rmse"] == pytest.approx(0.1)
    assert out["mae"] == pytest.approx(0.1) and out["ubrmse"] == 0.0
    # zero variance: r is NaN, the error metrics are defined
    const = no_warnings(all_metrics, np.full(5, 0.1), np.linspace(0.1, 0.3, 5))
    assert np.isnan(const["r"]) and const["n"] == 5 and np.isfinite(const["rmse"])
    assert np.isnan(no_warnings(r, np.linspace(0, 1, 5), np.full(5, 0.3)))


def test_skipna_false_propagates_missing_pairs():
    x = np.array([[0.1, 0.2, 0.3], [0.1, np.nan, 0.3]])
    y = np.array([[0.1, 0.25, 0.2], [0.2, 0.2, 0.2]])
    got = rmse(x, y, axis=1, skipna=False)
    assert np.isfinite(got[0]) and np.isnan(got[1])
    np.testing.assert_array_equal(n(x, y, axis=1, skipna=False), [3, 2])


# ----------------------------------------------------------------- xarray --
def test_units_and_names():
    x, y = sm_pair(seed=6, shape=(10, 2, 2))
    for name in NAMES:
        out = METRICS[name](x, y, dim="time")
        assert out.name == name
        assert out.attrs["units"] == ("1" if name in {"r", "n"} else "m3 m-3")
    x2, y2 = x.copy(), y.copy()
    x2.attrs, y2.attrs = {}, {}
    assert "units" not in rmse(x2, y2, dim="time").attrs
    assert r(x2, y2, dim="time").attrs["units"] == "1"
    y2.attrs["units"] = "%"
    with pytest.raises(ValueError, match="units"):
        rmse(x, y2)


def test_dim_argument_forms_and_coordinates():
    x, y = sm_pair(seed=7, shape=(30, 3, 4))
    full = rmse(x, y)
    assert full.dims == ()
    assert float(full) == pytest.approx(float(rmse(x.values, y.values)), rel=1e-12)
    space = rmse(x, y, dim=("lat", "lon"))
    assert space.dims == ("time",) and np.array_equal(space["time"], x["time"])
    ref = [reference(x.values[t].ravel(), y.values[t].ravel())["rmse"] for t in range(30)]
    np.testing.assert_allclose(space.values, ref, rtol=TOL)
    np.testing.assert_allclose(rmse(x, y, dim=["lon", "lat"]).values, space.values, rtol=1e-14)
    with pytest.raises(ValueError, match="not found"):
        rmse(x, y, dim="depth")


def test_misaligned_coordinates_raise():
    x, y = sm_pair(seed=8, shape=(10, 2, 2))
    with pytest.raises(ValueError, match="do not align"):
        rmse(x, y.isel(time=slice(1, None)), dim="time")
    with pytest.raises(ValueError, match="do not align"):
        all_metrics(x, y.assign_coords(lat=y["lat"] + 0.5))


def test_type_errors():
    x, y = sm_pair(seed=9, shape=(5, 2, 2))
    with pytest.raises(TypeError):
        rmse(x, y.values)
    with pytest.raises(TypeError, match="axis"):
        rmse(x, y, axis=0)
    with pytest.raises(TypeError, match="dim"):
        rmse(x.values, y.values, dim="time")


def test_dask_stays_lazy_and_matches_eager():
    x, y = sm_pair(seed=10, shape=(90, 8, 6))
    xc = x.chunk({"time": 30, "lat": 4})  # the reduced dim spans several chunks
    yc = y.chunk({"time": 45, "lon": 3})
    eager = all_metrics(x, y, dim="time")
    with dask.config.set(scheduler=_forbid_compute):
        lazy = all_metrics(xc, yc, dim="time")
        single = ubrmse(xc, y, dim=["time", "lon"])  # mixed dask / numpy inputs
        assert all(lazy[v].chunks is not None for v in NAMES)
        assert single.chunks is not None
    assert lazy["n"].dtype == np.int64 and lazy["r"].dtype == np.float64
    computed = lazy.compute()
    for name in NAMES:
        np.testing.assert_array_equal(computed[name].values, eager[name].values, err_msg=name)
        assert computed[name].attrs == eager[name].attrs
    eager_single = ubrmse(x, y, dim=["time", "lon"])
    np.testing.assert_array_equal(single.compute().values, eager_single.values)


# -------------------------------------------------------------- registry --
def test_registry_and_get_metric():
    assert tuple(METRICS) == NAMES
    assert get_metric("rmse") is rmse and get_metric("bias") is bias
    assert get_metric("ubRMSE") is ubrmse
    with pytest.raises(KeyError, match="valid names: r, rmse, mae, bias, ubrmse, n"):
        get_metric("nse")


def test_kernels_reduce_tuple_axes():
    rng = np.random.default_rng(11)
    x = rng.random((4, 5, 6))
    y = rng.random((1, 5, 6))  # broadcastable
    for name in NAMES:
        kern = getattr(M, f"_{name}")
        out = kern(x, y, axis=(0, 2))
        assert isinstance(out, np.ndarray) and out.shape == (5,)
    np.testing.assert_allclose(
        M._rmse(x, y, axis=(0, 2)), np.sqrt(((x - y) ** 2).mean(axis=(0, 2))), rtol=1e-12
    )
