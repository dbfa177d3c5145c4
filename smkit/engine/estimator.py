"""A scikit-learn-like form of :func:`smkit.engine.downscale`: fit on one period, predict on another.

What a downscaling run learns once, and what it learns every day
----------------------------------------------------------------
The windowed learners are refitted for every coarse cell and day on that
day's spatio-temporal window of the coarse retrieval (the paper's method), so
*predicting* a day always needs that day's coarse retrieval and fine
covariates. What :meth:`Downscaler.fit` learns once, from the fitting period,
and :meth:`Downscaler.predict` reuses unchanged on any other period:

- the learners' hyperparameters (tuned on the fitting period's pooled coarse
  cell-days with ``params="tune"``; the defaults resolved otherwise),
- the sub-grid pattern learned from in-situ stations (when stations are given:
  :mod:`smkit.engine.subgrid`), so a later year's stations stay independent,
- the grid nesting and the covariates, which a later input must match.

``Downscaler(...).fit(coarse, fine).predict(coarse, fine)`` equals
``downscale(coarse, fine, ...)`` with the same options (and with ``stations``,
``downscale(..., stations=stations)``), value for value.
"""

from __future__ import annotations

from dataclasses import fields, replace

import pandas as pd
import xarray as xr

from smkit.core.grid import Grid, nesting_factor
from smkit.core.schema import check_coarse, check_fine, require_dataset
from smkit.engine.config import Config
from smkit.engine.learners import resolve_params
from smkit.engine.run import downscale, tune_params

__all__ = ["Downscaler", "NotFittedError"]

#: How a run is executed (not what it computes): arguments of :func:`downscale` kept by the estimator.
RUN_PARAMS = ("subgrid", "time_chunk", "tile", "workers", "scheduler", "progress")
_CONFIG_FIELDS = tuple(f.name for f in fields(Config))


class NotFittedError(RuntimeError):
    """:meth:`Downscaler.predict` was called before :meth:`Downscaler.fit`."""


