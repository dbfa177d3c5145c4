"""The downscaling engine: ``Config`` (the one option list), features, windows, learners, chunks, run,
and ``Downscaler``, the fit-on-one-period / predict-on-another form of ``downscale``."""

from smkit.engine.blend import blend_weights, clamp_to_windows, clip_to_range  # noqa: F401
from smkit.engine.chunks import (  # noqa: F401
    Chunk,
    ChunkInputs,
    ChunkResult,
    Halo,
    Sources,
    load_inputs,
    process_chunk,
)
from smkit.engine.config import OPTIONS, STRATEGIES, Config  # noqa: F401
from smkit.engine.estimator import Downscaler, NotFittedError  # noqa: F401
from smkit.engine.features import fill_time_gaps  # noqa: F401
from smkit.engine.run import DEFAULT_TILE, downscale, downscale_variants, tune_params  # noqa: F401

__all__ = [
    "Chunk",
    "ChunkInputs",
    "ChunkResult",
    "Config",
    "DEFAULT_TILE",
    "Downscaler",
    "Halo",
    "NotFittedError",
    "OPTIONS",
    "STRATEGIES",
    "Sources",
    "blend_weights",
    "clamp_to_windows",
    "clip_to_range",
    "downscale",
    "downscale_variants",
    "fill_time_gaps",
    "load_inputs",
    "process_chunk",
    "tune_params",
]
