"""Compile the numba kernels once, so that the first real call is fast.

The learners, the window search, the blending, the aggregation, the sub-grid
step and the BMA merge are numba kernels cached on disk (``cache=True``): the
first run on a machine compiles them (one to three minutes on two cores),
every later process loads them in under a second. :func:`warmup` runs each
of them once on a few days of the ``tiny`` world; ``make`` calls it at setup
(``smkit warmup``).
"""

from __future__ import annotations

import sys
import time
import warnings

__all__ = ["warmup"]

#: A few days of the tiny world reach every kernel: each learner, the windows, blending, gap filling.
WARMUP_DAYS = slice("2009-07-01", "2009-07-12")


def warmup(progress: bool = True) -> dict[str, float]:
    """Run every compiled kernel once (compiling and caching it where it is not cached yet).

    Parameters
    ----------
    progress : bool, default True
        Say on stderr what is compiled and how long it took.

    Returns
    -------
    dict
        Seconds per step: ``learners`` (the four learners with windows and
        blending), ``subgrid`` (the sub-grid pattern), ``bma`` (zones and the merge).
    """
    from smkit.bma import fit_product
    from smkit.engine import downscale
    from smkit.engine.learners.base import kernels_cached
    from smkit.synth import make_scenario

    def say(text):
        if progress:
            print(f"smkit warmup: {text}", file=sys.stderr, flush=True)

    cached = kernels_cached()
    say("kernels are cached; loading them" if cached else
        "compiling the kernels (first run on this machine: one to three minutes on two cores, cached for later runs)")
    sc = make_scenario("tiny")
    sel = {"time": WARMUP_DAYS}
    coarse, fine = sc.coarse.sel(sel).load(), sc.fine.sel(sel).load()
    times = {}
    t0 = time.perf_counter()
    product = downscale(coarse, fine, progress=False)
    times["learners"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a dozen days of nine stations: the fits warn they are short
        product = downscale(coarse, fine, progress=False, stations=sc.stations, learners=("mlr",)).load()
        times["subgrid"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_product(product, sc.stations, coarse=sc.coarse, k=1).apply(product).load()
    times["bma"] = time.perf_counter() - t0
    say("done in " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    return times
