"""The scenario: smkit's data model of one world, synthetic or ingested, and its store.

A :class:`Scenario` holds the seven datasets of :data:`GROUPS` (coarse retrieval, fine
covariates, 1-km truth, stations and the three model-like fields); :func:`open_scenario`
opens one written by :meth:`Scenario.to_zarr` or :meth:`Scenario.to_netcdf`, whether
:func:`smkit.synth.make_scenario` built it or ``smkit ingest`` assembled it from real archives.

Examples
--------
>>> from smkit.core.scenario import GROUPS
>>> GROUPS
('coarse', 'fine', 'truth', 'stations', 'era5', 'noah', 'pdsi')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask
import xarray as xr

from smkit.core.schema import encode_group
from smkit.core.vocabulary import SCENARIO_GROUPS

__all__ = ["EVERY_CHUNK", "GROUPS", "Scenario", "open_scenario"]

#: Attribute of a store group whose writer wrote every chunk (so that a missing one is a lost file).
EVERY_CHUNK = "smkit_every_chunk_written"

#: Groups of a scenario store, in order (see :data:`smkit.core.vocabulary.SCENARIO_GROUPS`).
GROUPS = SCENARIO_GROUPS


@dataclass
class Scenario:
    """A synthetic (or ingested) world in smkit's data model.

    Attributes
    ----------
    coarse, fine, truth, stations, era5, noah, pdsi : xarray.Dataset
        See DESIGN.md, "Data model"; ``truth`` holds the 1-km ``sm`` (m3 m-3).
    """

    coarse: xr.Dataset
    fine: xr.Dataset
    truth: xr.Dataset
    stations: xr.Dataset
    era5: xr.Dataset
    noah: xr.Dataset
    pdsi: xr.Dataset

    @property
    def attrs(self) -> dict:
        """Provenance of the scenario (preset, seed, version)."""
        return dict(self.coarse.attrs)

    def datasets(self) -> dict[str, xr.Dataset]:
        """The seven datasets by name."""
        return {g: getattr(self, g) for g in GROUPS}

    def load(self) -> Scenario:
        """Compute every lazy array (shared blocks are built once)."""
        loaded = dask.compute(self.datasets())[0]
        return Scenario(**loaded)

    def to_zarr(self, path: str | Path, progress: bool = True) -> Path:
        """Write all datasets to one Zarr store (one group each), computing blocks once."""
        path = Path(path)
        writes = []
        for i, (name, ds) in enumerate(self.datasets().items()):
            # every chunk is written, even all-NaN ones, so that a chunk missing later is a lost file
            group = encode_group(ds).assign_attrs({EVERY_CHUNK: 1})
            writes.append(group.to_zarr(path, group=name, mode="w" if i == 0 else "a", compute=False,
                                        consolidated=False, write_empty_chunks=True))
        _compute_with_progress(writes, progress, f"writing {path.name}")
        return path

    def to_netcdf(self, path: str | Path) -> Path:
        """Write all datasets to one NetCDF-4 file (one group each)."""
        path = Path(path)
        for i, (name, ds) in enumerate(self.datasets().items()):
            encode_group(ds).to_netcdf(path, group=name, mode="w" if i == 0 else "a", engine="h5netcdf")
        return path

    def __repr__(self) -> str:
        a = self.attrs
        dims = {g: dict(getattr(self, g).sizes) for g in GROUPS}
        lines = [f"<smkit.Scenario preset={a.get('preset')!r} seed={a.get('seed')}>"]
        lines += [f"  {g:9s} {d}" for g, d in dims.items()]
        return "\n".join(lines)


def _compute_with_progress(work, progress: bool, desc: str):
    if progress:
        from smkit.core.progress import dask_progress

        with dask_progress(desc):
            return dask.compute(*work)
    return dask.compute(*work)


def open_scenario(path: str | Path, chunks: dict | None = None) -> Scenario:
    """Open a scenario written by :meth:`Scenario.to_zarr` or :meth:`Scenario.to_netcdf`.

    Parameters
    ----------
    path : str or Path
        A ``.zarr`` store or a ``.nc`` file.
    chunks : dict, optional
        Dask chunks; ``None`` opens lazily with the stored chunks.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no scenario at {path}")
    out = {}
    for g in GROUPS:
        if path.suffix == ".nc":
            ds = xr.open_dataset(path, group=g, engine="h5netcdf", chunks=chunks or {})
        else:
            ds = xr.open_zarr(
                path, group=g, chunks=chunks if chunks is not None else {}, consolidated=False
            )
            if ds.attrs.get(EVERY_CHUNK):
                _check_every_chunk(path, g)
        out[g] = ds
    return Scenario(**out)


def _check_every_chunk(path: Path, group: str) -> None:
    """Refuse a store whose writer wrote every chunk but some chunk files are gone (they read as NaN)."""
    import zarr

    from smkit.core.schema import InputError

    for name, arr in zarr.open_group(path, mode="r", path=group).arrays():
        have, want = arr.nchunks_initialized, arr.nchunks
        if have < want:
            raise InputError(group, name, f"{want - have} of {want} chunk files are missing from {path} "
                             "(they would read as NaN: an interrupted copy or a deleted file)",
                             "copy the store again, or rebuild it (smkit synth, or delete the cache entry)")
