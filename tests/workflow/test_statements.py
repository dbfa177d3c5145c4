"""Each section's closing statement follows its numbers: swap the numbers and the verdict flips."""

import re

import numpy as np
import pandas as pd
import pytest

from smkit.workflow import statements as S


def station_card(bma_r, cci_r, diff_lo, diff_hi, networks=("NZW", "QXZ")):
    """A station scorecard with the same scores in every group (index group, model)."""
    rows = []
    for g in (*networks, "all"):
        for m, r in (("cci", cci_r), ("bma", bma_r)):
            d = 0.0 if m == "cci" else bma_r - cci_r
            rows.append({"group": g, "model": m, "r": r, "r_lo": r - 0.05, "r_hi": r + 0.05,
                         "diff_r": d, "diff_r_lo": 0.0 if m == "cci" else diff_lo,
                         "diff_r_hi": 0.0 if m == "cci" else diff_hi})
    return pd.DataFrame(rows).set_index(["group", "model"])


def truth_card(bma_r, bil_r, bma_anom=0.59, bil_anom=0.21):
    rows = {"bma": {"r": bma_r, "r_anomaly": bma_anom, "diff_r": bma_r - bil_r,
                    "diff_r_lo": bma_r - bil_r - 0.01, "diff_r_hi": bma_r - bil_r + 0.01,
                    "diff_r_anomaly": bma_anom - bil_anom, "diff_r_anomaly_lo": bma_anom - bil_anom - 0.01,
                    "diff_r_anomaly_hi": bma_anom - bil_anom + 0.01},
            "bilinear": {"r": bil_r, "r_anomaly": bil_anom, "diff_r": 0.0, "diff_r_lo": 0.0, "diff_r_hi": 0.0}}
    return pd.DataFrame(rows).T


# ---------------------------------------------------------------- 04: the stations and the truth


def test_insitu_loses_to_cci_with_its_interval():
    text = S.insitu_validation(station_card(0.51, 0.55, -0.07, -0.01))
    assert "BMA's pooled R is 0.51 (90 % interval 0.46-0.56) against CCI's 0.55" in text
    assert "the product does not beat the retrieval" in text
    assert "does not beat it at NZW (0.51 vs 0.55)" in text
    assert "no truth" in text


def test_insitu_swapping_the_numbers_flips_the_verdict():
    text = S.insitu_validation(station_card(0.55, 0.51, 0.01, 0.07))
    assert "the product beats the retrieval" in text
    assert "does not beat" not in text.split("\n")[2]


def test_insitu_tie_when_the_interval_holds_zero():
    text = S.insitu_validation(station_card(0.53, 0.52, -0.02, 0.04))
    assert "ties within the interval with the retrieval" in text


def test_insitu_wins_at_one_network_loses_at_another():
    card = station_card(0.51, 0.55, -0.07, -0.01)
    card.loc[("QXZ", "bma"), ["r", "diff_r", "diff_r_lo", "diff_r_hi"]] = [0.71, 0.38, 0.3, 0.45]
    card.loc[("QXZ", "cci"), "r"] = 0.33
    text = S.insitu_validation(card)
    assert "beats it at QXZ (0.71 vs 0.33)" in text
    assert "does not beat it at NZW" in text


def test_insitu_missing_cci_at_a_network():
    card = station_card(0.51, 0.55, -0.07, -0.01).drop(index=("QXZ", "cci"))
    assert "no score at QXZ" in S.insitu_validation(card)


def test_insitu_truth_and_interpolation():
    text = S.insitu_validation(station_card(0.51, 0.55, -0.07, -0.01), truth_card(0.79, 0.71))
    assert "BMA beats bilinear interpolation of the retrieval in total R (0.79 vs 0.71) and within cells (0.59 vs 0.21)" in text
    assert "no nearest baseline" in text
    text = S.insitu_validation(station_card(0.51, 0.55, -0.07, -0.01), truth_card(0.71, 0.79, 0.21, 0.59))
    assert "does not beat bilinear interpolation of the retrieval in total R (0.71 vs 0.79)" in text


