"""Random forest: scikit-learn's ``RandomForestRegressor`` and the compiled per-window forest.

The fast path is :func:`smkit.engine.learners._trees.forest_fit_predict`,
seeded per window by its global id so that results do not depend on batching.
"""

from __future__ import annotations

import numpy as np

from smkit.engine.learners.base import Learner

__all__ = ["LEARNER"]


def _estimator(p: dict, seed: int, base_score: float | None):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(
        n_estimators=p["n_estimators"], max_features=p["max_features"],
        min_samples_leaf=p["min_samples_leaf"], random_state=seed, n_jobs=1,
    )


def _fast(X, y, ptr, Z, zptr, p: dict, seed: int, window_ids) -> np.ndarray:
    from smkit.engine.learners._trees import forest_fit_predict

    ids = np.arange(len(ptr) - 1, dtype=np.int64) if window_ids is None else np.asarray(window_ids, np.int64)
    return forest_fit_predict(
        X, y, ptr, Z, zptr, n_estimators=p["n_estimators"], max_features=float(p["max_features"]),
        min_samples_leaf=p["min_samples_leaf"], seed=seed, window_ids=ids,
    )


LEARNER = Learner(
    "rf", "random forest",
    {"n_estimators": 100, "max_features": 1.0, "min_samples_leaf": 1},
    {"max_features": [0.4, 0.7, 1.0], "min_samples_leaf": [1, 3, 5]},
    estimator=_estimator, fast=_fast,
)
