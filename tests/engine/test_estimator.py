"""Downscaler: fit on one period, predict on another; equal to downscale on the same windows."""

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone

from smkit import Config, Downscaler, InputError, downscale
from smkit.engine import NotFittedError

JULY = {"time": slice("2009-07-01", "2009-07-10")}


def test_fit_then_predict_equals_downscale(tiny):
    c, f = tiny.coarse.sel(JULY), tiny.fine.sel(JULY)
    ds = Downscaler(learners=("mlr", "rf"), progress=False).fit(c, f)
    xr.testing.assert_identical(ds.predict(c, f), downscale(c, f, learners=("mlr", "rf"), progress=False))
    assert set(ds.config_.params) == {"mlr", "rf"} and ds.factor_ == 10


def test_fit_on_one_year_predict_on_the_next_is_the_composition_of_its_steps(tiny):
    """Sub-grid pattern learned from the 2009 stations, applied to days of 2010 on their own windows."""
    from smkit.engine.subgrid import apply_subgrid, fit_subgrid, station_table

    sel = {"time": slice("2009-06-01", "2010-07-31")}
    c, f = tiny.coarse.sel(sel), tiny.fine.sel(sel)
    fit_on, new = slice("2009-06-01", "2009-09-30"), slice("2010-06-01", "2010-06-20")
    ds = Downscaler(learners=("mlr",), progress=False).fit(c, f, tiny.stations, period=fit_on)
    assert ds.subgrid_models_ and ds.period_ == ("2009-06-01", "2009-09-30")
    got = ds.predict(c, f, days=new)
    # by hand: the windowed product of the fitting days, the station table of those days, the fit, the
    # windowed product of the new days (its windows see the inputs' neighbouring days) and the correction
    windowed = downscale(c, f, learners=("mlr",), progress=False, days=new)
    table = station_table(downscale(c, f, learners=("mlr",), progress=False, days=fit_on), f, tiny.stations,
                          time=fit_on)
    want = apply_subgrid(windowed, f, fit_subgrid(table, ["mlr"]))
    np.testing.assert_array_equal(got["sm"].values, want["sm"].values)
    # with the fitting period covering the whole input, the one-call form gives the same
    whole = {"time": slice("2009-06-01", "2009-07-15")}
    cw, fw = tiny.coarse.sel(whole), tiny.fine.sel(whole)
    one_call = downscale(cw, fw, learners=("mlr",), progress=False, stations=tiny.stations)
    fitted = Downscaler(learners=("mlr",), progress=False).fit(cw, fw, tiny.stations).predict(cw, fw)
    np.testing.assert_array_equal(fitted["sm"].values, one_call["sm"].values)
    # the 2010 observations played no part: hiding them changes nothing
    hidden = tiny.stations.copy()
    hidden["sm"] = hidden["sm"].where(hidden["time"] < np.datetime64("2010-01-01"))
    again = Downscaler(learners=("mlr",), progress=False).fit(c, f, hidden, period=fit_on).predict(c, f, days=new)
    np.testing.assert_array_equal(again["sm"].values, got["sm"].values)


def test_predict_on_inputs_without_the_fitting_days(tiny):
    fit_days, new_days = {"time": slice("2009-07-01", "2009-07-05")}, {"time": slice("2010-07-01", "2010-07-04")}
    ds = Downscaler(learners=("mlr",), progress=False).fit(tiny.coarse.sel(fit_days), tiny.fine.sel(fit_days))
    p = ds.predict(tiny.coarse.sel(new_days), tiny.fine.sel(new_days))
    assert str(p["time"].values[0])[:10] == "2010-07-01" and np.isfinite(p["sm"].values).mean() > 0.5


def test_parameters_follow_scikit_learn(tiny):
    ds = Downscaler(learners=("mlr",), sw_max=7, progress=False)
    params = ds.get_params()
    assert params["config__sw_max"] == 7 and params["progress"] is False and isinstance(params["config"], Config)
    twin = clone(ds)
    assert twin.config == ds.config and twin is not ds
    ds.set_params(config__sw_max=5, nd_max=2, workers=1)
    assert (ds.config.sw_max, ds.config.nd_max, ds.workers) == (5, 2, 1)
    with pytest.raises(ValueError, match="invalid parameter 'swmax'"):
        ds.set_params(swmax=3)
    with pytest.raises(TypeError):
        Downscaler(learner=("mlr",))
    assert repr(ds) == "Downscaler(learners=('mlr',), nd_max=2, workers=1, progress=False)"


def test_predict_refuses_before_fit_and_on_another_nesting(tiny):
    c, f = tiny.coarse.sel(JULY), tiny.fine.sel(JULY)
    ds = Downscaler(learners=("mlr",), progress=False)
    with pytest.raises(NotFittedError, match="call fit"):
        ds.predict(c, f)
    ds.fit(c, f)
    coarser = f.coarsen(lat=2, lon=2).mean()
    coarser["dem"] = coarser["dem"].isel(time=0, drop=True) if "time" in coarser["dem"].dims else coarser["dem"]
    with pytest.raises(ValueError, match="nest 5 fine pixels per coarse cell; this Downscaler was fitted with 10"):
        ds.predict(c, coarser)
    bad = c.copy()
    bad["sm"] = bad["sm"] * 100
    bad["sm"].attrs["units"] = "%"
    with pytest.raises(InputError):
        ds.predict(bad, f)
    set_fitted = Downscaler(learners=("mlr",), progress=False).fit(c, f).set_params(sw_max=7)
    with pytest.raises(NotFittedError):
        set_fitted.predict(c, f)
