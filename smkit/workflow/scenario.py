"""The scenario of a study: open a preset or a stored cube, name it for cache keys, describe it.

:func:`load_scenario` opens a preset's synthetic world (built once into the
cache) or an ingested store; :func:`scenario_key` names it in cache keys;
:func:`has_truth` tells a synthetic world from real data; :func:`data_table`,
:func:`stations_table` and :func:`realism_table` are the tables of notebook 00.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.scenario import Scenario
from smkit.core.vocabulary import COVARIATES, REAL_SOURCES
from smkit.synth import PRESETS

__all__ = ["load_scenario", "scenario_key", "has_truth", "data_table", "realism_table", "stations_table"]


# --------------------------------------------------------------------------- scenario
def load_scenario(scenario: str | Path | Scenario = "tiny", *, seed: int = 0,
                  cache_dir: str | Path | None = None, progress: bool = True, cache: bool = True) -> Scenario:
    """The one way smkit turns "a preset, a path or a Scenario" into a :class:`~smkit.core.scenario.Scenario`.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A preset name (``tiny``, ``demo``, ``three-north``), the path of a store written by
        :meth:`smkit.core.scenario.Scenario.to_zarr` or ``smkit ingest``, or a Scenario (returned as is).
    seed : int
        Seed of a synthetic scenario.
    cache_dir : str or Path, optional
        Cache folder (default ``.smkit-cache`` or ``$SMKIT_CACHE``).
    progress : bool
        Show a progress bar while building.
    cache : bool, default True
        Build a preset once into the cache; ``False`` returns it lazily instead (nothing is
        computed or written until asked: a few days of ``three-north`` build only those days).

    Returns
    -------
    Scenario
        Lazy (dask-backed) datasets; ``truth`` is None for real data.

    Raises
    ------
    FileNotFoundError
        If ``scenario`` is neither a preset nor an existing path.
    ValueError
        If the path is not a scenario store (e.g. a product store or a half-copied one).
    """
    from smkit.core.scenario import open_scenario
    from smkit.synth import make_scenario
    from smkit.workflow.cache import cached_scenario

    if isinstance(scenario, Scenario):
        return scenario
    if str(scenario) in PRESETS:
        if not cache:
            return make_scenario(str(scenario), seed)
        sc, _ = cached_scenario(str(scenario), seed, cache_dir, progress=progress)
        return sc
    path = Path(scenario)
    if not path.exists():
        raise FileNotFoundError(
            f"{scenario!r} is neither a preset ({sorted(PRESETS)}) nor an existing store"
        )
    try:
        return open_scenario(path)
    except Exception as err:  # noqa: BLE001 - whatever the store holds, say what was expected
        raise ValueError(f"{path} could not be opened as a scenario (groups coarse, fine, stations): "
                         f"{type(err).__name__}: {err}. Is it a product store or an incomplete copy? "
                         "Scenario stores are written by `smkit synth` or `smkit ingest`") from err


def scenario_key(sc: Scenario) -> str:
    """A short name of a scenario for cache keys (preset and seed, or a hash of its attributes)."""
    a = sc.attrs
    if a.get("preset") and "seed" in a:
        return f"{a['preset']}-seed{a['seed']}-w{a.get('world_version', 1)}"
    text = json.dumps({k: str(v) for k, v in sorted(a.items())})
    return "cube-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def has_truth(sc: Scenario) -> bool:
    """Whether the scenario carries a 1-km truth (synthetic worlds do, real data do not)."""
    return getattr(sc, "truth", None) is not None and "sm" in sc.truth


# --------------------------------------------------------------------------- tables
def _res(ds: xr.Dataset) -> str:
    from smkit.core.grid import Grid

    return f"{Grid.from_dataset(ds).res:g}°"


def _cadence(da: xr.DataArray) -> str:
    if "time" not in da.dims:
        return "static"
    t = pd.DatetimeIndex(da["time"].values)
    if len(t) < 2:
        return "single"
    step = pd.Series(t).diff().median()
    return "monthly" if step >= pd.Timedelta(days=28) else f"{step.days}-daily"


def data_table(sc: Scenario) -> pd.DataFrame:
    """The datasets of a scenario: variable, meaning, units, grid, cadence, real counterpart."""
    rows = []
    groups = [("coarse", ("sm",)), ("fine", COVARIATES)]
    for group, names in groups:
        ds = getattr(sc, group)
        for name in names:
            if name not in ds:
                continue
            src, meaning = REAL_SOURCES.get(name, ("", ""))
            rows.append({"dataset": group, "variable": name, "meaning": meaning,
                         "units": ds[name].attrs.get("units", ""), "grid": _res(ds),
                         "cadence": _cadence(ds[name]), "real counterpart": src})
    for group, name, src in (("era5", "sm", "ERA5-Land swvl1"), ("noah", "sm", "GLDAS Noah"),
                             ("pdsi", "pdsi", "TerraClimate PDSI")):
        ds = getattr(sc, group, None)
        if ds is None or name not in ds:
            continue
        rows.append({"dataset": group, "variable": name, "meaning": ds[name].attrs.get("long_name", ""),
                     "units": ds[name].attrs.get("units", ""), "grid": _res(ds),
                     "cadence": _cadence(ds[name]), "real counterpart": src})
    return pd.DataFrame(rows).set_index(["dataset", "variable"])


def realism_table(sc: Scenario) -> tuple[pd.DataFrame, dict]:
    """The synthetic world's realism statistics beside their published ranges.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table of :func:`smkit.analysis.realism.realism_table` and the statistics
        of :func:`smkit.analysis.realism.realism`.
    """
    from smkit.analysis.realism import realism
    from smkit.analysis.realism import realism_table as table

    stats = realism(sc)
    return table(stats), stats


def stations_table(stations) -> pd.DataFrame:
    """One row per station: network, cadence, position, elevation, land cover, observations."""
    st = stations
    obs = st["sm"].notnull()
    if "rsm" in st:
        obs = obs | st["rsm"].notnull()
    return pd.DataFrame(
        {
            "name": st["name"].values.astype(str),
            "network": st["network"].values.astype(str),
            "cadence": st["cadence"].values.astype(str) if "cadence" in st.coords else "",
            "lon": st["lon"].values,
            "lat": st["lat"].values,
            "elevation [m]": np.round(st["elevation"].values, 0),
            "land cover": st["land_cover"].values.astype(str),
            "observations": obs.sum("time").values,
        }
    ).set_index("name")