def test_insitu_best_single_learner():
    best = pd.DataFrame({"bma_r": [0.40, 0.67], "best_learner": ["rf", "svr"], "best_r": [0.43, 0.66]},
                        index=pd.Index(["NZW", "CERN"], name="network"))
    text = S.insitu_validation(station_card(0.51, 0.55, -0.07, -0.01), best_learner=best)
    assert "does not beat the best single learner in R at NZW (0.40 vs RF's 0.43)" in text
    assert "beats the best single learner in R at CERN (0.67 vs SVR's 0.66)" in text


def test_close_values_get_enough_digits():
    text = S.insitu_validation(station_card(0.5512, 0.5488, 0.001, 0.004))
    assert "0.551" in text and "0.549" in text


# ---------------------------------------------------------------- the other sections


def test_study_area_counts_and_realism():
    stations = pd.DataFrame({"network": ["CERN", "QXZ", "QXZ"]})
    checks = pd.DataFrame({"value": [0.04, 0.5], "target": ["0.035 to 0.06", "<= 0.6"],
                           "in range": [True, None]}, index=["a", "b"])
    text = S.study_area(stations, checks)
    assert "3 stations in 2 networks" in text and "on 1 of 1 checked" in text
    assert "no truth" in S.study_area(stations, None)


def test_explanatory_factors_order_and_tie():
    idx = pd.MultiIndex.from_product([["rf"], ["lst", "ndvi"]], names=["learner", "covariate"])
    s = pd.DataFrame({"permutation_mean": [0.31, 0.29], "permutation_std": [0.04, 0.05], "r_mean": [-0.4, 0.2]},
                     index=idx)
    text = S.explanatory_factors(s)
    assert "most important factor is LST (permutation importance 0.31 ± 0.04), then NDVI" in text
    assert "tie within their spread" in text
    s["permutation_mean"] = [0.29, 0.31]
    assert "most important factor is NDVI" in S.explanatory_factors(s)


def test_windowed_downscaling_caps_and_tuning():
    sens = pd.DataFrame({"r": [0.7, 0.8], "ubrmse": [0.09, 0.08]},
                        index=pd.MultiIndex.from_tuples([(5, 3), (4, 1)], names=["sw_max", "nd_max"]))
    tun = pd.DataFrame({"r": [0.80, 0.70, 0.75, 0.74], "r_lo": [0.78, 0.68, 0.70, 0.70],
                        "r_hi": [0.82, 0.72, 0.80, 0.79]}, index=["rf_tuned", "rf_default", "mlr_tuned", "mlr_default"])
    text = S.windowed_downscaling(sens, tun, caps=(5, 3))
    assert "lowest ubRMSE against the truth is at sw_max 4, nd_max 1" in text
    assert "tuning beats the default values in R for RF (0.80 vs 0.70)" in text
    assert "ties with the default values in R for MLR" in text
    sens["ubrmse"] = [0.08, 0.09]
    assert "The caps used (sw_max 5, nd_max 3) give the lowest ubRMSE" in S.windowed_downscaling(sens, None, (5, 3))
    assert "no truth" in S.windowed_downscaling(None, None)


def test_bma_diagnostics():
    em = pd.DataFrame({"w_rf": [0.7, 0.2], "w_svr": [0.3, 0.8], "n_pairs": [100, 0], "fallback": [False, True]},
                      index=[1, 2])
    diag = pd.DataFrame({"r_hat": [1.002, 1.03], "ess_bulk": [800, 500], "divergences": [0, 0]})
    text = S.bma_diagnostics(em, diag, em)
    assert "largest mean weight goes to RF (0.70)" in text
    assert "1 of 2 zones have too few pairs" in text
    assert "did NOT converge" in text
    assert "converged: max r-hat 1.002" in S.bma_diagnostics(em, diag.iloc[:1])


