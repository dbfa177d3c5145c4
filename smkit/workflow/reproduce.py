"""Batch reproduction of the paper: run every notebook with papermill into a report folder.

The notebooks in ``notebooks/`` are jupytext percent scripts (``*.py``), one
per section of the paper, each with a cell tagged ``parameters``. ``run``
executes them in order with papermill, every notebook in its own kernel but
all sharing one cached base study (scenario, product, zones, BMA; see
:mod:`smkit.workflow.study`) that the first notebook to need it computes and the others
reuse. Notebooks write their figures (PNG) and tables (CSV + Markdown) into
``output_dir`` and their headline numbers into ``output_dir/metrics/``; the
runner then writes

- ``notebooks/NAME.ipynb``: the executed notebooks (run artefacts, never committed),
- ``html/NAME.html``: an HTML export of each,
- ``logs/NAME.log``: each notebook's progress bars and warnings (kept out of its outputs),
- ``metrics.json``: the headline numbers of every notebook,
- ``README.md`` and ``index.html``: a summary linking everything.

Parameters come from three layers, later ones winning: each notebook's own
defaults (its ``parameters`` cell), the preset (``scenario``), and an
optional YAML file with a ``defaults`` mapping for every notebook and a
``notebooks`` mapping of per-notebook overrides::

    defaults:
      scenario: demo
      seed: 0
    notebooks:
      02_windowed_downscaling:
        sensitivity_days: 3
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from smkit.core.progress import LOG_ENV

__all__ = [
    "NOTEBOOK_DIR",
    "NOTEBOOKS",
    "SECTIONS",
    "NotebookFailed",
    "RunResult",
    "notebook_path",
    "load_params",
    "notebook_parameters",
    "resolve_parameters",
    "run",
    "STUDY_NOTEBOOKS",
    "prepare_study",
    "export_html",
    "collect_metrics",
    "write_index",
    "KERNELSPEC",
    "read_notebook",
]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: The paper's sections, in the order they run.
NOTEBOOKS = (
    "00_study_area_and_data",
    "01_explanatory_factors",
    "02_windowed_downscaling",
    "03_bma_diagnostics",
    "04_insitu_validation",
    "05_model_intercomparison",
    "06_drought",
    "07_uncertainty_leave_one_out",
    "08_uncertainty_sample_reduction",
    "09_merits",
)

#: What each notebook reproduces (for the report's index).
SECTIONS = {
    "00_study_area_and_data": "Study area, covariates and stations (Fig. 1, Table 1)",
    "01_explanatory_factors": "Explanatory factors: importance, SHAP, correlation (Fig. 3, S2)",
    "02_windowed_downscaling": "Zones, adaptive windows and the downscaled maps (Figs. 4-6, section 3.4)",
    "03_bma_diagnostics": "Bayesian model averaging: weights, posterior, diagnostics (Fig. S8)",
    "04_insitu_validation": "Validation against in-situ networks and the truth (Figs. 7-9, Table 4)",
    "05_model_intercomparison": "Comparison with ERA5-like and Noah-like fields (Fig. 10)",
    "06_drought": "Drought-prone regions (Fig. 11, S5)",
    "07_uncertainty_leave_one_out": "Leave-one-covariate-out uncertainty (Fig. 12a)",
    "08_uncertainty_sample_reduction": "Sample-reduction uncertainty (Fig. 12b)",
    "09_merits": "Merits of clustering and windows (Figs. S6, S7, Table 5)",
    "explore": "Interactive map explorer (Panel)",
}


class NotebookFailed(RuntimeError):
    """A notebook of the batch run failed; the message names it and the cell."""


@dataclass
class RunResult:
    """What a batch run produced."""

    out: Path
    executed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


#: The kernel every notebook runs in (the tracked notebooks name none: a user's kernel is theirs).
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def read_notebook(name: str, notebook_dir: Path | None = None):
    """A notebook's jupytext source as an nbformat notebook, with the kernel it runs in."""
    import jupytext

    nb = jupytext.read(notebook_path(name, notebook_dir))
    nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
    return nb


def notebook_path(name: str, notebook_dir: Path | None = None) -> Path:
    """The jupytext source of a notebook, with an error listing the valid names."""
    folder = Path(notebook_dir or NOTEBOOK_DIR)
    path = folder / f"{name}.py"
    if not path.exists():
        names = sorted(p.stem for p in folder.glob("*.py"))
        raise KeyError(f"no notebook {name!r} in {folder}; choose from {names}")
    return path


