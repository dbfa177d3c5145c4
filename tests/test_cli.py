import json

from typer.testing import CliRunner

from smkit.cli import app

runner = CliRunner()


def test_help_lists_commands():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("synth", "reproduce", "check", "bench"):
        assert cmd in res.output


def test_synth_then_check(tmp_path):
    out = tmp_path / "tiny.zarr"
    res = runner.invoke(app, ["synth", "tiny", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert out.exists()
    res = runner.invoke(app, ["check", str(out)])
    assert res.exit_code == 0, res.output
    assert "conform" in res.output
    res = runner.invoke(app, ["synth", "tiny", "--out", str(out)])
    assert res.exit_code != 0 and "exists" in res.output


def test_synth_unknown_preset(tmp_path):
    res = runner.invoke(app, ["synth", "huge", "--out", str(tmp_path / "x.zarr")])
    assert res.exit_code != 0
    assert "tiny" in res.output


def test_reproduce_runs_a_notebook_and_writes_the_report(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["reproduce", "--preset", "tiny", "--out", str(out), "--no-html",
                              "--cache", str(tmp_path / "cache"), "--only", "00_study_area_and_data"])
    assert res.exit_code == 0, res.output
    readme = (out / "README.md").read_text()
    for fig in ("00_study_area_and_data_domain.png", "00_study_area_and_data_covariates.png"):
        assert (out / "figures" / fig).stat().st_size > 10_000
        assert fig in readme
    for table in ("stations", "data", "realism"):
        assert (out / "tables" / f"00_study_area_and_data_{table}.csv").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["00_study_area_and_data"]["r_coarse_truth"] > 0.6
    assert metrics["00_study_area_and_data"]["out_of_range"] == []  # the world is as hard as reality
    res = runner.invoke(app, ["reproduce", "--preset", "tiny", "--out", str(out), "--only", "99_nothing"])
    assert res.exit_code == 1 and "choose from" in res.output


def test_downscale_command(tmp_path):
    sc_path = tmp_path / "tiny.zarr"
    assert runner.invoke(app, ["synth", "tiny", "--out", str(sc_path), "--no-progress"]).exit_code == 0
    out = tmp_path / "p.zarr"
    args = ["downscale", "--scenario", str(sc_path), "--out", str(out), "--learners", "mlr",
            "--start", "2009-06-01", "--end", "2009-06-10"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    import xarray as xr

    p = xr.open_zarr(out, consolidated=False)
    assert p["sm"].sizes["time"] == 10
    res = runner.invoke(app, args[:-4] + ["--learners", "cnn"])
    assert res.exit_code == 2 and "choose from" in res.output
