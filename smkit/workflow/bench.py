"""Benchmarks: wall time and peak memory of smkit's heavy steps, written down.

Each case runs in a fresh Python process so that its peak resident memory is
its own (``resource.getrusage(RUSAGE_CHILDREN)``). Results go to
``reports/benchmarks/<suite>.md`` (committed) and ``.json``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

__all__ = [
    "SYNTH_CASES",
    "LIMITS",
    "run_case",
    "ENGINE_WINDOWS",
    "PREPARE_DAY",
    "ENGINE_DAY",
    "run_engine",
    "run_synth",
    "OPTION_VARIANTS",
    "run_options",
    "nesting_factor_of",
    "REQUEST_DAY",
    "DISTRIBUTED",
    "run_requests",
]

SYNTH_CASES = {
    "tiny: build in memory": (
        "from smkit.synth import make_scenario; make_scenario('tiny')"
    ),
    "demo: build and write Zarr": (
        "from smkit.synth import make_scenario; "
        "make_scenario('demo').to_zarr({tmp!r} + '/demo.zarr', progress=False)"
    ),
    "three-north: one day, all fine and coarse fields": (
        "import dask; from smkit.synth import make_scenario; sc = make_scenario('three-north'); "
        "d = '2009-07-15'; dask.compute(sc.fine.drop_vars('dem').sel(time=d), "
        "sc.truth.sel(time=d), sc.coarse.sel(time=d))"
    ),
}

LIMITS = {
    "tiny: build in memory": "<= 5 s",
    "demo: build and write Zarr": "<= 60 s, <= 2 GB",
    "three-north: one day, all fine and coarse fields": "(no target; lazy)",
}


_WRAPPER = """
import json, resource, time
t = time.perf_counter()
exec(compile({code!r}, "<bench>", "exec"))
wall = time.perf_counter() - t
print(json.dumps([wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))
"""


def run_case(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; return (wall seconds, peak resident memory in MB).

    Wall time is measured inside the child and includes its imports.
    """
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run(
            [sys.executable, "-c", _WRAPPER.format(code=code.format(tmp=tmp))],
            check=True, capture_output=True, text=True,
        )
    wall, peak = json.loads(res.stdout.strip().splitlines()[-1])
    return wall, peak


ENGINE_WINDOWS = """
import json, time, numpy as np, numba
numba.set_num_threads(1)
from smkit.synth import make_scenario
from smkit.engine import Chunk, Config, Halo, Sources, load_inputs
from smkit.engine.windows import candidates, choose_windows, gather
from smkit.engine.learners import fit_predict
sc = make_scenario("tiny")
sel = dict(time=slice("2009-06-01", "2009-07-31"))
coarse, fine = sc.coarse.sel(sel), sc.fine.sel(sel)
cfg = Config()
y_all = coarse["sm"].values.astype(float)
nt = y_all.shape[0]
inp = load_inputs(Chunk(1, nt - 1, 0, 8, 0, 8), Sources(y_all, fine, 10), cfg, Halo(1, 2))
valid = np.isfinite(inp.y) & np.isfinite(inp.agg).all(-1)
ch = choose_windows(valid, cfg.min_samples, candidates())
cells = np.argwhere(ch.count >= 20)
cells = cells[(cells[:, 1] >= 2) & (cells[:, 1] < 10) & (cells[:, 2] >= 2) & (cells[:, 2] < 10)]
ht, hs, f = inp.halo.days, inp.halo.cells, 10
cells = cells[(cells[:, 0] >= ht) & (cells[:, 0] - ht < inp.fine.shape[0])]
X, y, ptr = gather(valid, inp.agg, inp.y, ch, cells)
# each window predicts real fine pixels: the 25 x 25 (0.25 degree at 0.01 degree) around its
# cell's centre on its day, the valid ones
blocks = []
for t, i, j in cells:
    cy, cx = (i - hs) * f + f // 2, (j - hs) * f + f // 2
    b = inp.fine[t - ht, max(cy - 12, 0):cy + 13, max(cx - 12, 0):cx + 13].reshape(-1, X.shape[1])
    blocks.append(b[np.isfinite(b).all(axis=1)])
Z = np.concatenate(blocks)
zptr = np.concatenate([[0], np.cumsum([len(b) for b in blocks])])
out = {{}}
for name in {learners!r}:
    for backend, n in (("reference", {n_ref}), ("fast", {n_fast})):
        n = min(n, len(cells))
        args = (X[:ptr[n]], y[:ptr[n]], ptr[:n + 1], Z[:zptr[n]], zptr[:n + 1])
        # warm up outside the timing: compilation (fast), imports and first-call setup (reference)
        fit_predict(name, X[:ptr[2]], y[:ptr[2]], ptr[:3], Z[:zptr[2]], zptr[:3], backend=backend)
        t = time.perf_counter()
        fit_predict(name, *args, backend=backend)
        out[name + "/" + backend] = n / (time.perf_counter() - t)
print("RESULT", json.dumps({{"rates": out, "mean_samples": float(np.diff(ptr).mean()),
                            "mean_pixels": float(np.diff(zptr).mean())}}))
"""

PREPARE_DAY = """
import dask
from smkit.synth import make_scenario
from smkit.core.schema import encode_group
sc = make_scenario({preset!r})
sel = dict(time=slice({first!r}, {last!r}))  # the day, its window days and the gap-fill halo
writes = [encode_group(getattr(sc, g).sel(sel).chunk({{"time": -1}})).to_zarr(
              {store!r}, group=g, mode="w" if i == 0 else "a", compute=False, consolidated=False)
          for i, g in enumerate(("coarse", "fine"))]
from dask.diagnostics import ProgressBar
with ProgressBar():
    dask.compute(*writes)
"""

ENGINE_DAY = """
import json, time, resource, tempfile, numba
numba.set_num_threads({threads})
import xarray as xr
from smkit.engine import downscale
coarse = xr.open_zarr({store!r}, group="coarse", consolidated=False)
fine = xr.open_zarr({store!r}, group="fine", consolidated=False)
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    p = downscale(coarse, fine, days=slice({day!r}, {day!r}), out=tmp + "/p.zarr", progress=False,
                  tile={tile}, workers={workers}, blend={blend})
    wall = time.perf_counter() - t
    cells = int((p["window_flag"].values & 2 == 0).sum())
print("RESULT", json.dumps({{"wall": wall, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                            "cells": cells}}))
"""


def _child(code: str) -> dict:
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    line = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def run_engine(out: str | Path = "reports/benchmarks", preset_day: str = "three-north",
               day: str = "2009-07-15", n_ref: int = 40, n_fast: int = 2000, tile: int = 24,
               cache_dir: str | Path | None = None, repeats: int = 3) -> pd.DataFrame:
    """Benchmark the window engine; write ``engine.md`` and ``engine.json``.

    1. Windows per second per learner and backend on one core, on real
       windows of the tiny scenario (about 40 samples x 5 covariates) each
       predicting the valid 1-km pixels of the 25 x 25 around its cell's centre (the
       covariates of that day); best of ``repeats`` runs (the machine is shared).
    2. One full day of ``preset_day`` (all four learners, fast backend,
       window strategy): its inputs (the day, the window days and the
       gap-filling halo) are generated once into a store in the cache (not
       timed; for three-north this takes a quarter of an hour), then
       ``downscale`` runs in a fresh process with 1 and with 2 threads in one
       chunk at a time, with the engine's default of two chunks side by side,
       and the same without blending: wall time, peak memory of that
       process, speed-up, cost of blending.
    """
    from smkit.workflow.cache import DEFAULT_CACHE

    rows = []
    best: dict[str, float] = {}
    for _ in range(repeats):
        r = _child(ENGINE_WINDOWS.format(learners=("mlr", "svr", "xgb", "rf"), n_ref=n_ref, n_fast=n_fast))
        for k, v in r["rates"].items():
            best[k] = max(best.get(k, 0.0), v)
    for name in ("mlr", "svr", "xgb", "rf"):
        ref, fast = best[f"{name}/reference"], best[f"{name}/fast"]
        rows.append({"case": f"windows/s, {name}, 1 core", "reference": round(ref, 1),
                     "fast": round(fast, 1), "fast / reference": round(fast / ref, 1)})
        print(rows[-1], flush=True)
    t = pd.Timestamp(day)
    first, last = str((t - pd.Timedelta(days=9)).date()), str((t + pd.Timedelta(days=9)).date())
    from smkit.synth import WORLD_VERSION

    store = Path(cache_dir or DEFAULT_CACHE) / f"bench-{preset_day}-{day}-w{WORLD_VERSION}.zarr"
    if not store.exists():
        tmp = store.with_name(store.name + ".partial")
        print(f"generating the inputs of {day} into {store} (once)", flush=True)
        subprocess.run([sys.executable, "-c", PREPARE_DAY.format(preset=preset_day, first=first, last=last,
                                                                 store=str(tmp))], check=True)
        tmp.rename(store)
    # (numba threads, chunks at once, blending): 1 and 2 threads in one chunk at a time, then the
    # engine's default on two cores (two chunks side by side), with and without blending
    setups = {"1 worker, 1 thread": (1, 1, True), "1 worker, 2 threads": (2, 1, True),
              "2 workers (default)": (1, 2, True), "2 workers, no blending": (1, 2, False)}
    day_res = {}
    for label, (threads, workers, blend) in setups.items():
        day_res[label] = _child(ENGINE_DAY.format(threads=threads, store=str(store), day=day, tile=tile,
                                                  workers=workers, blend=blend))
        print(label, day_res[label], flush=True)
    for label, res in day_res.items():
        rows.append({"case": f"one {preset_day} day ({res['cells']} cells), 4 learners, {label}: wall [s]",
                     "fast": round(res["wall"], 1)})
        rows.append({"case": f"one {preset_day} day, {label}: peak memory [MB]", "fast": round(res["peak_mb"])})
    rows.append({"case": "speed-up 1 -> 2 threads (1 worker)",
                 "fast": round(day_res["1 worker, 1 thread"]["wall"] / day_res["1 worker, 2 threads"]["wall"], 2)})
    rows.append({"case": "cost of blending (2 workers)",
                 "fast": round(day_res["2 workers (default)"]["wall"] / day_res["2 workers, no blending"]["wall"], 2)})
    df = pd.DataFrame(rows).set_index("case")
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": _machine(),
        "mean_samples_per_window": r["mean_samples"],
        "mean_pixels_per_window": r["mean_pixels"],
    }
    md = (
        f"# Benchmark: the window engine\n\n{meta['date']}, {meta['machine']}. Run with "
        f"`smkit bench engine`. Windows hold {r['mean_samples']:.0f} samples on average and each "
        f"predicts {r['mean_pixels']:.0f} real fine pixels (best of {repeats} runs). The day case times `downscale` alone in a "
        "fresh process, its inputs read from a Zarr store (generated once, not timed), output "
        "written to Zarr.\n\n" + df.to_markdown() + "\n"
    )
    _write_results(out, "engine", meta, rows, md)
    return df