def load_params(path: str | Path | None) -> dict:
    """Read a parameter YAML file (``defaults`` and ``notebooks`` mappings)."""
    if path is None:
        return {"defaults": {}, "notebooks": {}}
    data = yaml.safe_load(Path(path).read_text()) or {}
    unknown = set(data) - {"defaults", "notebooks"}
    if unknown:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown)}; use 'defaults' and 'notebooks'")
    return {"defaults": dict(data.get("defaults") or {}), "notebooks": dict(data.get("notebooks") or {})}


def notebook_parameters(name: str, notebook_dir: Path | None = None) -> dict:
    """Names and default values of a notebook's ``parameters`` cell."""
    import papermill

    nb = read_notebook(name, notebook_dir)
    tmp = Path(_scratch()) / f"{name}.ipynb"
    import nbformat

    nbformat.write(nb, tmp)
    import ast

    out = {}
    for k, v in papermill.inspect_notebook(str(tmp)).items():
        try:  # papermill gives the default's source text
            out[k] = ast.literal_eval(v["default"])
        except (ValueError, SyntaxError):
            out[k] = v["default"]
    return out


def _scratch() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="smkit-nb-")


def resolve_parameters(name: str, *, preset: str | None, params: dict, out: Path,
                       cache_dir: Path, notebook_dir: Path | None = None) -> dict:
    """The parameters a notebook runs with (only names its parameters cell declares)."""
    declared = notebook_parameters(name, notebook_dir)
    merged: dict = {}
    if preset is not None:
        merged["scenario"] = preset
    merged.update(params.get("defaults", {}))
    merged.update(params.get("notebooks", {}).get(name, {}) or {})
    merged["output_dir"] = str(out)
    merged["cache_dir"] = str(cache_dir)
    unknown = set(params.get("notebooks", {}).get(name, {}) or {}) - set(declared)
    if unknown:
        raise ValueError(f"parameters {sorted(unknown)} are not declared by notebook {name}; "
                         f"it declares {sorted(declared)}")
    return {k: v for k, v in merged.items() if k in declared}


