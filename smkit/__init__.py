"""smkit: downscale coarse satellite soil moisture to 1-km daily maps.

Windowed ensemble learning (random forest, linear regression, SVR, XGBoost)
merged by Bayesian model averaging, after Liu et al. (Three-North region).
The pipeline, one module per stage: :mod:`smkit.vocabulary` (names, units,
networks), :mod:`smkit.synth` (the synthetic world), :mod:`smkit.readers`
(real archives, ingest), :mod:`smkit.io` (input checks), :mod:`smkit.features`
(aggregation), :mod:`smkit.windows` (adaptive windows), :mod:`smkit.learners`
(the four learners), :mod:`smkit.engine` (``smkit.downscale`` and its one
option list ``smkit.Config``), :mod:`smkit.subgrid` (the stations' sub-grid
pattern), :mod:`smkit.bma` (model averaging), :mod:`smkit.validate` and
:mod:`smkit.skill` (scores), :mod:`smkit.study` (the notebooks' base).

The top-level names are imported on first use, so ``import smkit`` is quick:

>>> import smkit
>>> "downscale" in dir(smkit) and "Config" in dir(smkit)
True
"""

__version__ = "0.1.0"

#: Top-level names and the module each comes from (imported on first use).
_LAZY = {
    "Config": "smkit.engine",
    "downscale": "smkit.engine",
    "downscale_variants": "smkit.engine",
    "make_scenario": "smkit.synth",
    "open_scenario": "smkit.synth",
    "Scenario": "smkit.synth",
    "PRESETS": "smkit.synth",
    "InputError": "smkit.io",
    "open_study": "smkit.study",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name):
    # light top-level imports: ``smkit.make_scenario`` without importing the stack eagerly
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'smkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
