"""The ``smkit`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    help="smkit: downscale coarse satellite soil moisture to 1-km daily maps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks; results go to reports/benchmarks/.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def _message(err: BaseException) -> str:
    # KeyError quotes its message and OSError keeps the errno in args[0]: say the sentence itself
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.strerror}: {err.filename}"
    return str(err)


def _open_scenario(source, seed: int = 0, cache: bool = True):
    """The scenario of a preset or a store (:func:`smkit.workflow.scenario.load_scenario`), or a message."""
    from smkit.workflow.scenario import load_scenario

    try:
        return load_scenario(source, seed=seed, cache=cache)
    except FileNotFoundError as err:
        raise typer.BadParameter(str(err)) from None
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None


def _preset_names() -> list[str]:
    from smkit.synth import PRESETS

    return sorted(PRESETS)


@app.command()
def synth(
    preset: Annotated[str, typer.Argument(help="tiny, demo or three-north")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .zarr store or .nc file")],
    seed: Annotated[int, typer.Option(help="Seed of the synthetic world")] = 0,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
):
    """Build a synthetic scenario and write it to Zarr (or NetCDF for a .nc path)."""
    from smkit.synth import PRESETS, make_scenario

    if preset not in PRESETS:
        raise typer.BadParameter(f"unknown preset {preset!r}; choose one of {_preset_names()}")
    if out.exists():
        raise typer.BadParameter(f"{out} exists; remove it or choose another path")
    sc = make_scenario(preset, seed)
    if out.suffix == ".nc":
        sc.to_netcdf(out)
    else:
        sc.to_zarr(out, progress=progress)
    typer.echo(f"wrote {preset} scenario (seed {seed}) to {out}")


@app.command()
def reproduce(
    preset: Annotated[str, typer.Option(help="Scenario preset (tiny, demo) or a scenario/cube store")] = "demo",
    out: Annotated[Path | None, typer.Option(help="Run folder (default reports/PRESET)")] = None,
    params: Annotated[Path | None, typer.Option(help="YAML file of parameter overrides")] = None,
    only: Annotated[str | None, typer.Option(help="Comma-separated notebook names to run")] = None,
    cache: Annotated[Path | None, typer.Option(help="Cache folder for scenarios and products")] = None,
    html: Annotated[bool, typer.Option(help="Export each notebook to HTML")] = True,
):
    """Run the paper's notebooks in order with papermill and write the report."""
    from smkit.workflow.reproduce import NotebookFailed, run

    out = out or Path("reports") / Path(preset).stem
    names = [x.strip() for x in only.split(",") if x.strip()] if only else None
    try:
        res = run(preset, out, params=params, only=names, cache_dir=cache, html=html)
    except (NotebookFailed, KeyError, ValueError, OSError) as err:
        typer.echo(f"error: {_message(err)}", err=True)
        raise typer.Exit(1) from None
    total = sum(res.seconds.values())
    typer.echo(f"report: {out / 'README.md'} (and index.html); {len(res.executed)} notebooks in {total:.0f} s")
    typer.echo(f"figures: {out / 'figures'}  tables: {out / 'tables'}  metrics: {out / 'metrics.json'}")


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="A scenario store (.zarr) or file (.nc)")],
):
    """Check a scenario's coarse, fine and station data against smkit's data model."""
    from smkit.core import schema as io
    from smkit.core.grid import Grid

    sc = _open_scenario(path)
    try:
        io.check_coarse(sc.coarse)
        io.check_fine(sc.fine, coarse=sc.coarse)
        io.check_stations(sc.stations, grid=Grid.from_dataset(sc.coarse))
    except io.InputError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: coarse, fine and stations conform to the data model")


