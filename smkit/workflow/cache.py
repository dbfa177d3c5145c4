"""A crash-safe on-disk cache of built scenarios.

A scenario is written through the one store protocol of :mod:`smkit.core.store`:
to a temporary store beside its final place, renamed only once complete (a
killed build leaves no half-written store a later run could mistake for a
finished one), by one process at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

from smkit import __version__
from smkit.core.scenario import Scenario, open_scenario
from smkit.core.store import create_once
from smkit.synth import WORLD_VERSION, make_scenario

__all__ = ["DEFAULT_CACHE", "PROJECT_ROOT", "scenario_path", "cached_scenario"]

#: The project folder when smkit runs from its source checkout (notebooks/, pyproject.toml beside smkit/),
#: else None (an installed package).
PROJECT_ROOT = (Path(__file__).resolve().parents[2]
                if (Path(__file__).resolve().parents[2] / "pyproject.toml").exists() else None)
#: The cache folder: ``$SMKIT_CACHE``, else ``.smkit-cache`` at the project root (so a notebook run from
#: JupyterLab in ``notebooks/`` shares the cache of ``make reproduce``), else in the working folder.
DEFAULT_CACHE = Path(os.environ.get("SMKIT_CACHE") or (PROJECT_ROOT or Path.cwd()) / ".smkit-cache")


def scenario_path(preset: str, seed: int = 0, cache_dir: str | Path | None = None) -> Path:
    """Where the cached store of a preset and seed lives."""
    root = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE
    return root / f"{preset}-seed{seed}-w{WORLD_VERSION}-v{__version__}.zarr"


def cached_scenario(
    preset: str, seed: int = 0, cache_dir: str | Path | None = None, progress: bool = True
) -> tuple[Scenario, Path]:
    """Open a preset's scenario from the cache, building and storing it first if needed.

    Returns
    -------
    (Scenario, Path)
        The scenario opened lazily from Zarr, and the store's path.
    """
    path = scenario_path(preset, seed, cache_dir)
    create_once(path, lambda tmp: make_scenario(preset, seed).to_zarr(tmp, progress=progress))
    return open_scenario(path), path
