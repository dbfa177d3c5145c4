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

This module owns :class:`Study`, :func:`open_study` and the study's BMA
(:func:`fit_bma`, :func:`bma_at_pairs`); it is also the notebooks' one
import, so it serves the names of the modules the study is built from:
:mod:`smkit.workflow.scenario` (opening and describing the scenario),
:mod:`smkit.workflow.products` (the cached products and station pairs) and
:mod:`smkit.workflow.scorecards` (scores and tables of a study).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit._compat import moved_names
from smkit.core.scenario import Scenario
from smkit.workflow.products import (
    DEFAULT_LEARNERS,
    PRODUCT_OPTIONS,
    base_product,
    bma_store,
    join_bma,
    product_store,
    station_pairs,
    strategy_pair,
    subgrid_product,
    tuned_params,
    variant_products,
)
from smkit.workflow.products import store_once as _store_once  # the name _with_cached_bma uses
from smkit.workflow.scenario import (
    data_table,
    has_truth,
    load_scenario,
    realism_table,
    scenario_key,
    stations_table,
)
from smkit.workflow.scorecards import (
    bma_vs_best,
    comparison_summary,
    overview_table,
    scorecard_summary,
    station_holdout,
    station_holdout_scorecard,
    station_scorecard,
    truth_scorecard,
    truth_table,
    tuning_comparison,
)

__all__ = [
    "DEFAULT_LEARNERS", "PRODUCT_OPTIONS", "Study", "base_product", "bma_at_pairs", "bma_vs_best",
    "comparison_summary", "data_table", "default_years", "fit_bma", "has_truth", "load_scenario",
    "open_study", "overview_table", "product_store", "realism_table", "scenario_key", "scorecard_summary",
    "station_holdout", "station_holdout_scorecard", "station_pairs", "station_scorecard", "stations_table",
    "strategy_pair", "subgrid_product", "truth_scorecard", "truth_table", "tuned_params",
    "tuning_comparison", "variant_products",
]

#: Figures that moved to :mod:`smkit.plot` (the old name works, with a warning, until 0.3).
__getattr__ = moved_names("smkit.workflow.study", {"figure_covariates": "smkit.plot.report"})


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
    stored = _store_once(bma_store(source, key),
                         xr.Dataset({"bma": full["sm"].sel({"model": "bma"}).drop_vars("model"),
                                     "sm_std": full["sm_std"]}), progress)
    learners = full["sm"].sel({"model": [m for m in full["model"].values if str(m) != "bma"]})
    return full.assign(sm=join_bma(learners, stored["bma"]), sm_std=stored["sm_std"])


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


@dataclass
class Study:
    """Everything a notebook of the paper works with.

    Attributes
    ----------
    scenario : Scenario
    product : xarray.Dataset
        ``sm(model, time, lat, lon)`` (m3 m-3) with the learners and ``bma``,
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
        return [str(m) for m in self.product["model"].values if str(m) != "bma"]

    def __repr__(self) -> str:
        sm = self.product["sm"]
        days = self.product["time"].values
        n_zones = int(np.unique(self.zones.values[self.zones.values > 0]).size)
        lines = [
            f"<smkit Study of {self.params.get('scenario', '?')!r}: models {[str(m) for m in sm['model'].values]}, "
            f"{sm.sizes['lat']} x {sm.sizes['lon']} pixels, {len(days)} days "
            f"({str(days[0])[:10]} to {str(days[-1])[:10]})>",
            f"  zones      {n_zones} (k-means); BMA {getattr(self.bma, 'method', '?')} fitted on {self.train_years}, "
            f"validated on {self.test_years}",
            f"  stations   {self.matched.sizes['station']} matched, {len(self.pairs)} pairs",
            f"  sub-grid   {'learned from the stations' if self.windowed is not None else 'off'}",
            "  (.product, .zones, .bma, .matched, .pairs, .scenario, .windowed; .test() for the validation years)",
        ]
        return "\n".join(lines)

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