class Downscaler:
    """Downscale coarse soil moisture, fitted on one period and applied to others.

    Parameters
    ----------
    config : Config, optional
        The engine's options (default ``Config()``).
    subgrid : bool, default True
        Learn the sub-grid pattern from the stations given to :meth:`fit`.
    time_chunk, tile, workers, scheduler, progress
        How runs are executed (see :func:`smkit.engine.downscale`); they do not change the values.
    **options
        Fields of :class:`Config` overriding ``config``'s (``learners=("rf",)``,
        ``params="tune"``, ``sw_max=7`` ...); an unknown name raises ``TypeError``.

    Attributes
    ----------
    config_ : Config
        The options with every learner's hyperparameters resolved (tuned on the
        fitting period when ``params="tune"``).
    subgrid_models_ : dict or None
        ``{model: SubgridModel}`` learned from the stations, or None.
    factor_ : int
        Fine pixels per coarse cell side.
    period_ : (str, str)
        First and last day of the fitting period (ISO dates).

    Examples
    --------
    >>> from smkit.synth import make_scenario
    >>> sc = make_scenario("tiny")
    >>> fit_days, new_days = slice("2009-07-01", "2009-07-03"), slice("2009-07-04", "2009-07-05")
    >>> ds = Downscaler(learners=("mlr",), progress=False)
    >>> ds.fit(sc.coarse.sel(time=fit_days), sc.fine.sel(time=fit_days))
    Downscaler(learners=('mlr',), progress=False) fitted on 2009-07-01 to 2009-07-03
    >>> p = ds.predict(sc.coarse.sel(time=new_days), sc.fine.sel(time=new_days))
    >>> p["sm"].sizes["time"], ds.get_params()["config__learners"]
    (2, ('mlr',))
    """

    def __init__(self, config: Config | None = None, *, subgrid: bool = True, time_chunk: int = 16,
                 tile: int | None = None, workers: int | None = None, scheduler: str | None = None,
                 progress: bool = True, **options):
        # the options are folded into one Config now, so a wrong name fails here and not after a fit
        # (a Config given alone is kept as it is: scikit-learn's clone checks that parameters are stored unchanged)
        self.config = config if isinstance(config, Config) and not options else Config.from_options(config, **options)
        self.subgrid = subgrid
        self.time_chunk = time_chunk
        self.tile = tile
        self.workers = workers
        self.scheduler = scheduler
        self.progress = progress

    # ------------------------------------------------------------------ scikit-learn's parameter protocol
    def get_params(self, deep: bool = True) -> dict:
        """The estimator's parameters; with ``deep``, also each :class:`Config` field as ``config__<field>``."""
        out = {"config": self.config, **{k: getattr(self, k) for k in RUN_PARAMS}}
        if deep:
            out.update({f"config__{k}": getattr(self.config, k) for k in _CONFIG_FIELDS})
        return out

    def set_params(self, **params) -> Downscaler:
        """Set parameters: ``config``, the run parameters, or Config fields (``sw_max=7`` or ``config__sw_max=7``).

        Returns
        -------
        Downscaler
            ``self`` (unfitted again when an option that changes the values was set).
        """
        overrides = {}
        for key, value in params.items():
            name = key.removeprefix("config__")
            if key == "config":
                self.config = Config.from_options(value)
            elif key in RUN_PARAMS:
                setattr(self, key, value)
            elif name in _CONFIG_FIELDS:
                overrides[name] = value
            else:
                raise ValueError(f"invalid parameter {key!r} for Downscaler; valid: config, "
                                 f"{', '.join(RUN_PARAMS)} and the Config fields {', '.join(_CONFIG_FIELDS)}")
        if overrides:
            self.config = Config.from_options(self.config, **overrides)
        if overrides or "config" in params or "subgrid" in params:
            for attr in ("config_", "subgrid_models_", "factor_", "period_", "covariates_"):
                self.__dict__.pop(attr, None)
        return self

    def __repr__(self) -> str:
        default = Config()
        changed = [f"{k}={getattr(self.config, k)!r}" for k in _CONFIG_FIELDS
                   if getattr(self.config, k) != getattr(default, k)]
        run_defaults = {"subgrid": True, "time_chunk": 16, "tile": None, "workers": None, "scheduler": None,
                        "progress": True}
        changed += [f"{k}={getattr(self, k)!r}" for k in RUN_PARAMS if getattr(self, k) != run_defaults[k]]
        text = f"Downscaler({', '.join(changed)})"
        if hasattr(self, "period_"):
            text += f" fitted on {self.period_[0]} to {self.period_[1]}"
            if self.subgrid_models_:
                text += f" with the sub-grid pattern of {len(self.subgrid_models_)} models"
        return text

    # ------------------------------------------------------------------ fit / predict
    def fit(self, coarse: xr.Dataset, fine: xr.Dataset, stations: xr.Dataset | None = None, *,
            period: slice | None = None, zones: xr.DataArray | None = None) -> Downscaler:
        """Learn what is learned once: hyperparameters, and the sub-grid pattern from stations.

        Parameters
        ----------
        coarse, fine : xarray.Dataset
            The fitting period's coarse ``sm`` (m3 m-3) and fine covariates (as
            for :func:`smkit.engine.downscale`; the same schema checks run).
        stations : xarray.Dataset, optional
            In-situ stations inside the domain (``sm`` m3 m-3): the sub-grid
            pattern is learned from their observations over the fitting period
            (when ``subgrid`` is on). The fitting period is then downscaled once.
        period : slice, optional
            The fitting period within the inputs, e.g. ``slice("2009-01-01", "2009-12-31")``:
            hyperparameters are tuned and the sub-grid pattern learned on its
            days only, while the inputs' other days still serve as the windows'
            neighbouring days (so its last day is downscaled as a full run
            would). Default: every day of the inputs.
        zones : xarray.DataArray, optional
            Zone labels on the coarse grid, for ``strategy="global"`` (kept for predict).

        Returns
        -------
        Downscaler
            ``self``, fitted.
        """
        coarse = check_coarse(require_dataset(coarse, "coarse"))
        fine = check_fine(require_dataset(fine, "fine"), coarse=coarse, check_values=False,
                          variables=self.config.covariates)
        cfg = self.config
        if period is not None:
            within = coarse.sel(time=period)
            if within.sizes["time"] == 0:
                raise ValueError(f"the fitting period {period} holds none of the inputs' days "
                                 f"({str(coarse['time'].values[0])[:10]} to {str(coarse['time'].values[-1])[:10]})")
            fit_coarse, fit_fine = within, fine.sel(time=period)
        else:
            fit_coarse, fit_fine = coarse, fine
        if cfg.params == "tune":
            params = tune_params(fit_coarse, fit_fine, cfg.learners, cfg.covariates, cfg.aggregation, cfg.min_valid,
                                 cfg.seed, self.progress)
        else:
            params = cfg.params or {}
        resolved = {name: resolve_params(name, params.get(name)) for name in cfg.learners}
        self.config_ = replace(cfg, params=resolved)
        self.zones_ = zones
        self.factor_ = nesting_factor(Grid.from_dataset(coarse), Grid.from_dataset(fine))
        self.covariates_ = cfg.covariates
        times = pd.DatetimeIndex(fit_coarse["time"].values)
        self.period_ = (str(times.min().date()), str(times.max().date()))
        self.subgrid_models_ = None
        if stations is not None and self.subgrid:
            from smkit.engine.subgrid import fit_subgrid, station_table

            product = self._windowed(coarse, fine, days=period, cells=None, out=None)
            table = station_table(product, fine, require_dataset(stations, "stations"), covariates=cfg.covariates,
                                  smooth_coarse=cfg.smooth_coarse, time=period)
            self.subgrid_models_ = fit_subgrid(table, list(cfg.learners), cfg.covariates)
        return self

    def predict(self, coarse: xr.Dataset, fine: xr.Dataset, *, days: slice | None = None,
                cells: xr.DataArray | None = None, out=None) -> xr.Dataset:
        """Downscale ``coarse`` with what :meth:`fit` learned.

        Parameters
        ----------
        coarse, fine : xarray.Dataset
            Coarse ``sm`` (m3 m-3) and fine covariates of the days to produce
            (and their neighbours), on a grid with the fitted nesting factor.
        days, cells, out
            As for :func:`smkit.engine.downscale`.

        Returns
        -------
        xarray.Dataset
            The product ``sm(model, time, lat, lon)`` (m3 m-3), with the learned
            sub-grid pattern added when stations were given to :meth:`fit`.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValueError
            When the inputs' nesting factor differs from the fitted one.
        """
        if not hasattr(self, "config_"):
            raise NotFittedError("this Downscaler is not fitted yet: call fit(coarse, fine[, stations]) first")
        coarse = check_coarse(require_dataset(coarse, "coarse"))
        fine = check_fine(require_dataset(fine, "fine"), coarse=coarse, check_values=False,
                          variables=self.covariates_)
        factor = nesting_factor(Grid.from_dataset(coarse), Grid.from_dataset(fine))
        if factor != self.factor_:
            raise ValueError(f"the inputs nest {factor} fine pixels per coarse cell; this Downscaler was fitted "
                             f"with {self.factor_} (on {self.period_[0]} to {self.period_[1]}): refit it on this grid")
        product = self._windowed(coarse, fine, days=days, cells=cells, out=out)
        if not self.subgrid_models_:
            return product
        from smkit.engine.subgrid import apply_subgrid

        cfg = self.config_
        return apply_subgrid(product, fine, self.subgrid_models_, covariates=cfg.covariates,
                             smooth_coarse=cfg.smooth_coarse, sm_max=cfg.sm_max)

    def fit_predict(self, coarse: xr.Dataset, fine: xr.Dataset, stations: xr.Dataset | None = None,
                    **kw) -> xr.Dataset:
        """:meth:`fit` then :meth:`predict` on the same inputs (``kw``: ``zones`` for fit, the rest for predict)."""
        zones = kw.pop("zones", None)
        return self.fit(coarse, fine, stations, zones=zones).predict(coarse, fine, **kw)

    def _windowed(self, coarse, fine, *, days, cells, out) -> xr.Dataset:
        return downscale(coarse, fine, self.config_, zones=self.zones_, days=days, cells=cells, out=out,
                         time_chunk=self.time_chunk, tile=self.tile, workers=self.workers,
                         scheduler=self.scheduler, progress=self.progress)

