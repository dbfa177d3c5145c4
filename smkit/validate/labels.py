"""The paper's names and orders: method labels, network order, metric labels, the monsoon months.

Shared by the score tables (:mod:`smkit.validate.scores`) and the validation
figures (:mod:`smkit.plot.validate`), so that a table and a figure name and
order methods, networks and metrics the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from smkit.core.vocabulary import METHOD_LABELS

__all__ = ["METRIC_LABELS", "MONSOON_MONTHS", "method_label", "method_order", "network_order"]

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


def method_label(method: str) -> str:
    """Return the paper's label of a method id ("xgb" -> "XG", "cci" -> "CCI"); others unchanged.

    Examples
    --------
    >>> method_label("xgb"), method_label("bma"), method_label("bilinear")
    ('XG', 'BMA', 'bilinear')
    """
    return METHOD_LABELS.get(str(method), str(method))


def method_order(methods: Iterable[str]) -> list[str]:
    """Methods in the paper's order (CCI, RF, MLR, SVR, XG, BMA), then the others as given.

    Examples
    --------
    >>> method_order(["bma", "nearest", "cci", "xgb"])
    ['cci', 'xgb', 'bma', 'nearest']
    """
    methods = [str(m) for m in methods]
    known = [m for m in METHOD_LABELS if m in methods]
    return known + [m for m in methods if m not in known]


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