@app.command("downscale")
def downscale_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output product .zarr (resumable)")],
    scenario: Annotated[str, typer.Option(help="Preset name (tiny, demo) or a scenario store path")] = "demo",
    strategy: Annotated[str | None, typer.Option(help="window (default) or global")] = None,
    learners: Annotated[str | None, typer.Option(help="Comma-separated, default all: rf,mlr,svr,xgb")] = None,
    backend: Annotated[str | None, typer.Option(help="fast (default) or reference")] = None,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD)")] = None,
    time_chunk: Annotated[int | None, typer.Option(min=1, help="Days per chunk")] = None,
    tile: Annotated[int | None, typer.Option(min=1, help="Coarse cells per chunk side")] = None,
    aggregation: Annotated[str | None, typer.Option(help="mean (default) or cubic")] = None,
    tune: Annotated[bool, typer.Option(help="Tune hyperparameters by 10-fold CV first")] = False,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Chunks processed at once (default: cores, at most 4)")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="threads (default), synchronous, processes, or a dask scheduler address tcp://HOST:PORT")] = None,
    seed: Annotated[int, typer.Option(help="Scenario and forest seed")] = 0,
):
    """Downscale a scenario's coarse soil moisture to its fine grid, streaming to Zarr.

    A killed run restarted with the same arguments resumes where it stopped. With --start or --end a
    preset is built lazily: only the asked days (and the spin-up they need) are computed, nothing cached.
    """
    from smkit.core.store import StoreError
    from smkit.engine import downscale
    from smkit.synth import PRESETS

    lazy = scenario in PRESETS and bool(start or end)  # only the asked days (and their halo) are built
    sc = _open_scenario(scenario, seed, cache=not lazy)
    coarse, fine = _period(sc, start, end)
    if lazy:
        coarse, fine = _build_once(coarse, fine)
    # only what the user gave: every default lives in smkit.engine.Config and downscale's signature
    given = {"strategy": strategy, "backend": backend, "aggregation": aggregation, "time_chunk": time_chunk,
             "params": "tune" if tune else None,
             "learners": None if learners is None else tuple(x.strip() for x in learners.split(",") if x.strip())}
    try:
        downscale(coarse, fine, out=out, seed=seed, tile=tile, workers=workers, scheduler=scheduler,
                  **{k: v for k, v in given.items() if v is not None})
    except (KeyError, ValueError, OSError, StoreError) as err:
        typer.echo(f"error: {_message(err)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"product written to {out}")


#: Largest period (bytes of fine fields) of a lazily built preset that is built once in memory before
#: downscaling; a longer one streams, each chunk building its own inputs.
BUILD_ONCE_BYTES = 4 * 2**30


def _build_once(coarse, fine):
    """Build a short period of a synthetic preset once, in memory (chunks would each rebuild their halo)."""
    import dask

    from smkit.core.progress import dask_progress

    if fine.nbytes + coarse.nbytes > BUILD_ONCE_BYTES:
        return coarse, fine
    typer.echo(f"building the period's inputs ({(fine.nbytes + coarse.nbytes) / 2**20:.0f} MB) ...", err=True)
    with dask_progress("building", disable=not sys.stderr.isatty()):
        return dask.persist(coarse, fine)


def _period(sc, start: str | None, end: str | None):
    """The scenario's coarse and fine data from ``start`` to ``end``, refusing an empty or reversed period."""
    import pandas as pd

    first, last = (pd.Timestamp(sc.coarse.time.values[i]).date() for i in (0, -1))
    try:
        t0, t1 = (None if d is None else pd.Timestamp(d) for d in (start, end))
    except ValueError as err:
        raise typer.BadParameter(f"{err}; give dates as YYYY-MM-DD") from None
    if t0 is not None and t1 is not None and t0 > t1:
        raise typer.BadParameter(f"--start {t0.date()} is after --end {t1.date()}")
    sel = {"time": slice(start, end)}
    coarse, fine = sc.coarse.sel(sel), sc.fine.sel(sel)
    if coarse.sizes["time"] == 0:
        raise typer.BadParameter(f"no days between --start {start} and --end {end}: the data run from "
                                 f"{first} to {last}")
    return coarse, fine


@app.command("warmup")
def warmup_cmd():
    """Compile the numba kernels once (one to three minutes the first time), so that the first real run is fast."""
    from smkit.workflow.warmup import warmup

    warmup(progress=True)


@app.command("ingest")
def ingest_cmd(
    config: Annotated[Path, typer.Option("--config", "-c",
                                         help="sources.yaml (see docs/data-sources.md)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output cube .zarr (resumable)")],
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
):
    """Read real archive files into an analysis-ready cube (Zarr); a rerun resumes."""
    from smkit.core.schema import InputError
    from smkit.core.store import StoreError
    from smkit.readers import ingest

    try:
        ingest(config, out, progress=progress)
    except (InputError, ValueError, OSError, StoreError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"cube written to {out}; open it with smkit.open_scenario")


@app.command("export")
def export_cmd(
    product: Annotated[Path, typer.Argument(help="Product store (.zarr, or .nc)")],
    to: Annotated[Path | None, typer.Option("--to", help="NetCDF4 file to write (CF-1.11, zlib)")] = None,
    to_geotiff: Annotated[Path | None, typer.Option(
        "--to-geotiff", help="Folder for one Cloud-Optimised GeoTIFF per model and day")] = None,
    model: Annotated[str | None, typer.Option(
        help="Comma-separated models, e.g. rf,bma (default: all; bma when stored beside the store)")] = None,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD)")] = None,
):
    """Export a product for GIS tools: a CF NetCDF4 file (--to) and/or GeoTIFFs (--to-geotiff), EPSG:4326."""
    from smkit.workflow.export import export_geotiff, export_netcdf

    if not product.exists():
        raise typer.BadParameter(f"no product store at {product}")
    if to is None and to_geotiff is None:
        raise typer.BadParameter("say where to: --to FILE.nc and/or --to-geotiff FOLDER")
    models = None if model is None else [m.strip() for m in model.split(",") if m.strip()]
    days = None if start is None and end is None else slice(start, end)
    try:
        if to is not None:
            typer.echo(f"wrote {export_netcdf(product, to, models=models, days=days)}")
        if to_geotiff is not None:
            files = export_geotiff(product, to_geotiff, models=models, days=days)
            typer.echo(f"wrote {len(files)} GeoTIFFs to {to_geotiff}")
    except (KeyError, ValueError, OSError) as err:
        typer.echo(f"error: {_message(err)}", err=True)
        raise typer.Exit(2) from None


