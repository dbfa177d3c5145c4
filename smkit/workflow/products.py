"""The products of a study, each computed once into the cache: base, variants, tuned, sub-grid.

:func:`base_product` downscales a scenario into a Zarr store keyed by the
scenario and every option that changes the product (:func:`product_store`);
:func:`variant_products` does several covariate sets in one pass;
:func:`tuned_params` caches tuned hyperparameters; :func:`subgrid_product`
adds the sub-grid pattern the stations teach; :func:`station_pairs` matches a
product to the stations; :func:`strategy_pair` is the global strategy beside
the study's. :func:`cache_key` and :func:`store_once` are the cache's two
primitives (a digest of the settings, a crash-safe write).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.scenario import Scenario
from smkit.core.schema import rename_legacy
from smkit.core.store import create_once
from smkit.core.vocabulary import COVARIATES, LEARNER_ORDER
from smkit.engine import OPTIONS
from smkit.workflow.scenario import scenario_key

if TYPE_CHECKING:
    from smkit.workflow.study import Study

__all__ = [
    "DEFAULT_LEARNERS",
    "PRODUCT_OPTIONS",
    "cache_key",
    "store_once",
    "base_product",
    "variant_products",
    "product_store",
    "bma_store",
    "bma_stores",
    "join_bma",
    "tuned_params",
    "subgrid_product",
    "station_pairs",
    "strategy_pair",
]

#: Learners a study downscales with unless told otherwise (all four, in product order).
DEFAULT_LEARNERS = LEARNER_ORDER

#: Downscaling options of a study that its reruns (global strategy, leave-one-out) keep.
PRODUCT_OPTIONS = tuple(o for o in OPTIONS if o not in ("learners", "strategy", "seed"))


# --------------------------------------------------------------------------- BMA beside a product
def bma_store(source: str | Path, key: dict) -> Path:
    """Where the BMA maps of the product stored at ``source`` are kept, keyed by the BMA settings."""
    return Path(f"{str(source).removesuffix('.zarr')}-bma-{cache_key(key)}.zarr")


def bma_stores(source: str | Path) -> list[Path]:
    """The BMA stores beside the product stored at ``source`` (see :func:`bma_store`), newest first."""
    source = Path(source)
    return sorted(source.parent.glob(f"{source.name.removesuffix('.zarr')}-bma-*.zarr"),
                  key=lambda p: p.stat().st_mtime, reverse=True)


def join_bma(learners: xr.DataArray, bma: xr.DataArray) -> xr.DataArray:
    """``sm(model, ...)`` of the learners with a BMA map ``bma(time, lat, lon)`` appended as model ``bma``."""
    sm = xr.concat([learners, bma.expand_dims(model=["bma"])], dim="model")
    sm.attrs = dict(learners.attrs)
    return sm.transpose(*learners.dims)


# --------------------------------------------------------------------------- cache primitives
def cache_key(obj) -> str:
    """A short digest of settings for a cache name: 12 hex digits of the SHA-256 of sorted JSON.

    Values JSON cannot hold are written by ``str``.

    >>> cache_key({"b": 1, "a": [2009, 2010]}) == cache_key({"a": [2009, 2010], "b": 1})
    True
    >>> len(cache_key({"a": 1}))
    12
    """
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def store_once(store: Path, ds: xr.Dataset, progress: bool) -> xr.Dataset:
    """``ds`` written once to ``store`` and reopened (crash-safe: :func:`smkit.core.store.create_once`)."""
    if not store.exists():
        def write(tmp: Path) -> None:
            delayed = ds.to_zarr(tmp, mode="w", compute=False, consolidated=False)
            if progress:
                from smkit.core.progress import dask_progress

                with dask_progress(f"writing {store.name}"):
                    delayed.compute()
            else:
                delayed.compute()

        create_once(store, write)
    return rename_legacy(xr.open_zarr(store, consolidated=False))


# --------------------------------------------------------------------------- products
def base_product(sc: Scenario, *, learners=DEFAULT_LEARNERS, cache_dir: str | Path | None = None,
                 progress: bool = True, **options) -> xr.Dataset:
    """The scenario downscaled by the learners, computed once into the cache.

    Parameters
    ----------
    sc : Scenario
    learners : sequence of str
        Learners (``rf``, ``mlr``, ``svr``, ``xgb``).
    cache_dir : str or Path, optional
        Cache folder; the store is ``<cache>/<scenario>-product-<hash>.zarr``,
        the hash covering every option.
    progress : bool
    **options
        Passed to :func:`smkit.engine.downscale` (``strategy``, ``zones``,
        ``sw_max``, ``nd_max``, ``covariates``, ``days``, ...).

    Returns
    -------
    xarray.Dataset
        The product opened lazily from its store.
    """
    from smkit.engine import downscale

    store = product_store(sc, learners=learners, cache_dir=cache_dir, **options)
    store.parent.mkdir(parents=True, exist_ok=True)
    product = downscale(sc.coarse, sc.fine, learners=tuple(learners), out=store, progress=progress,
                        **options)
    product.encoding["store"] = str(store)
    return product


def variant_products(sc: Scenario, covariate_sets: dict, *, learners=DEFAULT_LEARNERS,
                     cache_dir: str | Path | None = None, progress: bool = True, **options) -> dict:
    """Products of several covariate sets in one pass over the inputs, each cached like :func:`base_product`.

    Returns
    -------
    dict
        ``{name: product}``; each store is the one :func:`base_product`
        would use for that set, so either function finds the other's work.
    """
    from smkit.engine import downscale_variants

    stores = {name: product_store(sc, learners=learners, cache_dir=cache_dir, covariates=tuple(covs),
                                  **options) for name, covs in covariate_sets.items()}
    for store in stores.values():
        store.parent.mkdir(parents=True, exist_ok=True)
    products = downscale_variants(sc.coarse, sc.fine, {k: tuple(v) for k, v in covariate_sets.items()},
                                  out=stores, learners=tuple(learners), progress=progress, **options)
    for name, store in stores.items():
        products[name].encoding["store"] = str(store)
    return products


def product_store(sc: Scenario, *, learners=DEFAULT_LEARNERS, cache_dir: str | Path | None = None,
                  **options) -> Path:
    """Where :func:`base_product` keeps a product: the cache, keyed by scenario and options.

    The key is the :class:`smkit.engine.Config` digest of the options (so a
    default passed explicitly is the same product) and the run arguments that
    select what is produced (``zones``, ``days``, ``cells``) or how the store
    is chunked (``time_chunk``, ``tile``), when given.
    """
    from smkit.engine import OPTIONS, Config
    from smkit.workflow.cache import DEFAULT_CACHE

    root = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    unknown = set(options) - set(OPTIONS) - set(_RUN_KEYED) - set(_NOT_PRODUCT)
    if unknown:
        raise TypeError(f"unknown downscaling option(s) {sorted(unknown)}; "
                        f"valid: {sorted(OPTIONS + _RUN_KEYED + _NOT_PRODUCT)}")
    cfg = Config.from_options(learners=tuple(learners), **{k: v for k, v in options.items() if k in OPTIONS})
    keyed = {"config": cfg.digest()}
    keyed.update({k: (v.values.tolist() if isinstance(v, xr.DataArray) else v) for k, v in options.items()
                  if k in _RUN_KEYED and v is not None})
    return root / f"{scenario_key(sc)}-product-{cache_key(keyed)}.zarr"


#: Arguments of :func:`smkit.engine.downscale` besides the options that the cache key holds.
_RUN_KEYED = ("zones", "days", "cells", "time_chunk", "tile")
#: Arguments of :func:`smkit.engine.downscale` that do not change the product.
_NOT_PRODUCT = ("out", "workers", "scheduler", "progress", "stations", "subgrid", "subgrid_period")


def tuned_params(sc: Scenario, learners, train_years, *, cache_dir: str | Path | None = None, seed: int = 0,
                 progress: bool = True, **options) -> dict:
    """Hyperparameters tuned once on the training years (cached as JSON beside the products).

    Grid search by 10-fold cross-validation with spatial folds (every
    cell-day of a cell in the same fold: 90 % of the cells fit, 10 %
    validate) for minimal RMSE on the pooled coarse training set of
    ``train_years``, over :data:`smkit.engine.learners.LEARNERS`' ranges
    (:func:`smkit.engine.tune_params`).

    Returns
    -------
    dict
        ``{learner: {param: value}}``, ready for ``params=``.
    """
    from smkit.engine import tune_params
    from smkit.workflow.cache import DEFAULT_CACHE

    root = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    years = sorted(int(y) for y in train_years)
    covs = tuple(options.get("covariates", COVARIATES))
    key = cache_key({"learners": list(learners), "years": years, "covs": covs, "seed": seed})
    path = root / f"{scenario_key(sc)}-tuned-{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    sel = {"time": slice(f"{years[0]}-01-01", f"{years[-1]}-12-31")}
    tuned = tune_params(sc.coarse.sel(sel), sc.fine.sel(sel), tuple(learners), covs,
                        options.get("aggregation", "mean"), options.get("min_valid", 0.5), seed, progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    tmp.write_text(json.dumps(tuned, indent=2, sort_keys=True))
    tmp.rename(path)
    return tuned

def subgrid_product(product: xr.Dataset, sc: Scenario, train_years, *, progress: bool = True) -> xr.Dataset:
    """The product with the sub-grid pattern learned from the stations of the training years added.

    The models (:func:`smkit.engine.subgrid.fit_subgrid`) are fitted on the station
    observations of ``train_years`` only; the corrected maps are written once
    beside the product's store (keyed by the years) and reopened.

    Returns
    -------
    xarray.Dataset
        The product with corrected ``sm``, attribute ``subgrid`` (penalty and
        stations of each learner's model) and, in ``encoding["store"]``, the
        corrected store.
    """
    from smkit.engine.subgrid import apply_subgrid, fit_subgrid, station_table

    covs = tuple(str(product.attrs.get("covariates", "lst,ndvi,albedo,precip,dem")).split(","))
    smooth = bool(int(product.attrs.get("smooth_coarse", 1)))
    years = sorted(int(y) for y in train_years)
    period = slice(f"{years[0]}-01-01", f"{years[-1]}-12-31")
    table = station_table(product, sc.fine, sc.stations, covariates=covs, smooth_coarse=smooth, time=period)
    table = table[np.isin(pd.DatetimeIndex(table["time"]).year, years)]
    learners = [str(m) for m in product["model"].values]
    models = fit_subgrid(table, learners, covs)
    corrected = apply_subgrid(product, sc.fine, models, covariates=covs, smooth_coarse=smooth)
    source = product.encoding.get("store")
    if source is None:
        return corrected
    store = Path(f"{source.removesuffix('.zarr')}-subgrid-{cache_key({'train': years, 'v': 1})}.zarr")
    stored = store_once(store, corrected[["sm"]], progress)
    out = product.assign(sm=stored["sm"]).assign_attrs(subgrid=corrected.attrs["subgrid"])
    out.encoding["store"] = str(store)
    return out


def station_pairs(product: xr.Dataset, sc: Scenario, zones: xr.DataArray | None = None):
    """Match the product and the coarse retrieval to the stations.

    Returns
    -------
    (matched, pairs)
        The matched dataset (:func:`smkit.validate.match_stations`, with a
        ``zone`` coordinate when ``zones`` is given) and its tidy table with a
        ``zone`` column (all 1 without zones).
    """
    from smkit.bma import zone_pairs
    from smkit.validate import match_stations

    return zone_pairs(match_stations(product, sc.stations, coarse=sc.coarse), zones)


def strategy_pair(st: Study, days: int = 92):
    """The study's product and the global strategy's, over ``days`` days of the first validation year.

    The global product is computed (and cached) for those days only; the
    learners, caps and zones are the study's.

    Returns
    -------
    (window, global, days)
        Two product datasets restricted to the same days, and the slice of days.
    """
    start = pd.Timestamp(f"{st.test_years[0]}-06-01")
    sel = slice(str(start.date()), str((start + pd.Timedelta(days=days - 1)).date()))
    opts = {k: v for k, v in st.params.items() if k in PRODUCT_OPTIONS}
    glob = base_product(st.scenario, learners=st.learners, cache_dir=st.params.get("cache_dir"),
                        strategy="global", zones=st.zones, days=slice(sel.start, sel.stop),
                        seed=st.params.get("seed", 0), **opts)
    window = st.product.sel(time=sel)
    window = window.assign(sm=window["sm"].sel({"model": st.learners}))
    return window, glob.sel(time=sel), sel
