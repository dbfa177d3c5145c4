# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 02 · Windowed downscaling
#
# Zones from k-means on the multi-year mean retrieval, the adaptive spatio-temporal windows
# chosen for every cell and day (Fig. 4), the downscaled maps on the 15th of April-October
# (Fig. 5), their distributions (Fig. 6) and the sensitivity of the skill to the window caps
# (section 3.4).

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
subgrid = True  # add the sub-grid pattern learned from the stations of the training years
tune = True  # tune the learners once on the training years (10 spatial folds, cached)
map_year = None  # year of the monthly maps (None: the first validation year)
sensitivity_start = None  # first day of the sensitivity block (None: 1 July of map_year)
sensitivity_days = 16
sensitivity_sw = [3, 4, 5, 6, 7, 8, 9, 10]
sensitivity_nd = [1, 2, 3, 4, 5]
sensitivity_learner = "xgb"

# %%
import pandas as pd

from smkit.analysis import experiments
from smkit.plot import experiments as experiment_plots

from smkit.validate import skill

from smkit.workflow import study
from smkit.workflow import statements

from smkit.plot import report as report_plots
from smkit.plot import zones
from smkit.workflow import report as rp

report = rp.Report(output_dir, "02_windowed_downscaling", "Windowed downscaling")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
year = map_year or st.test_years[0]

# %% [markdown]
# ## Zones and windows (Fig. 4)

# %%
report.figure(zones.plot_zones(st.zones, sc.stations).figure, "zones", f"k-means zones (k = {k}) and stations")

# %%
report.figure(report_plots.figure_windows(st.product), "windows",
              "Chosen windows, training samples and flags")

# %% [markdown]
# ## Maps on the 15th of April-October (Fig. 5)

# %%
# a page-sized panel of 1-km maps: 200 dpi keeps its PNG under 5 MB (300 dpi made 6 MB)
report.figure(report_plots.figure_month_maps(sc.coarse, st.product, year), "maps",
              f"Soil moisture on the 15th, {year}", dpi=200)

# %% [markdown]
# ## Distributions (Fig. 6)

# %%
report.figure(report_plots.figure_histograms(sc.coarse, st.product, period=str(year)), "histograms",
              f"Distributions of all values in {year}")
report.figure(report_plots.figure_monthly_boxes(sc.coarse, st.product), "monthly",
              "Monthly box plots, CCI vs BMA")
report.figure(report_plots.figure_wetness_boxes(sc.coarse, st.product), "wetness",
              "By dryness class, CCI vs BMA")

# %% [markdown]
# ## Sensitivity to the window caps (section 3.4)
# Every pair of caps on one block of days, scored against the 1-km truth (synthetic scenarios only).

# %%
if study.has_truth(sc):
    start = pd.Timestamp(sensitivity_start or f"{year}-07-01")
    days = slice(start, start + pd.Timedelta(days=sensitivity_days - 1))
    sens = experiments.window_sensitivity(sc.coarse, sc.fine, sc.truth, days=days, sw_caps=sensitivity_sw,
                                          nd_caps=sensitivity_nd, learner=sensitivity_learner)
    report.table(sens, "sensitivity", f"Window caps vs skill ({sensitivity_learner}, {days.start.date()} + {sensitivity_days} days)")
    report.figure(experiment_plots.figure_sensitivity(sens), "sensitivity",
                  "Sensitivity of the skill to the caps")
    best = sens["ubrmse"].idxmin()
    report.metrics(best_caps_by_ubrmse={"sw_max": int(best[0]), "nd_max": int(best[1])},
                   paper_caps={"sw_max": 5, "nd_max": 3})

# %% [markdown]
# ## Hyperparameters (section 3.2.5)
# Tuned once by 10-fold cross-validation with spatial folds (90 % of the cells fit, 10 %
# validate) on the training years' pooled coarse cell-days, then used by every window; the
# windowed learners with the tuned and with the default values against the truth (synthetic
# scenarios), growing season of the first validation year.

# %%
if tune:
    values = pd.DataFrame([{"learner": m, **p} for m, p in st.params["params"].items()]).set_index("learner")
    report.table(values, "tuned_parameters", "Tuned hyperparameters", floatfmt=".4g")
    report.metrics(tuned_parameters=st.params["params"])
    if study.has_truth(sc):
        cmp_ = study.tuning_comparison(st)
        report.table(skill.interval_table(cmp_, {"r": "R", "r_anomaly": "within-cell R", "ubrmse": "ubRMSE [m3 m-3]"}),
                     "tuning", "Windowed learners, tuned vs default hyperparameters, against the truth")
        report.metrics(tuning=cmp_[["r", "r_anomaly", "ubrmse"]].round(4))

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.windowed_downscaling(
    sens if study.has_truth(sc) else None, cmp_ if tune and study.has_truth(sc) else None, caps=(sw_max, nd_max))))
