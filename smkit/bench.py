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
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    (out / "synth.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    md = (
        f"# Benchmark: scenario generation\n\n{meta['date']}, {meta['machine']}. "
        "Run with `smkit bench synth`. Each case runs in a fresh process; wall time includes "
        "the imports of the case.\n\n" + df.to_markdown() + "\n"
    )
    (out / "synth.md").write_text(md)
    return df
