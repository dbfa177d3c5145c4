# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 04 · Validation against in-situ networks and the truth
#
# Each station is compared with the pixel holding it, averaged over its observing period
# (QXZ daily, CERN five-day, NZW ten-day); R and MAE per station (Fig. 7), scatter plots and
# monsoon / non-monsoon boxes per network (Fig. 8), station series (Fig. 9) and the paper's
# Table 4 over the validation years. Beyond the paper, every product is also scored against
# the 1-km truth, with interpolation baselines, and BMA is checked on held-out stations.

# %% tags=["parameters"]
scenario = "tiny"  # preset (tiny, demo) or a scenario / ingested cube store
seed = 0
output_dir = None  # None: reports/notebooks at the project root, wherever Jupyter runs
cache_dir = None  # None: $SMKIT_CACHE, else .smkit-cache at the project root
learners = ["rf", "mlr", "svr", "xgb"]
sw_max = 5  # window caps: cells
nd_max = 3  # ... and days
k = 7  # k-means zones
bma_method = "em"  # em, pymc or mc3 for the product
train_years = None  # None: all but the last two years (the paper: 2003-2008)
test_years = None  # None: the last two years (the paper: 2009-2010)
tune = True  # tune the learners once on the training years (10 spatial folds, cached)
series_stations = 3  # station series shown (one per network first)
station_folds = 5  # folds of the leave-stations-out check
subgrid = True  # add the sub-grid pattern learned from the stations of the training years
scorecard_folds = 4  # folds of the held-out-station scorecard
oracle_pixels = 30  # truth pixels of the oracle upper bound (0: none)
n_boot = 300  # block-bootstrap resamples of the intervals

# %%
import pandas as pd

from smkit.validate import skill

from smkit.workflow import study
from smkit.workflow import statements

from smkit import validate
from smkit.plot.validate import plot_scatter, plot_station_map, plot_station_series
from smkit.workflow.report import Report

report = Report(output_dir, "04_insitu_validation", "Validation against in-situ networks and the truth")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
test = st.test()
scores = validate.score_stations(test)

# %% [markdown]
# ## Skill scorecard: does the product beat what a user already has?
# A 1-km map is worth making only where it beats the retrieval itself, or its nearest or
# bilinear interpolation, on data it was not tuned on. Against the truth (synthetic scenarios):
# total and within-cell anomaly R, ubRMSE and the seam statistic over the validation years, for
# the final product (sub-grid pattern learned from the stations of the training years), the
# windowed learners alone (`_windows`, what a user without stations gets) and an oracle upper
# bound (`_oracle`: the same sub-grid model fitted on error-free truth pixels). At the stations:
# pooled, per-station median, station-demeaned (temporal) and 35-day anomaly R with their
# difference to CCI, on stations held out of the sub-grid fit. Intervals: 90 %, moving-block
# bootstrap over 30-day blocks.

# %%
truth_card = None
if study.has_truth(sc):
    truth_card = study.truth_scorecard(st, n_boot=n_boot, oracle=oracle_pixels if subgrid else 0)
    report.table(skill.interval_table(truth_card, {"r": "R", "r_anomaly": "within-cell R", "diff_r": "R - bilinear",
                                                   "diff_r_anomaly": "within-cell R - bilinear",
                                                   "ubrmse": "ubRMSE [m3 m-3]", "seam": "seam"}),
                 "scorecard_truth", f"Against the 1-km truth, validation years {st.test_years}")
held = st.windowed is not None
station_card = (study.station_holdout_scorecard(st, n_folds=scorecard_folds, n_boot=n_boot) if held
                else study.station_scorecard(st, n_boot=n_boot))
report.table(skill.interval_table(station_card, {
    "r": "pooled R", "r_station_median": "median station R", "r_demeaned": "station-demeaned R",
    "r_anomaly": "anomaly R", "diff_r_demeaned": "demeaned R - CCI", "ubrmse": "ubRMSE [m3 m-3]",
    "bias": "bias [m3 m-3]"}), "scorecard_stations",
    f"At the stations, validation years {st.test_years}" + (", stations held out of the sub-grid fit" if held else ""))
verdicts = study.scorecard_summary(truth_card, station_card)
report.text("**Where the product wins and where it does not** (computed from the intervals):\n\n"
            + "\n".join(f"- {line}" for line in verdicts))
report.metrics(scorecard_truth=truth_card, scorecard_stations=station_card, verdicts=verdicts)
print("\n".join(verdicts))

# %% [markdown]
# ## Per station (Fig. 7) and per network (Fig. 8)

# %%
report.figure(plot_station_map(scores, ("r", "mae"), outline=sc.fine["dem"]), "station_map",
              "R and MAE of BMA per station, validation years")
report.figure(plot_scatter(test, ("cci", "bma")), "scatter", "CCI and BMA against the stations")

# %%
networks = validate.score_networks(test)
table4 = validate.network_table(networks)
report.table(table4, "table4", f"Table 4: validation years {st.test_years}")
report.table(validate.score_seasons(test), "seasons", "Monsoon (M1, May-Sep) vs the rest (M2)")

# %% [markdown]
# ## Station series (Fig. 9)

# %%
ok = test["status"].values == "ok"
names = pd.Series(test["name"].values[ok], index=test["network"].values[ok]).groupby(level=0).first()
for name in list(names.values)[:series_stations]:
    report.figure(plot_station_series(test, name), f"series_{name}", f"Station {name}")

# %% [markdown]
# ## Does BMA beat the best single learner? (per network)

# %%
best = study.bma_vs_best(networks)
report.table(best, "bma_vs_best", "R of BMA and of the best single learner per network")

# %% [markdown]
# ## Honest splits: held-out stations
# Weights fitted without the stations they are scored on (leave-stations-out by zone).

# %%
held_out = study.station_holdout(st, n_folds=station_folds)
report.table(held_out, "held_out_stations", "Scores on held-out stations (all years)")

# %% [markdown]
# ## Against the 1-km truth (synthetic scenarios)

# %%
if study.has_truth(sc):
    skill = study.truth_table(st)
    report.table(skill, "truth_skill", "Every product and the baselines against the 1-km truth, validation years")
    report.metrics(truth_skill=skill[["r", "ubrmse", "bias", "r_anomaly"]].round(4))
report.metrics(table4=networks[["network", "model", "n", "r", "rmse", "mae", "ubrmse"]].round(4),
               bma_vs_best=best.round(4))

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.insitu_validation(station_card, truth_card, best, held_out=held)))
