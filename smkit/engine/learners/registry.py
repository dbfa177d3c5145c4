"""The registry of learners: lookup, hyperparameters, the two backends and tuning.

Every learner fits one small model per window and predicts the fine pixels of
the window's centre cell. Windows come as ragged batches (see
:func:`smkit.engine.windows.gather`): training rows ``X[ptr[b]:ptr[b+1]]`` and
prediction rows ``Z[zptr[b]:zptr[b+1]]`` for window ``b``.

Each learner lives in its own module (:mod:`~smkit.engine.learners.forest`,
:mod:`~smkit.engine.learners.mlr`, :mod:`~smkit.engine.learners.svr`,
:mod:`~smkit.engine.learners.boosting`), which builds a :class:`Learner`
carrying its defaults, tuning ranges and both backends; :data:`LEARNERS`
lists them, and this module only dispatches on them. A new learner is a new
module and one line in :data:`LEARNERS`.

Backends
--------
``reference``
    One scikit-learn / xgboost estimator per window: the ground truth that
    the tests compare the fast backend against.
``fast``
    Batched across windows: multiple linear regression solved for all windows
    at once with numpy (padded, batched SVD); random forest, gradient-boosted
    trees and RBF support vector regression compiled with numba
    (:mod:`smkit.engine.learners._trees`, :mod:`smkit.engine.learners._svr`).

Hyperparameters are tuned once on the pooled coarse training set by
:func:`tune` (10-fold cross-validation, minimal RMSE) over each learner's
``search`` ranges, and then used by every window.
"""

from __future__ import annotations

import warnings

import numpy as np

from smkit.engine.learners import boosting, forest, mlr, svr
from smkit.engine.learners.base import Learner

__all__ = ["BACKENDS", "LEARNERS", "get_learner", "resolve_params", "make_estimator", "fit_predict", "tune"]

BACKENDS = ("fast", "reference")

#: The registered learners, by key: one line per learner module.
LEARNERS: dict[str, Learner] = {
    learner.name: learner
    for learner in (
        forest.LEARNER,
        mlr.LEARNER,
        svr.LEARNER,
        boosting.LEARNER,
    )
}


def get_learner(name: str) -> Learner:
    """Look up a learner by registry key, with an error listing the valid keys."""
    if name not in LEARNERS:
        raise KeyError(f"unknown learner {name!r}; choose from {sorted(LEARNERS)}")
    return LEARNERS[name]


def resolve_params(name: str, params: dict | None) -> dict:
    """Defaults of a learner updated with ``params`` (unknown keys are an error)."""
    learner = get_learner(name)
    out = dict(learner.defaults)
    for key, value in (params or {}).items():
        if key not in out:
            raise KeyError(f"unknown parameter {key!r} for learner {name!r}; valid: {sorted(out)}")
        out[key] = value
    return out


# --------------------------------------------------------------------------- reference
def make_estimator(name: str, params: dict | None = None, seed: int = 0, base_score: float | None = None):
    """The scikit-learn / xgboost estimator of a learner (the reference).

    ``base_score`` (m3 m-3) is XGBoost's starting prediction; the engine uses
    the window's mean target so that both backends start from the same place.
    """
    return get_learner(name).estimator(resolve_params(name, params), seed, base_score)


def _reference(name, X, y, ptr, Z, zptr, params, seed):
    out = np.full(Z.shape[0], np.nan)
    for b in range(len(ptr) - 1):
        xs, ys = X[ptr[b] : ptr[b + 1]], y[ptr[b] : ptr[b + 1]]
        zs = slice(zptr[b], zptr[b + 1])
        if zs.stop == zs.start or len(ys) < 2:
            continue
        est = make_estimator(name, params, seed, base_score=float(ys.mean()))
        est.fit(xs, ys)
        out[zs] = est.predict(Z[zs])
    return out


# --------------------------------------------------------------------------- fast
def _fast(name, X, y, ptr, Z, zptr, params, seed, window_ids):
    p = resolve_params(name, params)
    X = np.ascontiguousarray(X, dtype=np.float64)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    ptr = np.ascontiguousarray(ptr, dtype=np.int64)
    zptr = np.ascontiguousarray(zptr, dtype=np.int64)
    return get_learner(name).fast(X, y, ptr, Z, zptr, p, seed, window_ids)