@app.command("serve")
def serve_cmd(
    scenario: Annotated[str, typer.Option(help="Preset name (tiny, demo) or a scenario store path")] = "demo",
    product: Annotated[Path | None, typer.Option(help="Product store (.zarr) to show; default: the cached "
                                                      "full product, else a quick MLR one")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 5006,
    address: Annotated[str, typer.Option(help="Address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
    show: Annotated[bool, typer.Option(help="Open a browser tab")] = False,
    seed: Annotated[int, typer.Option(help="Scenario seed")] = 0,
):
    """Serve the map explorer of a scenario's product in the browser (Ctrl-C stops it)."""
    from smkit.app import serve
    from smkit.synth import PRESETS

    if scenario not in PRESETS and not Path(scenario).exists():
        raise typer.BadParameter(f"{scenario!r} is neither a preset ({_preset_names()}) nor a path")
    if product is not None and not product.exists():
        raise typer.BadParameter(f"no product store at {product}")
    typer.echo(f"smkit map explorer on http://{address}:{port}/ (Ctrl-C stops it)")
    serve(scenario, product=product, port=port, address=address, show=show, seed=seed)


@bench_app.command("synth")
def bench_synth(
    out: Annotated[Path, typer.Option(help="Results folder")] = Path("reports/benchmarks"),
):
    """Time and peak memory of building the tiny, demo and one three-north day."""
    from smkit.workflow.bench import run_synth

    df = run_synth(out)
    typer.echo(df.to_string())


@bench_app.command("engine")
def bench_engine(
    out: Annotated[Path, typer.Option(help="Results folder")] = Path("reports/benchmarks"),
    preset: Annotated[str, typer.Option(help="Preset of the one-day case")] = "three-north",
):
    """Windows per second per learner and backend, and one full day on 1 and 2 threads."""
    from smkit.workflow.bench import run_engine

    df = run_engine(out, preset_day=preset)
    typer.echo(df.to_string())


@bench_app.command("requests")
def bench_requests(
    out: Annotated[Path, typer.Option(help="Results folder")] = Path("reports/benchmarks"),
):
    """One three-north day from a cold start, and threads against a two-process cluster over tcp://."""
    from smkit.workflow.bench import run_requests

    df = run_requests(out)
    typer.echo(df.to_string())


@bench_app.command("options")
def bench_options(
    out: Annotated[Path, typer.Option(help="Results folder")] = Path("reports/benchmarks"),
    preset: Annotated[str, typer.Option(help="Scenario preset")] = "tiny",
):
    """Skill against the synthetic truth of each engine option (decides the defaults)."""
    from smkit.workflow.bench import run_options

    df = run_options(out, preset=preset)
    typer.echo(df.to_string())


def main():  # console-script entry point
    """Run the smkit command line."""
    app()


if __name__ == "__main__":
    main()