def run(
    preset: str | None = "demo",
    out: str | Path = "reports/demo",
    *,
    params: str | Path | dict | None = None,
    only: list[str] | None = None,
    cache_dir: str | Path | None = None,
    notebook_dir: str | Path | None = None,
    html: bool = True,
    progress: bool = True,
    timeout: int | None = 3600,
) -> RunResult:
    """Execute the paper's notebooks in order into a run folder.

    Parameters
    ----------
    preset : str, optional
        Scenario preset (``tiny``, ``demo``) or the path of a scenario/cube
        store; sets every notebook's ``scenario`` parameter (a YAML
        ``defaults: {scenario: ...}`` overrides it).
    out : str or Path
        Run folder.
    params : path or dict, optional
        Parameter overrides (see the module docstring).
    only : list of str, optional
        Notebook names to run (default: all of :data:`NOTEBOOKS`, in order).
    cache_dir : str or Path, optional
        Where scenarios and base products are cached (default ``.smkit-cache``).
    html : bool
        Export each executed notebook to HTML.
    progress : bool
        Show papermill's progress bar (cells) for each notebook.
    timeout : int, optional
        Seconds a single cell may run.

    Returns
    -------
    RunResult

    Raises
    ------
    NotebookFailed
        Naming the notebook, the failing cell and the error; the partly
        executed notebook is kept in ``out/notebooks/`` for inspection.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from smkit.workflow.cache import DEFAULT_CACHE

    out = Path(out).resolve()
    cache = Path(cache_dir or DEFAULT_CACHE).resolve()
    nb_dir = Path(notebook_dir) if notebook_dir else None
    names = list(only) if only else list(NOTEBOOKS)
    for name in names:
        notebook_path(name, nb_dir)  # fail early on a wrong name
    pdict = params if isinstance(params, dict) else load_params(params)
    pdict = {"defaults": dict(pdict.get("defaults", {})), "notebooks": dict(pdict.get("notebooks", {}))}
    for sub in ("notebooks", "html", "figures", "tables", "metrics"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    result = RunResult(out)
    if sum(n in STUDY_NOTEBOOKS for n in names) > 1:  # the shared base product, with a visible progress bar
        t0 = time.perf_counter()
        prepare_study(preset, pdict, out, cache, nb_dir, progress=progress)
        result.seconds["base product"] = round(time.perf_counter() - t0, 1)
    for i, name in enumerate(names, 1):
        nb = read_notebook(name, nb_dir)
        pars = resolve_parameters(name, preset=preset, params=pdict, out=out, cache_dir=cache,
                                  notebook_dir=nb_dir)
        target = out / "notebooks" / f"{name}.ipynb"
        print(f"[{i}/{len(names)}] {name}: {SECTIONS.get(name, '')}", flush=True)
        t0 = time.perf_counter()
        # the kernel (which inherits the environment) writes its progress bars and warnings to the log,
        # not into the notebook's outputs
        log = out / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text("")
        before = os.environ.get(LOG_ENV)
        os.environ[LOG_ENV] = str(log)
        try:
            papermill.execute_notebook(
                nb, str(target), parameters=pars, kernel_name="python3", progress_bar=progress,
                cwd=str(out), execution_timeout=timeout,
            )
        except PapermillExecutionError as err:
            raise NotebookFailed(
                f"notebook {name} failed in cell {err.cell_index} ({err.ename}: {err.evalue}); "
                f"the executed part is in {target}, its progress and warnings in {log}"
            ) from None
        finally:
            result.seconds[name] = round(time.perf_counter() - t0, 1)
            if before is None:
                os.environ.pop(LOG_ENV, None)
            else:
                os.environ[LOG_ENV] = before
        result.executed.append(name)
        if html:
            export_html(target, out / "html" / f"{name}.html")
    timings = out / "timings.json"  # kept across runs, so --only adds to an existing report
    seconds = json.loads(timings.read_text()) if timings.exists() else {}
    seconds.update(result.seconds)
    timings.write_text(json.dumps(seconds, indent=2) + "\n")
    result.metrics = collect_metrics(out)
    result.metrics["_run"] = {"seconds": seconds, "preset": preset,
                              "date": time.strftime("%Y-%m-%d %H:%M")}
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2, default=float) + "\n")
    write_index(out, result)
    return result


#: Notebooks that open the shared study (and so need the base product).
STUDY_NOTEBOOKS = tuple(n for n in NOTEBOOKS if n not in ("00_study_area_and_data", "01_explanatory_factors"))

#: Parameters of a notebook that :func:`smkit.workflow.study.open_study` takes.
_STUDY_KEYS = ("seed", "learners", "sw_max", "nd_max", "k", "bma_method", "train_years", "test_years", "subgrid",
               "tune")


def prepare_study(preset, params: dict, out: Path, cache: Path, notebook_dir=None, progress=True) -> None:
    """Compute the study the notebooks share (the base product above all) before running them.

    Uses the parameters the first study notebook would get, so the
    notebooks then find everything in the cache; the progress bar shows here
    rather than inside a notebook.
    """
    from smkit.workflow.study import open_study

    name = STUDY_NOTEBOOKS[0]
    # what the notebook will run with: its own defaults, then the preset and the overrides
    pars = {**notebook_parameters(name, notebook_dir),
            **resolve_parameters(name, preset=preset, params=params, out=out, cache_dir=cache,
                                 notebook_dir=notebook_dir)}
    print(f"base product for {pars['scenario']} (computed once, shared by every notebook)", flush=True)
    open_study(pars["scenario"], cache_dir=cache, progress=progress,
               **{k: pars[k] for k in _STUDY_KEYS if k in pars})


def export_html(ipynb: Path, target: Path) -> Path:
    """Export an executed notebook to a standalone HTML page."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(ipynb, as_version=4))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body)
    return target


def collect_metrics(out: Path) -> dict:
    """Merge the ``metrics/*.json`` files that notebooks wrote."""
    merged = {}
    for path in sorted((out / "metrics").glob("*.json")):
        merged[path.stem] = json.loads(path.read_text())
    return merged


def write_index(out: Path, result: RunResult) -> None:
    """Write ``README.md`` and ``index.html`` linking notebooks, figures and tables."""
    import markdown  # shipped with jupyter's dependencies

    run = result.metrics.get("_run", {})
    seconds = run.get("seconds", result.seconds)
    done = [n for n in (*NOTEBOOKS, "explore") if (out / "notebooks" / f"{n}.ipynb").exists()]
    lines = [f"# smkit report ({run.get('preset', '')})", ""]
    lines += ["Produced by `smkit reproduce`; every number and figure below is computed, "
              "none typed. Executed notebooks, their HTML exports and their logs of progress and "
              "warnings sit beside this file (`notebooks/`, `html/`, `logs/`) but are not committed.", ""]
    lines += ["| notebook | reproduces | wall [s] |", "|---|---|---|"]
    for name in done:
        lines.append(f"| [{name}](html/{name}.html) | {SECTIONS.get(name, '')} | {seconds.get(name, '')} |")
    lines.append("")
    for name in done:
        section = out / "sections" / f"{name}.md"
        if section.exists():  # a notebook's own summary (tables, figures) for the index
            lines += [section.read_text().rstrip(), ""]
    (out / "README.md").write_text("\n".join(lines) + "\n")
    html = markdown.markdown("\n".join(lines), extensions=["tables"])
    (out / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>smkit report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
        "img{max-width:100%}</style></head><body>" + html + "</body></html>\n"
    )
