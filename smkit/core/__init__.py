"""The data model: vocabulary, grids, schema checks, the scenario container and the crash-safe store protocol."""

from smkit._compat import lazy_submodules

__all__ = ["grid", "scenario", "schema", "store", "vocabulary"]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
