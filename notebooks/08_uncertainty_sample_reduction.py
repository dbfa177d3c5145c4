# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 08 · Sample reduction (Fig. 12b)
#
# 10-50 % of the BMA training pairs are removed at random, repeatedly; BMA is refitted and
# scored against the stations over the validation years. The spread across repeats shows how
# much the weights depend on the number of pairs.

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
fractions = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
repeats = 10

# %%
from smkit.workflow import study
from smkit.workflow import statements
from smkit.workflow import uncertainty
from smkit.analysis.uncertainty import summarise_reduction
from smkit.plot import uncertainty as uncertainty_plots
from smkit.workflow.report import Report

report = Report(output_dir, "08_uncertainty_sample_reduction", "Sample reduction")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
red = uncertainty.sample_reduction(st, fractions=fractions, repeats=repeats, seed=seed)
summary = summarise_reduction(red)
report.table(summary, "scores", "BMA scores by share of pairs removed: mean and sd over repeats")

# %%
report.figure(uncertainty_plots.figure_sample_reduction(red), "figure", "Skill as pairs are removed")
report.metrics(scores=summary.round(4))

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.sample_reduction(summary)))
