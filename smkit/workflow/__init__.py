"""The notebooks' base: study, products, scorecards, uncertainty reruns, report, caches, reproduce, bench."""

from smkit._compat import lazy_submodules

__all__ = [
    "bench",
    "cache",
    "explorer_data",
    "products",
    "report",
    "reproduce",
    "scenario",
    "scorecards",
    "study",
    "uncertainty",
]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
