# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Study area and data
#
# The domain, the explanatory factors and the in-situ networks (the paper's Fig. 1 and
# Table 1). With the default synthetic scenario every field is generated from a known
# 1-km truth; with an ingested cube (`smkit ingest`) the same cells show the real data.

# %% tags=["parameters"]
scenario = "tiny"  # preset (tiny, demo) or path of a scenario / ingested cube store
seed = 0
output_dir = "reports/notebooks"
cache_dir = ".smkit-cache"
map_date = "2009-07-15"

# %%
from smkit import report as rp
from smkit import study

report = rp.Report(output_dir, "00_study_area_and_data", "Study area and data")
sc = study.load_scenario(scenario, seed=seed, cache_dir=cache_dir)
sc

# %% [markdown]
# ## Domain and stations (Fig. 1)

# %%
report.figure(rp.figure_domain(sc), "domain", "Elevation of the domain and the in-situ stations by network")

# %%
report.table(rp.stations_table(sc.stations), "stations", "In-situ stations", floatfmt=".2f")

# %% [markdown]
# ## Explanatory factors and target (Table 1)

# %%
report.table(study.data_table(sc), "data", "Datasets: variables, units, grids and cadence")

# %%
report.figure(study.figure_covariates(sc, map_date), "covariates", f"Covariates and retrieval on {map_date}")

# %% [markdown]
# ## Does the synthetic world behave like the region?
# Signs of the covariate correlations (the paper's Fig. 3b), sub-grid detail and the
# retrieval's skill (only for a synthetic scenario, which has a truth).

# %%
if study.has_truth(sc):
    checks = study.realism_table(sc)
    report.table(checks, "realism", "Realism checks of the synthetic world")
    report.metrics(**{k: v for k, v in checks["value"].items()})
    display(checks)  # noqa: F821
