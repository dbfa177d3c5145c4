"""What the map explorer shows, opened and computed for it: scenario, product, zones, station scores.

The explorer (:mod:`smkit.app`) draws and runs nothing itself; it asks this
module for its data:

* :func:`open_explorer_scenario` opens a preset (built into the cache on first
  use), a scenario store or a scenario already open, and
  :func:`scenario_layers` takes from it the coarse retrieval, the truth, the
  stations, the reference models and the k-means zones to outline;
* the product: a store given by path (:func:`open_product`), the most
  complete one ``smkit reproduce`` left in the cache (:func:`cached_product`),
  the interpolation baselines (:func:`baseline_product`) or a quick
  one-learner product over :func:`quick_days` (:func:`quick_product`);
* :func:`station_scores`: R, MAE and N of a product's series against the
  stations;
* :func:`product_sm` and :func:`ascending`: the checks every product and field
  passes, for the explorer and for the stores opened here alike.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from smkit.core.schema import rename_legacy
from smkit.validate.metrics import all_metrics

if TYPE_CHECKING:
    from smkit.core.scenario import Scenario

__all__ = [
    "ascending",
    "baseline_product",
    "cached_product",
    "open_explorer_scenario",
    "open_product",
    "product_sm",
    "quick_days",
    "quick_product",
    "scenario_layers",
    "station_scores",
    "with_stored_bma",
]


# --------------------------------------------------------------------------- checks
def ascending(da: xr.DataArray) -> xr.DataArray:
    """``da`` with ascending ``lat`` and ``lon`` (ESA CCI files come north to south).

    Parameters
    ----------
    da : xarray.DataArray
        A field with ``lat`` and ``lon`` dimensions (degrees), in either order
        along each.

    Returns
    -------
    xarray.DataArray
        The same values, each of ``lat`` and ``lon`` reversed if it descends.

    Examples
    --------
    >>> import xarray as xr
    >>> da = xr.DataArray([[1, 2], [3, 4]], dims=("lat", "lon"),
    ...                   coords={"lat": [1.5, 0.5], "lon": [0.5, 1.5]})
    >>> ascending(da)["lat"].values.tolist(), ascending(da).values.tolist()
    ([0.5, 1.5], [[3, 4], [1, 2]])
    """
    for dim in ("lat", "lon"):
        if da.sizes[dim] > 1 and da[dim].values[0] > da[dim].values[-1]:
            da = da.isel({dim: slice(None, None, -1)})
    return da


def product_sm(product: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """The ``sm(model, time, lat, lon)`` of a product (m3 m-3), checked, ascending coordinates.

    Parameters
    ----------
    product : xarray.Dataset or DataArray
        A Dataset with ``sm``, or the DataArray itself.

    Returns
    -------
    xarray.DataArray
        Dims ``(model, time, lat, lon)``; ``lat`` and ``lon`` ascending.

    Raises
    ------
    TypeError
        If ``product`` is neither a Dataset with ``sm`` nor a DataArray.
    ValueError
        If the dims are not ``(model, time, lat, lon)`` or the model names
        are not distinct.
    """
    da = product["sm"] if isinstance(product, xr.Dataset) else product
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"product must be an xarray Dataset with 'sm' or a DataArray, got {type(product)}"
        )
    if set(da.dims) != {"model", "time", "lat", "lon"}:
        raise ValueError(f"product must have dims (model, time, lat, lon); its 'sm' has {da.dims}")
    models = [str(m) for m in da["model"].values]
    if not models or len(set(models)) != len(models):
        raise ValueError(f"product needs distinct model names, got {models}")
    return ascending(da.transpose("model", "time", "lat", "lon"))


# --------------------------------------------------------------------------- the scenario
def open_explorer_scenario(
    scenario: str | Path | Scenario,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    progress: bool = False,
) -> tuple[Scenario, Path | None, str]:
    """Open the scenario the explorer shows.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A preset name (built into the cache on first use by
        :func:`smkit.workflow.cache.cached_scenario`), a scenario store
        (``.zarr``/``.nc``) or a :class:`smkit.synth.Scenario` already open.
    seed : int
        Scenario seed (presets).
    cache_dir : str or Path, optional
        Scenario cache (default ``$SMKIT_CACHE`` or ``.smkit-cache``).
    progress : bool
        Progress bars while building a preset.

    Returns
    -------
    (Scenario, Path or None, str)
        The scenario, its cache store (presets only, else None) and a phrase
        naming it (``"the demo scenario"``).

    Raises
    ------
    FileNotFoundError
        If ``scenario`` is neither a preset nor an existing path.
    """
    from smkit.core.scenario import Scenario
    from smkit.synth import PRESETS
    from smkit.workflow.cache import scenario_path
    from smkit.workflow.scenario import load_scenario

    if isinstance(scenario, Scenario):
        return scenario, None, f"the {scenario.attrs.get('preset', 'given')} scenario"
    sc = load_scenario(scenario, seed=seed, cache_dir=cache_dir, progress=progress)
    if isinstance(scenario, str) and scenario in PRESETS:
        return sc, scenario_path(scenario, seed, cache_dir), f"the {scenario} scenario"
    return sc, None, f"the scenario {Path(scenario).name}"


def scenario_layers(sc: Scenario, zones: int | None = 7, seed: int = 0) -> dict:
    """What the explorer shows of a scenario besides the product.

    Parameters
    ----------
    sc : Scenario
        The scenario (:func:`open_explorer_scenario`).
    zones : int or None, default 7
        Number of k-means zones of the coarse retrieval to outline
        (:func:`smkit.bma.zones.kmeans_zones`, the paper's k = 7); None or 0
        for none.
    seed : int
        Seed of the k-means zones.

    Returns
    -------
    dict
        ``coarse`` (the retrieval), ``truth`` (None for real data, which have
        none), ``stations`` (or None), ``references`` (``{"ERA5": ...,
        "Noah": ...}``, those the scenario has) and ``zones`` (labels on the
        coarse grid, or None).
    """
    from smkit.workflow.study import has_truth

    refs = {"ERA5": getattr(sc, "era5", None), "Noah": getattr(sc, "noah", None)}
    return dict(
        coarse=sc.coarse,
        truth=sc.truth if has_truth(sc) else None,
        stations=getattr(sc, "stations", None),
        references={k: v for k, v in refs.items() if v is not None},
        zones=_zones(sc.coarse, zones, seed),
    )


def _zones(coarse: xr.Dataset, k: int | None, seed: int) -> xr.DataArray | None:
    """k-means zones of the coarse retrieval (:func:`smkit.bma.zones.kmeans_zones`), or None."""
    if not k:
        return None
    from smkit.bma.zones import kmeans_zones

    return kmeans_zones(coarse, k=k, seed=seed)


# --------------------------------------------------------------------------- the product
def open_product(path: str | Path) -> xr.Dataset:
    """Open a product store (``.zarr``, or ``.nc``) lazily and check it (:func:`product_sm`).

    Parameters
    ----------
    path : str or Path
        The store, with ``sm(model, time, lat, lon)`` (m3 m-3).

    Returns
    -------
    xarray.Dataset
        The product, lazy (dask).

    Raises
    ------
    FileNotFoundError
        If there is no store at ``path``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no product store at {path}")
    if path.suffix == ".nc":
        ds = xr.open_dataset(path, chunks={})
    else:
        with warnings.catch_warnings():  # smkit writes unconsolidated stores; either is fine
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(path, consolidated=None)
    ds = rename_legacy(ds)
    product_sm(ds)
    return ds


def cached_product(root: Path, preset: str, seed: int) -> tuple[Path, xr.Dataset] | None:
    """The most complete product store the main job left in the cache for a preset, if any.

    Looks for ``<preset>-seed<seed>-w<world version>-product-*.zarr`` (the stores
    of ``smkit reproduce`` and :func:`smkit.workflow.study.base_product` for the current
    synthetic world; products of an older world are not the world's), adds to
    each the BMA maps the study stored beside it (:func:`with_stored_bma`), and
    prefers the most models, then the most days, then the newest; stores that
    do not open as a product are passed over.

    Parameters
    ----------
    root : Path
        The cache folder.
    preset, seed
        The scenario's preset name and seed.

    Returns
    -------
    (Path, xarray.Dataset) or None
        The store and the product opened from it (with ``bma`` among its
        models when a BMA store lies beside it); None when there is none.
    """
    from smkit.synth import WORLD_VERSION

    paths = set(root.glob(f"{preset}-seed{seed}-w{WORLD_VERSION}-product-*.zarr"))
    best = None
    for path in sorted(p for p in paths if p.is_dir() and "-bma-" not in p.name):
        try:
            ds = with_stored_bma(path, open_product(path))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        rank = (ds.sizes["model"], ds.sizes["time"], path.stat().st_mtime)
        if best is None or rank > best[0]:
            best = (rank, path, ds)
    return None if best is None else best[1:]


def with_stored_bma(path: Path, product: xr.Dataset) -> xr.Dataset:
    """``product`` with model ``bma`` from the newest BMA store beside its store, if any.

    :func:`smkit.workflow.study.open_study` writes the BMA maps once beside
    the product's store, as ``<store>-bma-<key>.zarr`` holding ``bma(time,
    lat, lon)`` (m3 m-3) and ``sm_std``; the product store itself has only
    the learners. A store without ``bma``, or on other days or pixels, is
    passed over.

    Parameters
    ----------
    path : Path
        The product's store.
    product : xarray.Dataset
        The product opened from it (:func:`open_product`).

    Returns
    -------
    xarray.Dataset
        The product, with ``bma`` appended to its models when a BMA store was
        found (the product itself when not, or when it has ``bma`` already).
    """
    if "bma" in [str(m) for m in product["model"].values]:
        return product
    from smkit.workflow.products import bma_stores, join_bma

    sm = product["sm"]
    for store in bma_stores(path):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                bma = xr.open_zarr(store, consolidated=None)["bma"]
        except (OSError, ValueError, KeyError):
            continue
        if set(bma.dims) != {"time", "lat", "lon"} or any(
            bma.sizes[d] != sm.sizes[d] or not np.allclose(bma[d].values.astype(float),
                                                          sm[d].values.astype(float))
            for d in ("time", "lat", "lon")
        ):
            continue
        bma = bma.assign_coords({d: sm[d] for d in ("time", "lat", "lon")})
        return product.drop_vars("sm").drop_dims("model", errors="ignore").assign(
            sm=join_bma(sm, bma.astype(sm.dtype))
        )
    return product


def baseline_product(sc: Scenario) -> xr.Dataset:
    """The coarse retrieval interpolated to the fine grid, all days: nothing to learn.

    Parameters
    ----------
    sc : Scenario
        The scenario.

    Returns
    -------
    xarray.Dataset
        ``sm(model, time, lat, lon)`` (m3 m-3) with models ``nearest`` and
        ``bilinear`` (:func:`smkit.validate.interpolation_baselines`).
    """
    from smkit.validate import interpolation_baselines

    return interpolation_baselines(sc.coarse, sc.fine)


def quick_days(times, n_days: int = 92) -> slice:
    """A short period for a quick product: ``n_days`` around the last 15 July of ``times``.

    Falls back to the middle of the period when it holds no 15 July; the
    window is clipped to the period.

    Examples
    --------
    >>> import pandas as pd
    >>> quick_days(pd.date_range("2008-01-01", "2010-12-31"), 31)
    slice('2010-06-30', '2010-07-30', None)
    """
    t = pd.DatetimeIndex(times)
    july = t[(t.month == 7) & (t.day == 15)]
    centre = t.get_loc(july[-1]) if len(july) else len(t) // 2
    i0 = max(0, centre - n_days // 2)
    i1 = min(len(t), i0 + n_days)
    i0 = max(0, i1 - n_days)
    return slice(str(t[i0].date()), str(t[i1 - 1].date()))


def quick_product(
    sc: Scenario,
    learner: str,
    days: slice,
    *,
    store: Path | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[xr.Dataset, Path | None]:
    """A one-learner product over a short period, computed once per preset.

    Parameters
    ----------
    sc : Scenario
        The scenario.
    learner : {"mlr", "rf", "svr", "xgb"}
        The learner run by :func:`smkit.engine.downscale`.
    days : slice
        The period (e.g. :func:`quick_days`).
    store : Path, optional
        The scenario's cache store (a preset's): the product is written beside
        it, and a finished one is only reopened; without it, the product is
        kept in memory.
    seed : int
        Seed of the learner.
    progress : bool
        Progress bars while computing (none when the store is only reopened).

    Returns
    -------
    (xarray.Dataset, Path or None)
        ``sm(model, time, lat, lon)`` (m3 m-3) and its store (None in memory).
    """
    from smkit.engine import downscale

    out = _quick_path(store, learner, days) if store is not None else None
    ds = downscale(  # with out=, a finished store is only reopened (resumable engine)
        sc.coarse,
        sc.fine,
        learners=(learner,),
        days=days,
        out=out,
        seed=seed,
        progress=progress and not (out is not None and out.exists()),
    )
    return ds, out


def _quick_path(store: Path, learner: str, days: slice) -> Path:
    return store.with_name(
        store.name.replace(".zarr", f"-quick-{learner}-{days.start}-{days.stop}.zarr")
    )


# --------------------------------------------------------------------------- stations
def station_scores(stations: pd.DataFrame, series: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """R, MAE and N of a product's series against each station.

    Parameters
    ----------
    stations : pandas.DataFrame
        One row per station (``name``, ``network``, ``lat``, ``lon``).
    series : numpy.ndarray, shape (station, time)
        The product at each station's cell (m3 m-3).
    observed : numpy.ndarray, shape (station, time)
        The stations' soil moisture on the same days (m3 m-3).

    Returns
    -------
    pandas.DataFrame
        A copy of ``stations`` with ``r``, ``mae`` (m3 m-3) and ``n`` (days
        both have a value) from :func:`smkit.validate.metrics.all_metrics`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> st = pd.DataFrame({"name": ["a"], "network": [""], "lat": [0.0], "lon": [0.0]})
    >>> df = station_scores(st, np.array([[0.1, 0.2, 0.3]]), np.array([[0.1, 0.2, np.nan]]))
    >>> float(df["mae"][0]), int(df["n"][0])
    (0.0, 2)
    """
    m = all_metrics(series, observed, axis=-1)
    df = stations.copy()
    df["r"], df["mae"] = np.asarray(m["r"], float), np.asarray(m["mae"], float)
    df["n"] = np.asarray(m["n"], dtype=np.int64)
    return df
