"""Mean-std and CDF-matching scaling against pytesmo.scaling."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pytesmo.scaling import cdf_match, mean_std

from smkit.validate.scaling import SCALERS, scale, scale_cdf_match, scale_mean_std

TOL = 1e-10


def product_and_reference(n, seed=0, discrete=False):
    """A skewed reference and a product with another distribution (sqrt) and noise."""
    rng = np.random.default_rng(seed)
    y = rng.gamma(4.0, 0.05, n)
    x = np.sqrt(y) + rng.normal(0, 0.03, n)
    if discrete:  # values on few levels: repeated percentiles
        y, x = np.round(y, 2), np.round(x, 1)
    return x, y


def theirs(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytesmo warns when it resizes bins
        return func(*args, **kwargs)


@pytest.mark.parametrize("kwargs", [
    {}, {"linear_edge_scaling": False}, {"minobs": None}, {"nbins": 10}, {"min_val": 0.05, "max_val": 0.4},
], ids=str)
@pytest.mark.parametrize(("n", "discrete"), [(15, False), (45, False), (150, False), (3000, False),
                                             (150, True), (3000, True)])
def test_cdf_match_is_pytesmos(n, discrete, kwargs):
    for seed in range(2):
        x, y = product_and_reference(n, seed, discrete)
        if discrete and kwargs.get("minobs", 20) is None:  # pytesmo stops there (LinAlgError at an edge)
            out = scale_cdf_match(x, y, **kwargs)  # a monotone map all the same
            assert np.isfinite(out).all() and (np.diff(out[np.argsort(x, kind="stable")]) >= -1e-12).all()
            continue
        ref = theirs(cdf_match, x, y, **kwargs)
        np.testing.assert_allclose(scale_cdf_match(x, y, **kwargs), ref, rtol=0, atol=TOL)


def test_cdf_match_uses_the_complete_pairs_as_pytesmos_combine_invalid():
    x, y = product_and_reference(800, 3)
    rng = np.random.default_rng(3)
    x[rng.random(800) < 0.1] = np.nan
    y[rng.random(800) < 0.3] = np.nan
    ours = scale_cdf_match(x, y)
    np.testing.assert_allclose(ours, theirs(cdf_match, x, y), rtol=0, atol=TOL)
    assert np.isfinite(ours[np.isfinite(x) & np.isnan(y)]).all()  # every product value is scaled


def test_mean_std_is_pytesmos_on_the_complete_pairs():
    x, y = product_and_reference(500, 4)
    np.testing.assert_allclose(scale_mean_std(x, y), mean_std(x, y), rtol=0, atol=TOL)
    y[::7] = np.nan
    ok = np.isfinite(y)
    ours = scale_mean_std(x, y)
    np.testing.assert_allclose(ours[ok], mean_std(x[ok], y[ok]), rtol=0, atol=TOL)
    gain = (ours[1] - ours[0]) / (x[1] - x[0])  # the same map for the values without a reference
    np.testing.assert_allclose(ours[~ok], ours[0] + gain * (x[~ok] - x[0]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["mean_std", "cdf_match"])
def test_every_pixel_and_learner_is_scaled_to_its_own_reference_and_dask_stays_lazy(method):
    rng = np.random.default_rng(5)
    t = pd.date_range("2009-01-01", periods=200)
    y = xr.DataArray(rng.gamma(4.0, 0.05, (200, 2, 3)), dims=("time", "lat", "lon"), coords={"time": t},
                     attrs={"units": "m3 m-3"})
    noise = xr.DataArray(rng.normal(0, 0.01, (2, 200, 2, 3)), dims=("model", "time", "lat", "lon"))
    x = (np.sqrt(y) * xr.DataArray([1.0, 2.0], dims="model") + noise).transpose("model", "time", "lat", "lon")
    out = scale(x, y, method)
    assert out.dims == x.dims and out.attrs["units"] == "m3 m-3"
    pyfunc = {"mean_std": mean_std, "cdf_match": cdf_match}[method]
    for m in range(2):
        for i in range(2):
            for j in range(3):
                ref = theirs(pyfunc, x.values[m, :, i, j], y.values[:, i, j])
                np.testing.assert_allclose(out.values[m, :, i, j], ref, rtol=0, atol=TOL)
    lazy = scale(x.chunk({"lat": 1}), y.chunk({"lat": 1}), method)
    assert lazy.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), out)


def test_station_series_and_numpy_axes():
    x, y = product_and_reference(300, 6)
    idx = pd.date_range("2009-01-01", periods=300)
    out = scale_cdf_match(pd.Series(x, index=idx, name="rf"), pd.Series(y, index=idx))
    assert isinstance(out, pd.Series) and out.name == "rf" and out.index.equals(idx)
    np.testing.assert_allclose(out.to_numpy(), theirs(cdf_match, x, y), rtol=0, atol=TOL)
    both = scale_mean_std(np.stack([x, 2 * x], axis=0).T, y[:, None], axis=0)
    np.testing.assert_allclose(both[:, 0], both[:, 1], rtol=0, atol=TOL)  # the gain does not matter


def test_too_few_pairs_and_unknown_methods_are_refused_with_counts():
    x, y = product_and_reference(30, 7)
    y[3:] = np.nan
    with pytest.raises(ValueError, match="CDF matching needs at least 10 complete pairs; found 3"):
        scale_cdf_match(x, y, min_pairs=10)
    with pytest.raises(ValueError, match="mean-std scaling needs at least 5 complete pairs; found 3"):
        scale_mean_std(x, y, min_pairs=5)
    assert np.isnan(scale_mean_std(x, y, min_pairs=5, too_few="nan")).all()
    with pytest.raises(KeyError, match="valid methods: mean_std, cdf_match"):
        scale(x, y, "linreg")
    assert set(SCALERS) == {"mean_std", "cdf_match"}
    with pytest.raises(ValueError, match="do not align"):
        scale_mean_std(xr.DataArray(x, dims="time", coords={"time": np.arange(30)}),
                       xr.DataArray(y, dims="time", coords={"time": np.arange(1, 31)}))
