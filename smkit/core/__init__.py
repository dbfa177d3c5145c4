"""The data model: vocabulary, grids, CF/ACDD metadata, schema checks, scenarios, the store protocol."""

from smkit._compat import lazy_submodules

__all__ = ["cf", "grid", "scenario", "schema", "store", "vocabulary"]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