def run_synth(out: str | Path = "reports/benchmarks", cases: list[str] | None = None) -> pd.DataFrame:
    """Benchmark scenario generation; write ``synth.md`` and ``synth.json``.

    Wall time includes the imports of each case (about 2 s). Peak memory is
    the maximum resident set size of the child process (MB).
    """
    rows = []
    names = cases or list(SYNTH_CASES)
    for name in names:
        wall, peak = run_case(SYNTH_CASES[name])
        rows.append({"case": name, "wall [s]": round(wall, 1), "peak memory [MB]": round(peak),
                     "target": LIMITS.get(name, "")})
        print(f"{name}: {wall:.1f} s, {peak:.0f} MB", flush=True)
    df = pd.DataFrame(rows).set_index("case")
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": _machine()}
    md = (
        f"# Benchmark: scenario generation\n\n{meta['date']}, {meta['machine']}. "
        "Run with `smkit bench synth`. Each case runs in a fresh process; wall time includes "
        "the imports of the case.\n\n" + df.to_markdown() + "\n"
    )
    _write_results(out, "synth", meta, rows, md)
    return df


REQUEST_DAY = (
    "from typer.testing import CliRunner; from smkit.cli import app; "
    "r = CliRunner().invoke(app, ['downscale', '--scenario', 'three-north', '--start', {day!r}, '--end', {day!r}, "
    "'--out', {tmp!r} + '/day.zarr']); assert r.exit_code == 0, r.output; "
    "import subprocess; print('STORE_MB', subprocess.run(['du', '-sm', {tmp!r} + '/day.zarr'], "
    "capture_output=True, text=True).stdout.split()[0])"
)

