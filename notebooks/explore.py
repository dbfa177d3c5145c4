# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version,-kernelspec
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Map explorer
#
# Browse the downscaled soil moisture day by day: play through the days, switch between the
# coarse retrieval (CCI), the learners (RF, MLR, SVR, XG, BMA), the 1-km truth, ERA5 and Noah,
# show one minus another or one day minus another, click a pixel or a station for its time series
# (pick the lines drawn), download the map shown (GeoTIFF, NetCDF) or the point's series (CSV).
# Everything is drawn offline. The same app runs in a browser tab with `smkit serve --scenario demo`.
#
# The product shown is the full one `smkit reproduce` left in the cache, if any; otherwise a
# quick MLR product of three summer months is computed once (seconds for `tiny`, about 15 s for
# `demo`). Give `product` to show a store written by `smkit downscale`.

# %% tags=["parameters"]
scenario = "tiny"  # scenario preset (tiny, demo) or path of a scenario store
product = None  # path of a product store (.zarr) from `smkit downscale`, or None
seed = 0
zones = 7  # k-means zones of the coarse retrieval to outline, or None
cache_dir = None  # scenario cache (None: $SMKIT_CACHE or .smkit-cache)

# %%
import panel as pn

from smkit.app import open_explorer

pn.extension()

# %%
open_explorer(scenario, product=product, seed=seed, zones=zones, cache_dir=cache_dir)
