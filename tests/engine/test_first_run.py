"""The first run on a machine says it is compiling instead of seeming to hang."""

from pathlib import Path


def test_kernels_cached_looks_where_numba_caches(tmp_path, monkeypatch):
    from smkit.engine.learners import base

    monkeypatch.setattr(base, "__file__", str(tmp_path / "base.py"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    assert not base.kernels_cached()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "_trees._forest_window-720.py312.nbi").touch()
    assert base.kernels_cached()


def test_the_first_run_says_it_compiles(tiny, monkeypatch, capsys):
    from smkit.engine import downscale, run

    monkeypatch.setattr(run, "kernels_cached", lambda: False)
    sel = {"time": slice("2009-07-01", "2009-07-02")}
    downscale(tiny.coarse.sel(sel), tiny.fine.sel(sel), learners=("mlr",), progress=True)
    assert "compiling the learners' kernels" in capsys.readouterr().err
    monkeypatch.setattr(run, "kernels_cached", lambda: True)
    downscale(tiny.coarse.sel(sel), tiny.fine.sel(sel), learners=("mlr",), progress=True)
    assert "compiling" not in capsys.readouterr().err


def test_warmup_runs_every_kernel_and_says_so(capsys):
    from smkit.workflow.warmup import warmup

    times = warmup(progress=True)
    assert set(times) == {"learners", "subgrid", "bma"} and all(t > 0 for t in times.values())
    err = capsys.readouterr().err
    assert err.startswith("smkit warmup: ") and "done in" in err
