"""Every figure function of smkit."""

from smkit._compat import lazy_submodules

__all__ = ["bma", "drought", "experiments", "importance", "report", "uncertainty", "validate", "zones"]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
