# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
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
output_dir = None  # None: reports/notebooks at the project root, wherever Jupyter runs
cache_dir = None  # None: $SMKIT_CACHE, else .smkit-cache at the project root
map_date = "2009-07-15"

# %%
from smkit.plot import report as report_plots
from smkit.workflow import report as rp
from smkit.workflow import study
from smkit.workflow import statements

report = rp.Report(output_dir, "00_study_area_and_data", "Study area and data")
sc = study.load_scenario(scenario, seed=seed, cache_dir=cache_dir)
sc

# %% [markdown]
# ## Domain and stations (Fig. 1)

# %%
report.figure(report_plots.figure_domain(sc), "domain",
              "Elevation of the domain and the in-situ stations by network")

# %%
report.table(study.stations_table(sc.stations), "stations", "In-situ stations", floatfmt=".2f")

# %% [markdown]
# ## Explanatory factors and target (Table 1)

# %%
report.table(study.data_table(sc), "data", "Datasets: variables, units, grids and cadence")

# %%
report.figure(report_plots.figure_covariates(sc, map_date), "covariates",
              f"Covariates and retrieval on {map_date}")

# %% [markdown]
# ## Does the synthetic world behave like the region?
# A conclusion drawn on a synthetic world transfers only if the world is as hard as the
# real one. The statistics that decide how hard downscaling is (the retrieval's errors
# and their persistence, the stations' representativeness, how strongly the covariates
# follow soil moisture, how static the sub-grid pattern is) beside the ranges published
# for the real data, with their sources. Only for a synthetic scenario, which has a truth.

# %%
if study.has_truth(sc):
    checks, stats = study.realism_table(sc)
    report.table(checks, "realism", "Realism of the synthetic world against published statistics")
    report.metrics(**{k: v for k, v in stats.items() if isinstance(v, float)},
                   out_of_range=[k for k, ok in checks["in range"].items() if ok is False])
    display(checks)  # noqa: F821

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.study_area(study.stations_table(sc.stations), checks if study.has_truth(sc) else None)))
