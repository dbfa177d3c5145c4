"""Markov chain Monte Carlo model composition (Madigan and York, 1995) over subsets of members.

Every non-empty subset of members is a model, fitted by EM and scored by its
BIC; :func:`fit_mc3` samples the subsets with a Metropolis chain (or
enumerates them all) and averages their weights into an :class:`MC3Result`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from smkit.bma.em import DEFAULT_TOL, EMResult, fit_em_means
from smkit.bma.mixture import BMAFit, prepare_pairs

__all__ = ["MC3Result", "fit_mc3"]


@dataclass(kw_only=True)
class MC3Result(BMAFit):
    """Posterior over subsets of members, and the model-averaged mixture.

    Attributes
    ----------
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
    member_names, n, bias_correction, equal_variance, n_dropped
        As in :class:`smkit.bma.BMAFit`.
    models : pandas.DataFrame
        One row per subset (visited, or all with ``exact``), sorted by
        decreasing ``probability``: ``members`` (tuple), ``size``, ``loglik``,
        ``bic``, ``visits`` (0 with ``exact``), ``probability`` (posterior model
        probability: visit frequency, or exact), and ``w_<member>`` (the
        subset's EM weights, 0 for excluded members).
    inclusion : pandas.Series
        Posterior inclusion probability per member.
    n_iter : int
        Kept chain steps (0 with ``exact``).
    acceptance_rate : float
        Fraction of accepted proposals (NaN with ``exact``).
    exact : bool
    fits : dict
        ``frozenset`` of member names -> :class:`EMResult`, for every evaluated subset.
    chain : ndarray of str
        The model (index label of ``models``) at every kept step (empty with ``exact``).
    """

    models: pd.DataFrame
    inclusion: pd.Series
    n_iter: int
    acceptance_rate: float
    exact: bool
    fits: dict = field(default_factory=dict, repr=False)
    chain: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object), repr=False)


class _Visits(NamedTuple):
    """The subsets (bit masks over the members) with their posterior probabilities."""

    masks: list[int]
    bic: np.ndarray
    visits: np.ndarray
    prob: np.ndarray
    path: np.ndarray  # the mask at every kept step (empty when enumerated)
    n_kept: int
    acceptance_rate: float


def _columns(mask: int, K: int) -> list[int]:
    """Indices of the members in the subset ``mask``."""
    return [k for k in range(K) if mask >> k & 1]


def _enumerate(fit: Callable[[int], EMResult], K: int) -> _Visits:
    """Every non-empty subset, with its exact probability under ``exp(-BIC/2)``."""
    masks = list(range(1, (1 << K)))
    bic = np.array([fit(m).bic for m in masks])
    logp = -0.5 * (bic - bic.min())
    prob = np.exp(logp)
    prob /= prob.sum()
    return _Visits(masks, bic, np.zeros(len(masks), np.int64), prob, np.empty(0, np.int64), 0,
                   float("nan"))


def _run_chain(fit: Callable[[int], EMResult], K: int, n_iter: int, burn_in: int | None,
               seed: int) -> _Visits:
    """The Metropolis chain over subsets from the full set, adding or removing one member a step."""
    n_iter = int(n_iter)
    if n_iter < 1:
        raise ValueError(f"n_iter must be positive, got {n_iter}")
    burn = n_iter // 10 if burn_in is None else int(burn_in)
    rng = np.random.default_rng(seed)
    state = (1 << K) - 1
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
    bic = np.array([fit(m).bic for m in masks])
    return _Visits(masks, bic, visits, visits / visits.sum(), path, n_iter,
                   accepted / proposed if proposed else float("nan"))


def _average(v: _Visits, fits: dict[int, EMResult], K: int, equal_variance: bool):
    """Subset weights ``W`` (models, K), their model average and sd, inclusion indicators and sigma."""
    W = np.zeros((len(v.masks), K))
    S = np.full((len(v.masks), K), np.nan)
    for i, m in enumerate(v.masks):
        cols = _columns(m, K)
        W[i, cols] = fits[m].weights
        S[i, cols] = fits[m].sigma_k
    weights = v.prob @ W
    weights_sd = np.sqrt(np.maximum(v.prob @ (W - weights) ** 2, 0.0))
    incl = np.array([[bool(m >> k & 1) for k in range(K)] for m in v.masks])
    if equal_variance:
        sigma: float | np.ndarray = float(v.prob @ np.nanmax(S, axis=1))
    else:
        pin = v.prob[:, None] * incl
        tot = pin.sum(axis=0)
        sigma = np.where(
            tot > 0, np.nansum(pin * np.nan_to_num(S), axis=0) / np.where(tot > 0, tot, 1), np.nan
        )
    return W, weights, weights_sd, incl, sigma


def _model_table(v: _Visits, fits: dict[int, EMResult], names, W: np.ndarray, label: dict) -> pd.DataFrame:
    """One row per subset, most probable first (see :attr:`MC3Result.models`)."""
    K = len(names)
    table = pd.DataFrame(
        {
            "members": [tuple(names[k] for k in _columns(m, K)) for m in v.masks],
            "size": [int(bin(m).count("1")) for m in v.masks],
            "loglik": [fits[m].loglik for m in v.masks],
            "bic": v.bic,
            "visits": v.visits,
            "probability": v.prob,
        },
        index=[label[m] for m in v.masks],
    )
    for k, nm in enumerate(names):
        table[f"w_{nm}"] = W[:, k]
    table.index.name = "model"
    return table.sort_values("probability", ascending=False, kind="stable")


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
    M, y, coefs, names, n_dropped = prepare_pairs(members, obs, member_names, bias_correction)
    K = len(names)
    fits: dict[int, EMResult] = {}

    def fit(mask: int) -> EMResult:
        if mask not in fits:
            cols = _columns(mask, K)
            fits[mask] = fit_em_means(
                M[:, cols], y, coefs[cols], [names[k] for k in cols], bias_correction=bias_correction,
                equal_variance=equal_variance, max_iter=max_iter, tol=tol, n_dropped=n_dropped,
            )
        return fits[mask]

    if exact and K > 16:
        raise ValueError(
            f"exact enumeration of 2^{K} - 1 subsets is too large; use exact=False (MC3)"
        )
    v = _enumerate(fit, K) if exact else _run_chain(fit, K, n_iter, burn_in, seed)
    W, weights, weights_sd, incl, sigma = _average(v, fits, K, equal_variance)
    label = {m: "+".join(names[k] for k in _columns(m, K)) for m in v.masks}
    return MC3Result(
        models=_model_table(v, fits, names, W, label),
        inclusion=pd.Series(v.prob @ incl, index=list(names), name="inclusion_probability"),
        weights=weights,
        weights_sd=weights_sd,
        sigma=sigma,
        bias_coefs=coefs,
        member_names=names,
        n=len(y),
        n_dropped=n_dropped,
        n_iter=v.n_kept,
        acceptance_rate=v.acceptance_rate,
        exact=bool(exact),
        bias_correction=bias_correction,
        equal_variance=bool(equal_variance),
        fits={frozenset(f.member_names): f for f in fits.values()},
        chain=np.array([label[m] for m in v.path], dtype=object),
    )
