"""The synthetic world: physics, presets and the scenario builder."""

from smkit.core.scenario import GROUPS, Scenario, open_scenario  # noqa: F401
from smkit.synth.world import (  # noqa: F401
    ALBEDO_RES,
    CELL,
    FREEZE,
    HALO,
    IRRIGATION,
    LAPSE,
    L_ROOT,
    L_SURFACE,
    PATCHINESS,
    PDSI_RES,
    PRESETS,
    Preset,
    RetrievalErrors,
    S0,
    STATION_TABLE,
    SUB,
    SURFACE_LOSS,
    StationErrors,
    WORLD_VERSION,
    World,
    make_scenario,
)

__all__ = [
    "PRESETS",
    "Preset",
    "RetrievalErrors",
    "Scenario",
    "StationErrors",
    "World",
    "make_scenario",
    "open_scenario",
]
