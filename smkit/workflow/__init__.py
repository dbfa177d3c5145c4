"""The notebooks' base: study, products, scorecards, statements, uncertainty reruns, report, caches, reproduce,
export, bench, warmup."""

from smkit._compat import lazy_submodules

__all__ = [
    "bench",
    "cache",
    "explorer_data",
    "export",
    "products",
    "report",
    "reproduce",
    "scenario",
    "scorecards",
    "statements",
    "study",
    "uncertainty",
    "warmup",
]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
