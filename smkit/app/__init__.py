"""The map explorer (Panel)."""

from smkit.app.explorer import (  # noqa: F401
    AppData,
    BLOCK_BYTES,
    COARSE_LABEL,
    Explorer,
    Layer,
    MAX_PIXELS,
    METHOD_LABELS,
    STATION_METRICS,
    TRUTH_LABEL,
    explorer,
    load,
    open_explorer,
    prepare,
    quick_days,
    serve,
    zone_edges,
)

__all__ = [
    "AppData",
    "COARSE_LABEL",
    "Explorer",
    "METHOD_LABELS",
    "TRUTH_LABEL",
    "explorer",
    "load",
    "open_explorer",
    "prepare",
    "quick_days",
    "serve",
]
