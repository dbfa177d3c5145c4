import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.engine import downscale
from smkit.engine.features import smooth_native
from smkit.engine.subgrid import (
    SubgridModel,
    apply_subgrid,
    design,
    feature_names,
    fit_subgrid,
    station_table,
)
from smkit.validate import seam_ratio

COVS = ("lst", "ndvi", "albedo", "precip", "dem")


@pytest.fixture(scope="module")
def product(tiny):
    return downscale(tiny.coarse, tiny.fine, learners=("mlr", "rf"), params={"rf": {"n_estimators": 20}},
                     progress=False)


@pytest.fixture(scope="module")
def table(tiny, product):
    return station_table(product, tiny.fine, tiny.stations, time=slice("2009-04-01", "2009-12-31"))


def test_model_recovers_a_linear_relation_and_picks_its_penalty():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)) * [1.0, 10.0, 0.1, 5.0] + [0, 300, 0, 1]
    y = X @ [0.02, -0.001, 0.3, 0.0] + rng.normal(0, 0.001, 400)
    m = SubgridModel(alphas=(1e-3, 1e3)).fit(X, y)
    assert m.alpha_ == 1e-3
    np.testing.assert_allclose(m.coef_, [0.02, -0.001, 0.3, 0.0], atol=2e-3)
    np.testing.assert_allclose(m.predict(X), y, atol=0.005)
    with pytest.raises(ValueError, match="too few"):
        SubgridModel().fit(X[:5], y[:5])


def test_design_columns_and_anomalies_have_no_cell_mean():
    rng = np.random.default_rng(1)
    covs = {v: rng.normal(size=(2, 20, 20)) for v in COVS}
    level = np.full((2, 20, 20), 0.25)
    x = design(covs, level, 5)
    assert len(x) == len(feature_names(COVS)) == 16
    anom = x[0]
    assert np.allclose(anom, covs["lst"] - smooth_native(covs["lst"], 5))
    np.testing.assert_allclose(x[5], anom * 0.05)  # interaction with the wetness about 0.2


def test_table_holds_each_station_observation_with_features(tiny, table):
    names = feature_names(COVS)
    assert {"name", "network", "time", "obs", "mlr", "rf"} <= set(table.columns)
    assert all(f"mlr:{n}" in table for n in names)
    assert set(table["network"]) == {"NZW", "CERN", "QXZ"}
    assert table["time"].max() <= pd.Timestamp("2009-12-31")
    # the product column is the product averaged over the observation's period (match_stations)
    assert table[["obs", "mlr"]].notna().all(axis=1).mean() > 0.5


def test_within_station_fit_and_application_keep_cell_means_and_add_no_seam(tiny, product, table):
    models = fit_subgrid(table, ["mlr", "rf"])
    assert set(models) == {"mlr", "rf"} and len(models["mlr"].stations_) >= 5
    sel = {"time": slice("2010-06-01", "2010-06-20")}
    part = product.sel(sel)
    out = apply_subgrid(part, tiny.fine, models)
    assert "mlr" in out.attrs["subgrid"]
    a, b = part["sm"].values, out["sm"].values
    assert np.nanmin(b) >= 0.0 and np.nanmax(b) <= 0.6
    assert np.array_equal(np.isnan(a), np.isnan(b))
    cm = lambda v: np.nanmean(v.reshape(*v.shape[:2], 8, 10, 8, 10), axis=(3, 5))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells without a value
        shift = np.abs(cm(b) - cm(a))  # cell means kept, to the interpolant's curvature (and clipping)
    assert np.nanquantile(shift, 0.95) < 0.005 and np.nanmax(shift) < 0.05
    assert abs(seam_ratio(b[0], 10) - seam_ratio(a[0], 10)) < 0.2
    assert not np.allclose(a, b, equal_nan=True)
    # chunking does not matter
    again = apply_subgrid(part, tiny.fine, models, tile=3, time_chunk=7)
    xr.testing.assert_allclose(out["sm"], again["sm"], atol=1e-6)


def test_a_model_with_no_coefficients_changes_nothing(tiny, product, table):
    models = fit_subgrid(table, ["mlr"])
    models["mlr"].coef_ = np.zeros_like(models["mlr"].coef_)
    part = product.sel(time=slice("2010-06-01", "2010-06-05"))
    out = apply_subgrid(part, tiny.fine, models)
    np.testing.assert_allclose(out["sm"].values, np.clip(part["sm"].values, 0, 0.6), atol=1e-6)
    xr.testing.assert_identical(out["sm"].sel({"model": "rf"}), part["sm"].sel({"model": "rf"}))


def test_too_few_stations_is_a_clear_error(table):
    few = table[table["name"].isin(table["name"].unique()[:2])]
    with pytest.raises(ValueError, match="at least 3"):
        fit_subgrid(few, ["mlr"])
