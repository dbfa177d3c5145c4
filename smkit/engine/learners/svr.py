"""Support vector regression: RBF kernel on standardised inputs, libsvm's solver per window.

The reference is scikit-learn's ``make_pipeline(StandardScaler(), SVR(kernel="rbf"))``;
the fast path is :func:`smkit.engine.learners._svr.svr_fit_predict`, libsvm's
SMO solver compiled and batched over windows.
"""

from __future__ import annotations

import numpy as np

from smkit.engine.learners.base import Learner

__all__ = ["LEARNER"]


def _estimator(p: dict, seed: int, base_score: float | None):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    svr = SVR(kernel="rbf", C=p["C"], epsilon=p["epsilon"], gamma=p["gamma"])
    return make_pipeline(StandardScaler(), svr)


def _fast(X, y, ptr, Z, zptr, p: dict, seed: int, window_ids) -> np.ndarray:
    from smkit.engine.learners._svr import svr_fit_predict

    gamma = -1.0 if p["gamma"] == "scale" else float(p["gamma"])
    return svr_fit_predict(X, y, ptr, Z, zptr, C=p["C"], epsilon=p["epsilon"], gamma=gamma)


LEARNER = Learner(
    "svr", "support vector regression (RBF, standardised inputs)",
    {"C": 1.0, "epsilon": 0.01, "gamma": "scale"},
    {"C": [0.1, 1.0, 10.0], "epsilon": [0.005, 0.01, 0.02], "gamma": ["scale", 0.5]},
    estimator=_estimator, fast=_fast, estimator_prefix="svr__",
)
