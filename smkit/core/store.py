"""One crash-safe protocol for every store smkit writes (products, caches, ingested cubes).

A store is a Zarr directory written in parts. The protocol has four pieces, shared by the
engine, the caches and ingest so that a fix to one reaches all:

1. **Atomic creation** (:func:`write_atomically`): the store (or its empty template) is written
   to ``<store>.partial`` and renamed into place, so a store that exists is never half-made;
   a ``.partial`` left by a kill is recognised and rebuilt.
2. **The request on record** (:func:`request_of`, :func:`check_request`): the store's attributes
   hold what it was made for (options, period, grid). A run asking for something else is refused
   with a message naming every difference.
3. **Part markers** (:class:`Parts`): ``<store>.done/<part>`` is touched only after a part is
   fully written; a rerun skips marked parts and redoes the rest.
4. **One writer** (:func:`lock`): ``<store>.lock`` holds the writer's pid and host; a second
   writer is stopped with a message, a lock left by a dead process is taken over.

Disk-full errors inside :func:`reporting_disk_full` become a :class:`StoreError` that says so,
how much space is left, and that finished parts are kept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["REQUEST_ATTR", "Parts", "StoreError", "StoreLocked", "StoreMismatch", "check_request", "create_once",
           "differences", "lock", "reporting_disk_full", "request_of", "write_atomically"]

#: Attribute of a store's root group that records the request it was made for (JSON).
REQUEST_ATTR = "smkit_request"


class StoreError(RuntimeError):
    """A store cannot be written or reused; the message says why and what to do."""


class StoreLocked(StoreError):
    """Another live process is writing the store."""


class StoreMismatch(StoreError, ValueError):
    """The store was made for a different request than the one asked for now.

    Attributes
    ----------
    differences : dict
        ``{key: (stored, asked)}`` for every key that differs.
    """

    def __init__(self, message: str, differences: dict):
        super().__init__(message)
        self.differences = differences


def _sidecar(store: Path, suffix: str) -> Path:
    store = Path(store)
    return store.with_name(store.name + suffix)


# ------------------------------------------------------------------ atomic creation
def write_atomically(store: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a store through ``<store>.partial`` and rename it into place.

    Parameters
    ----------
    store : str or Path
        The final path; it must not exist yet.
    write : callable
        ``write(tmp_path)`` writes the whole store (or its template) at ``tmp_path``.

    Returns
    -------
    Path
        ``store``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_atomically(folder / "a.zarr", lambda tmp: tmp.mkdir())
    >>> sorted(p.name for p in folder.iterdir())
    ['a.zarr']
    """
    store = Path(store)
    if store.exists():
        raise StoreError(f"{store} exists already; write_atomically only creates stores")
    tmp = _sidecar(store, ".partial")
    if tmp.exists():  # left by a killed run: never trusted, rebuilt
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
    with reporting_disk_full(store):
        write(tmp)
    os.replace(tmp, store)
    return store


def create_once(store: str | Path, write: Callable[[Path], object], wait: float = 6 * 3600) -> Path:
    """Create a cache store once: atomically, by one process; a second one waits and reuses it.

    Parameters
    ----------
    store : str or Path
        The store; nothing is done when it exists.
    write : callable
        ``write(tmp_path)`` writes the whole store (see :func:`write_atomically`).
    wait : float
        Seconds to wait for another process building the same store (:func:`lock`).

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "c.zarr"
    >>> built = []
    >>> for _ in range(2):
    ...     _ = create_once(target, lambda tmp: (built.append(1), tmp.mkdir()))
    >>> len(built)
    1
    """
    store = Path(store)
    if not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        with lock(store, wait=wait):
            if not store.exists():  # another process may have built it while we waited
                write_atomically(store, write)
    return store


# ------------------------------------------------------------------ the request on record
def request_of(attrs: dict) -> dict | None:
    """The request recorded in a store's attributes (``None`` for a store without one)."""
    raw = attrs.get(REQUEST_ATTR)
    return None if raw is None else json.loads(raw)


