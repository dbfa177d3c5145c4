"""The registry of BMA estimators: key (``method=``) -> :class:`Estimator`, each returning a :class:`BMAFit`.

Every estimator takes ``(members, obs, **options)`` and returns a
:class:`smkit.bma.BMAFit` (weights, sigma, bias coefficients, ``weights_sd``
where the estimator has one, ``posterior`` where it samples one), so code that
fits "any estimator" never asks which one it got.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from smkit.bma.em import fit_em
from smkit.bma.mc3 import fit_mc3
from smkit.bma.mixture import BMAFit
from smkit.bma.pymc import fit_posterior

__all__ = ["ESTIMATORS", "Estimator", "get_estimator"]


@dataclass(frozen=True)
class Estimator:
    """A BMA estimator: its fit function and what a caller needs to know about its cost.

    Attributes
    ----------
    fit : callable
        ``fit(members, obs, **options) -> BMAFit``.
    has_posterior : bool
        Its fits sample a full posterior (``BMAFit.posterior``); each one
        costs a sampler run, so :func:`smkit.bma.fit_zones` fits the pooled
        model only where a zone falls back to it.
    """

    fit: Callable[..., BMAFit]
    has_posterior: bool = False

    def __call__(self, members, obs, **options) -> BMAFit:
        """Fit BMA weights to ``members`` (n, K) and ``obs`` (n,), both m3 m-3 (see :attr:`fit`)."""
        return self.fit(members, obs, **options)


#: Estimator key -> :class:`Estimator` (``"em"``: :func:`smkit.bma.fit_em`; ``"pymc"``:
#: :func:`smkit.bma.pymc.fit_posterior`, the summarised :func:`smkit.bma.fit_pymc`;
#: ``"mc3"``: :func:`smkit.bma.fit_mc3`).
ESTIMATORS: dict[str, Estimator] = {
    "em": Estimator(fit_em),
    "pymc": Estimator(fit_posterior, has_posterior=True),
    "mc3": Estimator(fit_mc3),
}


def get_estimator(name: str) -> Estimator:
    """Look up a BMA estimator by key, with an error listing the valid keys.

    >>> get_estimator("em").fit.__name__
    'fit_em'
    """
    if name not in ESTIMATORS:
        raise KeyError(f"unknown BMA method {name!r}; choose from {sorted(ESTIMATORS)}")
    return ESTIMATORS[name]
