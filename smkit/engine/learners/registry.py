"""The four learners, with a reference backend and a fast batched backend.

Every learner fits one small model per window and predicts the fine pixels of
the window's centre cell. Windows come as ragged batches (see
:func:`smkit.engine.windows.gather`): training rows ``X[ptr[b]:ptr[b+1]]`` and
prediction rows ``Z[zptr[b]:zptr[b+1]]`` for window ``b``.

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
:func:`tune` (10-fold cross-validation, minimal RMSE) over :data:`SEARCH`, and
then used by every window.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

BACKENDS = ("fast", "reference")


@dataclass(frozen=True)
class Learner:
    """A registered learner: its defaults, tuning ranges and minimum window size."""

    name: str
    long_name: str
    defaults: dict = field(default_factory=dict)
    search: dict = field(default_factory=dict)
    min_samples: int = 10


LEARNERS: dict[str, Learner] = {
    "rf": Learner(
        "rf", "random forest",
        {"n_estimators": 100, "max_features": 1.0, "min_samples_leaf": 1},
        {"max_features": [0.4, 0.7, 1.0], "min_samples_leaf": [1, 3, 5]},
    ),
    "mlr": Learner("mlr", "multiple linear regression (ridge on standardised covariates)",
                   {"alpha": 30.0}, {"alpha": [1.0, 10.0, 30.0, 100.0]}, min_samples=7),
    "svr": Learner(
        "svr", "support vector regression (RBF, standardised inputs)",
        {"C": 1.0, "epsilon": 0.01, "gamma": "scale"},
        {"C": [0.1, 1.0, 10.0], "epsilon": [0.005, 0.01, 0.02], "gamma": ["scale", 0.5]},
    ),
    "xgb": Learner(
        "xgb", "extreme gradient boosting",
        {"n_rounds": 100, "eta": 0.1, "max_depth": 4, "reg_lambda": 1.0, "gamma": 0.0,
         "min_child_weight": 1.0},
        {"n_rounds": [50, 100, 200], "eta": [0.05, 0.1, 0.3], "max_depth": [2, 4, 6]},
    ),
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
    p = resolve_params(name, params)
    if name == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=p["n_estimators"], max_features=p["max_features"],
            min_samples_leaf=p["min_samples_leaf"], random_state=seed, n_jobs=1,
        )
    if name == "mlr":
        from sklearn.linear_model import LinearRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if p["alpha"] == 0:
            return LinearRegression()
        return make_pipeline(StandardScaler(), Ridge(alpha=p["alpha"]))
    if name == "svr":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        return make_pipeline(StandardScaler(), SVR(kernel="rbf", C=p["C"], epsilon=p["epsilon"], gamma=p["gamma"]))
    if name == "xgb":
        from xgboost import XGBRegressor

        return XGBRegressor(
            tree_method="exact", n_estimators=p["n_rounds"], learning_rate=p["eta"],
            max_depth=p["max_depth"], reg_lambda=p["reg_lambda"], gamma=p["gamma"],
            min_child_weight=p["min_child_weight"], base_score=base_score,
            objective="reg:squarederror", n_jobs=1, random_state=seed,
        )
    raise KeyError(name)


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
def mlr_batch(X, y, ptr, Z, zptr, rcond: float | None = None, alpha: float = 0.0) -> np.ndarray:
    """Linear regression of every window at once: least squares, or ridge on standardised covariates.

    Each window's rows are centred on their means and zero-padded to the
    largest window (zero rows change no least-squares solution); one batched
    SVD then gives the minimum-norm coefficients, as scikit-learn's
    ``LinearRegression`` (LAPACK ``gelsd``) does. With ``alpha > 0`` each
    window's covariates are first scaled to unit standard deviation (as
    scikit-learn's ``StandardScaler``; a constant covariate keeps scale 1) and
    the coefficients shrunk, ``beta = V diag(s / (s^2 + alpha)) U^T y``, as
    ``make_pipeline(StandardScaler(), Ridge(alpha))``: windows of a few
    dozen cells with collinear covariates (elevation and LST) then no longer
    give coefficients that explode on the fine pixels.

    Parameters
    ----------
    X, y, ptr, Z, zptr
        Ragged batch (see module docstring).
    rcond : float, optional
        Relative cut-off for small singular values of least squares (default:
        machine epsilon times the larger matrix dimension, as LAPACK).
    alpha : float, default 0
        Ridge penalty on the standardised coefficients (0: least squares).

    Returns
    -------
    ndarray
        Predictions for the rows of ``Z``; NaN for windows with fewer than 2 rows.
    """
    b = len(ptr) - 1
    n = np.diff(ptr)
    p = X.shape[1]
    out = np.full(Z.shape[0], np.nan)
    if b == 0 or Z.shape[0] == 0:
        return out
    m = int(n.max()) if b else 0
    win = np.repeat(np.arange(b), n)
    pos = np.arange(len(y)) - np.repeat(ptr[:-1], n)
    a = np.zeros((b, m, p))
    t = np.zeros((b, m))
    a[win, pos] = X
    t[win, pos] = y
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = a.sum(1) / n[:, None]
        ym = t.sum(1) / n
    mask = (np.arange(m)[None, :] < n[:, None]).astype(float)
    a = (a - xm[:, None, :]) * mask[..., None]
    t = (t - ym[:, None]) * mask
    scale = np.ones((b, p))
    if alpha > 0:
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt((a**2).sum(1) / n[:, None])
        scale = np.where(np.isfinite(sd) & (sd > 10 * np.finfo(float).eps * np.abs(xm)), sd, 1.0)
        a = a / scale[:, None, :]
    u, s, vt = np.linalg.svd(np.nan_to_num(a), full_matrices=False)
    if alpha > 0:
        inv = s / (s**2 + alpha)
    else:
        cut = (rcond if rcond is not None else np.finfo(float).eps * max(m, p)) * s[:, :1]
        inv = np.where(s > cut, 1.0 / np.where(s > 0, s, 1.0), 0.0)
    beta = np.einsum("bji,bj,bkj,bk->bi", vt, inv, u, t) / scale
    zwin = np.repeat(np.arange(b), np.diff(zptr))
    pred = ym[zwin] + np.einsum("zi,zi->z", Z - xm[zwin], beta[zwin])
    ok = n[zwin] >= 2
    out[ok] = pred[ok]
    return out


def _fast(name, X, y, ptr, Z, zptr, params, seed, window_ids):
    p = resolve_params(name, params)
    X = np.ascontiguousarray(X, dtype=np.float64)
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    ptr = np.ascontiguousarray(ptr, dtype=np.int64)
    zptr = np.ascontiguousarray(zptr, dtype=np.int64)
    if name == "mlr":
        return mlr_batch(X, y, ptr, Z, zptr, alpha=float(p["alpha"]))
    if name == "rf":
        from smkit.engine.learners._trees import forest_fit_predict

        ids = np.arange(len(ptr) - 1, dtype=np.int64) if window_ids is None else np.asarray(window_ids, np.int64)
        return forest_fit_predict(
            X, y, ptr, Z, zptr, n_estimators=p["n_estimators"], max_features=float(p["max_features"]),
            min_samples_leaf=p["min_samples_leaf"], seed=seed, window_ids=ids,
        )
    if name == "xgb":
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
    if name == "svr":
        from smkit.engine.learners._svr import svr_fit_predict

        gamma = -1.0 if p["gamma"] == "scale" else float(p["gamma"])
        return svr_fit_predict(X, y, ptr, Z, zptr, C=p["C"], epsilon=p["epsilon"], gamma=gamma)
    raise KeyError(name)


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
        from tqdm.auto import tqdm

        it = tqdm(learners, desc="tuning learners")
    for name in it:
        learner = get_learner(name)
        grid = dict((search or {}).get(name, learner.search))
        est = make_estimator(name, None, seed, base_score=float(ys.mean()))
        if name == "svr":
            grid = {f"svr__{k}": v for k, v in grid.items()}
        elif name == "mlr":
            grid = {f"ridge__{k}": v for k, v in grid.items()}
        elif name == "xgb":
            grid = {{"n_rounds": "n_estimators", "eta": "learning_rate"}.get(k, k): v for k, v in grid.items()}
        if not grid:
            from sklearn.model_selection import cross_val_score

            score = cross_val_score(est, Xs, ys, cv=cv, scoring="neg_root_mean_squared_error")
            out[name] = {"cv_rmse": float(-score.mean())}
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            gs = GridSearchCV(est, grid, cv=cv, scoring="neg_root_mean_squared_error", n_jobs=1)
            gs.fit(Xs, ys)
        best = {}
        for k, v in gs.best_params_.items():
            k = k.removeprefix("svr__").removeprefix("ridge__")
            k = {"n_estimators": "n_rounds" if name == "xgb" else "n_estimators", "learning_rate": "eta"}.get(k, k)
            best[k] = v.item() if hasattr(v, "item") else v
        out[name] = {**resolve_params(name, best), "cv_rmse": float(-gs.best_score_)}
    return out
