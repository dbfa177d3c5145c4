"""Markov chain Monte Carlo model composition (Madigan and York, 1995) over subsets of members."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from smkit.bma.em import DEFAULT_TOL, EMResult, default_min_sigma, em_iterations
from smkit.bma.mixture import (
    BIAS_CORRECTIONS,
    ConvergenceWarning,
    Mixture,
    bias_coefficients,
    check_choice,
    prepare_pairs,
)

__all__ = ["MC3Result", "fit_mc3"]

@dataclass
class MC3Result(Mixture):
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
    check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    F, y, names, n_dropped = prepare_pairs(members, obs, member_names)
    K = len(names)
    coefs = bias_coefficients(F, y, bias_correction)
    M = coefs[:, 0] + coefs[:, 1] * F
    floor = default_min_sigma(y)
    fits: dict[int, EMResult] = {}

    def fit(mask: int) -> EMResult:
        if mask not in fits:
            cols = [k for k in range(K) if mask >> k & 1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                w, s, ll, it, conv, tr = em_iterations(
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
