"""Uncertainty and merit experiments on the tiny study (structure and invariants)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit import validate
from smkit.analysis import experiments
from smkit.analysis import uncertainty as uncertainty_scores
from smkit.plot import experiments as experiment_plots
from smkit.plot import uncertainty as uncertainty_plots
from smkit.workflow import study, uncertainty


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return study.open_study("tiny", cache_dir=cache, learners=("mlr", "xgb"), progress=False,
                                params={"xgb": {"n_rounds": 20}})


def test_station_cells_hold_the_matched_pixels(st):
    cells = uncertainty.station_cells(st)
    assert cells.dtype == bool and cells.shape == st.zones.shape
    ok = st.matched["status"].values == "ok"
    assert 0 < int(cells.sum()) <= ok.sum()
    for la, lo in zip(st.matched["pixel_lat"].values[ok], st.matched["pixel_lon"].values[ok], strict=True):
        assert bool(cells.sel(lat=la, lon=lo, method="nearest"))


def test_removing_nothing_reproduces_the_base_bma(st):
    red = uncertainty.sample_reduction(st, fractions=(0.0, 0.3), repeats=2, progress=False)
    base = uncertainty.bma_scores(st, st.pairs).set_index("network")
    zero = red.xs(0.0, level="fraction").droplevel("repeat")
    pd.testing.assert_frame_equal(zero[base.columns], base, check_exact=True)
    assert len(red.xs(0.3, level="fraction").index.unique("repeat")) == 2
    cut = red.xs(0.3, level="fraction")["n_train"].iloc[0]
    assert cut == pytest.approx(0.7 * red.xs(0.0, level="fraction")["n_train"].iloc[0], abs=1)
    s = uncertainty_scores.summarise_reduction(red)
    assert {"r_mean", "r_std", "rmse_mean"} <= set(s.columns)
    uncertainty_plots.figure_sample_reduction(red)
    with pytest.raises(ValueError, match="fractions"):
        uncertainty.sample_reduction(st, fractions=(1.0,), progress=False)


def test_leave_one_out_structure(st):
    loo = uncertainty.leave_one_out(st, ["dem"], progress=False)
    cases = set(loo.index.get_level_values("case"))
    assert cases == {"all", "without dem"}
    assert set(loo.columns) >= {"n", "r", "rmse", "mae", "ubrmse"}
    assert (loo["n"] > 0).all()
    # every case is the windowed stage: "all" is the BMA of the windowed learners, refitted
    _, pairs = study.station_pairs(st.windowed, st.scenario, st.zones)
    want = uncertainty.bma_scores(st, pairs).set_index("network")
    for net, row in loo.loc["all"].iterrows():
        assert row["n"] == want.loc[net, "n"]
        assert row["r"] == pytest.approx(want.loc[net, "r"]) and row["rmse"] == pytest.approx(want.loc[net, "rmse"])
    uncertainty_plots.figure_leave_one_out(loo)


def test_leave_one_out_all_is_table4_without_the_subgrid_stage(tmp_path):
    """Without the sub-grid stage the 'all' case is Table 4's BMA row: same pairs, same fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = study.open_study("tiny", cache_dir=tmp_path, learners=("mlr",), progress=False, subgrid=False)
    loo = uncertainty.leave_one_out(plain, ["dem"], progress=False)
    nets = validate.score_networks(plain.test())
    bma = nets[nets["model"] == "bma"].set_index("network")
    for net, row in loo.loc["all"].iterrows():
        assert row["n"] == bma.loc[net, "n"]
        assert abs(row["r"] - bma.loc[net, "r"]) < 2e-3 and abs(row["rmse"] - bma.loc[net, "rmse"]) < 2e-4


def test_relative_bias_by_quantile():
    rng = np.random.default_rng(0)
    ref = xr.DataArray(rng.uniform(0.05, 0.45, 5000))
    same = experiments.relative_bias_by_quantile(ref, ref)
    np.testing.assert_allclose(same.to_numpy(), 0.0, atol=1e-12)
    wet = experiments.relative_bias_by_quantile(ref * 1.1, ref)  # a 10 % multiplicative bias
    np.testing.assert_allclose(wet.to_numpy(), 0.1, rtol=1e-9)
    with pytest.raises(ValueError, match="no pair"):
        experiments.relative_bias_by_quantile(ref * np.nan, ref)


def test_window_sensitivity_on_tiny(st):
    sc = st.scenario
    table = experiments.window_sensitivity(sc.coarse, sc.fine, sc.truth, days=slice("2009-07-01", "2009-07-03"),
                                           sw_caps=(3, 5), nd_caps=(1, 3), learner="mlr", progress=False)
    assert list(table.index) == [(3, 1), (3, 3), (5, 1), (5, 3)]
    # larger caps never leave more windows short of the sample target
    assert table.loc[(5, 3), "complete"] >= table.loc[(3, 1), "complete"]
    assert (table["mean_sw"] <= np.array([3, 3, 5, 5])).all()
    experiment_plots.figure_sensitivity(table)


def test_strategies_and_clustering(st):
    window, glob, days = study.strategy_pair(st, days=5)
    assert glob.attrs["strategy"] == "global" and window.sizes["time"] == glob.sizes["time"] == 5
    table = experiments.compare_strategies(window, glob, st.scenario.truth["sm"].sel(time=days))
    assert ("mlr", "window") in table.index and "all" in table.columns
    experiment_plots.figure_strategies(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat = study.open_study("tiny", cache_dir=st.params["cache_dir"], learners=("mlr", "xgb"),
                                progress=False, clustered=False, params={"xgb": {"n_rounds": 20}})
    assert int(flat.bma.weights.sizes["zone"]) >= 1
    comp = experiments.compare_clustering(st, flat)
    assert any("improvement" in str(i[1]) for i in comp.index)


def test_a_study_and_its_bma_print_in_a_few_lines(st):
    text = repr(st)
    assert text.startswith("<smkit Study of 'tiny': models ['mlr', 'xgb', 'bma']") and len(text.splitlines()) <= 6
    assert "zones" in text and "pairs" in text
    assert repr(st.bma).startswith("<ZoneBMA em:") and "\n" not in repr(st.bma)
