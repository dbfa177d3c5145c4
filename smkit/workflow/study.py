"""The study every notebook shares: scenario, zones, base product, station pairs and BMA.

A notebook of the paper opens the study with :func:`open_study` and the
parameters of its ``parameters`` cell; the expensive part (downscaling with
the four learners) is computed once into a Zarr store in the cache, keyed by
the scenario and every parameter that changes the product, and reused by
every later notebook and run; a killed computation resumes where it
stopped. Zones (k-means) and the EM fit of the BMA weights take seconds and
are recomputed. The pieces are plain functions too (:func:`load_scenario`,
:func:`base_product`, :func:`station_pairs`, :func:`fit_bma`) so that the
uncertainty notebooks can rerun parts with other inputs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit.engine import OPTIONS
from smkit.engine.features import COVARIATES
from smkit.synth import PRESETS, Scenario
from smkit.core.vocabulary import LEARNER_ORDER

DEFAULT_LEARNERS = LEARNER_ORDER

#: Downscaling options of a study that its reruns (global strategy, leave-one-out) keep.
PRODUCT_OPTIONS = tuple(o for o in OPTIONS if o not in ("learners", "strategy", "seed"))


# --------------------------------------------------------------------------- scenario
def load_scenario(scenario: str | Path = "tiny", *, seed: int = 0,
                  cache_dir: str | Path | None = None, progress: bool = True) -> Scenario:
    """Open a preset's synthetic scenario (built once into the cache) or a stored cube.

    Parameters
    ----------
    scenario : str or Path
        A preset name (``tiny``, ``demo``, ``three-north``) or the path of a
        store written by :meth:`smkit.synth.Scenario.to_zarr` or ``smkit ingest``.
    seed : int
        Seed of a synthetic scenario.
    cache_dir : str or Path, optional
        Cache folder (default ``.smkit-cache`` or ``$SMKIT_CACHE``).
    progress : bool
        Show a progress bar while building.

    Returns
    -------
    Scenario
        Lazy (dask-backed) datasets; ``truth`` is None for real data.
    """
    from smkit.workflow.cache import cached_scenario
    from smkit.synth import open_scenario

    if str(scenario) in PRESETS:
        sc, _ = cached_scenario(str(scenario), seed, cache_dir, progress=progress)
        return sc
    path = Path(scenario)
    if not path.exists():
        raise FileNotFoundError(
            f"{scenario!r} is neither a preset ({sorted(PRESETS)}) nor an existing store"
        )
    return open_scenario(path)


def scenario_key(sc: Scenario) -> str:
    """A short name of a scenario for cache keys (preset and seed, or a hash of its attributes)."""
    a = sc.attrs
    if a.get("preset") and "seed" in a:
        return f"{a['preset']}-seed{a['seed']}-w{a.get('world_version', 1)}"
    text = json.dumps({k: str(v) for k, v in sorted(a.items())})
    return "cube-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def has_truth(sc: Scenario) -> bool:
    """Whether the scenario carries a 1-km truth (synthetic worlds do, real data do not)."""
    return getattr(sc, "truth", None) is not None and "sm" in sc.truth


# --------------------------------------------------------------------------- tables, figures
_SOURCES = {
    "sm": ("ESA CCI SM v0X COMBINED", "soil moisture retrieval"),
    "lst": ("MODIS MOD11A1", "land surface temperature"),
    "ndvi": ("MODIS MOD13A2", "NDVI (16-day composites)"),
    "albedo": ("MODIS MCD43C3", "white-sky albedo"),
    "precip": ("GPM IMERG", "precipitation"),
    "dem": ("SRTM", "elevation"),
}


def _res(ds: xr.Dataset) -> str:
    from smkit.core.grid import Grid

    return f"{Grid.from_dataset(ds).res:g}°"


def _cadence(da: xr.DataArray) -> str:
    if "time" not in da.dims:
        return "static"
    t = pd.DatetimeIndex(da["time"].values)
    if len(t) < 2:
        return "single"
    step = pd.Series(t).diff().median()
    return "monthly" if step >= pd.Timedelta(days=28) else f"{step.days}-daily"


def data_table(sc: Scenario) -> pd.DataFrame:
    """The datasets of a scenario: variable, meaning, units, grid, cadence, real counterpart."""
    rows = []
    groups = [("coarse", ("sm",)), ("fine", COVARIATES)]
    for group, names in groups:
        ds = getattr(sc, group)
        for name in names:
            if name not in ds:
                continue
            src, meaning = _SOURCES.get(name, ("", ""))
            rows.append({"dataset": group, "variable": name, "meaning": meaning,
                         "units": ds[name].attrs.get("units", ""), "grid": _res(ds),
                         "cadence": _cadence(ds[name]), "real counterpart": src})
    for group, name, src in (("era5", "sm", "ERA5-Land swvl1"), ("noah", "sm", "GLDAS Noah"),
                             ("pdsi", "pdsi", "TerraClimate PDSI")):
        ds = getattr(sc, group, None)
        if ds is None or name not in ds:
            continue
        rows.append({"dataset": group, "variable": name, "meaning": ds[name].attrs.get("long_name", ""),
                     "units": ds[name].attrs.get("units", ""), "grid": _res(ds),
                     "cadence": _cadence(ds[name]), "real counterpart": src})
    return pd.DataFrame(rows).set_index(["dataset", "variable"])


def figure_covariates(sc: Scenario, date: str):
    """Maps of the retrieval and the five covariates on one day (units on the colour bars)."""
    import matplotlib.pyplot as plt

    panels = [("sm", sc.coarse["sm"].sel(time=date), "YlGnBu")]
    cmaps = {"lst": "inferno", "ndvi": "Greens", "albedo": "Greys_r", "precip": "Blues", "dem": "terrain"}
    for name in COVARIATES:
        if name in sc.fine:
            da = sc.fine[name]
            panels.append((name, da.sel(time=date) if "time" in da.dims else da, cmaps[name]))
    fig, axes = plt.subplots(2, 3, figsize=(14, 8), sharex=True, sharey=True)
    for ax, (name, da, cmap) in zip(axes.ravel(), panels, strict=False):
        units = da.attrs.get("units", "")
        da.plot(ax=ax, cmap=cmap, cbar_kwargs={"label": f"{name} [{units}]"})
        ax.set_title(f"{name} ({_SOURCES[name][0].split(' v')[0]}-like)" if name in _SOURCES else name)
        ax.set_xlabel("longitude [°E]")
        ax.set_ylabel("latitude [°N]")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"Coarse retrieval and explanatory factors on {date}")
    fig.tight_layout()
    return fig


def realism_table(sc: Scenario) -> tuple[pd.DataFrame, dict]:
    """The synthetic world's realism statistics beside their published ranges.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table of :func:`smkit.analysis.realism.realism_table` and the statistics
        of :func:`smkit.analysis.realism.realism`.
    """
    from smkit.analysis.realism import realism
    from smkit.analysis.realism import realism_table as table

    stats = realism(sc)
    return table(stats), stats


# --------------------------------------------------------------------------- base product
def _key(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


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
    from smkit.workflow.cache import DEFAULT_CACHE
    from smkit.engine import OPTIONS, Config

    root = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    unknown = set(options) - set(OPTIONS) - set(_RUN_KEYED) - set(_NOT_PRODUCT)
    if unknown:
        raise TypeError(f"unknown downscaling option(s) {sorted(unknown)}; "
                        f"valid: {sorted(OPTIONS + _RUN_KEYED + _NOT_PRODUCT)}")
    cfg = Config.from_options(learners=tuple(learners), **{k: v for k, v in options.items() if k in OPTIONS})
    keyed = {"config": cfg.digest()}
    keyed.update({k: (v.values.tolist() if isinstance(v, xr.DataArray) else v) for k, v in options.items()
                  if k in _RUN_KEYED and v is not None})
    return root / f"{scenario_key(sc)}-product-{_key(keyed)}.zarr"


#: Arguments of :func:`smkit.engine.downscale` besides the options that the cache key holds.
_RUN_KEYED = ("zones", "days", "cells", "time_chunk", "tile")
#: Arguments of :func:`smkit.engine.downscale` that do not change the product.
_NOT_PRODUCT = ("out", "workers", "scheduler", "progress", "stations", "subgrid", "subgrid_period")


def _with_cached_bma(product: xr.Dataset, bma, zones: xr.DataArray, key: dict, progress: bool) -> xr.Dataset:
    """The product with ``bma`` and ``sm_std``, written once beside the product's store and reopened.

    Evaluating the mixture is cheap once but every notebook reads the BMA
    maps, so they are stored (keyed by the BMA settings) rather than
    recomputed from the four learners at each read.
    """
    from smkit.bma import apply

    full = apply(product, bma, zones)
    source = product.encoding.get("store")
    if source is None:
        return full
    store = Path(f"{source.removesuffix('.zarr')}-bma-{_key(key)}.zarr")
    stored = _store_once(store, xr.Dataset({"bma": full["sm"].sel({"method": "bma"}).drop_vars("method"),
                                            "sm_std": full["sm_std"]}), progress)
    learners = full["sm"].sel({"method": [m for m in full["method"].values if str(m) != "bma"]})
    sm = xr.concat([learners, stored["bma"].expand_dims(method=["bma"])], dim="method")
    sm.attrs = dict(full["sm"].attrs)
    return full.assign(sm=sm.transpose(*full["sm"].dims), sm_std=stored["sm_std"])


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
    from smkit.workflow.cache import DEFAULT_CACHE
    from smkit.engine import tune_params

    root = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    years = sorted(int(y) for y in train_years)
    covs = tuple(options.get("covariates", COVARIATES))
    key = _key({"learners": list(learners), "years": years, "covs": covs, "seed": seed})
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


def _store_once(store: Path, ds: xr.Dataset, progress: bool) -> xr.Dataset:
    """``ds`` written once to ``store`` (crash-safe: a temporary store renamed when complete) and reopened."""
    if not (store / ".complete").exists():
        import shutil

        tmp = store.with_name(store.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        write = ds.to_zarr(tmp, mode="w", compute=False, consolidated=False)
        if progress:
            from tqdm.dask import TqdmCallback

            with TqdmCallback(desc=f"writing {store.name}"):
                write.compute()
        else:
            write.compute()
        (tmp / ".complete").touch()
        shutil.rmtree(store, ignore_errors=True)
        tmp.rename(store)
    return xr.open_zarr(store, consolidated=False)


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
    learners = [str(m) for m in product["method"].values]
    models = fit_subgrid(table, learners, covs)
    corrected = apply_subgrid(product, sc.fine, models, covariates=covs, smooth_coarse=smooth)
    source = product.encoding.get("store")
    if source is None:
        return corrected
    store = Path(f"{source.removesuffix('.zarr')}-subgrid-{_key({'train': years, 'v': 1})}.zarr")
    stored = _store_once(store, corrected[["sm"]], progress)
    out = product.assign(sm=stored["sm"]).assign_attrs(subgrid=corrected.attrs["subgrid"])
    out.encoding["store"] = str(store)
    return out


# --------------------------------------------------------------------------- study
def default_years(times) -> tuple[list[int], list[int]]:
    """Training and validation years: the last two years validate (the paper: 2009-2010).

    With fewer than three years, the last year validates and the others train.
    """
    years = sorted(set(pd.DatetimeIndex(np.asarray(times)).year))
    if len(years) < 2:
        raise ValueError(f"need at least two years to train and validate BMA, got {years}")
    n_test = 2 if len(years) >= 3 else 1
    return years[:-n_test], years[-n_test:]


def station_pairs(product: xr.Dataset, sc: Scenario, zones: xr.DataArray | None = None):
    """Match the product and the coarse retrieval to the stations.

    Returns
    -------
    (matched, pairs)
        The matched dataset (:func:`smkit.validate.match_stations`, with a
        ``zone`` coordinate when ``zones`` is given) and its tidy table with a
        ``zone`` column (all 1 without zones).
    """
    from smkit.validate import match_stations, to_pairs

    matched = match_stations(product, sc.stations, coarse=sc.coarse)
    if zones is not None:
        from smkit.bma.zones import zone_of_stations

        # locate each station by the centre of its matched pixel: a station on a cell edge then
        # gets the zone of the cell its product values come from
        where = pd.DataFrame({"lat": matched["pixel_lat"].values, "lon": matched["pixel_lon"].values,
                              "name": matched["name"].values})
        inside = np.isfinite(where["lat"].to_numpy())
        zone = np.full(len(where), -1)
        if inside.any():
            zone[inside] = np.asarray(zone_of_stations(zones, where[inside].reset_index(drop=True)))
        matched = matched.assign_coords(zone=("station", zone))
    pairs = to_pairs(matched)
    zone = matched["zone"].values if "zone" in matched.coords else np.ones(matched.sizes["station"], int)
    pairs["zone"] = zone[np.searchsorted(matched["station"].values, pairs["station"].values)]
    return matched, pairs


@dataclass
class Study:
    """Everything a notebook of the paper works with.

    Attributes
    ----------
    scenario : Scenario
    product : xarray.Dataset
        ``sm(method, time, lat, lon)`` (m3 m-3) with the learners and ``bma``,
        ``sm_std`` (BMA predictive standard deviation) and the window diagnostics.
    zones : xarray.DataArray
        Zone labels on the coarse grid (1 = driest).
    bma : smkit.bma.ZoneBMA
        Weights per zone, fitted on the training years.
    matched : xarray.Dataset
        Station observations and every method (with ``cci``) at the stations.
    pairs : pandas.DataFrame
        ``matched`` as a tidy table with ``zone``.
    train_years, test_years : list of int
    params : dict
        The parameters the study was opened with.
    windowed : xarray.Dataset or None
        The windowed learners before the sub-grid pattern learned from the
        stations was added (None when the study was opened without it).
    """

    scenario: Scenario
    product: xr.Dataset
    zones: xr.DataArray
    bma: object
    matched: xr.Dataset
    pairs: pd.DataFrame
    train_years: list[int]
    test_years: list[int]
    params: dict = field(default_factory=dict)
    windowed: xr.Dataset | None = None

    @property
    def learners(self) -> list[str]:
        """The learners of the product (without ``bma``)."""
        return [str(m) for m in self.product["method"].values if str(m) != "bma"]

    def test(self) -> xr.Dataset:
        """The matched stations over the validation years."""
        from smkit.validate import split_years

        return split_years(self.matched, self.train_years, self.test_years)[1]


def fit_bma(pairs: pd.DataFrame, members, train_years=None, *, zones=None, method: str = "em",
            **kw):
    """Fit BMA weights per zone on the complete pairs of the training years.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Station pairs with ``zone``, ``obs``, ``time`` and the member columns.
    members : sequence of str
        Learners to merge.
    train_years : sequence of int, optional
        Years whose pairs fit the weights (default all).
    zones : xarray.DataArray, optional
        The zone map, so that zones without stations get the pooled weights.
    method : {"em", "pymc", "mc3"}
    **kw
        Passed to :func:`smkit.bma.fit_zones`.
    """
    from smkit.bma import fit_zones

    train = pairs
    if train_years is not None:
        train = pairs[np.isin(pd.DatetimeIndex(pairs["time"]).year, list(train_years))]
    cols = ["zone", "obs", *members]
    train = train[np.isfinite(train[list(members) + ["obs"]].to_numpy()).all(axis=1)]
    if train.empty:
        raise ValueError(f"no complete station pair in the training years {train_years}")
    return fit_zones(train[cols + [c for c in ("station", "network", "time") if c in train]],
                     method=method, zones=zones, members=list(members), **kw)


def open_study(
    scenario: str | Path = "tiny",
    *,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    learners=DEFAULT_LEARNERS,
    k: int = 7,
    clustered: bool = True,
    bma_method: str = "em",
    train_years=None,
    test_years=None,
    store_bma: bool = True,
    subgrid: bool = True,
    tune: bool = False,
    progress: bool = True,
    **options,
) -> Study:
    """Open the study: scenario, zones, cached base product, BMA per zone, station pairs.

    Parameters
    ----------
    scenario : str or Path
        Preset or store (see :func:`load_scenario`).
    seed : int
        Scenario, k-means and forest seed.
    cache_dir : str or Path, optional
    learners : sequence of str
    k : int
        Number of k-means zones (the paper: 7).
    clustered : bool
        Fit BMA per zone (the paper) or once for the whole domain (Fig. S6).
    bma_method : {"em", "pymc", "mc3"}
    train_years, test_years : sequence of int, optional
        Years that fit and validate BMA (default :func:`default_years`).
    store_bma : bool, default True
        Write the BMA maps once beside the product (fast to read again), or
        evaluate them from the learners at each read (for one-off variants).
    subgrid : bool, default True
        Learn the sub-grid pattern from the stations of the training years
        and add it to every learner before BMA (:func:`subgrid_product`);
        False for the windowed learners alone.
    tune : bool, default False
        Tune the learners' hyperparameters once on the training years' pooled
        coarse cell-days (10 spatial folds, :func:`tuned_params`, cached) and
        downscale with them (the paper's section 3.2.5).
    progress : bool
    **options
        Downscaling options (:func:`smkit.engine.downscale`).

    Returns
    -------
    Study
    """
    from smkit.bma import apply
    from smkit.bma.zones import kmeans_zones

    sc = load_scenario(scenario, seed=seed, cache_dir=cache_dir, progress=progress)
    zones = kmeans_zones(sc.coarse["sm"], k=k, seed=seed)
    if options.get("strategy") == "global" and "zones" not in options:
        options["zones"] = zones
    if train_years is None or test_years is None:
        dtrain, dtest = default_years(sc.coarse["time"].values)
        train_years = list(train_years) if train_years is not None else dtrain
        test_years = list(test_years) if test_years is not None else dtest
    if tune:
        options["params"] = tuned_params(sc, learners, train_years, cache_dir=cache_dir, seed=seed,
                                         progress=progress)
    product = base_product(sc, learners=learners, cache_dir=cache_dir, progress=progress, seed=seed,
                           **options)
    windowed = None
    if subgrid:
        try:
            windowed, product = product, subgrid_product(product, sc, train_years, progress=progress)
        except ValueError as err:  # too few stations with data: the windowed learners alone
            import warnings

            warnings.warn(f"no sub-grid model: {err}", UserWarning, stacklevel=2)
            subgrid = False
    use_zones = zones if clustered else xr.ones_like(zones).where(zones > 0, zones)
    _, pairs = station_pairs(product, sc, use_zones)
    bma = fit_bma(pairs, list(learners), train_years, zones=use_zones, method=bma_method)
    full = apply(product, bma, use_zones) if not store_bma else _with_cached_bma(product, bma, use_zones, {
        "method": bma_method, "train": list(train_years), "k": k, "clustered": clustered, "seed": seed,
        "learners": list(learners), "subgrid": subgrid, "smooth_zones": True}, progress)
    matched, pairs = station_pairs(full, sc, use_zones)
    params = {"scenario": str(scenario), "seed": seed, "cache_dir": cache_dir,
              "learners": list(learners), "k": k, "subgrid": subgrid, "tune": tune,
              "clustered": clustered, "bma_method": bma_method, **{k_: v for k_, v in options.items()
                                                                  if k_ != "zones"}}
    return Study(sc, full, zones, bma, matched, pairs, list(train_years), list(test_years), params, windowed)


# --------------------------------------------------------------------------- tables of the study
def bma_vs_best(networks: pd.DataFrame) -> pd.DataFrame:
    """R of BMA against the best single learner per network (from :func:`smkit.validate.score_networks`).

    Returns
    -------
    pandas.DataFrame
        Per network: ``bma_r``, ``best_learner``, ``best_r`` and ``bma_minus_best``.
    """
    df = networks.reset_index() if "network" not in networks.columns else networks
    rows = []
    for net, g in df.groupby("network", sort=False):
        g = g.set_index("method")
        learners = g.drop(index=[m for m in ("bma", "cci") if m in g.index])
        if "bma" not in g.index or learners.empty:
            continue
        best = learners["r"].idxmax()
        rows.append({"network": net, "bma_r": g.loc["bma", "r"], "best_learner": best,
                     "best_r": learners.loc[best, "r"], "bma_minus_best": g.loc["bma", "r"] - learners.loc[best, "r"],
                     "n": g.loc["bma", "n"]})
    return pd.DataFrame(rows).set_index("network")


def station_holdout(st: Study, n_folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Network scores of BMA whose weights never saw the scored stations.

    The stations are dealt into ``n_folds`` folds within each zone
    (:func:`smkit.validate.split_stations`); each fold is scored with
    weights fitted on the other folds' pairs (all years), so the score
    measures how the weights carry to unseen places.

    Returns
    -------
    pandas.DataFrame
        Per network: N, R, RMSE, MAE, ubRMSE of the held-out BMA, next to
        the in-sample BMA (weights fitted on every station, same pairs).
    """
    import warnings

    from smkit.bma import BMAWarning
    from smkit.validate.metrics import all_metrics
    from smkit.validate import split_stations

    pairs = st.pairs[np.isfinite(st.pairs[st.learners + ["obs"]].to_numpy()).all(axis=1)].copy()
    matched = st.matched
    folds = split_stations(matched, matched["zone"].values, n_folds=n_folds, seed=seed)
    station_ids = matched["station"].values
    pairs["bma_held_out"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BMAWarning)
        for train_idx, test_idx in folds:
            train = pairs[np.isin(pairs["station"], station_ids[train_idx])]
            test = np.isin(pairs["station"], station_ids[test_idx])
            if train.empty or not test.any():
                continue
            fit = fit_bma(train, st.learners, None, zones=st.zones, method="em")
            pairs.loc[test, "bma_held_out"] = bma_at_pairs(fit, pairs[test], st.learners)
        full = fit_bma(pairs, st.learners, None, zones=st.zones, method="em")
    pairs["bma_in_sample"] = bma_at_pairs(full, pairs, st.learners)
    rows = []
    for net, g in pairs.groupby("network", sort=False):
        for col, label in (("bma_held_out", "held-out stations"), ("bma_in_sample", "in-sample")):
            m = all_metrics(g[col].to_numpy(), g["obs"].to_numpy())
            rows.append({"network": net, "weights": label, **{k: m[k] for k in ("n", "r", "rmse", "mae", "ubrmse")}})
    return pd.DataFrame(rows).set_index(["network", "weights"])


def bma_at_pairs(fit, pairs: pd.DataFrame, members) -> np.ndarray:
    """BMA mean at station pairs with each pair's zone parameters."""
    out = np.full(len(pairs), np.nan)
    zone = pairs["zone"].to_numpy()
    for z in np.unique(zone):
        sel = zone == z
        try:
            p = fit.params_for(int(z))
        except KeyError:  # a station in no zone (its cell never had a retrieval): pooled weights
            p = fit.params_for("pooled")
        f = pairs.loc[sel, list(members)].to_numpy()
        a, b = p["bias_coefs"][:, 0], p["bias_coefs"][:, 1]
        out[sel] = (a + b * f) @ p["weights"]
    return out


def truth_table(st: Study, years=None) -> pd.DataFrame:
    """Every method and the interpolation baselines against the 1-km truth over the validation years."""
    from smkit.validate import truth_skill

    yrs = [str(y) for y in (years or st.test_years)]
    sel = {"time": slice(f"{yrs[0]}-01-01", f"{yrs[-1]}-12-31")}
    product = st.product["sm"].sel(sel)
    return truth_skill(product, st.scenario.truth, factor=int(st.product.attrs["factor"]), common=True,
                       coarse=st.scenario.coarse)


def _test_period(st: Study, years=None) -> dict:
    yrs = [int(y) for y in (years or st.test_years)]
    return {"time": slice(f"{min(yrs)}-01-01", f"{max(yrs)}-12-31")}


def tuning_comparison(st: Study, months=range(4, 10), *, n_boot: int = 200,
                      progress: bool = True) -> pd.DataFrame:
    """The windowed learners with tuned and with default hyperparameters against the truth.

    Both are scored over the growing season (``months``) of the first
    validation year; the default-parameter product is computed (and cached)
    for those days only.

    Returns
    -------
    pandas.DataFrame
        :func:`smkit.validate.skill.truth_scores` rows ``<learner>_tuned`` and ``<learner>_default``.
    """
    from smkit.validate.skill import truth_scores

    if not st.params.get("tune"):
        raise ValueError("the study was opened without tuning (tune=False)")
    year = int(min(st.test_years))
    months = list(months)
    sel = slice(f"{year}-{min(months):02d}-01", str((pd.Timestamp(f"{year}-{max(months):02d}-01")
                                                      + pd.offsets.MonthEnd(0)).date()))
    opts = {k: v for k, v in st.params.items() if k in PRODUCT_OPTIONS and k != "params"}
    default = base_product(st.scenario, learners=st.learners, cache_dir=st.params.get("cache_dir"),
                           days=sel, seed=st.params.get("seed", 0), progress=progress, **opts)
    tuned = (st.windowed if st.windowed is not None else st.product)["sm"].sel({"method": st.learners})
    tuned = tuned.sel(time=sel).assign_coords(method=[f"{m}_tuned" for m in st.learners])
    default = default["sm"].sel(time=sel).assign_coords(method=[f"{m}_default" for m in st.learners])
    both = xr.concat([tuned, default], dim="method")
    return truth_scores(both.to_dataset(name="sm"), st.scenario.truth, int(st.product.attrs["factor"]),
                        n_boot=n_boot, reference=None)


def truth_scorecard(st: Study, *, n_boot: int = 300, oracle: int = 30, seed: int = 0,
                    progress: bool = True) -> pd.DataFrame:
    """Every product against the 1-km truth over the validation years, beside what a user has, with intervals.

    Rows: the final learners and BMA (sub-grid pattern learned from the
    stations of the training years), the windowed learners alone
    (``<learner>_windows``), the retrieval's nearest and bilinear
    interpolations and, with ``oracle`` > 0, each learner corrected by the
    sub-grid model fitted on ``oracle`` pixels of the *truth* of the training
    years (``<learner>_oracle``: an upper bound of what point data could teach).
    Columns as :func:`smkit.validate.skill.truth_scores` (differences to bilinear).
    """
    from smkit.validate.skill import truth_scores

    sel = _test_period(st)
    parts = [st.product["sm"].sel(sel)]
    if st.windowed is not None:
        w = st.windowed["sm"].sel(sel)
        parts.append(w.assign_coords(method=[f"{m}_windows" for m in w["method"].values]))
        if oracle:
            from smkit.engine.subgrid import apply_subgrid, fit_subgrid, oracle_stations, station_table

            covs = tuple(str(st.windowed.attrs.get("covariates", ",".join(COVARIATES))).split(","))
            years = [int(y) for y in st.train_years]
            pseudo = oracle_stations(st.scenario.truth, oracle, seed=seed)
            table = station_table(st.windowed, st.scenario.fine, pseudo, covariates=covs,
                                  time=slice(f"{min(years)}-01-01", f"{max(years)}-12-31"))
            models = fit_subgrid(table, [str(m) for m in w["method"].values], covs)
            o = apply_subgrid(st.windowed.sel(sel), st.scenario.fine, models, covariates=covs)["sm"]
            parts.append(o.assign_coords(method=[f"{m}_oracle" for m in o["method"].values]))
    both = xr.concat(parts, dim="method")
    if progress:
        from tqdm.dask import TqdmCallback

        with TqdmCallback(desc="scoring against the truth"):
            both = both.load()
    return truth_scores(both.to_dataset(name="sm"), st.scenario.truth, int(st.product.attrs["factor"]),
                        coarse=st.scenario.coarse, n_boot=n_boot, seed=seed)


def station_scorecard(st: Study, *, n_boot: int = 300, seed: int = 0) -> pd.DataFrame:
    """Every product and the retrieval at the stations over the validation years, with intervals.

    Per network and for all stations pooled (group ``all``): pooled R, median
    per-station R, station-demeaned R, 35-day anomaly R, ubRMSE and mean
    station bias, each with its 90 % block-bootstrap interval and its
    difference to CCI (:func:`smkit.validate.skill.station_scores`). The windowed
    learners alone appear as ``<learner>_windows``. The stations are those
    whose training-year data fitted the sub-grid model and BMA: the years are
    held out, the places are not (:func:`station_holdout` holds out places).
    """
    from smkit.validate.skill import station_scores
    from smkit.validate import match_stations, split_years

    test = st.test()
    if st.windowed is not None:
        w = match_stations(st.windowed[["sm"]], st.scenario.stations)
        w = split_years(w, st.train_years, st.test_years)[1]
        w = w.assign_coords(method=[f"{m}_windows" for m in w["method"].values])
        test = test.reindex(time=np.union1d(test["time"].values, w["time"].values))
        w = w.reindex(time=test["time"].values)
        test = test.assign(pred=xr.concat([test["pred"], w["pred"]], dim="method"))
    by_net = station_scores(test, reference="cci", n_boot=n_boot, seed=seed)
    pooled = station_scores(test, reference="cci", n_boot=n_boot, seed=seed, by="all")
    return pd.concat([by_net, pooled])


def station_holdout_scorecard(st: Study, *, n_folds: int = 4, n_boot: int = 300,
                              seed: int = 0) -> pd.DataFrame:
    """Station scores over the validation years with the sub-grid model fitted *without* the scored stations.

    The stations are dealt into ``n_folds`` folds (stratified by zone,
    :func:`smkit.validate.split_stations`); for each fold the sub-grid models
    are fitted on the other stations' training years, and each held-out
    station's members are corrected at its own pixel with the fold's
    anomaly terms: ``product + sum_k w_k (x_k - mean_k)`` over the
    anomaly and anomaly-times-wetness features at the station (the context
    terms, which the map's removal of each cell's mean cancels, are left
    out). BMA then merges the held-out members with the study's weights.
    Columns as :func:`station_scorecard`; the learners and ``bma`` here never
    saw the scored stations' data (the BMA weights did, as four numbers per zone).
    """
    from smkit.validate.skill import station_scores
    from smkit.engine.subgrid import feature_names, fit_subgrid, station_table
    from smkit.validate import split_stations, split_years

    if st.windowed is None:
        raise ValueError("the study was opened without the sub-grid model (subgrid=False)")
    w = st.windowed
    learners = st.learners
    covs = tuple(str(w.attrs.get("covariates", ",".join(COVARIATES))).split(","))
    names = feature_names(covs)
    anomaly_terms = [n for n in names if "_anomaly" in n]
    table = station_table(w, st.scenario.fine, st.scenario.stations, covariates=covs)
    train = table[np.isin(pd.DatetimeIndex(table["time"]).year, [int(y) for y in st.train_years])]
    matched = st.matched
    folds = split_stations(matched, matched["zone"].values, n_folds=n_folds, seed=seed)
    station_names = np.asarray(matched["name"].values).astype(str)
    held = table.copy()
    for m in learners:
        held[m] = np.nan
    for train_idx, test_idx in folds:
        fit_names, test_names = set(station_names[train_idx]), set(station_names[test_idx])
        models = fit_subgrid(train[train["name"].isin(fit_names)], learners, covs)
        rows = held["name"].isin(test_names).to_numpy()
        for m in learners:
            coef = dict(zip(names, models[m].coef_, strict=True))
            sub = table.loc[rows]
            corr = np.zeros(int(rows.sum()))
            for n in anomaly_terms:
                x = sub[f"{m}:{n}"]
                corr += coef[n] * (x - x.groupby(sub["name"]).transform("mean")).fillna(0.0).to_numpy()
            held.loc[rows, m] = np.clip(sub[m].to_numpy() + corr, 0.0, float(w.attrs.get("sm_max", 0.6)))
    # back onto the matched layout: (method, station, time), cci first, then the learners and BMA
    pred = st.matched["pred"].sel({"method": ["cci", *learners]}).values.copy()
    pred[1:] = np.nan
    pos = {str(n): k for k, n in enumerate(station_names)}
    tpos = pd.Index(pd.DatetimeIndex(st.matched["time"].values))
    si = held["name"].map(pos).to_numpy()
    ti = tpos.get_indexer(pd.DatetimeIndex(held["time"]))
    for k, m in enumerate(learners):
        pred[1 + k, si, ti] = held[m].to_numpy()
    bma_pred = np.full(pred.shape[1:], np.nan)
    for n in range(matched.sizes["station"]):
        z = int(matched["zone"].values[n])
        try:
            p = st.bma.params_for(z)
        except KeyError:
            p = st.bma.params_for("pooled")
        f = pred[1:, n, :].T  # (time, learner)
        bma_pred[n] = (p["bias_coefs"][:, 0] + p["bias_coefs"][:, 1] * f) @ p["weights"]
    both = xr.DataArray(np.concatenate([pred, bma_pred[None]]), dims=("method", "station", "time"),
                        coords={"method": ["cci", *learners, "bma"]})
    m = st.matched.drop_vars(["pred", "method"]).assign(pred=both)
    test = split_years(m, st.train_years, st.test_years)[1]
    by_net = station_scores(test, reference="cci", n_boot=n_boot, seed=seed)
    pooled = station_scores(test, reference="cci", n_boot=n_boot, seed=seed, by="all")
    return pd.concat([by_net, pooled])


def scorecard_summary(truth: pd.DataFrame | None, stations: pd.DataFrame, best: str = "bma") -> list[str]:
    """Plain sentences on where ``best`` wins and where it does not, computed from the scorecards."""
    from smkit.validate.skill import verdict

    lines = []
    if truth is not None and best in truth.index:
        for metric, label in (("r", "total R"), ("r_anomaly", "within-cell anomaly R")):
            row = truth.loc[best]
            lines.append(verdict(row[f"diff_{metric}"], row[f"diff_{metric}_lo"], row[f"diff_{metric}_hi"],
                                 what=f"Against the 1-km truth, {best.upper()}",
                                 than="bilinear interpolation",
                                 metric=label))
        for m in [i for i in truth.index if i.endswith("_windows")]:
            row = truth.loc[m]
            lines.append(verdict(row["diff_r"], row["diff_r_lo"], row["diff_r_hi"],
                                 what=f"Without stations, {m.removesuffix('_windows').upper()}",
                                 than="bilinear", metric="total R")
                         + f" Its within-cell anomaly R: {row['r_anomaly']:.3f} vs bilinear's "
                           f"{truth.loc['bilinear', 'r_anomaly']:.3f}.")
        row = truth.loc[best]
        lines.append(f"Seam statistic of {best.upper()}: {row['seam']:.3f} "
                     f"(the truth's {row['seam_truth']:.3f}).")
    for (group, method), row in stations.iterrows():
        if method != best:
            continue
        for metric, label in (("r_demeaned", "station-demeaned (temporal) R"), ("r", "pooled R")):
            lines.append(verdict(row[f"diff_{metric}"], row[f"diff_{metric}_lo"], row[f"diff_{metric}_hi"],
                                 what=f"At {'all' if group == 'all' else f'the {group}'} stations, "
                                      f"{best.upper()}", than="CCI", metric=label))
    return lines


def comparison_summary(result: dict) -> pd.DataFrame:
    """Spatial median and 10/90 % quantiles of the per-pixel scores of :func:`smkit.validate.compare_models`."""
    rows = []
    for name, ds in result.items():
        for m in ("r", "mae", "ubrmse", "bias"):
            if m not in ds:
                continue
            v = np.asarray(ds[m].values, dtype=float).ravel()
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            rows.append({"reference": name, "metric": m, "median": np.median(v),
                         "q10": np.quantile(v, 0.1), "q90": np.quantile(v, 0.9), "pixels": v.size})
    return pd.DataFrame(rows).set_index(["reference", "metric"])


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
    window = window.assign(sm=window["sm"].sel({"method": st.learners}))
    return window, glob.sel(time=sel), sel


def overview_table(st: Study) -> pd.DataFrame:
    """All methods side by side: station scores over the validation years and, if known, truth skill."""
    from smkit.validate import score_networks

    net = score_networks(st.test()).reset_index()
    pooled = net.groupby("method", sort=False)[["r", "ubrmse"]].mean()
    pooled.columns = [f"stations {c} (mean of networks)" for c in pooled.columns]
    if has_truth(st.scenario):
        t = truth_table(st)[["r", "ubrmse", "r_anomaly"]]
        t.columns = [f"truth {c}" for c in t.columns]
        pooled = pooled.join(t, how="outer")
    return pooled
