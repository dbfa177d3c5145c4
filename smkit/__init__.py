"""smkit: downscale coarse satellite soil moisture to 1-km daily maps.

Windowed ensemble learning (random forest, linear regression, SVR, XGBoost)
merged by Bayesian model averaging, after Liu et al. (Three-North region).
Each pipeline stage is a module: :mod:`smkit.synth` (the synthetic world),
:mod:`smkit.io` (input checks and readers), :mod:`smkit.grid` (grids),
:mod:`smkit.features` (aggregation), :mod:`smkit.windows` (adaptive windows),
:mod:`smkit.learners` (the four learners), :mod:`smkit.engine`
(``smkit.downscale``), :mod:`smkit.validate` (scores).
"""

__version__ = "0.1.0"


def __getattr__(name):
    # light top-level imports: ``smkit.make_scenario`` without importing the stack eagerly
    if name in {"make_scenario", "open_scenario", "Scenario", "PRESETS"}:
        from smkit import synth

        return getattr(synth, name)
    if name == "downscale":
        from smkit.engine import downscale

        return downscale
    raise AttributeError(f"module 'smkit' has no attribute {name!r}")
