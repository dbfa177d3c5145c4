"""The downscaling engine: ``Config`` (the one option list), features, windows, learners, run."""

from smkit.engine.run import (  # noqa: F401
    Config,
    DEFAULT_TILE,
    OPTIONS,
    STRATEGIES,
    blend_weights,
    clamp_to_windows,
    clip_to_range,
    downscale,
    downscale_variants,
    fill_time_gaps,
    load_inputs,
    process_chunk,
    tune_params,
)

__all__ = [
    "Config",
    "DEFAULT_TILE",
    "OPTIONS",
    "STRATEGIES",
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