DISTRIBUTED = """
import json, time, tempfile, dask, xarray as xr
from distributed import LocalCluster
from smkit.synth import make_scenario
from smkit.engine import downscale
tmp = tempfile.mkdtemp()
sc = make_scenario({preset!r})
sel = dict(time=slice({first!r}, {last!r}))
dask.compute(sc.coarse.sel(sel).to_zarr(tmp + "/in.zarr", group="coarse", mode="w", compute=False,
                                        consolidated=False),
             sc.fine.sel(sel).chunk({{"time": -1}}).to_zarr(tmp + "/in.zarr", group="fine", mode="a",
                                                           compute=False, consolidated=False))
coarse = xr.open_zarr(tmp + "/in.zarr", group="coarse", consolidated=False)
fine = xr.open_zarr(tmp + "/in.zarr", group="fine", consolidated=False)
kw = dict(progress=False, workers=2)
t = time.perf_counter(); a = downscale(coarse, fine, out=tmp + "/threads.zarr", **kw); threads = time.perf_counter() - t
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
    t = time.perf_counter(); b = downscale(coarse, fine, out=tmp + "/tcp.zarr", scheduler=c.scheduler_address, **kw)
    tcp = time.perf_counter() - t
print("RESULT", json.dumps({{"threads": threads, "tcp": tcp, "identical": bool(a.load().identical(b.load())),
                             "days": int(coarse.sizes["time"])}}))
"""


