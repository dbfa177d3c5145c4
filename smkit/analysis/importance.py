"""Explanatory factors: permutation importance, SHAP and correlation (the paper's section 3.1).

For each time slice (a year or a month) the pooled coarse training set —
every valid cell-day, the fine covariates aggregated to the coarse grid
against coarse ``sm`` — is split into a fitting and a held-out part; each
learner (scikit-learn / xgboost estimators, :func:`smkit.engine.learners.make_estimator`)
is fitted, and three measures are taken per covariate:

``permutation``
    Mean decrease of R² on the held-out part when the covariate is shuffled
    (scikit-learn's ``permutation_importance``), normalised to sum to one
    over the covariates (negative means clipped to zero first).
``shap``
    Mean absolute SHAP value on the held-out part, normalised to sum to one
    (``shap.TreeExplainer`` for the forest and XGBoost,
    ``shap.LinearExplainer`` for the linear model; SVR has no exact
    explainer and gets none: its kernel-SHAP would cost minutes per slice).
``r``
    Pearson r of the covariate with coarse ``sm`` over the slice's cell-days.

The spread over slices (mean ± standard deviation) is what the paper's
Fig. 3 and Fig. S2 show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smkit._compat import moved_names
from smkit.engine.features import COVARIATES

__all__ = ["SLICES", "factor_importance", "summarise"]

#: Figures that moved to :mod:`smkit.plot.importance` (the old name works, with a warning, until 0.3).
__getattr__ = moved_names("smkit.analysis.importance", {
    "figure_importance": "smkit.plot.importance",
    "figure_learners": "smkit.plot.importance",
})

SLICES = ("year", "month")


def _slice_keys(times: pd.Series, by: str) -> pd.Series:
    if by not in SLICES:
        raise ValueError(f"unknown time slice {by!r}; choose one of {list(SLICES)}")
    t = pd.DatetimeIndex(times)
    return pd.Series(t.year if by == "year" else t.month, index=times.index)


def _shap_values(name: str, est, X_fit: np.ndarray, X_eval: np.ndarray) -> np.ndarray | None:
    import shap

    if name in ("rf", "xgb"):
        return np.asarray(shap.TreeExplainer(est).shap_values(X_eval, check_additivity=False))
    if name == "mlr":
        if hasattr(est, "steps"):  # ridge on standardised covariates: the same linear model on raw ones
            scaler, ridge = est.steps[0][1], est.steps[-1][1]
            coef = ridge.coef_ / scaler.scale_
            est = (coef, float(ridge.intercept_ - (scaler.mean_ * coef).sum()))
        return np.asarray(shap.LinearExplainer(est, X_fit).shap_values(X_eval))
    return None


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=float), 0, None)
    total = v.sum()
    return v / total if total > 0 else np.full_like(v, np.nan)


def factor_importance(
    coarse,
    fine,
    *,
    covariates=COVARIATES,
    learners=("rf",),
    by: str = "year",
    params: dict | None = None,
    max_samples: int = 3000,
    n_repeats: int = 5,
    test_size: float = 0.3,
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Importance of each covariate for coarse soil moisture, per time slice and learner.

    Parameters
    ----------
    coarse : xarray.Dataset
        Coarse ``sm`` (m3 m-3).
    fine : xarray.Dataset
        Fine covariates nesting in the coarse grid.
    covariates : sequence of str
        Covariates to rank (any variables of ``fine``).
    learners : sequence of {"rf", "mlr", "svr", "xgb"}
        Learners whose importances are measured (the paper's Fig. 3 uses the
        random forest; Fig. S2 the others).
    by : {"year", "month"}
        Time slices over which the spread is taken.
    params : dict, optional
        ``{learner: {param: value}}`` hyperparameters.
    max_samples : int
        Cell-days drawn at random per slice (bounds the cost).
    n_repeats : int
        Shuffles per covariate for the permutation importance.
    test_size : float
        Held-out fraction of each slice.
    seed : int
    progress : bool

    Returns
    -------
    pandas.DataFrame
        Tidy: ``slice``, ``learner``, ``covariate``, ``permutation`` (share,
        0-1), ``shap`` (share, 0-1; NaN for SVR), ``r`` (Pearson r with coarse
        sm), ``n`` (cell-days of the slice).
    """
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    from smkit.engine.features import training_table
    from smkit.engine.learners import get_learner, make_estimator

    covariates = list(covariates)
    for name in learners:
        get_learner(name)
    table = training_table(coarse, fine, covariates=tuple(covariates))
    if table.empty:
        raise ValueError("no valid cell-day: every cell-day lacks the retrieval or a covariate")
    keys = _slice_keys(table["time"], by)
    rng = np.random.default_rng(seed)
    rows = []
    groups = list(table.groupby(keys))
    it = groups
    if progress:
        from smkit.core.progress import progress_bar

        it = progress_bar(groups, desc=f"importance per {by}")
    for key, part in it:
        if len(part) < 50:
            continue
        if len(part) > max_samples:
            part = part.iloc[np.sort(rng.choice(len(part), max_samples, replace=False))]
        X, y = part[covariates].to_numpy(float), part["sm"].to_numpy(float)
        r = [float(np.corrcoef(X[:, k], y)[0, 1]) if X[:, k].std() > 0 else np.nan
             for k in range(len(covariates))]
        X_fit, X_eval, y_fit, y_eval = train_test_split(X, y, test_size=test_size, random_state=seed)
        for name in learners:
            est = make_estimator(name, (params or {}).get(name), seed, base_score=float(y_fit.mean()))
            est.fit(X_fit, y_fit)
            perm = permutation_importance(est, X_eval, y_eval, n_repeats=n_repeats,
                                          random_state=seed, scoring="r2")
            sv = _shap_values(name, est, X_fit, X_eval)
            shap_share = _normalise(np.abs(sv).mean(axis=0)) if sv is not None else np.full(len(covariates), np.nan)
            perm_share = _normalise(perm.importances_mean)
            for k, cov in enumerate(covariates):
                rows.append({"slice": key, "learner": name, "covariate": cov,
                             "permutation": perm_share[k], "shap": shap_share[k], "r": r[k],
                             "n": len(part)})
    if not rows:
        raise ValueError(f"no {by} has at least 50 valid cell-days")
    return pd.DataFrame(rows)


def summarise(importance: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over slices per learner and covariate (Fig. 3's bars and whiskers)."""
    agg = importance.groupby(["learner", "covariate"], sort=False)[["permutation", "shap", "r"]]
    out = agg.agg(["mean", "std"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    return out
