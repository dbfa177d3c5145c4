"""Bayesian model averaging per climate zone: mixture, EM, PyMC, MC3, zones, apply."""

from smkit.bma.fit import (  # noqa: F401
    BIAS_CORRECTIONS,
    BMA,
    BMAWarning,
    ConvergenceWarning,
    DEFAULT_TOL,
    EMResult,
    ESTIMATORS,
    MC3Result,
    MISSING,
    RESERVED_COLUMNS,
    ZoneBMA,
    apply,
    bias_coefficients,
    diagnostics,
    fit_em,
    fit_mc3,
    fit_pymc,
    fit_zones,
    get_estimator,
    mixture_moments,
    zone_fractions,
)
from smkit._compat import moved_names

__getattr__ = moved_names("smkit.bma", {name: "smkit.plot.bma" for name in (
    "plot_forest", "plot_posterior", "plot_trace", "plot_weights")})

__all__ = [
    "BIAS_CORRECTIONS",
    "BMA",
    "BMAWarning",
    "ConvergenceWarning",
    "EMResult",
    "ESTIMATORS",
    "MC3Result",
    "MISSING",
    "ZoneBMA",
    "apply",
    "bias_coefficients",
    "diagnostics",
    "fit_em",
    "fit_mc3",
    "fit_pymc",
    "fit_zones",
    "get_estimator",
    "mixture_moments",
]
