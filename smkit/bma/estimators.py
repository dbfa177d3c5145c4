"""The registry of BMA estimators: key (``method=``) -> fit function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from smkit.bma.em import fit_em
from smkit.bma.mc3 import fit_mc3
from smkit.bma.pymc import fit_pymc

__all__ = ["ESTIMATORS", "get_estimator", "summarise"]

ESTIMATORS: dict[str, Callable[..., Any]] = {"em": fit_em, "pymc": fit_pymc, "mc3": fit_mc3}


def get_estimator(name: str) -> Callable[..., Any]:
    """Look up a BMA estimator by key, with an error listing the valid keys."""
    if name not in ESTIMATORS:
        raise KeyError(f"unknown BMA method {name!r}; choose from {sorted(ESTIMATORS)}")
    return ESTIMATORS[name]


def summarise(fit, method: str, K: int):
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
