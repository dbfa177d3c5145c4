"""Gaussian BMA by expectation-maximisation (Raftery et al. 2005, as ensembleBMA's ``fitBMAnormal``).

:func:`fit_em` returns an :class:`EMResult`; :class:`BMA` is the same fit as a
scikit-learn regressor.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from smkit.bma.mixture import BMAFit, BMAWarning, ConvergenceWarning, prepare_pairs

__all__ = ["BMA", "DEFAULT_TOL", "EMResult", "fit_em", "fit_em_means"]

DEFAULT_TOL = float(np.sqrt(np.finfo(np.float64).eps))
#: ensembleBMA's floor: responsibilities and weights below it are set to zero.
_ZERO = 1e-100
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(kw_only=True)
class EMResult(BMAFit):
    """A Gaussian BMA fitted by EM: a :class:`smkit.bma.BMAFit` with the EM's own record.

    Attributes
    ----------
    weights, sigma, bias_coefs, member_names, n, bias_correction, equal_variance, n_dropped
        As in :class:`smkit.bma.BMAFit` (``weights_sd`` and ``posterior`` are None).
    loglik : float
        Log-likelihood at the returned parameters (nats; densities in
        (m3 m-3)^-1).
    n_iter : int
        EM iterations (E and M step pairs) performed.
    converged : bool
        Whether the relative log-likelihood change fell below ``tol``.
    loglik_trace : ndarray, shape (n_iter + 1,)
        Log-likelihood at the starting parameters and after each M step.
    """

    loglik: float
    n_iter: int
    converged: bool = True
    loglik_trace: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def n_params(self) -> int:
        """Free parameters: K-1 weights, the sigma(s) and the bias coefficients."""
        return _n_params(len(self.member_names), self.equal_variance, self.bias_correction)

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``-2 loglik + n_params ln n``."""
        return -2.0 * self.loglik + self.n_params * math.log(self.n)


def _n_params(K: int, equal_variance: bool, bias_correction: str) -> int:
    per = {"none": 0, "additive": 1, "regression": 2}[bias_correction]
    return (K - 1) + (1 if equal_variance else K) + per * K


def _loglik_terms(M, y, logw, sigma):
    """log(w_k) + log N(y_i; M_ik, sigma_k): (n, K) array."""
    r = (y[:, None] - M) / sigma
    with np.errstate(divide="ignore"):
        return logw - _LOG_SQRT_2PI - np.log(sigma) - 0.5 * r * r


def _logsumexp_rows(lz):
    m = lz.max(axis=1)
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.exp(lz - m[:, None]).sum(axis=1))


def _em(M, y, *, equal_variance: bool, max_iter: int, tol: float, min_sigma: float):
    """EM iterations on bias-corrected member means ``M`` (n, K).

    Follows ensembleBMA's ``fitBMAnormal``: equal starting weights (floored at
    1e-4), starting sigma the sample sd of ``y``; each iteration computes the
    responsibilities and the log-likelihood at the current parameters (E),
    then updates weights and sigma (M); it stops when the relative change of
    the log-likelihood, ``|L_t - L_{t-1}| / (1 + |L_t|)``, is below ``tol``
    (from the second iteration on) or at ``max_iter``. Computed in log space,
    so no density underflows; ``sigma`` is kept at or above ``min_sigma``.
    """
    n, K = M.shape
    w = np.full(K, 1.0 / K)
    sd0 = float(np.std(y, ddof=1)) if n > 1 else 0.0
    sigma = np.full(K, max(sd0, min_sigma))
    rsq = (y[:, None] - M) ** 2
    trace = []
    old = 0.0
    n_iter = 0
    converged = False
    max_iter = int(max_iter)
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    while True:
        with np.errstate(divide="ignore"):
            logw = np.log(w)
        lz = _loglik_terms(M, y, logw, sigma)
        lsum = _logsumexp_rows(lz)
        loglik = float(lsum.sum())
        trace.append(loglik)
        z = np.exp(lz - lsum[:, None])
        z[~(z >= _ZERO)] = 0.0
        zsum = z.sum(axis=0)
        w = zsum / zsum.sum()
        w[w < _ZERO] = 0.0
        w = w / w.sum()
        if equal_variance:
            s = math.sqrt(float((z * rsq).sum() / z.sum()))
            sigma = np.full(K, max(s, min_sigma))
        else:
            num = (z * rsq).sum(axis=0)
            upd = zsum > 0
            sigma = np.where(upd, np.sqrt(num / np.where(upd, zsum, 1.0)), sigma)
            sigma = np.maximum(sigma, min_sigma)
        n_iter += 1
        err = abs(loglik - old) / (1.0 + abs(loglik))
        if n_iter > 1 and err < tol:
            converged = True
            break
        if n_iter >= max_iter:
            break
        old = loglik
    with np.errstate(divide="ignore"):
        final = float(_logsumexp_rows(_loglik_terms(M, y, np.log(w), sigma)).sum())
    trace.append(final)
    return w, sigma, final, n_iter, converged, np.asarray(trace)


