# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 05 · Comparison with ERA5-like and Noah-like fields (Fig. 10)
#
# Per-pixel R and MAE over time between the BMA product and each model field on a common
# grid: the 1-km product is averaged over the pixels whose centres fall in each model cell
# (the models are coarser), NaN-aware. Noah covers only part of the domain (the Loess Plateau).

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

# %%
from smkit.workflow import study
from smkit.workflow import statements
from smkit import validate
from smkit.plot.validate import plot_model_comparison
from smkit.workflow.report import Report

report = Report(output_dir, "05_model_intercomparison", "Comparison with model fields")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
refs = {name: ds for name, ds in (("ERA5", sc.era5), ("Noah", sc.noah)) if ds is not None and "sm" in ds}
result = {name: ds.compute() for name, ds in validate.compare_models(st.product, refs, model="bma").items()}

# %%
report.figure(plot_model_comparison(result), "maps", "Per-pixel R and MAE of BMA against the model fields")

# %%
summary = study.comparison_summary(result)
report.table(summary, "summary", "Spatial summary of the per-pixel scores")
report.metrics(summary=summary.round(4))

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.model_intercomparison(summary)))
