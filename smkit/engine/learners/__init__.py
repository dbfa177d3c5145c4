"""The four learners: one registry, a reference (scikit-learn/xgboost) and a fast path."""

from smkit.engine.learners.registry import (  # noqa: F401
    BACKENDS,
    LEARNERS,
    Learner,
    fit_predict,
    get_learner,
    make_estimator,
    mlr_batch,
    resolve_params,
    tune,
)

__all__ = [
    "BACKENDS",
    "LEARNERS",
    "Learner",
    "fit_predict",
    "get_learner",
    "make_estimator",
    "mlr_batch",
    "resolve_params",
    "tune",
]
