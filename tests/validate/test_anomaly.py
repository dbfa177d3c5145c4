"""Climatologies, anomalies and anomaly R against pytesmo.time_series.anomaly."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from cadati.conv_doy import doy
from pytesmo.metrics import pearson_r
from pytesmo.time_series.anomaly import calc_anomaly, calc_climatology

from smkit.validate.anomaly import DAYS, anomalies, anomaly_r, climatology, day_of_year, moving_mean

TOL = 1e-10


def station_series(seed=0, start="2007-03-10", end="2010-11-20", nan_frac=0.2, keep=0.8):
    """A seasonal series with noise, missing values and missing rows (an irregular index)."""
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, end)
    v = 0.25 + 0.05 * np.sin(2 * np.pi * np.asarray(t.day_of_year) / 365.25) + rng.normal(0, 0.02, t.size)
    v[rng.random(t.size) < nan_frac] = np.nan
    s = pd.Series(v, index=t, name="sm")
    return s[rng.random(t.size) < keep]


def pytesmo(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def test_day_of_year_is_cadatis():
    t = pd.date_range("2007-12-25", "2009-03-05")
    for leap in (False, True):
        theirs = doy(np.asarray(t.month), np.asarray(t.day), np.asarray(t.year) if leap else None)
        assert np.array_equal(day_of_year(t, leap), theirs)


@pytest.mark.parametrize("kwargs", [
    {}, {"median": True}, {"respect_leap_years": True}, {"wraparound": False}, {"fillna": False},
    {"moving_avg_orig": 3, "moving_avg_clim": 20, "min_obs_orig": 2, "min_obs_clim": 5}, {"fill": -1.0},
], ids=str)
@pytest.mark.parametrize("seed", [0, 1])
def test_climatology_is_pytesmos(kwargs, seed):
    s = station_series(seed)
    theirs = pytesmo(calc_climatology, s, **kwargs)
    ours = climatology(s, **kwargs)
    assert list(ours.index) == list(range(1, DAYS + 1))
    np.testing.assert_array_equal(np.isnan(ours.to_numpy()), np.isnan(theirs.to_numpy()))
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=TOL)


def test_a_short_record_leaves_slots_without_climatology_as_pytesmo_does():
    s = station_series(2, start="2009-04-01", end="2009-07-31", keep=1.0)
    theirs = pytesmo(calc_climatology, s)
    ours = climatology(s)
    assert np.isnan(ours.loc[1]) and np.isfinite(ours.loc[150])
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("leap", [True, False])
def test_climatology_anomalies_are_pytesmos(leap):
    s = station_series(3)
    clim = pytesmo(calc_climatology, s)
    theirs = pytesmo(calc_anomaly, s, climatology=clim, respect_leap_years=leap)
    ours = anomalies(s, respect_leap_years=leap)
    assert ours.index.equals(s.index)
    np.testing.assert_array_equal(ours.isna(), theirs.isna())
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL)
    given = anomalies(s, climatology(s), respect_leap_years=leap)  # a climatology passed in
    np.testing.assert_allclose(given, theirs, rtol=0, atol=TOL)


def test_the_default_lookup_uses_the_climatologys_own_numbering():
    s = station_series(4)
    clim = climatology(s, respect_leap_years=True)
    assert clim.attrs.get("respect_leap_years", None) is None  # a Series carries no attributes...
    da = s.to_xarray().rename(index="time")
    c = climatology(da, respect_leap_years=True)
    assert c.attrs["respect_leap_years"] == 1  # ...a DataArray does, and the lookup follows it
    theirs = pytesmo(calc_anomaly, s, climatology=pytesmo(calc_climatology, s, respect_leap_years=True),
                     respect_leap_years=True)
    np.testing.assert_allclose(anomalies(da, c).values, theirs.to_numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("window", [35, 30, 7.5])
def test_moving_anomalies_are_pytesmos(window):
    s = station_series(5)
    theirs = pytesmo(calc_anomaly, s, window_size=window)
    ours = anomalies(s, "moving", window=window)
    np.testing.assert_array_equal(ours.isna(), theirs.isna())
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=TOL)
    np.testing.assert_allclose(moving_mean(s, window), s - theirs, rtol=0, atol=TOL)


def test_per_pixel_climatology_matches_pytesmo_at_every_pixel_and_stays_lazy():
    rng = np.random.default_rng(6)
    t = pd.date_range("2008-01-01", "2010-12-31")
    season = 0.06 * np.sin(2 * np.pi * np.asarray(t.day_of_year) / 366)
    v = 0.25 + season[:, None, None] + rng.normal(0, 0.03, (t.size, 2, 3))
    v[rng.random(v.shape) < 0.3] = np.nan
    cube = xr.DataArray(v, dims=("time", "lat", "lon"), coords={"time": t}, attrs={"units": "m3 m-3"})
    clim = climatology(cube)
    anom = anomalies(cube)
    assert clim.dims == ("lat", "lon", "dayofyear") and clim.attrs["units"] == "m3 m-3"
    assert anom.dims == cube.dims
    for i in range(2):
        for j in range(3):
            s = cube[:, i, j].to_series()
            c = pytesmo(calc_climatology, s)
            np.testing.assert_allclose(clim[i, j].values, c.to_numpy(), rtol=0, atol=TOL)
            a = pytesmo(calc_anomaly, s, climatology=c, respect_leap_years=False)
            np.testing.assert_allclose(anom[:, i, j].values, a.to_numpy(), rtol=0, atol=TOL)
    lazy = anomalies(cube.chunk({"lat": 1}))
    assert lazy.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), anom)


def test_anomaly_r_is_pytesmos_r_of_pytesmos_anomalies():
    obs = station_series(7, nan_frac=0.3)
    rng = np.random.default_rng(8)
    prod = 0.8 * obs + 0.03 + pd.Series(rng.normal(0, 0.015, obs.size), index=obs.index)
    prod[rng.random(obs.size) < 0.1] = np.nan
    both = obs.notna() & prod.notna()
    for kind, kwargs in (("doy", {}), ("moving", {"window_size": 35})):
        if kind == "doy":
            ao, ap = (pytesmo(calc_anomaly, s.where(both), respect_leap_years=False,
                              climatology=pytesmo(calc_climatology, s.where(both))) for s in (obs, prod))
        else:
            ao, ap = (pytesmo(calc_anomaly, s.where(both), **kwargs) for s in (obs, prod))
        ok = ao.notna() & ap.notna()
        assert anomaly_r(prod, obs, climatology=kind) == pytest.approx(pearson_r(ap[ok], ao[ok]), abs=TOL)
    da = xr.concat([prod.to_xarray(), obs.to_xarray()], "model").rename(index="time")
    r = anomaly_r(da, obs.to_xarray().rename(index="time"))
    assert r.dims == ("model",) and float(r[1]) == pytest.approx(1.0)


def test_station_scores_anomalies_are_a_centred_pandas_rolling_mean_on_the_daily_axis():
    from smkit.validate import skill

    rng = np.random.default_rng(10)
    t = pd.date_range("2009-01-01", "2010-12-31")
    t = t[rng.random(t.size) < 0.5]  # the stamps of pentad, dekad and daily stations together
    v = rng.normal(0.25, 0.05, (4, t.size))
    v[rng.random(v.shape) < 0.6] = np.nan
    ours = skill._moving_anomaly(v, t, skill.ANOMALY_WINDOW)
    for k in range(4):
        daily = pd.Series(v[k], index=t).asfreq("D")
        least = max(3, skill.ANOMALY_WINDOW // 7)
        mean = daily.rolling(skill.ANOMALY_WINDOW, center=True, min_periods=least).mean()
        np.testing.assert_allclose(ours[k], v[k] - mean.reindex(t).to_numpy(), rtol=0, atol=TOL)


def test_bad_series_are_refused_with_what_to_do():
    s = station_series(9)
    with pytest.raises(ValueError, match="not in ascending order"):
        climatology(s.iloc[::-1])
    with pytest.raises(TypeError, match="DatetimeIndex"):
        anomalies(s.reset_index(drop=True))
    with pytest.raises(ValueError, match="has no dimension 'time'"):
        climatology(xr.DataArray(s.to_numpy(), dims="day"))
    with pytest.raises(ValueError, match="moving_avg_clim"):
        climatology(s, moving_avg_clim=400)
    with pytest.raises(TypeError, match="options"):
        anomalies(s, climatology(s), moving_avg_clim=20)
    with pytest.raises(TypeError, match="both be pandas Series"):
        anomaly_r(s, s.to_xarray())
