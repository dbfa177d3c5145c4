r"""Bayesian model averaging (BMA) of the downscaled members, per climate zone.

The four downscaled members (``rf``, ``mlr``, ``svr``, ``xgb``) are merged into one
predictive distribution per zone: a mixture of normals centred on the
(bias-corrected) member values,

.. math::

    p(y \mid f_1..f_K) = \sum_k w_k \, N(y;\ a_k + b_k f_k,\ \sigma_k^2),

with non-negative weights summing to one. Its mean is the ``bma`` product and its
standard deviation, ``sqrt(sum_k w_k (sigma_k^2 + (mu_k - mu)^2))``, the predictive
spread. Soil moisture, member values, bias intercepts and ``sigma`` are in
m3 m-3; weights and slopes are dimensionless.

Estimators (string registry :data:`ESTIMATORS`, chosen with ``method=``)
-----------------------------------------------------------------------
``"em"`` -- :func:`fit_em`
    Maximum likelihood by expectation-maximisation after Raftery et al. (2005),
    following the R package ensembleBMA's ``fitBMAnormal`` step by step (bias
    coefficients first, equal starting weights, starting ``sigma`` = sample sd
    of the observations, relative log-likelihood change as stopping rule).
    The results equal ``fitBMAnormal``'s for the same bias correction; note
    that ensembleBMA's default is ``biasCorrection = "regression"`` and
    smkit's is ``"none"``, so pass ``biasCorrection = "none"`` in R (or
    ``bias_correction="regression"`` here) to compare.
    Also available as the scikit-learn estimator :class:`BMA`.
``"pymc"`` -- :func:`fit_pymc`
    The full posterior with PyMC: Dirichlet(1) weights, half-normal ``sigma``
    and a normal-mixture likelihood, sampled by NUTS; checked with
    :func:`diagnostics` (ArviZ r-hat, bulk and tail ESS, divergences).
``"mc3"`` -- :func:`fit_mc3`
    Markov chain Monte Carlo model composition (Madigan and York, 1995) over
    the non-empty subsets of members, each subset scored by the BIC of its EM
    fit; or exact enumeration of all subsets.

Per zone
--------
:func:`fit_zones` fits one estimator per zone from a tidy table of station
pairs and falls back to the pooled fit (all zones together) for zones with too
few pairs; it returns a :class:`ZoneBMA`. :func:`apply` adds ``bma`` and
``sm_std`` to a product, lazily on dask-backed data.

References
----------
Raftery, A. E., Gneiting, T., Balabdaoui, F. and Polakowski, M. (2005): Using
Bayesian model averaging to calibrate forecast ensembles. Monthly Weather
Review 133, 1155-1174.

Madigan, D. and York, J. (1995): Bayesian graphical models for discrete data.
International Statistical Review 63, 215-232.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, RegressorMixin

from smkit.core.vocabulary import LEARNER_ORDER, SM_UNITS

__all__ = [
    "BIAS_CORRECTIONS",
    "BMA",
    "BMAWarning",
    "ConvergenceWarning",
    "EMResult",
    "ESTIMATORS",
    "MC3Result",
    "MISSING",
    "ZoneBMA",
    "apply",
    "bias_coefficients",
    "diagnostics",
    "fit_em",
    "fit_mc3",
    "fit_pymc",
    "fit_zones",
    "get_estimator",
    "mixture_moments",
]

BIAS_CORRECTIONS = ("none", "additive", "regression")
#: How :func:`apply` treats a pixel where a member with a nonzero weight is NaN.
MISSING = ("nan", "renormalise")
DEFAULT_TOL = float(np.sqrt(np.finfo(np.float64).eps))
#: ensembleBMA's floor: responsibilities and weights below it are set to zero.
_ZERO = 1e-100
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Columns of a pairs table that are never members.
RESERVED_COLUMNS = frozenset(
    "zone obs station name network time lat lon cadence elevation land_cover status "
    "pixel_lat pixel_lon cell_lat cell_lon".split()
)


class BMAWarning(UserWarning):
    """Data were dropped or a zone fell back to the pooled fit."""


class ConvergenceWarning(UserWarning):
    """A fit did not converge: EM hit ``max_iter``, or MCMC diagnostics failed."""


# =========================================================================== #
# Inputs
# =========================================================================== #
def _check_choice(name: str, value: str, valid: Sequence[str]) -> str:
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; choose from {list(valid)}")
    return value


def _prepare(members, obs, member_names=None):
    """Member matrix, observations and names, with incomplete rows dropped.

    Returns
    -------
    F : ndarray (n, K) float64
    y : ndarray (n,) float64
    names : tuple of str
    n_dropped : int
    """
    if isinstance(members, pd.DataFrame):
        names = tuple(str(c) for c in members.columns)
        F = members.to_numpy(dtype=np.float64)
    elif isinstance(members, xr.DataArray):
        if members.ndim != 2:
            raise ValueError(f"members must be 2-D (pair, member); got dims {members.dims}")
        names = (
            tuple(str(v) for v in members[members.dims[1]].values)
            if members.dims[1] in members.coords
            else None
        )
        F = np.asarray(members.values, dtype=np.float64)
    else:
        F = np.asarray(members, dtype=np.float64)
        names = None
    if F.ndim == 1:
        F = F[:, None]
    if F.ndim != 2:
        raise ValueError(f"members must be a 2-D array (n pairs, K members); got shape {F.shape}")
    if member_names is not None:
        names = tuple(str(m) for m in member_names)
    if names is None:
        names = tuple(f"m{k}" for k in range(F.shape[1]))
    if len(names) != F.shape[1]:
        raise ValueError(f"{len(names)} member names for {F.shape[1]} member columns")
    if len(set(names)) != len(names):
        raise ValueError(f"member names must be unique; got {list(names)}")
    y = np.asarray(obs.to_numpy() if isinstance(obs, pd.Series) else obs, dtype=np.float64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"obs must be 1-D (n pairs); got shape {y.shape}")
    if y.shape[0] != F.shape[0]:
        raise ValueError(f"members have {F.shape[0]} rows but obs has {y.shape[0]}")
    if F.shape[1] == 0:
        raise ValueError("at least one member is needed")
    ok = np.isfinite(y) & np.isfinite(F).all(axis=1)
    n_dropped = int((~ok).sum())
    if n_dropped:
        warnings.warn(
            f"dropped {n_dropped} of {len(y)} pairs with a missing member or observation",
            BMAWarning,
            stacklevel=3,
        )
        F, y = F[ok], y[ok]
    if len(y) < 2:
        raise ValueError(
            f"BMA needs at least 2 complete pairs; got n_samples = {len(y)}"
            + (" (1 sample)" if len(y) == 1 else "")
        )
    return F, y, names, n_dropped


def bias_coefficients(members, obs, bias_correction: str = "none") -> np.ndarray:
    """Per-member bias-correction coefficients ``(intercept, slope)``.

    Parameters
    ----------
    members : array_like, shape (n, K)
        Member values (m3 m-3), complete pairs only.
    obs : array_like, shape (n,)
        Observations (m3 m-3).
    bias_correction : {"none", "additive", "regression"}
        ``none``: ``a = 0, b = 1``; ``additive``: ``a = mean(obs - member)``,
        ``b = 1``; ``regression``: ordinary least squares of ``obs`` on each
        member separately (a constant member gets ``b = 0``, ``a = mean(obs)``).

    Returns
    -------
    ndarray, shape (K, 2)
        Intercept (m3 m-3) and slope (1) per member; the corrected member is
        ``a + b * f``.
    """
    _check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    F = np.asarray(members, dtype=np.float64)
    y = np.asarray(obs, dtype=np.float64)
    K = F.shape[1]
    coefs = np.zeros((K, 2))
    coefs[:, 1] = 1.0
    if bias_correction == "additive":
        coefs[:, 0] = (y[:, None] - F).mean(axis=0)
    elif bias_correction == "regression":
        xm = F.mean(axis=0)
        ym = y.mean()
        dx = F - xm
        sxx = (dx * dx).sum(axis=0)
        sxy = (dx * (y - ym)[:, None]).sum(axis=0)
        slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
        coefs[:, 1] = slope
        coefs[:, 0] = ym - slope * xm
    return coefs


# =========================================================================== #
# Mixture moments (shared by results and apply)
# =========================================================================== #
def mixture_moments(members, weights, bias_coefs, sigma, missing: str = "nan"):
    """Mean and standard deviation of the BMA normal mixture.

    Parameters
    ----------
    members : array_like, shape (..., K)
        Member values (m3 m-3).
    weights : array_like, shape (K,) or (..., K)
        Mixture weights (1).
    bias_coefs : array_like, shape (K, 2) or (..., K, 2)
        Intercept (m3 m-3) and slope (1) per member.
    sigma : float or array_like, shape (K,) or (..., K)
        Component standard deviations (m3 m-3).
    missing : {"nan", "renormalise"}, default "nan"
        Where a member with a nonzero weight is NaN: ``nan`` gives NaN;
        ``renormalise`` rescales the weights of the available members to sum
        to one (NaN only when none is available).

    Returns
    -------
    mean, std : ndarray, shape (...)
        ``mu = sum_k w_k mu_k`` with ``mu_k = a_k + b_k f_k``, and
        ``sqrt(sum_k w_k (sigma_k^2 + (mu_k - mu)^2))`` (m3 m-3).
    """
    _check_choice("missing", missing, MISSING)
    f = np.asarray(members, dtype=np.float64)
    coefs = np.asarray(bias_coefs, dtype=np.float64)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), f.shape)
    s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), f.shape)
    mu_k = coefs[..., 0] + coefs[..., 1] * f
    finite = np.isfinite(mu_k)
    if missing == "nan":
        bad = np.any((w > 0) & ~finite, axis=-1)
        ww = np.where(finite, w, 0.0)
    else:
        ww = np.where(finite, w, 0.0)
        tot = ww.sum(axis=-1, keepdims=True)
        bad = tot[..., 0] <= 0
        ww = ww / np.where(tot > 0, tot, 1.0)
    use = ww > 0
    mu0 = np.where(use, mu_k, 0.0)
    s0 = np.where(use, s, 0.0)
    mean = (ww * mu0).sum(axis=-1)
    var = (ww * (s0 * s0 + (mu0 - mean[..., None]) ** 2)).sum(axis=-1)
    mean = np.where(bad, np.nan, mean)
    std = np.where(bad, np.nan, np.sqrt(np.maximum(var, 0.0)))
    return mean, std


class _Mixture:
    """Prediction methods shared by fitted results.

    Subclasses provide ``weights``, ``sigma``, ``bias_coefs`` and ``member_names``.
    """

    weights: np.ndarray
    bias_coefs: np.ndarray
    member_names: tuple[str, ...]

    @property
    def sigma_k(self) -> np.ndarray:
        """Component standard deviations broadcast to one per member (m3 m-3)."""
        return np.broadcast_to(
            np.asarray(self.sigma, dtype=np.float64), (len(self.member_names),)
        ).copy()

    def _members(self, members) -> np.ndarray:
        if isinstance(members, pd.DataFrame):
            absent = [m for m in self.member_names if m not in members.columns]
            if absent:
                raise KeyError(
                    f"members table lacks columns {absent}; it has {list(members.columns)}"
                )
            return members[list(self.member_names)].to_numpy(dtype=np.float64)
        F = np.asarray(members, dtype=np.float64)
        if F.shape[-1] != len(self.member_names):
            raise ValueError(f"expected {len(self.member_names)} member columns, got {F.shape[-1]}")
        return F

    def predict(self, members, missing: str = "nan") -> np.ndarray:
        """Mixture mean (m3 m-3) for member values of shape (..., K) or a DataFrame."""
        return mixture_moments(
            self._members(members), self.weights, self.bias_coefs, self.sigma_k, missing
        )[0]

    def predict_std(self, members, missing: str = "nan") -> np.ndarray:
        """Mixture standard deviation (m3 m-3) for member values of shape (..., K)."""
        return mixture_moments(
            self._members(members), self.weights, self.bias_coefs, self.sigma_k, missing
        )[1]

    def to_series(self) -> pd.Series:
        """Weights per member as a Series."""
        return pd.Series(self.weights, index=list(self.member_names), name="weight")


# =========================================================================== #
# EM
# =========================================================================== #
@dataclass
class EMResult(_Mixture):
    """A Gaussian BMA fitted by EM.

    Attributes
    ----------
    weights : ndarray, shape (K,)
        Mixture weights (1), non-negative, summing to one.
    sigma : float or ndarray, shape (K,)
        Component standard deviation (m3 m-3): one pooled value with
        ``equal_variance``, else one per member.
    bias_coefs : ndarray, shape (K, 2)
        Intercept (m3 m-3) and slope (1) per member.
    loglik : float
        Log-likelihood at the returned parameters (nats; densities in
        (m3 m-3)^-1).
    n_iter : int
        EM iterations (E and M step pairs) performed.
    n : int
        Complete pairs used.
    member_names : tuple of str
    bias_correction : str
    equal_variance : bool
    converged : bool
        Whether the relative log-likelihood change fell below ``tol``.
    loglik_trace : ndarray, shape (n_iter + 1,)
        Log-likelihood at the starting parameters and after each M step.
    n_dropped : int
        Pairs dropped for a missing member or observation.
    """

    weights: np.ndarray
    sigma: float | np.ndarray
    bias_coefs: np.ndarray
    loglik: float
    n_iter: int
    n: int
    member_names: tuple[str, ...]
    bias_correction: str = "none"
    equal_variance: bool = True
    converged: bool = True
    loglik_trace: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    n_dropped: int = 0

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
    _check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    F, y, names, n_dropped = _prepare(members, obs, member_names)
    coefs = bias_coefficients(F, y, bias_correction)
    if bias_correction == "regression" and np.any(coefs[:, 1] < 0):
        bad = [n for n, b in zip(names, coefs[:, 1], strict=True) if b < 0]
        warnings.warn(
            f"negative regression slope for member(s) {bad}: they anti-correlate with obs",
            BMAWarning,
            stacklevel=2,
        )
    M = coefs[:, 0] + coefs[:, 1] * F
    floor = _default_min_sigma(y) if min_sigma is None else float(min_sigma)
    w, sigma, loglik, n_iter, converged, trace = _em(
        M, y, equal_variance=equal_variance, max_iter=max_iter, tol=tol, min_sigma=floor
    )
    if not converged:
        warnings.warn(
            f"EM stopped at max_iter={max_iter} before the relative log-likelihood change fell "
            f"below tol={tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return EMResult(
        weights=w,
        sigma=float(sigma[0]) if equal_variance else sigma,
        bias_coefs=coefs,
        loglik=loglik,
        n_iter=n_iter,
        n=len(y),
        member_names=names,
        bias_correction=bias_correction,
        equal_variance=bool(equal_variance),
        converged=converged,
        loglik_trace=trace,
        n_dropped=n_dropped,
    )


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


# =========================================================================== #
# PyMC posterior
# =========================================================================== #
def _default_cores(chains: int) -> int:
    """Parallel chains: one per CPU up to ``chains``; 1 inside daemonic (e.g. dask) workers."""
    if multiprocessing.current_process().daemon:
        return 1  # daemonic processes may not start children
    return max(1, min(int(chains), os.cpu_count() or 1))


def fit_pymc(
    members,
    obs,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    seed: int = 0,
    target_accept: float = 0.95,
    bias_correction: str = "none",
    equal_variance: bool = True,
    sigma_prior: float | None = None,
    member_names: Sequence[str] | None = None,
    progressbar: bool = False,
    **sample_kwargs,
) -> xr.DataTree:
    """Full posterior of the BMA weights and spread with PyMC (NUTS).

    Model: ``w ~ Dirichlet(1, ..., 1)``, ``sigma ~ HalfNormal(sigma_prior)``
    (one, or one per member), ``obs_i ~ sum_k w_k N(a_k + b_k f_ik, sigma)``
    with the bias coefficients fixed beforehand (:func:`bias_coefficients`).

    Parameters
    ----------
    members : array_like (n, K) or pandas.DataFrame
        Member values, m3 m-3 (incomplete rows are dropped with a warning).
    obs : array_like (n,)
        Observations, m3 m-3.
    draws, tune : int, default 1000
        Kept and tuning draws per chain.
    chains : int, default 4
        Independent chains (at least 2, for r-hat).
    cores : int, optional
        Chains run in parallel; default one per CPU up to ``chains`` (1 inside
        daemonic processes such as dask workers).
    seed : int, default 0
        Random seed of the sampler.
    target_accept : float, default 0.95
        NUTS target acceptance rate (0.9 gave divergences in one chain of a
        600-pair fit; 0.95 none in any fit tried).
    bias_correction : {"none", "additive", "regression"}, default "none"
    equal_variance : bool, default True
    sigma_prior : float, optional
        Scale of the half-normal prior on ``sigma`` (m3 m-3); default twice the
        sample sd of ``obs`` (weakly informative).
    member_names : sequence of str, optional
    progressbar : bool, default False
    **sample_kwargs
        Passed to :func:`pymc.sample` (e.g. ``nuts_sampler``, ``compile_kwargs``).

    Returns
    -------
    xarray.DataTree
        From :func:`pymc.sample`: ``posterior`` with ``w(chain, draw, member)``
        (coordinate ``member`` = member names) and ``sigma``; ``sample_stats``;
        ``observed_data``; ``constant_data`` with the bias-corrected members
        ``member_mean(pair, member)`` and ``bias_intercept(member)`` (m3 m-3),
        ``bias_slope(member)`` (1). Root attributes record the settings and
        ``smkit_fit_seconds`` (model build, compilation and sampling, s).
    """
    import pymc as pm
    import pytensor.tensor as pt

    _check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    if int(chains) < 2:
        raise ValueError(f"chains must be at least 2 (r-hat compares chains); got {chains}")
    t0 = time.perf_counter()
    F, y, names, n_dropped = _prepare(members, obs, member_names)
    coefs = bias_coefficients(F, y, bias_correction)
    M = coefs[:, 0] + coefs[:, 1] * F
    K = len(names)
    scale = (
        float(sigma_prior) if sigma_prior is not None else 2.0 * max(float(np.std(y, ddof=1)), 1e-6)
    )
    coords = {"member": list(names), "pair": np.arange(len(y))}
    cores = _default_cores(chains) if cores is None else int(cores)
    with pm.Model(coords=coords):
        mu = pm.Data("member_mean", M, dims=("pair", "member"))
        if K > 1:
            w = pm.Dirichlet("w", a=np.ones(K), dims="member")
        else:
            w = pm.Deterministic("w", pt.ones(1), dims="member")
        if equal_variance:
            sigma = pm.HalfNormal("sigma", sigma=scale)
        else:
            sigma = pm.HalfNormal("sigma", sigma=scale, dims="member")
        if K > 1:
            pm.NormalMixture("obs", w=w, mu=mu, sigma=sigma, observed=y, dims="pair")
        else:
            pm.Normal(
                "obs",
                mu=mu[:, 0],
                sigma=sigma if equal_variance else sigma[0],
                observed=y,
                dims="pair",
            )
        dt = pm.sample(
            int(draws),
            tune=int(tune),
            chains=int(chains),
            cores=cores,
            random_seed=seed,
            nuts={"target_accept": float(target_accept)},
            progressbar=progressbar,
            compute_convergence_checks=False,
            **sample_kwargs,
        )
    extra = xr.Dataset(
        {
            "bias_intercept": ("member", coefs[:, 0], {"units": SM_UNITS}),
            "bias_slope": ("member", coefs[:, 1], {"units": "1"}),
        },
        coords={"member": list(names)},
    )
    const = dt["constant_data"].to_dataset() if "constant_data" in dt.children else xr.Dataset()
    dt["constant_data"] = const.assign(extra)
    dt.attrs.update(
        {
            "smkit_estimator": "pymc",
            "bias_correction": bias_correction,
            "equal_variance": int(bool(equal_variance)),
            "sigma_prior": scale,
            "n_pairs": len(y),
            "n_dropped": n_dropped,
            "smkit_fit_seconds": time.perf_counter() - t0,
        }
    )
    return dt


def diagnostics(
    dt: xr.DataTree,
    *,
    var_names: Sequence[str] | None = ("w", "sigma"),
    rhat_max: float = 1.01,
    warn: bool = True,
) -> pd.DataFrame:
    """Convergence diagnostics of a posterior, one row per scalar parameter.

    Parameters
    ----------
    dt : xarray.DataTree
        Result of :func:`fit_pymc` (any PyMC/ArviZ DataTree with ``posterior``
        and ``sample_stats``).
    var_names : sequence of str, optional
        Posterior variables to check (default ``w`` and ``sigma``; ``None``: all).
    rhat_max : float, default 1.01
        Largest acceptable rank-normalised r-hat.
    warn : bool, default True
        Emit a :class:`ConvergenceWarning` (a ``UserWarning``) when a
        parameter's r-hat exceeds ``rhat_max`` or when there are divergences.

    Returns
    -------
    pandas.DataFrame
        Index ``parameter`` (``w[rf]``, ``sigma``, ...); columns ``mean``, ``sd``
        (posterior, in the parameter's units), ``r_hat``, ``ess_bulk``,
        ``ess_tail`` and ``divergences`` (total post-warm-up divergent
        transitions over all chains, the same on every row; also in
        ``attrs["divergences"]``).
    """
    import arviz as az

    post = dt["posterior"].to_dataset()
    names = (
        list(post.data_vars) if var_names is None else [v for v in var_names if v in post.data_vars]
    )
    if not names:
        raise KeyError(f"none of {list(var_names)} in the posterior; it has {list(post.data_vars)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant parameters give NaN
        rhat = az.rhat(dt, var_names=names)
        bulk = az.ess(dt, var_names=names, method="bulk")
        tail = az.ess(dt, var_names=names, method="tail")
    rhat, bulk, tail = (
        x.to_dataset() if isinstance(x, xr.DataTree) else x for x in (rhat, bulk, tail)
    )
    stats = dt["sample_stats"].to_dataset()
    div_var = "diverging" if "diverging" in stats else "divergences"
    n_div = int(stats[div_var].sum()) if div_var in stats else 0
    rows = []
    for v in names:
        da = post[v]
        extra_dims = [d for d in da.dims if d not in ("chain", "draw")]
        mean = da.mean(("chain", "draw"))
        sd = da.std(("chain", "draw"), ddof=1)
        if extra_dims:
            idx = list(itertools.product(*[da[d].values for d in extra_dims]))
            for key in idx:
                sel = dict(zip(extra_dims, key, strict=True))
                label = f"{v}[{', '.join(str(k) for k in key)}]"
                rows.append(
                    (
                        label,
                        float(mean.sel(sel)),
                        float(sd.sel(sel)),
                        float(rhat[v].sel(sel)),
                        float(bulk[v].sel(sel)),
                        float(tail[v].sel(sel)),
                    )
                )
        else:
            rows.append((v, float(mean), float(sd), float(rhat[v]), float(bulk[v]), float(tail[v])))
    df = pd.DataFrame(rows, columns=["parameter", "mean", "sd", "r_hat", "ess_bulk", "ess_tail"])
    df = df.set_index("parameter")
    df["divergences"] = n_div
    df.attrs["divergences"] = n_div
    df.attrs["chains"] = int(post.sizes["chain"])
    df.attrs["draws"] = int(post.sizes["draw"])
    if warn:
        problems = []
        # NaN r-hat is fine for a constant (e.g. the single weight of a one-member fit)
        bad = (df["r_hat"] > rhat_max) | (df["r_hat"].isna() & (df["sd"] > 0))
        high = df.index[bad].tolist()
        if high:
            problems.append(f"r-hat above {rhat_max} for {high} (max {df['r_hat'].max():.3f})")
        if n_div:
            problems.append(f"{n_div} divergent transition(s)")
        if problems:
            warnings.warn(
                "posterior may be unreliable: "
                + "; ".join(problems)
                + ". Run more tuning/draws, raise target_accept, or check the data",
                ConvergenceWarning,
                stacklevel=2,
            )
    return df


# =========================================================================== #
# MC3
# =========================================================================== #
@dataclass
class MC3Result(_Mixture):
    """Posterior over subsets of members, and the model-averaged mixture.

    Attributes
    ----------
    models : pandas.DataFrame
        One row per subset (visited, or all with ``exact``), sorted by
        decreasing ``probability``: ``members`` (tuple), ``size``, ``loglik``,
        ``bic``, ``visits`` (0 with ``exact``), ``probability`` (posterior model
        probability: visit frequency, or exact), and ``w_<member>`` (the
        subset's EM weights, 0 for excluded members).
    inclusion : pandas.Series
        Posterior inclusion probability per member.
    weights : ndarray (K,)
        Model-averaged weights: each subset's EM weights averaged by its
        posterior probability.
    weights_sd : ndarray (K,)
        Posterior standard deviation of the weights across subsets.
    sigma : float or ndarray (K,)
        Model-averaged sigma (m3 m-3); per member, averaged over the subsets
        holding it (NaN for a member never included).
    bias_coefs : ndarray (K, 2)
        Intercept (m3 m-3) and slope (1); they do not depend on the subset.
    member_names : tuple of str
    n : int
        Complete pairs used.
    n_iter : int
        Kept chain steps (0 with ``exact``).
    acceptance_rate : float
        Fraction of accepted proposals (NaN with ``exact``).
    exact : bool
    bias_correction : str
    equal_variance : bool
    fits : dict
        ``frozenset`` of member names -> :class:`EMResult`, for every evaluated subset.
    chain : ndarray of str
        The model (index label of ``models``) at every kept step (empty with ``exact``).
    """

    models: pd.DataFrame
    inclusion: pd.Series
    weights: np.ndarray
    weights_sd: np.ndarray
    sigma: float | np.ndarray
    bias_coefs: np.ndarray
    member_names: tuple[str, ...]
    n: int
    n_iter: int
    acceptance_rate: float
    exact: bool
    bias_correction: str = "none"
    equal_variance: bool = True
    fits: dict = field(default_factory=dict, repr=False)
    chain: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object), repr=False)


def fit_mc3(
    members,
    obs,
    *,
    n_iter: int = 5000,
    seed: int = 0,
    burn_in: int | None = None,
    exact: bool = False,
    bias_correction: str = "none",
    equal_variance: bool = True,
    max_iter: int = 1000,
    tol: float = DEFAULT_TOL,
    member_names: Sequence[str] | None = None,
) -> MC3Result:
    """Markov chain Monte Carlo model composition over subsets of members.

    Each non-empty subset ``M`` of members is a model: a Gaussian BMA fitted by
    EM on those members only (same pairs, same bias coefficients). Its evidence
    is approximated by ``exp(-BIC/2)`` with ``BIC = -2 loglik + p ln n`` (``p``:
    free weights, sigma(s) and bias coefficients), under a uniform prior over
    subsets. The chain starts from the full set; each step picks a member at
    random and proposes to add it or remove it (removing the last member is
    rejected), accepting with probability ``min(1, exp(-(BIC' - BIC) / 2))``
    (Madigan and York, 1995). The proposal is symmetric, so visit frequencies
    estimate the posterior model probabilities.

    Parameters
    ----------
    members : array_like (n, K) or pandas.DataFrame
        Member values, m3 m-3 (incomplete rows dropped with a warning).
    obs : array_like (n,)
        Observations, m3 m-3.
    n_iter : int, default 5000
        Kept chain steps.
    seed : int, default 0
    burn_in : int, optional
        Initial steps discarded (default ``n_iter // 10``).
    exact : bool, default False
        Enumerate all ``2^K - 1`` subsets instead of sampling (feasible for
        a handful of members).
    bias_correction, equal_variance, max_iter, tol
        As in :func:`fit_em`, for every subset fit.
    member_names : sequence of str, optional

    Returns
    -------
    MC3Result
    """
    _check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    F, y, names, n_dropped = _prepare(members, obs, member_names)
    K = len(names)
    coefs = bias_coefficients(F, y, bias_correction)
    M = coefs[:, 0] + coefs[:, 1] * F
    floor = _default_min_sigma(y)
    fits: dict[int, EMResult] = {}

    def fit(mask: int) -> EMResult:
        if mask not in fits:
            cols = [k for k in range(K) if mask >> k & 1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                w, s, ll, it, conv, tr = _em(
                    M[:, cols],
                    y,
                    equal_variance=equal_variance,
                    max_iter=max_iter,
                    tol=tol,
                    min_sigma=floor,
                )
            fits[mask] = EMResult(
                weights=w,
                sigma=float(s[0]) if equal_variance else s,
                bias_coefs=coefs[cols],
                loglik=ll,
                n_iter=it,
                n=len(y),
                member_names=tuple(names[k] for k in cols),
                bias_correction=bias_correction,
                equal_variance=bool(equal_variance),
                converged=conv,
                loglik_trace=tr,
                n_dropped=n_dropped,
            )
        return fits[mask]

    full = (1 << K) - 1
    if exact and K > 16:
        raise ValueError(
            f"exact enumeration of 2^{K} - 1 subsets is too large; use exact=False (MC3)"
        )
    if exact:
        masks = list(range(1, full + 1))
        bic = np.array([fit(m).bic for m in masks])
        logp = -0.5 * (bic - bic.min())
        prob = np.exp(logp)
        prob /= prob.sum()
        visits = np.zeros(len(masks), np.int64)
        n_kept, acc_rate = 0, float("nan")
    else:
        n_iter = int(n_iter)
        if n_iter < 1:
            raise ValueError(f"n_iter must be positive, got {n_iter}")
        burn = n_iter // 10 if burn_in is None else int(burn_in)
        rng = np.random.default_rng(seed)
        state = full
        cur = fit(state).bic
        counts: dict[int, int] = {}
        path = np.empty(n_iter, np.int64)
        accepted = proposed = 0
        picks = rng.integers(K, size=burn + n_iter)
        logu = np.log(rng.random(burn + n_iter))
        for t in range(burn + n_iter):
            prop = state ^ (1 << int(picks[t]))
            if prop:
                proposed += 1
                new = fit(prop).bic
                if logu[t] < -0.5 * (new - cur):
                    state, cur = prop, new
                    accepted += 1
            if t >= burn:
                counts[state] = counts.get(state, 0) + 1
                path[t - burn] = state
        masks = sorted(counts)
        visits = np.array([counts[m] for m in masks], np.int64)
        prob = visits / visits.sum()
        bic = np.array([fits[m].bic for m in masks])
        n_kept = n_iter
        acc_rate = accepted / proposed if proposed else float("nan")
    W = np.zeros((len(masks), K))
    S = np.full((len(masks), K), np.nan)
    for i, m in enumerate(masks):
        cols = [k for k in range(K) if m >> k & 1]
        W[i, cols] = fits[m].weights
        S[i, cols] = fits[m].sigma_k
    weights = prob @ W
    weights_sd = np.sqrt(np.maximum(prob @ (W - weights) ** 2, 0.0))
    incl_mask = np.array([[bool(m >> k & 1) for k in range(K)] for m in masks])
    inclusion = pd.Series(prob @ incl_mask, index=list(names), name="inclusion_probability")
    if equal_variance:
        sigma: float | np.ndarray = float(prob @ np.nanmax(S, axis=1))
    else:
        pin = prob[:, None] * incl_mask
        tot = pin.sum(axis=0)
        sigma = np.where(
            tot > 0, np.nansum(pin * np.nan_to_num(S), axis=0) / np.where(tot > 0, tot, 1), np.nan
        )
    label = {m: "+".join(names[k] for k in range(K) if m >> k & 1) for m in masks}
    chain = (
        np.array([label[m] for m in path], dtype=object) if not exact else np.empty(0, dtype=object)
    )
    table = pd.DataFrame(
        {
            "members": [tuple(names[k] for k in range(K) if m >> k & 1) for m in masks],
            "size": [int(bin(m).count("1")) for m in masks],
            "loglik": [fits[m].loglik for m in masks],
            "bic": bic,
            "visits": visits,
            "probability": prob,
        },
        index=[label[m] for m in masks],
    )
    for k, nm in enumerate(names):
        table[f"w_{nm}"] = W[:, k]
    table.index.name = "model"
    table = table.sort_values("probability", ascending=False, kind="stable")
    return MC3Result(
        models=table,
        inclusion=inclusion,
        weights=weights,
        weights_sd=weights_sd,
        sigma=sigma,
        bias_coefs=coefs,
        member_names=names,
        n=len(y),
        n_iter=n_kept,
        acceptance_rate=acc_rate,
        exact=bool(exact),
        bias_correction=bias_correction,
        equal_variance=bool(equal_variance),
        fits={frozenset(f.member_names): f for f in fits.values()},
        chain=chain,
    )


# =========================================================================== #
# Registry
# =========================================================================== #
ESTIMATORS: dict[str, Callable[..., Any]] = {"em": fit_em, "pymc": fit_pymc, "mc3": fit_mc3}


def get_estimator(name: str) -> Callable[..., Any]:
    """Look up a BMA estimator by key, with an error listing the valid keys."""
    if name not in ESTIMATORS:
        raise KeyError(f"unknown BMA method {name!r}; choose from {sorted(ESTIMATORS)}")
    return ESTIMATORS[name]


def _summarise(fit, method: str, K: int):
    """(weights, weights_sd or None, sigma (K,), bias_coefs (K, 2)) of any fit result."""
    if method == "pymc":
        post = fit["posterior"].to_dataset()
        w = post["w"].transpose("chain", "draw", "member").values.reshape(-1, K)
        s = post["sigma"].values.reshape(w.shape[0], -1)
        const = fit["constant_data"].to_dataset()
        coefs = np.column_stack([const["bias_intercept"].values, const["bias_slope"].values])
        return w.mean(0), w.std(0, ddof=1), np.broadcast_to(s.mean(0), (K,)).copy(), coefs
    sd = getattr(fit, "weights_sd", None)
    return (
        np.asarray(fit.weights),
        (None if sd is None else np.asarray(sd)),
        fit.sigma_k,
        np.asarray(fit.bias_coefs),
    )


# =========================================================================== #
# Per zone
# =========================================================================== #
@dataclass
class ZoneBMA:
    """BMA parameters per zone.

    Attributes
    ----------
    method : str
        Estimator key (``em``, ``pymc`` or ``mc3``).
    members : tuple of str
        Member names, in the order of the ``member`` dimension.
    weights : xarray.DataArray
        ``weights(zone, member)`` (1); posterior mean for ``pymc``,
        model-averaged for ``mc3``.
    sigma : xarray.DataArray
        ``sigma(zone)`` (m3 m-3), or ``sigma(zone, member)`` without equal variance.
    bias_coefs : xarray.DataArray
        ``bias_coefs(zone, member, coef)``, ``coef`` = intercept (m3 m-3), slope (1).
    n_pairs : xarray.DataArray
        ``n_pairs(zone)``: complete pairs of each zone (before any fallback).
    fallback : tuple of int
        Zones that use the pooled fit.
    weights_sd : xarray.DataArray or None
        ``weights_sd(zone, member)``: posterior sd of the weights (``pymc``;
        across subsets for ``mc3``); None for ``em``.
    pooled : xarray.Dataset or None
        The pooled fit (all zones together): ``weights(member)``, ``sigma``,
        ``bias_coefs(member, coef)``, ``n_pairs``; None when not computed.
    fits : dict
        Zone label (and ``"pooled"``) -> fit result (:class:`EMResult`,
        :class:`MC3Result` or the PyMC ``DataTree``); empty after
        :meth:`from_dataset`.
    bias_correction : str
    equal_variance : bool
    """

    method: str
    members: tuple[str, ...]
    weights: xr.DataArray
    sigma: xr.DataArray
    bias_coefs: xr.DataArray
    n_pairs: xr.DataArray
    fallback: tuple[int, ...] = ()
    weights_sd: xr.DataArray | None = None
    pooled: xr.Dataset | None = None
    fits: dict = field(default_factory=dict, repr=False)
    bias_correction: str = "none"
    equal_variance: bool = True

    @property
    def zones(self) -> np.ndarray:
        """Zone labels."""
        return np.asarray(self.weights["zone"].values)

    @property
    def trees(self) -> dict:
        """Per-zone PyMC DataTrees (``pymc`` only; fallback zones share the pooled tree)."""
        if self.method != "pymc":
            raise AttributeError(
                f"trees exist for method 'pymc' only; this fit used {self.method!r}"
            )
        return {z: f for z, f in self.fits.items()}

    def sigma_k(self) -> xr.DataArray:
        """``sigma(zone, member)`` broadcast to one per member (m3 m-3)."""
        return self.sigma.broadcast_like(self.weights).transpose("zone", "member")

    def table(self) -> pd.DataFrame:
        """Weights, sigma, pair counts and fallback flag, one row per zone."""
        df = self.weights.to_pandas()
        df.columns = [f"w_{c}" for c in df.columns]
        if self.weights_sd is not None:
            for c in self.members:
                df[f"w_{c}_sd"] = self.weights_sd.sel(member=c).values
        sig = self.sigma_k()
        if self.equal_variance:
            df["sigma"] = sig.isel(member=0).values
        else:
            for c in self.members:
                df[f"sigma_{c}"] = sig.sel(member=c).values
        df["n_pairs"] = self.n_pairs.values
        df["fallback"] = [z in self.fallback for z in df.index]
        return df

    def diagnostics(self) -> pd.DataFrame:
        """:func:`diagnostics` of every zone's posterior, stacked (``pymc`` only)."""
        parts = []
        for z, dt in self.trees.items():
            d = diagnostics(dt, warn=False)
            d.insert(0, "zone", z)
            parts.append(d)
        return pd.concat(parts)

    def params_for(self, zone) -> dict:
        """Weights (K,), sigma (K,) and bias coefficients (K, 2) of one zone (or ``"pooled"``)."""
        if zone == "pooled":
            if self.pooled is None:
                raise KeyError("this ZoneBMA has no pooled fit")
            p = self.pooled
            sig = np.broadcast_to(np.asarray(p["sigma"].values, float), (len(self.members),)).copy()
            return {
                "weights": p["weights"].values,
                "sigma": sig,
                "bias_coefs": p["bias_coefs"].values,
            }
        if zone not in set(self.zones.tolist()):
            raise KeyError(f"zone {zone!r} not fitted; zones: {self.zones.tolist()}")
        return {
            "weights": self.weights.sel(zone=zone).values,
            "sigma": self.sigma_k().sel(zone=zone).values,
            "bias_coefs": self.bias_coefs.sel(zone=zone).values,
        }

    def to_dataset(self) -> xr.Dataset:
        """All parameters as a Dataset (e.g. for ``to_netcdf``); DataTrees are not included."""
        ds = xr.Dataset(
            {
                "weights": self.weights,
                "sigma": self.sigma,
                "bias_coefs": self.bias_coefs,
                "n_pairs": self.n_pairs,
                "fallback": (
                    "zone",
                    np.isin(self.zones, list(self.fallback)).astype(np.int8),
                    {
                        "long_name": "zone uses the pooled fit",
                        "flag_values": np.array([0, 1], np.int8),
                        "flag_meanings": "own_fit pooled_fit",
                    },
                ),
            }
        )
        if self.weights_sd is not None:
            ds["weights_sd"] = self.weights_sd
        if self.pooled is not None:
            for v in self.pooled.data_vars:
                ds[f"pooled_{v}"] = self.pooled[v]
        ds.attrs.update(
            {
                "title": "smkit Bayesian model averaging parameters per zone",
                "bma_method": self.method,
                "members": " ".join(self.members),
                "bias_correction": self.bias_correction,
                "equal_variance": int(self.equal_variance),
            }
        )
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> ZoneBMA:
        """Rebuild from :meth:`to_dataset` output (fit objects are not restored)."""
        missing = {"weights", "sigma", "bias_coefs", "n_pairs", "fallback"} - set(ds.data_vars)
        if missing:
            raise KeyError(f"not a ZoneBMA dataset: missing {sorted(missing)}")
        zones = np.asarray(ds["zone"].values)
        fb = tuple(int(z) for z, f in zip(zones, ds["fallback"].values, strict=True) if f)
        pooled = None
        pv = [v for v in ds.data_vars if str(v).startswith("pooled_")]
        if pv:
            pooled = xr.Dataset({str(v)[len("pooled_") :]: ds[v] for v in pv})
        members = tuple(str(m) for m in ds["member"].values)
        return cls(
            method=str(ds.attrs.get("bma_method", "em")),
            members=members,
            weights=ds["weights"],
            sigma=ds["sigma"],
            bias_coefs=ds["bias_coefs"],
            n_pairs=ds["n_pairs"],
            fallback=fb,
            weights_sd=ds["weights_sd"] if "weights_sd" in ds else None,
            pooled=pooled,
            bias_correction=str(ds.attrs.get("bias_correction", "none")),
            equal_variance=bool(int(ds.attrs.get("equal_variance", 1))),
        )


def _zone_labels(zones) -> list[int]:
    if zones is None:
        return []
    vals = np.asarray(zones.values if isinstance(zones, xr.DataArray) else list(zones)).ravel()
    vals = vals[np.isfinite(vals.astype(float))] if vals.dtype.kind == "f" else vals
    return sorted({int(v) for v in vals if int(v) != -1})


def _default_members(pairs: pd.DataFrame) -> list[str]:
    known = [m for m in LEARNER_ORDER if m in pairs.columns]
    if known:
        return known
    return [
        str(c)
        for c in pairs.columns
        if c not in RESERVED_COLUMNS and pd.api.types.is_numeric_dtype(pairs[c])
    ]


def fit_zones(
    pairs: pd.DataFrame,
    *,
    method: str = "em",
    min_pairs: int = 30,
    min_stations: int = 5,
    zones=None,
    members: Sequence[str] | None = None,
    **kw,
) -> ZoneBMA:
    """Fit BMA weights per zone, with the pooled fit for zones short of stations or pairs.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Tidy station pairs: ``zone`` (int label; -1 = no zone), ``obs``
        (m3 m-3) and one column per member (m3 m-3), optionally ``station``,
        ``network``, ``time``. Rows with a NaN member or obs are not used.
    method : {"em", "pymc", "mc3"}, default "em"
        Estimator (:data:`ESTIMATORS`).
    min_pairs : int, default 30
        Fewest complete pairs for a zone to get its own fit; zones with fewer
        use the pooled fit (all zones' pairs together), with a :class:`BMAWarning`.
    min_stations : int, default 5
        Fewest distinct stations (column ``station``) among a zone's complete
        pairs for it to get its own fit. Pairs of one station are not
        independent: with one to four stations a zone's weights collapse
        onto whichever member happens to match those stations (an RF weight
        of 1.00 was seen in a one-station zone), and a per-zone regression
        bias correction would fit those stations' own offsets. Ignored when
        ``pairs`` has no ``station`` column.
    zones : xarray.DataArray or iterable of int, optional
        All zone labels that need parameters (e.g. the zone map): zones
        without any pair fall back to the pooled fit too. Default: the zones
        present in ``pairs``.
    members : sequence of str, optional
        Member columns; default the learners ``rf, mlr, svr, xgb`` present in
        ``pairs``, or else every numeric column that is not a reserved
        pairs column (``zone``, ``obs``, ``station``, ``time``, ...).
    **kw
        Passed to the estimator (e.g. ``bias_correction``, ``equal_variance``,
        ``draws``, ``chains``, ``n_iter``).

    Returns
    -------
    ZoneBMA
    """
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"pairs must be a pandas DataFrame, not {type(pairs).__name__}")
    estimator = get_estimator(method)
    for c in ("zone", "obs"):
        if c not in pairs.columns:
            raise KeyError(f"pairs lack column {c!r}; columns: {list(pairs.columns)}")
    members = list(members) if members is not None else _default_members(pairs)
    if not members:
        raise ValueError(
            f"no member columns found in pairs (columns: {list(pairs.columns)}); pass members="
        )
    absent = [m for m in members if m not in pairs.columns]
    if absent:
        raise KeyError(f"member column(s) {absent} not in pairs; columns: {list(pairs.columns)}")
    bias_correction = kw.get("bias_correction", "none")
    equal_variance = bool(kw.get("equal_variance", True))
    zcol = pd.to_numeric(pairs["zone"], errors="coerce")
    table = pairs.assign(zone=zcol)
    nozone = table["zone"].isna() | (table["zone"] == -1)
    if nozone.any():
        warnings.warn(
            f"{int(nozone.sum())} pair(s) without a zone (zone -1 or missing) are not used",
            BMAWarning,
            stacklevel=2,
        )
        table = table[~nozone]
    table = table.assign(zone=table["zone"].astype(np.int64))
    vals = table[members + ["obs"]].to_numpy(dtype=np.float64)
    complete = table[np.isfinite(vals).all(axis=1)]
    labels = sorted(
        set(complete["zone"].unique().tolist())
        | set(table["zone"].unique().tolist())
        | set(_zone_labels(zones))
    )
    if not labels:
        raise ValueError("pairs hold no zone and no zones were given")
    counts = complete.groupby("zone").size()
    n_pairs = np.array([int(counts.get(z, 0)) for z in labels])
    if "station" in complete.columns:
        st_counts = complete.groupby("zone")["station"].nunique()
        n_stations = np.array([int(st_counts.get(z, 0)) for z in labels])
    else:
        n_stations = np.full(len(labels), np.iinfo(np.int64).max)
    short = [z for z, n, ns in zip(labels, n_pairs, n_stations, strict=True)
             if n < min_pairs or ns < min_stations]
    K = len(members)

    def run(df):
        return estimator(df[members], df["obs"], **kw)

    fits: dict = {}
    pooled_fit = None
    if short or method != "pymc":
        if len(complete) < 2:
            raise ValueError(
                f"only {len(complete)} complete pair(s) in all zones together: cannot fit BMA"
            )
        pooled_fit = run(complete)
        fits["pooled"] = pooled_fit
    if short:
        with_st = "station" in complete.columns
        have = {z: (int(n_pairs[labels.index(z)]), int(n_stations[labels.index(z)]) if with_st else None)
                for z in short}
        warnings.warn(
            f"zone(s) {short} have fewer than min_pairs={min_pairs} complete pairs or "
            f"min_stations={min_stations} stations ((pairs, stations): {have}) "
            f"and use the pooled fit of all zones ({len(complete)} pairs)",
            BMAWarning,
            stacklevel=2,
        )
    W = np.zeros((len(labels), K))
    WS = np.full((len(labels), K), np.nan)
    S = np.zeros((len(labels), K))
    C = np.zeros((len(labels), K, 2))
    has_sd = False
    for i, z in enumerate(labels):
        f = pooled_fit if z in short else run(complete[complete["zone"] == z])
        fits[z] = f
        if method == "pymc" and not (z in short and len(short) > 1 and z != short[0]):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                diagnostics(f, warn=True)
            where = "the pooled fit" if z in short else f"zone {z}"
            for c in caught:
                warnings.warn(f"{where}: {c.message}", c.category, stacklevel=2)
        w, wsd, s, c = _summarise(f, method, K)
        W[i], S[i], C[i] = w, s, c
        if wsd is not None:
            WS[i], has_sd = wsd, True
    zc = {
        "zone": ("zone", np.asarray(labels, np.int64), {"long_name": "soil-moisture climate zone"}),
        "member": list(members),
    }
    weights = xr.DataArray(
        W,
        dims=("zone", "member"),
        coords=zc,
        name="weights",
        attrs={"long_name": "BMA weight", "units": "1"},
    )
    if equal_variance:
        sigma = xr.DataArray(
            S[:, 0],
            dims="zone",
            coords={"zone": zc["zone"]},
            name="sigma",
            attrs={"long_name": "BMA component standard deviation", "units": SM_UNITS},
        )
    else:
        sigma = xr.DataArray(
            S,
            dims=("zone", "member"),
            coords=zc,
            name="sigma",
            attrs={"long_name": "BMA component standard deviation", "units": SM_UNITS},
        )
    bias = xr.DataArray(
        C,
        dims=("zone", "member", "coef"),
        coords={**zc, "coef": ["intercept", "slope"]},
        name="bias_coefs",
        attrs={
            "long_name": "bias-correction coefficients (corrected = intercept + slope * member)",
            "units": "intercept: m3 m-3; slope: 1",
        },
    )
    npairs = xr.DataArray(
        n_pairs,
        dims="zone",
        coords={"zone": zc["zone"]},
        name="n_pairs",
        attrs={"long_name": "complete station pairs in the zone", "units": "1"},
    )
    wsd = None
    if has_sd:
        wsd = xr.DataArray(
            WS,
            dims=("zone", "member"),
            coords=zc,
            name="weights_sd",
            attrs={"long_name": "posterior standard deviation of the BMA weight", "units": "1"},
        )
    pooled = None
    if pooled_fit is not None:
        pw, _, ps, pc = _summarise(pooled_fit, method, K)
        pooled = xr.Dataset(
            {
                "weights": ("member", pw, weights.attrs),
                "sigma": ((), float(ps[0]), sigma.attrs)
                if equal_variance
                else ("member", ps, sigma.attrs),
                "bias_coefs": (("member", "coef"), pc, bias.attrs),
                "n_pairs": ((), len(complete), npairs.attrs),
            },
            coords={"member": list(members), "coef": ["intercept", "slope"]},
        )
    return ZoneBMA(
        method=method,
        members=tuple(members),
        weights=weights,
        sigma=sigma,
        bias_coefs=bias,
        n_pairs=npairs,
        fallback=tuple(int(z) for z in short),
        weights_sd=wsd,
        pooled=pooled,
        fits=fits,
        bias_correction=bias_correction,
        equal_variance=equal_variance,
    )


# =========================================================================== #
# Apply to a product
# =========================================================================== #
def _bma_kernel(f, zone, labels, W, C, S, missing):
    """Mixture mean and std for member values ``f`` (..., K) and zone labels (...)."""
    zone = np.asarray(zone)
    pos = np.searchsorted(labels, zone)
    pos = np.clip(pos, 0, len(labels) - 1)
    known = labels[pos] == zone
    idx = np.where(known, pos, 0)
    mean, std = mixture_moments(f, W[idx], C[idx], S[idx], missing)
    mean = np.where(known, mean, np.nan).astype(np.float32)
    std = np.where(known, std, np.nan).astype(np.float32)
    return mean, std


def _bma_blend_kernel(f, frac, W, C, S, missing):
    """Mixture mean and std with parameters blended by zone fractions ``frac`` (..., Z)."""
    known = np.isfinite(frac).all(-1) & (frac.sum(-1) > 0)
    fr = np.where(known[..., None], frac, 0.0)
    w = fr @ W
    c = np.einsum("...z,zkj->...kj", fr, C)
    sg = fr @ S
    mean, std = mixture_moments(f, w, c, sg, missing)
    return np.where(known, mean, np.nan).astype(np.float32), np.where(known, std, np.nan).astype(np.float32)


def zone_fractions(zones: xr.DataArray, labels: np.ndarray, fine_grid) -> xr.DataArray:
    """Each fine pixel's share of every zone: the zones' indicators interpolated from the cell centres.

    A pixel deep inside a zone has share 1 of it; towards a boundary the
    shares change linearly over the last half cell, so parameters blended
    with them are continuous across zone boundaries (per-zone BMA weights
    would otherwise print a step on every boundary).

    Parameters
    ----------
    zones : xarray.DataArray
        ``zone(lat, lon)`` on the coarse grid.
    labels : ndarray of int
        The labels to give shares for (in order).
    fine_grid : xarray.Dataset or DataArray
        Anything with the fine ``lat`` and ``lon``.

    Returns
    -------
    xarray.DataArray
        ``(lat, lon, zone)`` float32 shares summing to 1 (NaN outside every label).
    """
    from smkit.engine.features import smooth_native
    from smkit.core.grid import Grid, nesting_factor

    factor = nesting_factor(Grid.from_dataset(zones), Grid.from_dataset(fine_grid))
    z = np.asarray(zones.transpose("lat", "lon").values)
    onehot = np.stack([(z == lab).astype(np.float64) for lab in labels])
    up = np.repeat(np.repeat(onehot, factor, axis=1), factor, axis=2)
    frac = smooth_native(up, factor)
    total = frac.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, frac / total, np.nan)
    return xr.DataArray(np.moveaxis(frac, 0, -1).astype(np.float32), dims=("lat", "lon", "zone"),
                        coords={"lat": fine_grid["lat"].values, "lon": fine_grid["lon"].values,
                                "zone": np.asarray(labels)})


def apply(
    product: xr.Dataset, zone_bma: ZoneBMA, zones: xr.DataArray, *, missing: str = "nan",
    smooth: bool = True,
) -> xr.Dataset:
    """Add the BMA mean and its predictive spread to a product.

    Parameters
    ----------
    product : xarray.Dataset
        ``sm(method, time, lat, lon)`` float32, m3 m-3, on the fine grid, with
        every member of ``zone_bma`` among the ``method`` values. Eager or
        dask-backed (the result then stays lazy).
    zone_bma : ZoneBMA
        Per-zone parameters from :func:`fit_zones` (or :meth:`ZoneBMA.from_dataset`).
    zones : xarray.DataArray
        ``zone(lat, lon)`` on the coarse grid (mapped to the fine grid with
        :func:`smkit.bma.zones.zones_to_fine`), or already on the product's grid.
    missing : {"nan", "renormalise"}, default "nan"
        Where a member with a nonzero weight is NaN, ``nan`` leaves ``bma`` and
        ``sm_std`` NaN (a merged value always uses the same members, so it
        never jumps where one learner has a gap); ``renormalise`` uses the
        available members with their weights rescaled to sum to one.
    smooth : bool, default True
        Blend the zones' parameters across zone boundaries over half a cell
        (:func:`zone_fractions`) so the merged map has no step where the zone
        changes; with zones given on the product's own grid the labels are used
        as they are.

    Returns
    -------
    xarray.Dataset
        The product with ``"bma"`` appended to ``method`` in ``sm`` (the mixture
        mean ``sum_k w_k (a_k + b_k f_k)`` with the pixel's zone parameters,
        replacing an existing ``bma``), and ``sm_std(time, lat, lon)``, the
        mixture standard deviation (m3 m-3). Pixels without a zone (label -1:
        their cell never had a retrieval) use the pooled fit, or are NaN when
        ``zone_bma`` has none. Zones of the map missing from ``zone_bma`` use
        its pooled fit (with a :class:`BMAWarning`).
    """
    from smkit.bma.zones import check_zones, zones_to_fine

    _check_choice("missing", missing, MISSING)
    zones = check_zones(zones)
    if isinstance(product, xr.DataArray):
        product = product.to_dataset(name="sm")
    if "sm" not in product.data_vars:
        raise KeyError(
            f"product has no 'sm' variable; variables: {sorted(map(str, product.data_vars))}"
        )
    sm = product["sm"]
    if "method" not in sm.dims:
        raise ValueError(f"product sm needs a 'method' dim; got {sm.dims}")
    have = [str(m) for m in sm["method"].values]
    absent = [m for m in zone_bma.members if m not in have]
    if absent:
        raise KeyError(f"product lacks member method(s) {absent}; it has {have}")
    # zones on the product's grid
    same = (
        zones.sizes.get("lat") == sm.sizes["lat"]
        and zones.sizes.get("lon") == sm.sizes["lon"]
        and np.allclose(zones["lat"].values, sm["lat"].values)
        and np.allclose(zones["lon"].values, sm["lon"].values)
    )
    fine = (zones if same else zones_to_fine(zones, product)).astype(np.int32)
    fine = fine.assign_coords(lat=sm["lat"], lon=sm["lon"])
    # parameter tables for every label of the map
    labels = np.array(sorted({int(v) for v in np.unique(zones.values) if int(v) != -1}), np.int64)
    fitted = set(zone_bma.zones.tolist())
    unknown = [int(z) for z in labels if int(z) not in fitted]
    if zone_bma.pooled is not None and (np.asarray(zones.values) == -1).any():
        # cells without a zone (never a retrieval, so no k-means label) take the pooled weights
        labels = np.concatenate([[-1], labels]).astype(np.int64)
    if unknown:
        if zone_bma.pooled is None:
            raise KeyError(
                f"zone(s) {unknown} of the map have no BMA parameters and the fit has no pooled "
                "parameters; refit with fit_zones(..., zones=zones)"
            )
        warnings.warn(
            f"zone(s) {unknown} of the map are not in the BMA fit; they use the pooled fit",
            BMAWarning,
            stacklevel=2,
        )
    K = len(zone_bma.members)
    W = np.zeros((max(len(labels), 1), K))
    C = np.zeros((max(len(labels), 1), K, 2))
    S = np.zeros((max(len(labels), 1), K))
    for i, z in enumerate(labels):
        p = zone_bma.params_for(int(z) if int(z) in fitted else "pooled")  # -1 and unfitted: pooled
        W[i], C[i], S[i] = p["weights"], p["bias_coefs"], p["sigma"]
    if len(labels) == 0:
        labels = np.array([np.iinfo(np.int64).min])  # matches nothing: all NaN
    f = sm.sel({"method": list(zone_bma.members)})
    if smooth and not same and labels[0] != np.iinfo(np.int64).min:
        frac = zone_fractions(zones, labels, sm)
        if f.chunks is not None:
            f = f.chunk({"method": -1})
            frac = frac.chunk({"lat": f.chunksizes["lat"], "lon": f.chunksizes["lon"], "zone": -1})
        mean, std = xr.apply_ufunc(
            _bma_blend_kernel, f, frac,
            input_core_dims=[["method"], ["zone"]], output_core_dims=[[], []],
            kwargs={"W": W, "C": C, "S": S, "missing": missing},
            dask="parallelized", output_dtypes=[np.float32, np.float32],
        )
    else:
        if f.chunks is not None:
            f = f.chunk({"method": -1})
            fine = fine.chunk({"lat": f.chunksizes["lat"], "lon": f.chunksizes["lon"]})
        mean, std = xr.apply_ufunc(
            _bma_kernel,
            f,
            fine,
            input_core_dims=[["method"], []],
            output_core_dims=[[], []],
            kwargs={"labels": labels, "W": W, "C": C, "S": S, "missing": missing},
            dask="parallelized",
            output_dtypes=[np.float32, np.float32],
        )
    dims = [d for d in sm.dims if d != "method"]
    mean = mean.transpose(*dims).expand_dims(method=["bma"])
    std = std.transpose(*dims)
    keep = sm.sel({"method": [m for m in have if m != "bma"]})
    new_sm = xr.concat(
        [keep, mean.drop_vars([c for c in mean.coords if c not in keep.coords], errors="ignore")],
        dim="method",
    ).transpose(*sm.dims)
    names = np.array([*(m for m in have if m != "bma"), "bma"], dtype=object)
    if sm["method"].dtype.kind == "U":
        names = names.astype(str)
    new_sm = new_sm.astype(np.float32).assign_coords(method=names)
    new_sm.attrs = dict(sm.attrs)
    new_sm.attrs.setdefault("units", SM_UNITS)
    std.attrs = {
        "long_name": "BMA predictive standard deviation of soil moisture",
        "units": SM_UNITS,
        "bma_method": zone_bma.method,
    }
    others = [v for v in product.data_vars if v != "sm" and "method" in product[v].dims]
    out = product.drop_vars(["sm", *others, "method"])
    out = out.assign(sm=new_sm, sm_std=std.astype(np.float32))
    for v in others:
        out[v] = product[v].reindex(method=new_sm["method"].values)
    out.attrs.update(
        {
            "bma_method": zone_bma.method,
            "bma_members": " ".join(zone_bma.members),
            "bma_missing": missing,
        }
    )
    return out