def test_model_intercomparison():
    idx = pd.MultiIndex.from_product([["ERA5", "Noah"], ["r", "mae"]], names=["reference", "metric"])
    s = pd.DataFrame({"median": [0.6, 0.07, 0.5, 0.08], "q10": [0.1, 0.03, 0.3, 0.05],
                      "q90": [0.8, 0.1, 0.7, 0.1], "pixels": [900, 900, 388, 388]}, index=idx)
    assert "follows ERA5 more closely than Noah" in S.model_intercomparison(s)
    s.loc[("Noah", "r"), "median"] = 0.7
    assert "follows Noah more closely than ERA5" in S.model_intercomparison(s)


def test_drought_regions():
    skill = pd.DataFrame({"region": [1, 1, 2, 2], "source": ["product", "cci"] * 2, "reference": "stations",
                          "r": [0.8, 0.6, np.nan, np.nan]}).set_index(["region", "source"])
    text = S.drought(skill)  # the layout of smkit 0.2: index (region, source), a reference column
    assert "Against the stations, the product's regional series beats CCI's at region 1 (R 0.80 vs 0.60" in text
    assert "No reference is available in region(s) 2" in text
    skill.loc[(1, "cci"), "r"] = 0.9
    assert "does not beat CCI's at region 1" in S.drought(skill)
    assert "No drought-prone region" in S.drought(None)


def _regional(rows):
    """regional_skill's table from (region, reference, source, r, rmse, dr, dr_lo, dr_hi) rows."""
    df = pd.DataFrame(rows, columns=["region", "reference", "source", "r", "rmse", "dr", "dr_lo", "dr_hi"])
    df["n"] = np.where(df["r"].notna(), 700, 0)
    return df.set_index(["region", "reference", "source"])


def test_drought_against_the_truth_names_the_winner_per_region():
    nan = np.nan
    skill = _regional([
        (1, "truth", "product", 0.90, 0.010, nan, nan, nan), (1, "truth", "cci", 0.70, 0.030, 0.20, 0.12, 0.28),
        (2, "truth", "product", 0.60, 0.040, nan, nan, nan), (2, "truth", "cci", 0.75, 0.030, -0.15, -0.25, -0.05),
        (3, "truth", "product", 0.71, 0.020, nan, nan, nan), (3, "truth", "cci", 0.70, 0.021, 0.01, -0.05, 0.07),
        (1, "stations", "product", 0.80, 0.050, nan, nan, nan), (1, "stations", "cci", 0.60, 0.060, 0.2, 0.1, 0.3),
        (2, "stations", "product", nan, nan, nan, nan, nan), (2, "stations", "cci", nan, nan, nan, nan, nan),
        (3, "stations", "product", nan, nan, nan, nan, nan), (3, "stations", "cci", nan, nan, nan, nan, nan),
    ])
    text = S.drought(skill)
    assert ("Against the 1-km truth, the product's regional series beats CCI's at region 1 "
            "(R 0.90 vs 0.70, difference +0.20, 90 % interval +0.12 to +0.28; RMSE 0.010 vs 0.030 m3 m-3") in text
    assert "does not beat CCI's at region 2 (R 0.60 vs 0.75, difference -0.15" in text
    assert "ties within the interval with CCI's at region 3" in text
    assert "Against the stations, the product's regional series beats CCI's at region 1 (R 0.80 vs 0.60" in text
    assert "No station data lie in region(s) 2 and 3: not scored against the stations." in text
    assert "No reference is available" not in text and "scored against the product" not in text
    # the product closer to the truth everywhere: the winning wording at every region, none of the losing
    better = skill.copy()
    cci = better.index.get_level_values("source") == "cci"
    better.loc[cci, ["dr", "dr_lo", "dr_hi"]] = [0.2, 0.1, 0.3]
    better.loc[~cci, "rmse"] = 0.005
    text = S.drought(better)
    assert re.search(r"truth, the product's regional series beats CCI's at region 1 \(.*\), region 2 \(.*\) "
                     r"and region 3 \(", text)
    assert "does not beat" not in text and "ties" not in text and "By RMSE" not in text
    # ... and where RMSE disagrees with R, the statement says so
    better.iloc[better.index.get_loc((2, "truth", "product")), better.columns.get_loc("rmse")] = 0.04
    assert "By RMSE, though, it does not beat CCI's at region 2." in S.drought(better)


