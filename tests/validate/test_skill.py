import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.validate import match_stations, truth_skill
from smkit.validate.skill import block_resamples, interval_table, station_scores, truth_scores, verdict


def test_block_resamples_are_blocks_of_consecutive_steps():
    idx = block_resamples(100, 10, 50, seed=3)
    assert idx.shape == (50, 100) and idx.min() >= 0 and idx.max() < 100
    d = np.diff(idx.reshape(50, 10, 10), axis=2)
    assert (d == 1).all()
    assert not np.array_equal(idx[0], idx[1])
    assert block_resamples(5, 30, 2).shape == (2, 5)  # block longer than the series


@pytest.fixture(scope="module")
def truth_product(tiny):
    sel = {"time": slice("2009-06-01", "2009-08-31")}
    t = tiny.truth["sm"].sel(sel)
    noisy = t + 0.03 * np.random.default_rng(0).normal(size=t.shape).astype(np.float32)
    return xr.concat([t, noisy], dim=xr.Variable("model", ["truth", "noisy"])).to_dataset(name="sm")


def test_truth_scores_match_truth_skill_and_bound_their_values(tiny, truth_product):
    ts = truth_scores(truth_product, tiny.truth, 10, coarse=tiny.coarse, n_boot=60)
    ref = truth_skill(truth_product, tiny.truth, factor=10, coarse=tiny.coarse)
    for m in ("truth", "noisy", "bilinear"):
        assert ts.loc[m, "r"] == pytest.approx(ref.loc[m, "r"], abs=1e-9)
        assert ts.loc[m, "r_anomaly"] == pytest.approx(ref.loc[m, "r_anomaly"], abs=1e-9)
        assert ts.loc[m, "seam"] == pytest.approx(ref.loc[m, "seam"], rel=1e-9)
    assert ts.loc["truth", "r"] == pytest.approx(1.0)
    noisy = ts.loc["noisy"]
    assert noisy["r_lo"] <= noisy["r"] <= noisy["r_hi"] and noisy["r_hi"] - noisy["r_lo"] < 0.05
    assert noisy["diff_r_lo"] > 0  # the noisy truth still beats interpolating the retrieval
    assert ts.loc["bilinear", "diff_r"] == 0.0


def test_station_scores_separate_temporal_skill_from_static_offsets(tiny):
    """A product with the station offsets removed gets the same demeaned R as one with them."""
    prod = tiny.truth["sm"].expand_dims(model=["truth"]).to_dataset(name="sm")
    m = match_stations(prod, tiny.stations, coarse=tiny.coarse)
    offsets = xr.DataArray(np.random.default_rng(1).normal(0, 0.05, m.sizes["station"]), dims="station")
    shifted = m["pred"].sel({"model": ["truth"]}) + offsets
    m2 = m.drop_vars(["pred", "model"]).assign(
        pred=xr.concat([m["pred"], shifted.assign_coords(model=["shifted"])], dim="model"))
    sc = station_scores(m2, n_boot=40, by="all")
    truth, shifted_row = sc.loc[("all", "truth")], sc.loc[("all", "shifted")]
    assert shifted_row["r_demeaned"] == pytest.approx(truth["r_demeaned"], abs=1e-9)
    assert shifted_row["r_station_median"] == pytest.approx(truth["r_station_median"], abs=1e-9)
    assert shifted_row["r"] < truth["r"]  # pooled R punishes the offsets
    assert truth["diff_r_demeaned"] > 0 and truth["diff_r_demeaned_lo"] > 0  # the truth beats CCI
    by_net = station_scores(m2, n_boot=20)
    assert set(by_net.index.get_level_values(0)) == {"NZW", "CERN", "QXZ"}
    with pytest.raises(KeyError, match="reference"):
        station_scores(m2, reference="era5", n_boot=5)


def test_verdicts_follow_the_intervals():
    assert verdict(0.1, 0.05, 0.2, what="A", than="B", metric="R").startswith("A beats B")
    assert verdict(-0.1, -0.2, -0.05, what="A", than="B", metric="R").startswith("A loses to B")
    assert "cannot be told apart" in verdict(0.01, -0.02, 0.05, what="A", than="B", metric="R")
    df = pd.DataFrame({"r": [0.5, np.nan], "r_lo": [0.4, np.nan], "r_hi": [0.6, np.nan]}, index=["a", "b"])
    assert interval_table(df, {"r": "R"})["R"].tolist() == ["0.500 (0.400 to 0.600)", ""]
