"""The data model: vocabulary, grids, CF/ACDD metadata, schema checks, the scenario container, progress
bars and logs, the crash-safe store protocol, and the product's pixels and station matching (used by
the sub-grid step, BMA and validation)."""

from smkit._compat import lazy_submodules

__all__ = ["cf", "grid", "matching", "pixels", "progress", "scenario", "schema", "store", "vocabulary"]
__getattr__, __dir__ = lazy_submodules(__name__, __all__)
