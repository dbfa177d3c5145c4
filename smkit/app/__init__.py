"""The map explorer (Panel).

:mod:`~smkit.app.data` holds what the explorer shows (its layers, days and
stations), :mod:`~smkit.app.views` draws it, :mod:`~smkit.app.downloads` turns
the map shown and a point's series into files, :mod:`~smkit.app.explorer` holds
the state, widgets and layout (:func:`explorer`, :class:`Explorer`) and
:mod:`~smkit.app.serve` opens a scenario's data through
:mod:`smkit.workflow.explorer_data` and serves the app (:func:`load`,
:func:`serve`, :func:`open_explorer`).
"""

from smkit.app.data import (  # noqa: F401
    BLOCK_BYTES,
    COARSE_LABEL,
    STATION_METRICS,
    TRUTH_LABEL,
    Layer,
    zone_edges,
)
from smkit.app.explorer import Explorer, explorer
from smkit.app.serve import AppData, load, open_explorer, prepare, serve
from smkit.app.views import MAX_PIXELS  # noqa: F401
from smkit.core.vocabulary import MODEL_LABELS
from smkit.workflow.explorer_data import quick_days

__all__ = [
    "AppData",
    "COARSE_LABEL",
    "Explorer",
    "MODEL_LABELS",
    "TRUTH_LABEL",
    "explorer",
    "load",
    "open_explorer",
    "prepare",
    "quick_days",
    "serve",
]
