# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 03 · Bayesian model averaging
#
# Weights of the four learners per zone, fitted on the training years against the stations:
# the EM of Raftery et al. (2005), the full posterior with PyMC (checked with ArviZ) and
# Markov chain Monte Carlo model composition over subsets of learners (Fig. S8).

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
pymc_draws = 500
pymc_tune = 500
pymc_chains = 4
mc3_iter = 3000

# %%
from smkit.plot import bma
from smkit.workflow import study
from smkit.workflow import statements
from smkit.workflow.report import Report

report = Report(output_dir, "03_bma_diagnostics", "Bayesian model averaging")
st = study.open_study(scenario, seed=seed, cache_dir=cache_dir, learners=learners, sw_max=sw_max,
                      nd_max=nd_max, k=k, bma_method=bma_method, train_years=train_years,
                      test_years=test_years, subgrid=subgrid, tune=tune)
sc = st.scenario
em = st.bma if bma_method == "em" else study.fit_bma(st.pairs, st.learners, st.train_years, zones=st.zones, method="em")
report.table(em.table(), "em_weights", "EM weights, sigma and pairs per zone")

# %% [markdown]
# ## Posterior with PyMC

# %%
post = study.fit_bma(st.pairs, st.learners, st.train_years, zones=st.zones, method="pymc", draws=pymc_draws,
                     tune=pymc_tune, chains=pymc_chains)
diag = post.diagnostics()
report.table(diag, "pymc_diagnostics", "r-hat, bulk and tail ESS and divergences per zone")

# %%
zone = int(post.n_pairs.idxmax())
report.figure(bma.plot_trace(post, zone), "trace", f"Trace of the weights, zone {zone}")
report.figure(bma.plot_posterior(post, zone), "posterior", f"Posterior of the weights, zone {zone}")
report.figure(bma.plot_forest(post, zone), "forest", f"Forest plot, zone {zone}")

# %% [markdown]
# ## Model composition (MC3) and the three estimators side by side (Fig. S8)

# %%
mc3 = study.fit_bma(st.pairs, st.learners, st.train_years, zones=st.zones, method="mc3", n_iter=mc3_iter)
report.table(mc3.table(), "mc3_weights", "MC3 model-averaged weights per zone")
report.figure(bma.plot_weights(EM=em, PyMC=post, MC3=mc3), "weights", "Weights per zone: EM, PyMC (± sd), MC3")

# %%
w = post.weights.mean("zone")
report.metrics(em_weights=em.weights.mean("zone").to_series().round(3).to_dict(),
               pymc_weights=w.to_series().round(3).to_dict(),
               pymc_max_rhat=float(diag["r_hat"].max()) if "r_hat" in diag else None,
               fallback_zones=list(em.fallback))

# %% [markdown]
# ## What the numbers show

# %%
print(report.text(statements.bma_diagnostics(em.table(), diag, mc3.table())))
