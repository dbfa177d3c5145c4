# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 01 · Explanatory factors
#
# How much does each covariate tell about coarse soil moisture? Permutation importance and
# SHAP values of the learners, and Pearson r, over the pooled coarse training set of each
# time slice; bars show the mean and whiskers the spread over slices (the paper's Fig. 3 for
# the random forest, Fig. S2 for the other learners).

# %% tags=["parameters"]
scenario = "tiny"
seed = 0
output_dir = None  # None: reports/notebooks at the project root, wherever Jupyter runs
cache_dir = None  # None: $SMKIT_CACHE, else .smkit-cache at the project root
by = "year"  # time slices: "year" or "month"
learners = ["rf", "mlr", "svr", "xgb"]
max_samples = 2000  # cell-days per slice

# %%
from smkit.analysis import importance
from smkit.plot import importance as importance_plots
from smkit.workflow import study
from smkit.workflow import statements
from smkit.workflow.report import Report

report = Report(output_dir, "01_explanatory_factors", "Explanatory factors")
sc = study.load_scenario(scenario, seed=seed, cache_dir=cache_dir)
imp = importance.factor_importance(sc.coarse, sc.fine, learners=learners, by=by,
                                   max_samples=max_samples, seed=seed)

# %% [markdown]
# ## Random forest (Fig. 3)

# %%
report.figure(importance_plots.figure_importance(imp, "rf"), "importance_rf",
              f"Importance and correlation of the covariates, random forest, spread over {by}s")

# %%
summary = importance.summarise(imp)
report.table(summary, "summary", f"Importance shares and Pearson r, mean and sd over {by}s")

# %% [markdown]
# ## All learners (Fig. S2)

# %%
for measure in ("permutation", "shap"):
    report.figure(importance_plots.figure_learners(imp, measure), f"learners_{measure}",
                  f"{measure} importance by learner")

# %%
rf = summary.loc["rf"]
report.metrics(rf_permutation_rank=list(rf["permutation_mean"].sort_values(ascending=False).index),
               pearson_r=rf["r_mean"].round(3).to_dict())

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.explanatory_factors(summary)))
