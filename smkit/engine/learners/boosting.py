"""Extreme gradient boosting: xgboost's exact greedy ``XGBRegressor`` and its compiled twin.

The fast path is :func:`smkit.engine.learners._trees.gbt_fit_predict`, which
reproduces xgboost bit for bit; both start each window from its mean target.
"""

from __future__ import annotations

import numpy as np

from smkit.engine.learners.base import Learner

__all__ = ["LEARNER"]


def _estimator(p: dict, seed: int, base_score: float | None):
    from xgboost import XGBRegressor

    return XGBRegressor(
        tree_method="exact", n_estimators=p["n_rounds"], learning_rate=p["eta"],
        max_depth=p["max_depth"], reg_lambda=p["reg_lambda"], gamma=p["gamma"],
        min_child_weight=p["min_child_weight"], base_score=base_score,
        objective="reg:squarederror", n_jobs=1, random_state=seed,
    )


def _fast(X, y, ptr, Z, zptr, p: dict, seed: int, window_ids) -> np.ndarray:
    from smkit.engine.learners._trees import gbt_fit_predict

    # squared-error boosting is shift-equivariant: boost y - mean from 0, add the mean back
    n = np.diff(ptr)
    base = np.zeros(len(n))
    nz = n > 0
    if nz.any():
        base[nz] = np.add.reduceat(y, ptr[:-1][nz]) / n[nz]
    pred = gbt_fit_predict(
        X, y - np.repeat(base, n), ptr, Z, zptr, n_rounds=p["n_rounds"], eta=p["eta"],
        max_depth=p["max_depth"], reg_lambda=p["reg_lambda"], gamma=p["gamma"],
        min_child_weight=p["min_child_weight"], base_score=0.0,
    )
    return pred + np.repeat(base, np.diff(zptr))


LEARNER = Learner(
    "xgb", "extreme gradient boosting",
    {"n_rounds": 100, "eta": 0.1, "max_depth": 4, "reg_lambda": 1.0, "gamma": 0.0,
     "min_child_weight": 1.0},
    {"n_rounds": [50, 100, 200], "eta": [0.05, 0.1, 0.3], "max_depth": [2, 4, 6]},
    estimator=_estimator, fast=_fast,
    estimator_names={"n_rounds": "n_estimators", "eta": "learning_rate"},
)
