"""smkit: downscale coarse satellite soil moisture to 1-km daily maps.

Windowed ensemble learning (random forest, linear regression, SVR, XGBoost)
merged by Bayesian model averaging, after Liu et al. (Three-North region).
Each pipeline stage is a module: :mod:`smkit.synth` (the synthetic world),
:mod:`smkit.io` (input checks and readers), :mod:`smkit.grid` (grids).
"""

__version__ = "0.1.0"


def __getattr__(name):
    # light top-level imports: ``smkit.make_scenario`` without importing the stack eagerly
    if name in {"make_scenario", "open_scenario", "Scenario", "PRESETS"}:
        from smkit import synth

        return getattr(synth, name)
    raise AttributeError(f"module 'smkit' has no attribute {name!r}")
