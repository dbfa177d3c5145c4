"""The full posterior of the BMA weights and spread with PyMC (NUTS), and its convergence diagnostics.

:func:`fit_pymc` returns the sampled ``DataTree``; :func:`fit_posterior` (the
``"pymc"`` estimator of :data:`smkit.bma.ESTIMATORS`) returns it summarised as a
:class:`smkit.bma.BMAFit` with the tree in ``posterior``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from smkit.bma.mixture import BIAS_CORRECTIONS, BMAFit, ConvergenceWarning, check_choice, prepare_pairs
from smkit.core.vocabulary import SM_UNITS

__all__ = ["diagnostics", "fit_posterior", "fit_pymc", "posterior_fit"]

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

    check_choice("bias_correction", bias_correction, BIAS_CORRECTIONS)
    if int(chains) < 2:
        raise ValueError(f"chains must be at least 2 (r-hat compares chains); got {chains}")
    t0 = time.perf_counter()
    M, y, coefs, names, n_dropped = prepare_pairs(members, obs, member_names, bias_correction)
    scale = (
        float(sigma_prior) if sigma_prior is not None else 2.0 * max(float(np.std(y, ddof=1)), 1e-6)
    )
    cores = _default_cores(chains) if cores is None else int(cores)
    with _mixture_model(M, y, names, scale, equal_variance):
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


def posterior_fit(dt: xr.DataTree) -> BMAFit:
    """A :func:`fit_pymc` posterior summarised as a :class:`smkit.bma.BMAFit`.

    Parameters
    ----------
    dt : xarray.DataTree
        Result of :func:`fit_pymc`.

    Returns
    -------
    BMAFit
        Posterior-mean ``weights`` and ``sigma`` (m3 m-3), the posterior sd of
        the weights in ``weights_sd``, the fixed bias coefficients, and ``dt``
        itself in ``posterior``.
    """
    post = dt["posterior"].to_dataset()
    names = tuple(str(m) for m in post["member"].values)
    w = post["w"].transpose("chain", "draw", "member").values.reshape(-1, len(names))
    s = post["sigma"].values.reshape(w.shape[0], -1).mean(0)
    const = dt["constant_data"].to_dataset()
    equal_variance = bool(dt.attrs["equal_variance"])
    return BMAFit(
        weights=w.mean(0),
        weights_sd=w.std(0, ddof=1),
        sigma=float(s[0]) if equal_variance else s,
        bias_coefs=np.column_stack([const["bias_intercept"].values, const["bias_slope"].values]),
        member_names=names,
        n=int(dt.attrs["n_pairs"]),
        bias_correction=str(dt.attrs["bias_correction"]),
        equal_variance=equal_variance,
        n_dropped=int(dt.attrs["n_dropped"]),
        posterior=dt,
    )


def fit_posterior(members, obs, **kwargs) -> BMAFit:
    """:func:`fit_pymc` summarised by :func:`posterior_fit`: the ``"pymc"`` estimator of the registry.

    Parameters
    ----------
    members, obs, **kwargs
        As in :func:`fit_pymc`.

    Returns
    -------
    BMAFit
        Posterior means, the sd of the weights, and the DataTree in ``posterior``.
    """
    return posterior_fit(fit_pymc(members, obs, **kwargs))


def _mixture_model(M, y, names, scale: float, equal_variance: bool):
    """The PyMC model: Dirichlet weights, half-normal sigma, normal-mixture likelihood of ``y``."""
    import pymc as pm
    import pytensor.tensor as pt

    K = len(names)
    model = pm.Model(coords={"member": list(names), "pair": np.arange(len(y))})
    with model:
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
    return model


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
