"""Serving the map explorer: what a served or notebook explorer shows, and the server.

:func:`load` opens what :func:`serve` (``smkit serve``) and
:func:`open_explorer` show, through :mod:`smkit.workflow.explorer_data` (the
app computes nothing itself): for a preset, the scenario from the cache
(:func:`smkit.workflow.cache.cached_scenario`) and the most complete product
that ``smkit reproduce`` left beside it; without one, a quick product -- MLR
over three summer months (:func:`smkit.workflow.explorer_data.quick_days`),
computed once (about 15 s for ``demo``) and kept in the cache. A real product
store is shown with ``smkit serve --scenario demo --product PATH.zarr`` (any
``sm(model, time, lat, lon)`` store on the scenario's fine grid, e.g. from
``smkit downscale``). :func:`prepare` builds all this ahead (Binder's
``postBuild``); :func:`open_explorer` does it in a notebook. :func:`serve`
starts a Panel/Bokeh server on 127.0.0.1; the app reads no path typed into it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import panel as pn
import xarray as xr

from smkit.app.explorer import Explorer, explorer
from smkit.workflow.explorer_data import (
    baseline_product,
    cached_product,
    open_explorer_scenario,
    open_product,
    quick_days,
    quick_product,
    scenario_layers,
)

if TYPE_CHECKING:
    from smkit.core.scenario import Scenario

__all__ = ["REPORT_DIR", "AppData", "jupyter_server", "load", "notebook_report_url", "open_explorer",
           "prepare", "report_file", "serve"]

#: The report of the demo run (``smkit reproduce``), beside the package in a source checkout.
REPORT_DIR = Path(__file__).resolve().parents[2] / "reports" / "demo"


def report_file(folder: str | Path = REPORT_DIR) -> Path | None:
    """The page of the demo run's report: its ``index.html``, else its ``README.md``; None without both.

    Parameters
    ----------
    folder : str or Path
        The report's folder (default :data:`REPORT_DIR`).
    """
    for name in ("index.html", "README.md"):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError, OverflowError):
        return False
    return True


def _inside(path: Path, root: str | Path | None) -> bool:
    if not root:
        return False
    try:
        path.resolve().relative_to(Path(root).expanduser().resolve())
    except ValueError:
        return False
    return True


def jupyter_server() -> dict | None:
    """The Jupyter server running this kernel, from its ``jpserver-*.json`` file; None outside one.

    A kernel that a Jupyter server (JupyterLab, Notebook 7, JupyterHub)
    started has ``JPY_SESSION_NAME`` set; its server is the one whose process
    started it, else the one running server whose ``root_dir`` holds the
    working directory. Nothing is contacted: the server files in
    ``jupyter --runtime-dir`` are read.

    Returns
    -------
    dict or None
        The server file's fields (``root_dir``, ``base_url``, ``url``,
        ``pid`` ...); None when no Jupyter server started this process
        (a script, papermill, ``smkit serve``) or it cannot be told.
    """
    if "JPY_SESSION_NAME" not in os.environ:
        return None
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return None
    servers = []
    for f in sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json")):
        try:
            info = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(info, dict) and _alive(info.get("pid")):
            servers.append(info)
    parent = [s for s in servers if s.get("pid") == os.getppid()]
    if parent:
        return parent[0]
    holding = [s for s in servers if _inside(Path.cwd(), s.get("root_dir"))]
    return holding[0] if len(holding) == 1 else None


def notebook_report_url(report: str | Path, server: dict | None = None, cwd: str | Path | None = None) -> str:
    """Where the explorer in a notebook links the report: a Jupyter server's URL of it, else its path.

    Under a Jupyter server whose root holds the report, an absolute URL path
    on that server (its ``base_url`` kept, so JupyterHub's ``/user/NAME/``
    too), which the link opens in a new browser tab, leaving the notebook and
    its explorer as they are: the HTML page as the server's ``files/`` serves
    it (a web page with its figures), any other page (``README.md``) in
    JupyterLab (``lab/tree/``). A link relative to the notebook is resolved
    by the browser against JupyterLab's own URL and reloaded JupyterLab in
    its tab, which lost the explorer's output. Without a server (or with the
    report outside its root): the path relative to ``cwd``.

    Parameters
    ----------
    report : str or Path
        The report's page (:func:`report_file`).
    server : dict, optional
        :func:`jupyter_server`'s answer (``root_dir``, ``base_url``).
    cwd : str or Path, optional
        The folder a relative path starts from (default: the working
        directory, the notebook's folder in a kernel).

    Returns
    -------
    str
        A URL path (``/files/reports/demo/index.html``) or a relative file
        path (``../reports/demo/index.html``).

    Examples
    --------
    >>> server = {"root_dir": "/home/me/smkit", "base_url": "/user/me/"}
    >>> notebook_report_url("/home/me/smkit/reports/demo/index.html", server)
    '/user/me/files/reports/demo/index.html'
    >>> notebook_report_url("/home/me/smkit/reports/demo/README.md", server)
    '/user/me/lab/tree/reports/demo/README.md'
    >>> notebook_report_url("/home/me/smkit/reports/demo/index.html", None, cwd="/home/me/smkit/notebooks")
    '../reports/demo/index.html'
    """
    report = Path(report)
    if server is not None and _inside(report, server.get("root_dir")):
        rel = report.resolve().relative_to(Path(server["root_dir"]).expanduser().resolve()).as_posix()
        base = "/" + str(server.get("base_url") or "/").strip("/")
        route = "files" if report.suffix.lower() in (".html", ".htm") else "lab/tree"
        return f"{base.rstrip('/')}/{route}/{quote(rel)}"
    return Path(os.path.relpath(report, Path.cwd() if cwd is None else Path(cwd))).as_posix()


#: Held while a browser session's app is built (see :func:`serve`).
_BUILD_LOCK = threading.Lock()


@dataclass
class AppData:
    """What :func:`serve` and :func:`open_explorer` show.

    Attributes
    ----------
    product : xarray.Dataset
        ``sm(model, time, lat, lon)``.
    coarse, truth, stations : xarray.Dataset or None
    references : dict
        ``{"ERA5": ..., "Noah": ...}``.
    zones : xarray.DataArray or None
        Zone labels on the coarse grid.
    description : str
        What the product is (shown in the app).
    product_path : Path or None
        The product store, when the product comes from one.
    """

    product: xr.Dataset
    coarse: xr.Dataset | None = None
    truth: xr.Dataset | None = None
    stations: xr.Dataset | None = None
    references: dict = field(default_factory=dict)
    zones: xr.DataArray | None = None
    description: str = ""
    product_path: Path | None = None

    def kwargs(self) -> dict:
        """Keyword arguments of :func:`explorer`."""
        return {
            "coarse": self.coarse,
            "truth": self.truth,
            "stations": self.stations,
            "references": self.references,
            "zones": self.zones,
            "description": self.description,
        }


def load(scenario: str | Path | Scenario = "demo", *, product: str | Path | None = None, seed: int = 0,
         cache_dir: str | Path | None = None, quick: str = "mlr", days: slice | None = None,
         zones: int | None = 7, progress: bool = False, cli: bool = False) -> AppData:
    """Open a scenario and a product for the explorer.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A preset name (``tiny``, ``demo``; built into the cache on first use
        by :func:`smkit.workflow.cache.cached_scenario`), a scenario store
        (``.zarr``/``.nc``) written by :meth:`smkit.synth.Scenario.to_zarr`,
        or a :class:`smkit.synth.Scenario` already open.
    product : str or Path, optional
        A product store (``.zarr`` from ``smkit downscale``, or ``.nc``) with
        ``sm(model, time, lat, lon)`` on the scenario's fine grid. Default:
        for a preset, the most complete product ``smkit reproduce`` left in
        the cache, else a quick product (below).
    seed : int
        Scenario seed (presets).
    cache_dir : str or Path, optional
        Scenario cache (default ``$SMKIT_CACHE`` or ``.smkit-cache``).
    quick : {"mlr", "rf", "svr", "xgb", "baselines"}
        The quick product: one learner run by :func:`smkit.engine.downscale`
        over :func:`quick_days` (three summer months; stored in the cache for
        a preset, so later starts are instant; kept in memory otherwise), or
        ``baselines``: the coarse
        retrieval interpolated to the fine grid (nearest and bilinear, all
        days, nothing to compute).
    days : slice, optional
        Period of the quick product (default :func:`quick_days`).
    zones : int or None, default 7
        Number of k-means zones of the coarse retrieval to outline
        (:func:`smkit.bma.zones.kmeans_zones`, the paper's k = 7); None for none.
    progress : bool
        Progress bars while building.
    cli : bool, default False
        The description of a quick product tells how to show a full one:
        with ``--product`` for ``smkit serve`` (True), with ``product=`` for
        :func:`open_explorer` in a notebook (False).

    Returns
    -------
    AppData
    """
    sc, store, name = open_explorer_scenario(scenario, seed, cache_dir, progress=progress)
    common = scenario_layers(sc, zones, seed)
    if product is not None:
        ds = open_product(Path(product))
        return AppData(
            ds,
            **common,
            product_path=Path(product),
            description=f"Product {Path(product).name} over {name}",
        )
    if store is not None:
        found = cached_product(store.parent, str(scenario), seed)
        if found is not None:
            path, ds = found
            return AppData(
                ds,
                **common,
                product_path=path,
                description=f"Downscaled product of {name} ({path.name})",
            )
    if quick == "baselines":
        return AppData(
            baseline_product(sc),
            **common,
            description=f"Coarse retrieval of {name} interpolated to 1 km "
            "(nearest, bilinear): no downscaled product yet",
        )
    days = days or quick_days(sc.coarse["time"].values)
    ds, out = quick_product(sc, quick, days, store=store, seed=seed, progress=progress)
    how = "give --product PATH" if cli else "pass product=PATH to open_explorer"
    desc = (
        f"Quick {quick.upper()} product of {name}, {days.start} to {days.stop}: "
        f"run `smkit reproduce` (or `make reproduce`) for all learners and BMA, or {how}"
    )
    return AppData(ds, **common, product_path=out, description=desc)


def prepare(scenario: str = "demo", *, seed: int = 0, cache_dir: str | Path | None = None,
            quick: str = "mlr", progress: bool = True) -> AppData:
    """Build a preset's scenario and quick product into the cache ahead of time (Binder).

    Parameters
    ----------
    scenario : str
        Preset name (``tiny``, ``demo``).
    seed, cache_dir, quick, progress
        As for :func:`load`.

    Returns
    -------
    AppData
        What :func:`load` will find from now on (``product_path`` is the quick
        product's store, or the full product already in the cache).
    """
    return load(
        scenario, seed=seed, cache_dir=cache_dir, quick=quick, zones=None, progress=progress
    )


def open_explorer(scenario: str | Path | Scenario = "tiny", *, product: str | Path | None = None,
                  seed: int = 0, cache_dir: str | Path | None = None, quick: str = "mlr",
                  zones: int | None = 7, template: bool = False):
    """Load a scenario and a product and return the explorer's layout (for notebooks).

    Parameters
    ----------
    scenario, product, seed, cache_dir, quick, zones
        As for :func:`load`.
    template : bool
        As for :func:`explorer`.

    Returns
    -------
    panel.FlexBox or panel.template.BootstrapTemplate
        :func:`explorer`'s layout; it links the demo report (:func:`report_file`)
        by its URL on the Jupyter server running the notebook
        (:func:`notebook_report_url`; it opens in a new browser tab), else by
        its path relative to the working directory (the notebook's folder).
    """
    data = load(scenario, product=product, seed=seed, cache_dir=cache_dir, quick=quick, zones=zones)
    report = report_file()
    url = None if report is None else notebook_report_url(report, jupyter_server())
    return explorer(data.product, template=template, report_url=url, **data.kwargs())


def serve(scenario: str | Path | Scenario = "demo", *, product: str | Path | None = None, port: int = 5006,
          address: str = "127.0.0.1", show: bool = False, seed: int = 0, cache_dir: str | Path | None = None,
          quick: str = "mlr", zones: int | None = 7, threaded: bool = False,
          on_session: Callable[[Explorer], None] | None = None, progress: bool = True,
          inline: bool = False, **kwargs):
    """Serve the map explorer of a scenario with Panel's (Bokeh's) server.

    The data are opened once (:func:`load`) and shared by every browser
    session. Paths come only from the arguments: the app has no field that
    reads a file. The demo run's report (:func:`report_file`), when there is
    one, is served under ``/report/`` and linked from the controls.

    Parameters
    ----------
    scenario, product, seed, cache_dir, quick, zones
        As for :func:`load`: a preset shows the cached full product of
        ``smkit reproduce`` if there is one, else a quick one-learner product
        of three summer months (computed once, about 10 s for ``demo``).
    port : int, default 5006
    address : str, default "127.0.0.1"
        Interface to bind; the default accepts connections from this
        machine only (use "0.0.0.0" deliberately to expose it).
    show : bool
        Open a browser tab.
    threaded : bool
        Run the server in a background thread and return it (call
        ``.stop()``); otherwise block until interrupted.
    on_session : callable, optional
        Called with each new session's :class:`Explorer` (tests use it to
        read the server-side state).
    progress : bool
        Progress bars while building data.
    inline : bool, default False
        Serve the layout a notebook shows (controls and plots in a row)
        instead of the page template (tests check it fits a narrow screen).
    **kwargs
        Passed on to :func:`panel.serve`.

    Returns
    -------
    panel.io.server.StoppableThread or bokeh.server.server.Server
    """
    data = load(scenario, product=product, seed=seed, cache_dir=cache_dir, quick=quick, zones=zones,
                progress=progress, cli=True)

    report = report_file()
    report_url = None
    if report is not None:  # served beside the app: a page cannot open file:// links
        kwargs["static_dirs"] = {**kwargs.get("static_dirs", {}), "report": str(report.parent)}
        report_url = f"./report/{report.name}"

    def page():
        # one session built at a time: HoloViews' and Panel's registries are module-level dicts, and
        # sessions built side by side (a burst of page loads) failed with "dictionary changed size
        # during iteration" and got a page without the app
        with _BUILD_LOCK:
            ex = Explorer(data.product, report_url=report_url, **data.kwargs())
            # Panel's link registries would keep every closed session's explorer (and its maps)
            pn.state.on_session_destroyed(lambda context: ex.release())
            if on_session is not None:
                on_session(ex)
            return ex if inline else ex.template()

    origins = [f"{address}:{port}"]
    if address in ("127.0.0.1", "localhost"):
        origins += [f"localhost:{port}", f"127.0.0.1:{port}"]
    return pn.serve(page, port=port, address=address, show=show, threaded=threaded,
                    websocket_origin=sorted(set(origins)), title="smkit map explorer", verbose=False,
                    **kwargs)