def differences(stored: dict, asked: dict) -> dict:
    """``{key: (stored value, asked value)}`` for every key whose values differ.

    Examples
    --------
    >>> differences({"start": "2009-06-01", "tile": 24}, {"start": "2009-06-09", "tile": 24})
    {'start': ('2009-06-01', '2009-06-09')}
    """
    keys = sorted(set(stored) | set(asked))
    return {k: (stored.get(k), asked.get(k)) for k in keys if stored.get(k) != asked.get(k)}


def check_request(store: str | Path, stored: dict | None, asked: dict, *, what: str = "product") -> None:
    """Refuse to reuse ``store`` for a request other than the one it holds.

    Parameters
    ----------
    store : str or Path
        The store, for the message.
    stored : dict or None
        :func:`request_of` the store's attributes (``None``: made by smkit 0.1, no record).
    asked : dict
        The request of this run (JSON-able values).
    what : str
        What the store holds, for the message.

    Raises
    ------
    StoreMismatch
        Naming every key whose value differs.
    """
    if stored is None:
        raise StoreMismatch(f"{store} holds a {what} without a recorded request (an older smkit wrote it); "
                            "give a new path or delete it", {})
    diff = differences(stored, asked)
    if diff:
        said = "; ".join(f"{k}: the store has {a!r}, this run asks for {b!r}" for k, (a, b) in diff.items())
        raise StoreMismatch(f"{store} holds a {what} made with other arguments ({said}). Give a new path, "
                            "delete the store, or rerun with the stored values", diff)


# ------------------------------------------------------------------ part markers
class Parts:
    """Markers of the finished parts of a store, in ``<store>.done/``.

    Parameters
    ----------
    store : str or Path
        The store the parts belong to.

    Examples
    --------
    >>> import tempfile
    >>> parts = Parts(Path(tempfile.mkdtemp()) / "p.zarr")
    >>> parts.done("t0000_y00_x00"), parts.mark("t0000_y00_x00"), parts.done("t0000_y00_x00")
    (False, None, True)
    """

    def __init__(self, store: str | Path):
        self.store = Path(store)
        self.folder = _sidecar(self.store, ".done")

    def done(self, part: str) -> bool:
        """Whether ``part`` was marked finished."""
        return (self.folder / part).exists()

    def mark(self, part: str) -> None:
        """Mark ``part`` finished: call only after its data are fully written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / part).touch()

    def reset(self) -> None:
        """Forget every marker (the store is being rebuilt)."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)


# ------------------------------------------------------------------ one writer
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def lock(store: str | Path, wait: float = 0.0) -> Iterator[Path]:
    """Hold ``<store>.lock`` while writing ``store``; a second live writer is refused (or waits).

    Parameters
    ----------
    store : str or Path
        The store to be written.
    wait : float, default 0
        Seconds to wait for another writer to finish before refusing (caches wait: the
        other process is building the very store this one needs).

    Raises
    ------
    StoreLocked
        If another live process on this host holds the lock (or a process on another host:
        smkit cannot tell whether it still runs).

    Examples
    --------
    >>> import tempfile
    >>> store = Path(tempfile.mkdtemp()) / "p.zarr"
    >>> with lock(store) as held:
    ...     held.exists()
    True
    >>> held.exists()
    False
    """
    path = _sidecar(store, ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = _holder(path)
            if holder.get("host") == me["host"] and not _alive(int(holder.get("pid", -1))):
                path.unlink(missing_ok=True)  # left by a killed run
                continue
            if time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            raise StoreLocked(f"another smkit run (pid {holder.get('pid')} on {holder.get('host')}, since "
                              f"{holder.get('since')}) is writing {store}; wait for it to finish, or delete "
                              f"{path} if no such run exists") from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------ disk full
@contextlib.contextmanager
def reporting_disk_full(store: str | Path) -> Iterator[None]:
    """Turn a disk-full ``OSError`` raised inside the block into a :class:`StoreError` that says so."""
    try:
        yield
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        target = Path(store).parent
        free = shutil.disk_usage(target if target.exists() else Path.cwd()).free / 2**30
        raise StoreError(f"the disk is full while writing {store} ({free:.1f} GiB free on {target}); free "
                         "space and rerun with the same arguments: finished parts are kept") from None
