"""smkit: downscale coarse satellite soil moisture to 1-km daily maps.

Windowed ensemble learning (random forest, linear regression, SVR, XGBoost)
merged by Bayesian model averaging, after Liu et al. (Three-North region).
One subpackage per stage of the pipeline, data flowing down the list:

- :mod:`smkit.core`: the data model (vocabulary, grids, schema checks, scenarios, stores)
- :mod:`smkit.synth`: the synthetic world; :mod:`smkit.readers`: real archives and ingest
- :mod:`smkit.engine`: ``smkit.downscale``, its one option list ``smkit.Config``, the learners
- :mod:`smkit.bma`: climate zones and Bayesian model averaging
- :mod:`smkit.validate`: matching, metrics, skill against stations and the truth
- :mod:`smkit.analysis`: drought, importance, uncertainty, experiments, realism
- :mod:`smkit.plot`: every figure; :mod:`smkit.workflow`: the notebooks' base
  (study, report, caches, reproduce, benchmarks); :mod:`smkit.app`: the explorer

The top-level names are imported on first use, so ``import smkit`` is quick:

>>> import smkit
>>> "downscale" in dir(smkit) and "Config" in dir(smkit)
True
"""

__version__ = "0.2.0"

from smkit._compat import install as _install_moved

_install_moved()  # the 0.1 module paths keep working for one release


def _log_batch_runs():
    # a batch run (``smkit reproduce`` sets SMKIT_LOG for each notebook): progress and warnings into its log
    import os

    if os.environ.get("SMKIT_LOG"):
        from smkit.core.progress import log_file

        log_file()


_log_batch_runs()

#: Top-level names and the module each comes from (imported on first use).
_LAZY = {
    "Config": "smkit.engine",
    "downscale": "smkit.engine",
    "Downscaler": "smkit.engine",
    "downscale_variants": "smkit.engine",
    "make_scenario": "smkit.synth",
    "open_scenario": "smkit.core.scenario",
    "Scenario": "smkit.core.scenario",
    "PRESETS": "smkit.synth",
    "InputError": "smkit.core.schema",
    "open_study": "smkit.workflow.study",
    "open_product": "smkit.workflow.explorer_data",
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
