"""The Gaussian mixture every BMA estimator fits: inputs, bias correction, moments, the result (BMAFit).

Soil moisture, member values, bias intercepts and ``sigma`` are in m3 m-3;
weights and slopes are dimensionless.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "BIAS_CORRECTIONS",
    "BMAFit",
    "BMAWarning",
    "ConvergenceWarning",
    "MISSING",
    "bias_coefficients",
    "check_choice",
    "mixture_moments",
    "prepare_pairs",
]

BIAS_CORRECTIONS = ("none", "additive", "regression")
#: How :func:`apply` treats a pixel where a member with a nonzero weight is NaN.
MISSING = ("nan", "renormalise")


class BMAWarning(UserWarning):
    """Data were dropped or a zone fell back to the pooled fit."""


class ConvergenceWarning(UserWarning):
    """A fit did not converge: EM hit ``max_iter``, or MCMC diagnostics failed."""


def check_choice(name: str, value: str, valid: Sequence[str]) -> str:
    """``value`` if it is one of ``valid``, else a ValueError naming ``name`` and the choices.

    >>> check_choice("missing", "nan", MISSING)
    'nan'
    """
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; choose from {list(valid)}")
    return value


def _complete_pairs(members, obs, member_names=None):
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
            stacklevel=4,
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
    check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
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


def prepare_pairs(members, obs, member_names, bias_correction: str):
    """The start of every estimator: complete pairs, bias coefficients and corrected members.

    Parameters
    ----------
    members : array_like (n, K), pandas.DataFrame or xarray.DataArray (pair, member)
        Member values at the observation pairs (m3 m-3); a DataFrame's columns
        (a DataArray's second coordinate) name the members.
    obs : array_like (n,)
        Observations (m3 m-3).
    member_names : sequence of str or None
        Names for the member columns (default ``m0, m1, ...`` or the table's).
    bias_correction : {"none", "additive", "regression"}
        See :func:`bias_coefficients`.

    Returns
    -------
    M : ndarray (n, K)
        Bias-corrected members ``a_k + b_k f_k`` of the complete pairs (m3 m-3).
    y : ndarray (n,)
        Their observations (m3 m-3).
    coefs : ndarray (K, 2)
        Intercept (m3 m-3) and slope (1) per member.
    names : tuple of str
    n_dropped : int
        Pairs dropped for a missing member or observation (with a :class:`BMAWarning`).
    """
    check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    F, y, names, n_dropped = _complete_pairs(members, obs, member_names)
    coefs = bias_coefficients(F, y, bias_correction)
    return coefs[:, 0] + coefs[:, 1] * F, y, coefs, names, n_dropped


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
    check_choice("missing", missing, MISSING)
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


@dataclass(kw_only=True)
class BMAFit:
    """A fitted Gaussian BMA mixture: what every estimator of :data:`smkit.bma.ESTIMATORS` returns.

    Estimators add their own details in subclasses (:class:`smkit.bma.EMResult`,
    :class:`smkit.bma.MC3Result`); a PyMC fit is a ``BMAFit`` summarising its
    posterior, which it carries in :attr:`posterior`.

    Attributes
    ----------
    weights : ndarray, shape (K,)
        Mixture weights (1), non-negative, summing to one (the posterior mean
        or the model average for the Bayesian estimators).
    sigma : float or ndarray, shape (K,)
        Component standard deviation (m3 m-3): one pooled value with
        ``equal_variance``, else one per member.
    bias_coefs : ndarray, shape (K, 2)
        Intercept (m3 m-3) and slope (1) per member.
    member_names : tuple of str
    n : int
        Complete pairs used.
    bias_correction : str
    equal_variance : bool
    n_dropped : int
        Pairs dropped for a missing member or observation.
    weights_sd : ndarray, shape (K,), or None
        Posterior standard deviation of the weights (across subsets for MC3);
        None for a point estimate (EM).
    posterior : xarray.DataTree or None
        The sampled posterior (:func:`smkit.bma.fit_pymc`), else None.
    """

    weights: np.ndarray
    sigma: float | np.ndarray
    bias_coefs: np.ndarray
    member_names: tuple[str, ...]
    n: int
    bias_correction: str = "none"
    equal_variance: bool = True
    n_dropped: int = 0
    weights_sd: np.ndarray | None = None
    posterior: xr.DataTree | None = field(default=None, repr=False)

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