def _default_min_sigma(y: np.ndarray) -> float:
    sd = float(np.std(y, ddof=1)) if len(y) > 1 else 0.0
    scale = sd if sd > 0 else max(float(np.max(np.abs(y))), 1.0)
    return 1e-6 * scale


def fit_em_means(M, y, coefs, names, *, bias_correction: str, equal_variance: bool, max_iter: int,
                 tol: float, min_sigma: float | None = None, n_dropped: int = 0) -> EMResult:
    """EM on members already bias-corrected, as an :class:`EMResult` (no warning when it stops early).

    Parameters
    ----------
    M : ndarray (n, K)
        Bias-corrected members of the complete pairs (m3 m-3), e.g. from
        :func:`smkit.bma.mixture.prepare_pairs`.
    y : ndarray (n,)
        Observations (m3 m-3).
    coefs : ndarray (K, 2)
        The bias coefficients behind ``M``: intercept (m3 m-3), slope (1).
    names : tuple of str
        Member names.
    bias_correction, equal_variance, max_iter, tol, min_sigma
        As in :func:`fit_em`.
    n_dropped : int, default 0
        Pairs dropped before (recorded in the result).

    Returns
    -------
    EMResult
    """
    floor = _default_min_sigma(y) if min_sigma is None else float(min_sigma)
    w, sigma, loglik, n_iter, converged, trace = _em(
        M, y, equal_variance=equal_variance, max_iter=max_iter, tol=tol, min_sigma=floor
    )
    return EMResult(
        weights=w,
        sigma=float(sigma[0]) if equal_variance else sigma,
        bias_coefs=coefs,
        loglik=loglik,
        n_iter=n_iter,
        n=len(y),
        member_names=tuple(names),
        bias_correction=bias_correction,
        equal_variance=bool(equal_variance),
        converged=converged,
        loglik_trace=trace,
        n_dropped=n_dropped,
    )


