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
Every estimator returns a :class:`BMAFit` (weights, sigma, bias coefficients,
``predict``/``predict_std``; ``weights_sd`` where the estimator has a posterior
spread of the weights, ``posterior`` where it samples one), so callers never ask
which estimator they got.

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
``"pymc"`` -- :func:`fit_posterior` (:func:`fit_pymc` summarised)
    The full posterior with PyMC: Dirichlet(1) weights, half-normal ``sigma``
    and a normal-mixture likelihood, sampled by NUTS; checked with
    :func:`diagnostics` (ArviZ r-hat, bulk and tail ESS, divergences).
    :func:`fit_pymc` returns the ArviZ ``DataTree`` itself.
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

On one's own product
--------------------
:func:`fit_product` does it all in one call: zones (:func:`product_zones`),
stations matched to the product and given their zone (:func:`zone_pairs`), the
per-zone fit; the returned :class:`ProductBMA` applies itself with
``.apply(product)``, to that product or another on the same grid.

Modules
-------
:mod:`~smkit.bma.mixture` (inputs, bias correction, mixture moments, :class:`BMAFit`),
:mod:`~smkit.bma.em`, :mod:`~smkit.bma.pymc`, :mod:`~smkit.bma.mc3` (the estimators),
:mod:`~smkit.bma.estimators` (the registry), :mod:`~smkit.bma.perzone`
(:func:`fit_zones`, :class:`ZoneBMA`), :mod:`~smkit.bma.product` (:func:`apply`),
:mod:`~smkit.bma.fitting` (:func:`fit_product`) and
:mod:`~smkit.bma.zones` (the climate zones). The figures are in :mod:`smkit.plot.bma`.

References
----------
Raftery, A. E., Gneiting, T., Balabdaoui, F. and Polakowski, M. (2005): Using
Bayesian model averaging to calibrate forecast ensembles. Monthly Weather
Review 133, 1155-1174.

Madigan, D. and York, J. (1995): Bayesian graphical models for discrete data.
International Statistical Review 63, 215-232.
"""

from smkit._compat import moved_names
from smkit.bma.em import BMA, DEFAULT_TOL, EMResult, fit_em
from smkit.bma.estimators import ESTIMATORS, Estimator, get_estimator
from smkit.bma.fitting import ProductBMA, fit_product, product_zones, zone_pairs
from smkit.bma.mc3 import MC3Result, fit_mc3
from smkit.bma.mixture import (
    BIAS_CORRECTIONS,
    MISSING,
    BMAFit,
    BMAWarning,
    ConvergenceWarning,
    bias_coefficients,
    mixture_moments,
)
from smkit.bma.perzone import RESERVED_COLUMNS, ZoneBMA, fit_zones
from smkit.bma.product import apply, zone_fractions
from smkit.bma.pymc import diagnostics, fit_posterior, fit_pymc, posterior_fit

__getattr__ = moved_names("smkit.bma", {name: "smkit.plot.bma" for name in (
    "plot_forest", "plot_posterior", "plot_trace", "plot_weights")})

__all__ = [
    "BIAS_CORRECTIONS",
    "BMA",
    "BMAFit",
    "BMAWarning",
    "ConvergenceWarning",
    "DEFAULT_TOL",
    "EMResult",
    "ESTIMATORS",
    "Estimator",
    "MC3Result",
    "MISSING",
    "ProductBMA",
    "RESERVED_COLUMNS",
    "ZoneBMA",
    "apply",
    "bias_coefficients",
    "diagnostics",
    "fit_em",
    "fit_mc3",
    "fit_posterior",
    "fit_product",
    "fit_pymc",
    "fit_zones",
    "get_estimator",
    "mixture_moments",
    "posterior_fit",
    "product_zones",
    "zone_fractions",
    "zone_pairs",
]
