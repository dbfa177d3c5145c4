"""The engine's one option list: :class:`Config`, its validation and its digest.

Every option that determines a product's values is a field of :class:`Config`
(:data:`OPTIONS` lists their names); cache keys and the guards of resumed
stores come from :meth:`Config.digest`. How a run is executed (days, stores,
workers, ...) is given to :func:`smkit.engine.downscale` as arguments instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace

from smkit.core.vocabulary import COVARIATES, LEARNER_ORDER
from smkit.engine.blend import blend_weights
from smkit.engine.features import AGGREGATIONS
from smkit.engine.learners import BACKENDS, get_learner
from smkit.engine.windows import candidates

__all__ = ["STRATEGIES", "Config", "OPTIONS", "WINDOW_LIMITS"]

#: Ways of choosing training sets: adaptive windows per cell (the paper) or one model per zone and day.
STRATEGIES = ("window", "global")


@dataclass(frozen=True)
class Config:
    """Every option that determines a product: the engine's one option list.

    :func:`smkit.engine.downscale` and :func:`smkit.engine.downscale_variants` take a ``Config`` and/or
    its fields as keyword overrides; cache keys and resumed-store guards come
    from :meth:`digest`. Options that change how a product is computed but
    not its values (``days``, ``out``, ``workers``, ...) are arguments of the
    functions, not fields.

    Parameters
    ----------
    learners : tuple of {"rf", "mlr", "svr", "xgb"}
        Learners to run, in the order of the output's ``model`` dimension.
    strategy : {"window", "global"}
        Adaptive windows (the paper) or one model per zone and day.
    backend : {"fast", "reference"}
        Batched compiled learners or one scikit-learn/xgboost estimator per window.
    params : dict or "tune" or None
        ``{learner: {param: value}}`` hyperparameters, or ``"tune"`` to tune
        them first on the pooled coarse training set
        (:func:`smkit.engine.learners.tune`); saved in the product's attributes
        (``hyperparameters``) either way. Default: :data:`smkit.engine.learners.LEARNERS`.
    covariates : tuple of str
        Explanatory variables.
    aggregation : {"mean", "cubic"}
        How fine covariates are brought to the coarse grid
        (:func:`smkit.engine.features.aggregate_array`).
    sw_max, nd_max : int
        Window caps in cells and days (the paper: 5 and 3; from 3 to 10 cells and 1 to 5 days,
        :data:`WINDOW_LIMITS`).
    growth : {"space", "time", "alternate"}
        Growth order of the window.
    samples_per_covariate : int
        A window is complete at this many samples per covariate (8).
    min_valid : float
        Minimum fraction of valid fine pixels for an aggregated covariate.
    residual_correction : bool, default False
        Shift each cell's fine pixels by the retrieval minus their mean, so
        that they average back to the retrieval (cells without a retrieval
        are left as predicted). Off by default: it lowers every learner's R
        against the 1-km truth (``reports/benchmarks/options.md``).
    clamp_covariates : bool, default True
        Clamp the fine covariates of a cell to the range of its window's
        training covariates before predicting (:func:`smkit.engine.blend.clamp_to_windows`).
        On by default: it keeps the linear model from extrapolating
        (``reports/benchmarks/options.md``).
    fill_gaps : bool, default True
        Fill cloud gaps of the fine covariates by linear interpolation in time
        (gaps up to ``gap_days``) before aggregating and predicting; such
        cells are flagged. On by default: more pixel-days at the same skill.
    gap_days : int, default 8
        Longest gap filled, days.
    blend : bool, default True
        Predict every fine pixel from the models of the four windows around
        it, blended in the distance to their cell centres, instead of from its
        own cell's model only: the product then has no step at coarse-cell
        edges (:func:`smkit.validate.seam_ratio`); it costs the windows of a
        ring of cells around each chunk and four predictions per pixel.
    blend_width : float, default 0.25
        Band on each side of a cell edge, in cells, over which the
        neighbouring window's model is mixed in (0.5: bilinear between the
        four nearest cell centres; :func:`smkit.engine.blend.blend_weights`).
    smooth_coarse : bool, default True
        Interpolate covariates that come on a coarser native grid (their
        ``native_resolution`` attribute, degrees: MCD43C3 albedo at 0.05,
        IMERG precipitation at 0.1) bilinearly from their native cell centres
        (:func:`smkit.engine.features.smooth_native`).
    sm_max : float, default 0.6
        Physical upper bound (a porosity), m3 m-3: predictions are clipped to
        ``[0, sm_max]`` and the clipped pixels counted per cell-day and
        learner (``clipped``; window flag bit 16).
    seed : int
        Seed of the random forest.

    Examples
    --------
    >>> cfg = Config.from_options(learners=["mlr"], sw_max=7)
    >>> cfg.learners, cfg.sw_max, cfg.min_samples
    (('mlr',), 7, 40)
    >>> Config.from_options(cfg, sw_max=5).digest() == Config(learners=("mlr",)).digest()
    True
    """

    learners: tuple[str, ...] = LEARNER_ORDER
    strategy: str = "window"
    backend: str = "fast"
    params: dict | str | None = None
    covariates: tuple[str, ...] = COVARIATES
    aggregation: str = "mean"
    sw_max: int = 5
    nd_max: int = 3
    growth: str = "space"
    samples_per_covariate: int = 8
    min_valid: float = 0.5
    residual_correction: bool = False
    clamp_covariates: bool = True
    fill_gaps: bool = True
    gap_days: int = 8
    blend: bool = True
    blend_width: float = 0.25
    smooth_coarse: bool = True
    sm_max: float = 0.6
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "learners", tuple(self.learners))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        if not self.learners:
            raise ValueError("give at least one learner")
        for name in self.learners:
            get_learner(name)
        for option, value, choices in (("strategy", self.strategy, STRATEGIES),
                                       ("backend", self.backend, BACKENDS),
                                       ("aggregation", self.aggregation, AGGREGATIONS)):
            if value not in choices:
                raise KeyError(f"unknown {option} {value!r}; choose from {list(choices)}")
        if isinstance(self.params, str) and self.params != "tune":
            raise ValueError(f"params must be a dict, None or 'tune', got {self.params!r}")
        for option, (lo, hi, unit) in WINDOW_LIMITS.items():
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"{option} must be a whole number of {unit} from {lo} to {hi} (the range the "
                                 f"windows are defined and tested on), got {value!r}")
        candidates(3, 1, self.sw_max, self.nd_max, self.growth)  # validates the caps and growth order
        blend_weights(2, 2, self.blend_width)  # validates the width
        if not 0.0 < self.sm_max <= 1.0:
            raise ValueError(f"sm_max must be a volumetric fraction in (0, 1], got {self.sm_max}")

    @classmethod
    def from_options(cls, config: Config | None = None, **overrides) -> Config:
        """A configuration from ``config`` (default: the defaults) with some fields replaced.

        Raises
        ------
        TypeError
            For a name that is not an option, listing the valid ones.
        """
        unknown = sorted(set(overrides) - set(OPTIONS))
        if unknown:
            raise TypeError(f"unknown downscaling option(s) {unknown}; valid: {list(OPTIONS)}")
        return replace(config or cls(), **overrides)

    @property
    def min_samples(self) -> int:
        """Samples a window must hold (8 x number of covariates in the paper)."""
        return self.samples_per_covariate * len(self.covariates)

    def digest(self) -> str:
        """A short hash of the configuration."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The documented range of the window caps: (lowest, highest, unit).
WINDOW_LIMITS = {"sw_max": (3, 10, "cells"), "nd_max": (1, 5, "days")}

#: The names of the engine's options (the fields of :class:`Config`).
OPTIONS = tuple(f.name for f in fields(Config))
