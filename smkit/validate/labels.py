"""The paper's names and orders: model labels, network order, metric labels, the monsoon months.

Shared by the score tables (:mod:`smkit.validate.scores`) and the validation
figures (:mod:`smkit.plot.validate`), so that a table and a figure name and
order models, networks and metrics the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from smkit.core.vocabulary import MODEL_LABELS

__all__ = ["METRIC_LABELS", "MONSOON_MONTHS", "model_label", "model_order", "network_order"]

#: The monsoon season of the paper (M1), May to September; the other months are M2.
MONSOON_MONTHS = (5, 6, 7, 8, 9)
_NETWORK_ORDER = ("NZW", "CERN", "QXZ")  # the paper's order
#: Metric id -> (the paper's name, units; "1" for dimensionless).
METRIC_LABELS = {
    "r": ("R", "1"),
    "rmse": ("RMSE", "m3 m-3"),
    "mae": ("MAE", "m3 m-3"),
    "bias": ("bias", "m3 m-3"),
    "ubrmse": ("ubRMSE", "m3 m-3"),
    "n": ("N", "1"),
}


def model_label(model: str) -> str:
    """Return the paper's label of a model id ("xgb" -> "XG", "cci" -> "CCI"); others unchanged.

    Examples
    --------
    >>> model_label("xgb"), model_label("bma"), model_label("bilinear")
    ('XG', 'BMA', 'bilinear')
    """
    return MODEL_LABELS.get(str(model), str(model))


def model_order(models: Iterable[str]) -> list[str]:
    """Models in the paper's order (CCI, RF, MLR, SVR, XG, BMA), then the others as given.

    Examples
    --------
    >>> model_order(["bma", "nearest", "cci", "xgb"])
    ['cci', 'xgb', 'bma', 'nearest']
    """
    models = [str(m) for m in models]
    known = [m for m in MODEL_LABELS if m in models]
    return known + [m for m in models if m not in known]


def network_order(networks: Iterable[str]) -> list[str]:
    """Distinct networks in the paper's order (NZW, CERN, QXZ), then the others sorted.

    Examples
    --------
    >>> network_order(["QXZ", "ISMN", "NZW", "QXZ", "AMMA"])
    ['NZW', 'QXZ', 'AMMA', 'ISMN']
    """
    nets = list(dict.fromkeys(str(n) for n in networks))
    known = [n for n in _NETWORK_ORDER if n in nets]
    return known + sorted(n for n in nets if n not in known)
