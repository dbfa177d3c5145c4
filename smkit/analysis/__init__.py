"""Analyses of products: realism, drought, importance, uncertainty, experiments."""

from smkit._compat import lazy_submodules

__all__ = ["drought", "experiments", "importance", "realism", "uncertainty"]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
