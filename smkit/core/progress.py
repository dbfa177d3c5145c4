"""Progress bars and warnings: on the terminal or in JupyterLab as usual, into a log file in batch runs.

Every progress bar in smkit comes from :func:`progress_bar` (an iterable or a
count) or :func:`dask_progress` (a dask computation); both are tqdm, on
stderr, never dask's own printer. When the environment variable
``SMKIT_LOG`` names a file (``smkit reproduce`` sets it for each notebook it
executes), :func:`log_to` is applied at ``import smkit``: the bars and every
warning go to that file instead of the notebook's output, so an executed
notebook shows its results and not a red block of progress and warnings.

>>> import io
>>> bar = progress_bar(range(3), desc="demo", file=io.StringIO())
>>> sum(bar)
3
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

__all__ = ["LOG_ENV", "dask_progress", "log_file", "log_to", "progress_bar"]

#: The environment variable naming the log file of a batch run.
LOG_ENV = "SMKIT_LOG"

_state: dict = {"stream": None, "path": None}


def log_to(path: str | Path) -> Path:
    """Send smkit's progress bars, all warnings (``logging.captureWarnings``) and log messages to ``path``.

    Parameters
    ----------
    path : str or Path
        The log file; its folder is created.

    Returns
    -------
    Path
        The log file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _state["path"] == path:
        return path
    stream = path.open("a", buffering=1, encoding="utf-8")
    _state.update(stream=stream, path=path)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # the root logger: warnings (captured), smkit's and the libraries' messages (SHAP's subsampling note,
    # PyMC's sampler, which adds its own stderr handler only when the root logger has none)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnings.simplefilter("default")  # each distinct warning once per place, as Python shows them
    return path


def log_file() -> Path | None:
    """The file progress and warnings go to (None: the terminal / notebook, as usual)."""
    if _state["path"] is None and os.environ.get(LOG_ENV):
        log_to(os.environ[LOG_ENV])
    return _state["path"]


def progress_bar(iterable=None, *, total: int | None = None, desc: str | None = None, unit: str = "it",
                 disable: bool = False, file=None):
    """A tqdm progress bar: a widget in JupyterLab, text on stderr elsewhere, lines in the log in batch runs.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (or None, with ``total``, for a bar advanced by ``update``).
    total : int, optional
    desc, unit : str
    disable : bool
        No bar at all.
    file : file-like, optional
        Where the bar is written (default: the log file of a batch run, else tqdm's choice).
    """
    if file is None and log_file() is not None:
        file = _state["stream"]
    if file is not None:
        from tqdm import tqdm

        # in a log: plain characters, a line at most every 30 s
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=file, ascii=True,
                    mininterval=30)
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable)


def dask_progress(desc: str, disable: bool = False):
    """A context manager showing a tqdm bar over the dask tasks computed inside it (see :func:`progress_bar`)."""
    from tqdm.dask import TqdmCallback

    if log_file() is not None:
        from tqdm import tqdm

        return TqdmCallback(desc=desc, tqdm_class=tqdm, file=_state["stream"], ascii=True, mininterval=30,
                            disable=disable)
    return TqdmCallback(desc=desc, disable=disable)