def test_drought_without_any_reference_says_so():
    empty = _regional([]).iloc[:0]
    text = S.drought(empty)
    assert "No reference is available" in text and "cannot say whether" in text
    assert "beats" not in text


def test_leave_one_out_direction():
    idx = pd.MultiIndex.from_product([["all", "without lst"], ["A"]], names=["case", "network"])
    assert "lowers it" in S.leave_one_out(pd.DataFrame({"r": [0.5, 0.4]}, index=idx))
    assert "raises it" in S.leave_one_out(pd.DataFrame({"r": [0.4, 0.5]}, index=idx))


def test_sample_reduction_spread():
    idx = pd.MultiIndex.from_product([[0.0, 0.5], ["A"]], names=["fraction", "network"])
    small = pd.DataFrame({"r_mean": [0.60, 0.599], "r_std": [np.nan, 0.002]}, index=idx)
    assert "within twice the spread of repeats at A" in S.sample_reduction(small)
    big = pd.DataFrame({"r_mean": [0.60, 0.50], "r_std": [np.nan, 0.002]}, index=idx)
    text = S.sample_reduction(big)
    assert "lower at A" in text and "depend on the number of pairs" in text


def test_merits_clustering_strategies_overview():
    cl = pd.DataFrame({"r": [0.61, 0.60, 0.43, 0.46]},
                      index=pd.MultiIndex.from_tuples([("stations QXZ", "clustered"), ("stations QXZ", "unclustered"),
                                                       ("stations NZW", "clustered"), ("stations NZW", "unclustered")]))
    sg = pd.DataFrame({"all": [-0.05, 0.09], 0.9: [-0.2, -0.1]},
                      index=pd.MultiIndex.from_tuples([("rf", "|window| / |global| - 1"),
                                                       ("mlr", "|window| / |global| - 1")]))
    ov = pd.DataFrame({"stations r (mean of networks)": [0.56, 0.28, 0.55], "truth r": [0.79, np.nan, 0.80]},
                      index=["bma", "cci", "rf"])
    text = S.merits(cl, sg, ov)
    assert "beats one BMA for the whole domain at QXZ" in text
    assert "does not beat one BMA for the whole domain at NZW" in text
    assert "over all values for RF (-5 %); not for MLR (+9 %)" in text
    assert "BMA beats CCI (0.56 vs 0.28)" in text
    assert "does not beat the best single learner RF (0.79 vs 0.80)" in text


@pytest.mark.parametrize("name", S.__all__)
def test_every_section_has_a_function(name):
    assert callable(getattr(S, name))


def test_equal_scores_without_interval_tie():
    best = pd.DataFrame({"bma_r": [0.9110], "best_learner": ["mlr"], "best_r": [0.9113]},
                        index=pd.Index(["NZW"], name="network"))
    text = S.insitu_validation(station_card(0.51, 0.55, -0.07, -0.01), best_learner=best)
    assert "ties with the best single learner in R at NZW (0.911 vs MLR's 0.911)" in text


def test_bma_every_zone_pooled():
    em = pd.DataFrame({"w_rf": [0.2, 0.2], "w_svr": [0.8, 0.8], "n_pairs": [0, 0], "fallback": [True, True]})
    text = S.bma_diagnostics(em, None, em)
    assert "No zone has enough pairs" in text and "all 2 use the pooled weights" in text
    assert "SVR (0.80)" in text and "MC3" not in text
