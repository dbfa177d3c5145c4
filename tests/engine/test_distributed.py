"""The distributed path for real: a LocalCluster of two worker processes reached by its tcp:// address."""

import time

import pytest
import xarray as xr

from smkit.core.cf import PROVENANCE_ATTRS


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_a_two_process_cluster_gives_the_threaded_product_into_a_store(tiny, cluster, tmp_path):
    from smkit.engine import downscale

    sel = {"time": slice("2009-07-01", "2009-07-16")}
    coarse, fine = tiny.coarse.sel(sel), tiny.fine.sel(sel)
    kw = {"learners": ("mlr", "rf"), "time_chunk": 4, "tile": 4, "progress": False}
    t0 = time.perf_counter()
    threaded = downscale(coarse, fine, out=tmp_path / "threads.zarr", **kw).load()
    t1 = time.perf_counter()
    remote = downscale(coarse, fine, out=tmp_path / "tcp.zarr", scheduler=cluster.scheduler_address, **kw).load()
    t2 = time.perf_counter()
    assert cluster.scheduler_address.startswith("tcp://")
    for ds in (remote, threaded):  # two stores: each stamped with its own creation time
        for key in PROVENANCE_ATTRS:
            ds.attrs.pop(key)
    xr.testing.assert_identical(remote, threaded)
    print(f"threads {t1 - t0:.1f} s, two processes over tcp {t2 - t1:.1f} s")