def fit_predict(
    name: str, X, y, ptr, Z, zptr, *, params: dict | None = None, backend: str = "fast",
    seed: int = 0, window_ids=None,
) -> np.ndarray:
    """Fit one model per window and predict its rows of ``Z``.

    Parameters
    ----------
    name : {"rf", "mlr", "svr", "xgb"}
        Learner.
    X : ndarray, shape (N, P)
        Training covariates (aggregated to the coarse grid), in their units.
    y : ndarray, shape (N,)
        Coarse soil moisture, m3 m-3.
    ptr : ndarray of int, shape (B + 1,)
        Window ``b`` trains on rows ``ptr[b]:ptr[b+1]``.
    Z : ndarray, shape (M, P)
        Fine covariates to predict.
    zptr : ndarray of int, shape (B + 1,)
        Window ``b`` predicts rows ``zptr[b]:zptr[b+1]``.
    params : dict, optional
        Hyperparameters (defaults: :data:`LEARNERS`).
    backend : {"fast", "reference"}
    seed : int
        Seed of the random forest.
    window_ids : ndarray of int, optional
        Global ids of the windows, so that the forest's randomness does not
        depend on how windows are batched.

    Returns
    -------
    ndarray, shape (M,)
        Predicted soil moisture, m3 m-3 (NaN for windows with < 2 rows).
    """
    get_learner(name)
    if backend not in BACKENDS:
        raise KeyError(f"unknown backend {backend!r}; choose from {list(BACKENDS)}")
    if backend == "reference":
        return _reference(name, X, y, ptr, Z, zptr, params, seed)
    return _fast(name, X, y, ptr, Z, zptr, params, seed, window_ids)


# --------------------------------------------------------------------------- tuning
def tune(
    X: np.ndarray, y: np.ndarray, learners=("rf", "mlr", "svr", "xgb"), *, folds: int = 10,
    max_samples: int = 2000, seed: int = 0, search: dict | None = None, progress: bool = True,
    groups: np.ndarray | None = None,
) -> dict[str, dict]:
    """Tune each learner's hyperparameters on the pooled coarse training set.

    Grid search with ``folds``-fold cross-validation (each fold fits on 90 %
    of the samples and validates on 10 % for the default 10 folds) for
    minimal RMSE, over the ranges in :data:`LEARNERS` (``search`` overrides).
    With ``groups`` (e.g. the cell of each sample) the folds are spatial: a
    cell's samples all fall in the same fold, so 90 % of the cells fit and
    10 % validate, and a model is never scored on a cell it saw on another day.

    Parameters
    ----------
    X : ndarray, shape (N, P)
        Pooled coarse covariates (all valid cell-days).
    y : ndarray, shape (N,)
        Coarse soil moisture, m3 m-3.
    max_samples : int
        Random subsample used for tuning (support vector regression scales
        quadratically; 2000 samples and the ranges of :data:`LEARNERS` keep
        tuning all four learners to a few minutes on two cores).

    groups : ndarray, shape (N,), optional
        Group of each sample for spatial folds (default: random folds).

    Returns
    -------
    dict
        ``{learner: {param: value, ..., "cv_rmse": float}}``; pass a learner's
        entry (without ``cv_rmse``) as its ``params``.
    """
    from sklearn.model_selection import GridSearchCV, GroupKFold, KFold

    rng = np.random.default_rng(seed)
    ok = np.isfinite(X).all(axis=1) & np.isfinite(y)
    idx = np.flatnonzero(ok)
    if idx.size > max_samples:
        idx = np.sort(rng.choice(idx, max_samples, replace=False))
    if idx.size < 2 * folds:
        raise ValueError(f"only {idx.size} valid samples: too few to tune with {folds}-fold CV")
    Xs, ys = X[idx], y[idx]
    if groups is not None:
        g = np.asarray(groups)[idx]
        if len(np.unique(g)) < folds:
            raise ValueError(f"only {len(np.unique(g))} groups: too few for {folds} spatial folds")
        cv = list(GroupKFold(folds).split(Xs, ys, g))
    else:
        cv = KFold(folds, shuffle=True, random_state=seed)
    out = {}
    it = learners
    if progress:
        from smkit.core.progress import progress_bar

        it = progress_bar(learners, desc="tuning learners")
    for name in it:
        learner = get_learner(name)
        grid = {learner.estimator_param(k): v for k, v in (search or {}).get(name, learner.search).items()}
        est = make_estimator(name, None, seed, base_score=float(ys.mean()))
        if not grid:
            from sklearn.model_selection import cross_val_score

            score = cross_val_score(est, Xs, ys, cv=cv, scoring="neg_root_mean_squared_error")
            out[name] = {"cv_rmse": float(-score.mean())}
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            gs = GridSearchCV(est, grid, cv=cv, scoring="neg_root_mean_squared_error", n_jobs=1)
            gs.fit(Xs, ys)
        best = {learner.param(k): v.item() if hasattr(v, "item") else v for k, v in gs.best_params_.items()}
        out[name] = {**resolve_params(name, best), "cv_rmse": float(-gs.best_score_)}
    return out
