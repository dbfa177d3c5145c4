"""Multiple linear regression: ridge on standardised covariates, every window solved at once.

The reference is scikit-learn's ``make_pipeline(StandardScaler(), Ridge(alpha))``
(``LinearRegression`` for ``alpha=0``); the fast path is :func:`mlr_batch`, one
batched SVD over all windows with numpy.
"""

from __future__ import annotations

import numpy as np

from smkit.engine.learners.base import Learner

__all__ = ["mlr_batch", "LEARNER"]


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
        Ragged batch (see :mod:`smkit.engine.learners.registry`).
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


def _estimator(p: dict, seed: int, base_score: float | None):
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if p["alpha"] == 0:
        return LinearRegression()
    return make_pipeline(StandardScaler(), Ridge(alpha=p["alpha"]))


def _fast(X, y, ptr, Z, zptr, p: dict, seed: int, window_ids) -> np.ndarray:
    return mlr_batch(X, y, ptr, Z, zptr, alpha=float(p["alpha"]))


LEARNER = Learner("mlr", "multiple linear regression (ridge on standardised covariates)",
                  {"alpha": 30.0}, {"alpha": [1.0, 10.0, 30.0, 100.0]}, min_samples=7,
                  estimator=_estimator, fast=_fast, estimator_prefix="ridge__")