def fit_em(
    members,
    obs,
    *,
    bias_correction: str = "none",
    equal_variance: bool = True,
    max_iter: int = 1000,
    tol: float = DEFAULT_TOL,
    min_sigma: float | None = None,
    member_names: Sequence[str] | None = None,
) -> EMResult:
    """Gaussian BMA weights and spread by expectation-maximisation.

    The algorithm of Raftery et al. (2005) as implemented by ensembleBMA's
    ``fitBMAnormal``: bias coefficients are fitted first (see
    :func:`bias_coefficients`); starting from equal weights and ``sigma`` = the
    sample standard deviation of ``obs``, the E step computes the
    responsibilities ``z_ik ∝ w_k N(y_i; a_k + b_k f_ik, sigma_k)`` and the M step
    sets ``w_k = mean_i z_ik`` and ``sigma^2 = sum_ik z_ik r_ik^2 / n`` (pooled,
    ``equal_variance``) or ``sigma_k^2 = sum_i z_ik r_ik^2 / sum_i z_ik``, until
    the relative change of the log-likelihood is below ``tol``.

    Parameters
    ----------
    members : array_like (n, K) or pandas.DataFrame
        Member values at the observation pairs, m3 m-3; a DataFrame's columns
        name the members.
    obs : array_like (n,)
        Observed soil moisture, m3 m-3.
    bias_correction : {"none", "additive", "regression"}, default "none"
    equal_variance : bool, default True
        One pooled ``sigma`` for all members, else one per member.
    max_iter : int, default 1000
        Iteration cap (a :class:`ConvergenceWarning` when reached).
    tol : float, default sqrt(machine epsilon)
        Stopping tolerance on ``|L_t - L_{t-1}| / (1 + |L_t|)``.
    min_sigma : float, optional
        Floor for ``sigma`` (m3 m-3); default 1e-6 times the sd of ``obs``. It
        keeps the likelihood bounded when a member matches ``obs`` exactly.
    member_names : sequence of str, optional
        Names for array columns (default ``m0, m1, ...`` or the DataFrame's).

    Returns
    -------
    EMResult

    Warns
    -----
    BMAWarning
        When rows with a missing member or observation are dropped (with the count).
    ConvergenceWarning
        When ``max_iter`` is reached.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.uniform(0.05, 0.35, 500)
    >>> members = truth[:, None] + rng.normal(0, [0.01, 0.05], (500, 2))
    >>> fit = fit_em(members, truth, member_names=["good", "poor"])
    >>> bool(fit.weights[0] > 0.8), round(float(fit.weights.sum()), 12)
    (True, 1.0)
    """
    M, y, coefs, names, n_dropped = prepare_pairs(members, obs, member_names, bias_correction)
    if bias_correction == "regression" and np.any(coefs[:, 1] < 0):
        bad = [n for n, b in zip(names, coefs[:, 1], strict=True) if b < 0]
        warnings.warn(
            f"negative regression slope for member(s) {bad}: they anti-correlate with obs",
            BMAWarning,
            stacklevel=2,
        )
    fit = fit_em_means(M, y, coefs, names, bias_correction=bias_correction, equal_variance=equal_variance,
                       max_iter=max_iter, tol=tol, min_sigma=min_sigma, n_dropped=n_dropped)
    if not fit.converged:
        warnings.warn(
            f"EM stopped at max_iter={max_iter} before the relative log-likelihood change fell "
            f"below tol={tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return fit


class BMA(RegressorMixin, BaseEstimator):
    """Gaussian BMA as a scikit-learn regressor (EM fit, see :func:`fit_em`).

    ``X`` holds the member values (one column per member, m3 m-3) and ``y`` the
    observations (m3 m-3). Following scikit-learn conventions, NaN inputs are
    rejected (:func:`fit_em` drops incomplete rows instead).

    Parameters
    ----------
    bias_correction : {"none", "additive", "regression"}, default "none"
    equal_variance : bool, default True
    max_iter : int, default 1000
    tol : float, default sqrt(machine epsilon)

    Attributes
    ----------
    weights_ : ndarray (K,)
        Mixture weights (1).
    sigma_ : float or ndarray (K,)
        Component standard deviation(s), m3 m-3.
    bias_coefs_ : ndarray (K, 2)
        Intercept (m3 m-3) and slope (1) per member.
    loglik_ : float
    n_iter_ : int
    result_ : EMResult
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Member names, when fitted on a DataFrame.

    Notes
    -----
    The estimator is tagged ``poor_score``: BMA combines forecasts of the
    target and is not a general-purpose regressor, so scikit-learn's check that
    any regressor scores R^2 > 0.5 on arbitrary features does not apply.
    """

    def __init__(self, bias_correction="none", equal_variance=True, max_iter=1000, tol=DEFAULT_TOL):
        self.bias_correction = bias_correction
        self.equal_variance = equal_variance
        self.max_iter = max_iter
        self.tol = tol

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    def fit(self, X, y):
        """Fit weights, sigma and bias coefficients by EM; returns ``self``."""
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        names = getattr(self, "feature_names_in_", None)
        res = fit_em(
            X,
            y,
            bias_correction=self.bias_correction,
            equal_variance=self.equal_variance,
            max_iter=self.max_iter,
            tol=self.tol,
            member_names=None if names is None else [str(n) for n in names],
        )
        self.result_ = res
        self.weights_ = res.weights
        self.sigma_ = res.sigma
        self.bias_coefs_ = res.bias_coefs
        self.loglik_ = res.loglik
        self.n_iter_ = res.n_iter
        return self

    def _X(self, X):
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def predict(self, X):
        """Mixture mean (m3 m-3)."""
        X = self._X(X)
        return self.result_.predict(X)

    def predict_std(self, X):
        """Mixture standard deviation ``sqrt(sum_k w_k (sigma_k^2 + (mu_k - mu)^2))`` (m3 m-3)."""
        X = self._X(X)
        return self.result_.predict_std(X)
