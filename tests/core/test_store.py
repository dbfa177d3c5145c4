"""The one crash-safe store protocol: atomic creation, the request on record, part markers, one writer."""

import errno
import json
import os
import subprocess
import sys

import pytest

from smkit.core import store as st


def test_a_killed_creation_leaves_no_store_and_is_rebuilt(tmp_path):
    target = tmp_path / "p.zarr"

    def dies(tmp):
        tmp.mkdir()
        (tmp / "half").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        st.write_atomically(target, dies)
    assert not target.exists() and (tmp_path / "p.zarr.partial").exists()
    st.write_atomically(target, lambda tmp: (tmp.mkdir(), (tmp / "whole").write_text("y")))
    assert sorted(p.name for p in target.iterdir()) == ["whole"]
    assert not (tmp_path / "p.zarr.partial").exists()
    with pytest.raises(st.StoreError, match="exists already"):
        st.write_atomically(target, lambda tmp: tmp.mkdir())


def test_a_different_request_is_refused_naming_each_difference(tmp_path):
    stored = {"start": "2009-06-01", "end": "2009-06-30", "tile": 24}
    attrs = {st.REQUEST_ATTR: json.dumps(stored)}
    st.check_request(tmp_path, st.request_of(attrs), dict(stored))  # same: fine
    with pytest.raises(st.StoreMismatch, match="start: the store has '2009-06-01', this run asks for "
                       "'2009-06-09'") as err:
        st.check_request(tmp_path, st.request_of(attrs), {**stored, "start": "2009-06-09"})
    assert err.value.differences == {"start": ("2009-06-01", "2009-06-09")}
    with pytest.raises(st.StoreMismatch, match="without a recorded request"):
        st.check_request(tmp_path, st.request_of({}), stored)


def test_parts_are_marked_only_when_asked_and_reset_forgets_them(tmp_path):
    parts = st.Parts(tmp_path / "p.zarr")
    assert not parts.done("a")
    parts.mark("a")
    assert parts.done("a") and (tmp_path / "p.zarr.done" / "a").exists()
    parts.reset()
    assert not parts.done("a")


def test_a_second_live_writer_is_stopped_and_a_dead_ones_lock_taken_over(tmp_path):
    target = tmp_path / "p.zarr"
    with st.lock(target):
        with pytest.raises(st.StoreLocked, match=f"pid {os.getpid()}"):
            with st.lock(target):
                pass
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    import socket

    (tmp_path / "p.zarr.lock").write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    with st.lock(target) as held:
        assert json.loads(held.read_text())["pid"] == os.getpid()
    assert not (tmp_path / "p.zarr.lock").exists()


def test_disk_full_is_reported_as_such(tmp_path):
    with pytest.raises(st.StoreError, match="the disk is full while writing .*finished parts are kept"):
        with st.reporting_disk_full(tmp_path / "p.zarr"):
            raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(PermissionError):  # other errors pass unchanged
        with st.reporting_disk_full(tmp_path / "p.zarr"):
            raise PermissionError(errno.EACCES, "denied")


# ------------------------------------------------------------------ the engine on the protocol
@pytest.fixture(scope="module")
def days(tiny):
    sel = {"time": slice("2009-07-01", "2009-07-12")}
    return tiny.coarse.sel(sel), tiny.fine.sel(sel)


def _run(days, out, **kw):
    from smkit.engine import downscale

    coarse, fine = days
    return downscale(coarse, fine, learners=("mlr",), time_chunk=4, out=out, progress=False, **kw)


def test_a_kill_while_the_template_is_written_resumes_to_the_same_product(days, tmp_path, monkeypatch):
    import xarray as xr

    from smkit.engine import store as engine_store

    ref = _run(days, tmp_path / "ref.zarr").load()
    real = engine_store.write_atomically

    def killed(store, write):
        def half(tmp):
            write(tmp)
            raise KeyboardInterrupt  # the template is on disk, the rename never happens

        return real(store, half)

    monkeypatch.setattr(engine_store, "write_atomically", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(days, tmp_path / "p.zarr")
    monkeypatch.setattr(engine_store, "write_atomically", real)
    assert not (tmp_path / "p.zarr").exists() and (tmp_path / "p.zarr.partial").exists()
    again = _run(days, tmp_path / "p.zarr")
    xr.testing.assert_identical(again.load().drop_attrs(), ref.drop_attrs())
    assert not (tmp_path / "p.zarr.lock").exists()


def test_a_store_is_not_reused_for_another_period_or_chunking(days, tmp_path):
    coarse, fine = days
    _run(days, tmp_path / "p.zarr")
    with pytest.raises(st.StoreMismatch, match="period: the store has '2009-07-01 to 2009-07-12 .12 days.', "
                       "this run asks for '2009-07-03 to 2009-07-12"):
        _run((coarse.isel(time=slice(2, None)), fine.isel(time=slice(2, None))), tmp_path / "p.zarr")
    with pytest.raises(st.StoreMismatch, match="time_chunk: the store has 4, this run asks for 6"):
        from smkit.engine import downscale

        downscale(coarse, fine, learners=("mlr",), time_chunk=6, out=tmp_path / "p.zarr", progress=False)


def test_a_second_writer_of_the_same_store_is_stopped(days, tmp_path):
    with st.lock(tmp_path / "p.zarr"):
        with pytest.raises(st.StoreLocked, match="is writing"):
            _run(days, tmp_path / "p.zarr")


def test_a_cache_writer_waits_for_the_other_instead_of_failing(tmp_path):
    import threading
    import time

    target = tmp_path / "c.zarr"
    released = []

    def holder():
        with st.lock(target):
            time.sleep(1.0)
            released.append(time.monotonic())

    th = threading.Thread(target=holder)
    th.start()
    time.sleep(0.2)
    with pytest.raises(st.StoreLocked):
        with st.lock(target):
            pass
    with st.lock(target, wait=10):
        assert released, "the waiting writer got the lock only after the holder released it"
    th.join()


def test_a_kill_while_a_chunk_is_written_resumes_to_the_same_product(days, tmp_path, monkeypatch):
    import xarray as xr

    from smkit.engine import run

    ref = _run(days, tmp_path / "ref.zarr").load()
    real, calls = run.write_part, []

    def dies_after_writing(store, result, regions):
        calls.append(1)
        real(store, result, regions)  # the region is on disk, its marker never set
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(run, "write_part", dies_after_writing)
    with pytest.raises(KeyboardInterrupt):
        _run(days, tmp_path / "p.zarr", workers=1)
    monkeypatch.setattr(run, "write_part", real)
    assert len(list((tmp_path / "p.zarr.done").iterdir())) == 1  # only the first chunk counts as done
    again = _run(days, tmp_path / "p.zarr")
    xr.testing.assert_identical(again.load().drop_attrs(), ref.drop_attrs())
