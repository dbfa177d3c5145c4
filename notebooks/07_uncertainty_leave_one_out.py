# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 07 · Leave-one-covariate-out (Fig. 12a)
#
# Downscaling and BMA are rerun without each covariate in turn, at the cells holding
# stations only (their neighbours still train the windows), and scored against the stations
# over the validation years.

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
leave_out = None  # covariates left out in turn (None: every covariate)

# %%
from smkit.workflow import study
from smkit.workflow import statements
from smkit.workflow import uncertainty
from smkit.plot import uncertainty as uncertainty_plots
from smkit.workflow.report import Report

report = Report(output_dir, "07_uncertainty_leave_one_out", "Leave-one-covariate-out")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
loo = uncertainty.leave_one_out(st, leave_out)
report.table(loo, "scores", "R, RMSE and MAE of BMA per network: all covariates and without each")

# %%
report.figure(uncertainty_plots.figure_leave_one_out(loo), "figure", "Skill without each covariate")
report.metrics(scores=loo.round(4))

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.leave_one_out(loo)))
