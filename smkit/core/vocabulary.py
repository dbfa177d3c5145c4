"""The one vocabulary of smkit: variable names, units, attributes, networks, learners, groups.

Every module imports these names from here; none defines its own copy. Changing a
unit, a label or a network's cadence is therefore one edit.

Examples
--------
>>> from smkit.core.vocabulary import NETWORK_CADENCE, SM_ATTRS
>>> NETWORK_CADENCE["CERN"], SM_ATTRS["units"]
('pentad', 'm3 m-3')
"""

from __future__ import annotations

__all__ = [
    "CADENCES", "COVARIATES", "CUBE_GROUPS", "LEARNER_ORDER", "MODEL_DESCRIPTIONS", "MODEL_DIM",
    "MODEL_LABELS", "NETWORK_CADENCE", "NETWORK_COLOURS", "REAL_SOURCES", "SCENARIO_GROUPS", "SM_ATTRS",
    "SM_STANDARD_NAME", "SM_UNITS",
]

#: Units of volumetric soil moisture everywhere in smkit.
SM_UNITS = "m3 m-3"
#: Attributes of a soil-moisture variable (``sm``) in every product, cube and scenario.
SM_ATTRS = {"long_name": "volumetric soil moisture", "units": SM_UNITS}

#: Explanatory variables of the fine grid, in the order of the design matrix: land surface
#: temperature (K), NDVI (1), albedo (1), precipitation (mm day-1) and elevation (m).
COVARIATES = ("lst", "ndvi", "albedo", "precip", "dem")
#: The four learners, in the order of a product's ``model`` dimension.
LEARNER_ORDER = ("rf", "mlr", "svr", "xgb")
#: Name of a product's learner dimension (``sm(model, time, lat, lon)``). smkit 0.1 called it
#: ``method``, which xarray reads as its own keyword in ``.sel(method=...)``.
MODEL_DIM = "model"
#: Labels of the paper's tables and figures for smkit's model ids.
MODEL_LABELS = {"cci": "CCI", "rf": "RF", "mlr": "MLR", "svr": "SVR", "xgb": "XG", "bma": "BMA"}
#: What each model id stands for, in words (a product's ``model`` coordinate says it for its own models).
MODEL_DESCRIPTIONS = {"rf": "random forest", "mlr": "multiple linear regression",
                      "svr": "support vector regression", "xgb": "XGBoost", "bma": "Bayesian model average",
                      "cci": "coarse satellite retrieval"}
#: CF standard name of volumetric soil moisture (CF has no separate name for the surface layer).
SM_STANDARD_NAME = "volume_fraction_of_condensed_water_in_soil"

#: Observing periods a station's value stands for. A pentad starts on day 1, 6,
#: 11, 16, 21 or 26 of a month (the last one runs to the month's end); a dekad on
#: day 1, 11 or 21 (the last one runs to the month's end).
CADENCES = ("daily", "pentad", "dekad")
#: Cadence of each network when a stations dataset has no ``cadence`` coordinate.
NETWORK_CADENCE = {"QXZ": "daily", "CERN": "pentad", "NZW": "dekad"}
#: Colour of each network in figures.
NETWORK_COLOURS = {"QXZ": "tab:red", "CERN": "tab:orange", "NZW": "tab:purple"}
#: The real archive each variable of a scenario stands for, and what it measures (tables, figure titles).
REAL_SOURCES = {
    "sm": ("ESA CCI SM v0X COMBINED", "soil moisture retrieval"),
    "lst": ("MODIS MOD11A1", "land surface temperature"),
    "ndvi": ("MODIS MOD13A2", "NDVI (16-day composites)"),
    "albedo": ("MODIS MCD43C3", "white-sky albedo"),
    "precip": ("GPM IMERG", "precipitation"),
    "dem": ("SRTM", "elevation"),
}

#: Groups of an ingested data cube (real archives: no truth).
CUBE_GROUPS = ("coarse", "fine", "stations", "era5", "noah", "pdsi")
#: Groups of a synthetic scenario store: a cube's groups and the 1-km truth.
SCENARIO_GROUPS = ("coarse", "fine", "truth", "stations", "era5", "noah", "pdsi")


def __getattr__(name):
    if name == "METHOD_LABELS":
        import warnings

        warnings.warn("smkit.core.vocabulary.METHOD_LABELS is now MODEL_LABELS (the old name goes in 0.3)",
                      DeprecationWarning, stacklevel=2)
        return MODEL_LABELS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