def run_requests(out: str | Path = "reports/benchmarks", day: str = "2009-07-15", preset: str = "demo",
                 days: tuple[str, str] = ("2009-07-01", "2009-07-16")) -> pd.DataFrame:
    """Benchmark bounded requests; write ``requests.md`` and ``requests.json``.

    Two cases, each in a fresh process: one three-north day downscaled from a cold start
    (``smkit downscale --start D --end D``: only that day and its spin-up are built, nothing is
    cached), and a ``preset`` period downscaled by two threads and by a two-process
    ``dask.distributed`` cluster reached through its ``tcp://`` address (the products must be identical).
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run([sys.executable, "-c", _WRAPPER.format(code=REQUEST_DAY.format(day=day, tmp=tmp))],
                             check=True, capture_output=True, text=True)
    lines = res.stdout.strip().splitlines()
    wall, peak = json.loads(lines[-1])
    store = next(float(x.split()[1]) for x in lines if x.startswith("STORE_MB"))
    rows.append({"case": f"three-north, one day ({day}), cold start, 4 learners", "wall [s]": round(wall, 1),
                 "peak memory [MB]": round(peak), "note": f"product store {store:.0f} MB; nothing cached"})
    print(rows[-1], flush=True)
    r = _child(DISTRIBUTED.format(preset=preset, first=days[0], last=days[1]))
    for how in ("threads", "tcp"):
        rows.append({"case": f"{preset}, {r['days']} days, 4 learners, "
                             + ("2 threads" if how == "threads" else "LocalCluster 2 processes via tcp://"),
                     "wall [s]": round(r[how], 1), "peak memory [MB]": "not measured",
                     "note": f"speed-up x{r['threads'] / r[how]:.2f}; identical products: {r['identical']}"
                     if how == "tcp" else ""})
    df = pd.DataFrame(rows).set_index("case")
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": _machine()}
    md = (f"# Benchmark: bounded requests and the distributed path\n\n{meta['date']}, {meta['machine']}. "
          "Run with `smkit bench requests`.\n\n" + df.to_markdown() + "\n")
    _write_results(out, "requests", meta, rows, md)
    return df


OPTION_VARIANTS = {
    "defaults": {},
    "residual_correction=True": {"residual_correction": True},
    "clamp_covariates=False": {"clamp_covariates": False},
    "fill_gaps=False": {"fill_gaps": False},
    "aggregation=cubic": {"aggregation": "cubic"},
}


def run_options(out: str | Path = "reports/benchmarks", preset: str = "tiny",
                period: tuple[str, str] = ("2009-05-01", "2009-08-31"),
                learners=("rf", "mlr", "svr", "xgb"), progress: bool = True) -> pd.DataFrame:
    """Measure the engine's options against the synthetic truth; write ``options.md``.

    Each variant changes one option of :func:`smkit.engine.downscale` from its
    default and scores every learner against the 1-km truth with
    :func:`smkit.validate.truth_skill` (each learner on its own valid
    pixel-days). The defaults of ``residual_correction``, ``clamp_covariates``
    and ``fill_gaps`` are the ones these numbers support.
    """
    from smkit.engine import downscale
    from smkit.synth import make_scenario
    from smkit.validate import truth_skill

    sc = make_scenario(preset)
    sel = {"time": slice(*period)}
    coarse, fine = sc.coarse.sel(sel), sc.fine.sel(sel)
    factor = nesting_factor_of(sc)
    rows = []
    for name, kw in OPTION_VARIANTS.items():
        t = time.perf_counter()
        p = downscale(coarse, fine, learners=tuple(learners), progress=False, **kw)
        wall = time.perf_counter() - t
        sk = truth_skill(p, sc.truth, factor=factor, common=False)
        for m, r in sk.iterrows():
            rows.append({"variant": name, "model": m, "r": r["r"], "ubrmse": r["ubrmse"],
                         "bias": r["bias"], "r_anomaly": r["r_anomaly"], "n": int(r["n"]),
                         "wall [s]": round(wall, 1)})
        if progress:
            print(name, f"{wall:.1f} s", sk[["r", "r_anomaly"]].round(3).to_dict(), flush=True)
    from smkit.validate import interpolation_baselines

    base = truth_skill(interpolation_baselines(coarse, sc.truth), sc.truth, factor=factor, common=False)
    for m, r in base.iterrows():
        rows.append({"variant": "baseline", "model": m, "r": r["r"], "ubrmse": r["ubrmse"],
                     "bias": r["bias"], "r_anomaly": r["r_anomaly"], "n": int(r["n"]), "wall [s]": 0.0})
    df = pd.DataFrame(rows).set_index(["variant", "model"])
    meta = {"date": time.strftime("%Y-%m-%d"), "preset": preset, "period": list(period),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    md = (
        f"# Engine options against the synthetic truth\n\n{meta['date']}, `{preset}` scenario, "
        f"{period[0]} to {period[1]}, window strategy, fast backend. Run with `smkit bench options`. "
        "Each variant changes one option from the defaults; scores are against the 1-km truth "
        "(`r_anomaly`: correlation of within-cell anomalies, the sub-grid pattern).\n\n"
        + df.to_markdown(floatfmt=("", ".4f", ".4f", ".4f", ".4f", ".0f", ".1f")) + "\n"
    )
    _write_results(out, "options", meta, df.reset_index().to_dict(orient="records"), md)
    return df


def _machine() -> str:
    """The machine a benchmark ran on: architecture, cores and Python version."""
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _write_results(out: str | Path, name: str, meta: dict, rows: list, md: str) -> None:
    """Write a suite's results as ``out/NAME.json`` (meta and rows) and ``out/NAME.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    (out / f"{name}.md").write_text(md)


def nesting_factor_of(sc) -> int:
    """Fine pixels per coarse cell of a scenario."""
    from smkit.core.grid import Grid, nesting_factor

    return nesting_factor(Grid.from_dataset(sc.coarse), Grid.from_dataset(sc.truth))
