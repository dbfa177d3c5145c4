# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 06 · Drought-prone regions (Fig. 11, S5)
#
# Pixels where PDSI is at or below the threshold in more than the given share of the months
# form connected drought-prone regions; the regional mean series of BMA, of the retrieval and of
# its bilinear interpolation are scored against the 1-km truth (synthetic worlds only) and the
# stations inside the regions. With neither, nothing can tell which series is better.

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
pdsi_threshold = -2.0
drought_share = 0.8
min_pixels = 4
rolling_days = 5

# %%
from smkit.analysis import drought
from smkit.plot import drought as drought_plots
from smkit.workflow import study
from smkit.workflow import statements
from smkit.core.schema import stations_to_volumetric
from smkit.validate import interpolation_baselines
from smkit.workflow.report import Report

report = Report(output_dir, "06_drought", "Drought-prone regions")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
regions = drought.drought_regions(sc.pdsi, threshold=pdsi_threshold, fraction=drought_share,
                                  min_pixels=min_pixels)
report.figure(drought_plots.figure_regions(regions, sc.fine["dem"]), "regions", "Drought-prone regions")

# %%
if int(regions.max()) > 0:
    series = drought.regional_series(regions, product=st.product["sm"].sel({"model": "bma"}),
                                     coarse=sc.coarse["sm"], stations=stations_to_volumetric(sc.stations),
                                     bilinear=interpolation_baselines(sc.coarse, sc.fine)["sm"].sel(model="bilinear"),
                                     truth=sc.truth["sm"] if study.has_truth(sc) else None)
    skill = drought.regional_skill(series)
    report.table(skill, "skill", "Regional series against the truth and the stations (R; RMSE, bias in m3 m-3); "
                 "dr, drmse: the product's minus this source's, with 90 % block-bootstrap intervals")
    report.figure(drought_plots.figure_series(series, skill, rolling=rolling_days), "series",
                  "Regional mean series")
    report.metrics(n_regions=int(regions.max()), skill=skill.round(3))
else:
    report.text("No region passes the thresholds in this scenario.")
    report.metrics(n_regions=0)

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.drought(skill if int(regions.max()) > 0 else None)))
