"""The learners: one module per learner (forest, mlr, svr, boosting), one registry that dispatches on them."""

from smkit.engine.learners.mlr import mlr_batch  # noqa: F401
from smkit.engine.learners.registry import (  # noqa: F401
    BACKENDS,
    LEARNERS,
    Learner,
    fit_predict,
    get_learner,
    make_estimator,
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
