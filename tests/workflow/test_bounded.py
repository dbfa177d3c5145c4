"""Bounded work: a request for some days builds and caches nothing beyond those days."""

import pytest
import xarray as xr


def test_a_period_of_a_preset_is_built_lazily_and_nothing_is_cached(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from smkit import cli
    from smkit.workflow import cache

    def no_cache(*a, **k):
        raise AssertionError("a period run must not build and cache the whole scenario")

    monkeypatch.setattr(cache, "cached_scenario", no_cache)
    out = tmp_path / "day.zarr"
    result = CliRunner().invoke(cli.app, ["downscale", "--scenario", "tiny", "--start", "2009-07-01", "--end",
                                          "2009-07-02", "--learners", "mlr", "--out", str(out)])
    assert result.exit_code == 0, result.output
    product = xr.open_zarr(out, consolidated=False)
    assert product.sizes["time"] == 2 and float(product["sm"].count()) > 0


@pytest.mark.slow
def test_one_three_north_day_from_a_cold_start(tmp_path):
    # the bound: minutes, not the 537 GB of the whole 2003-2010 scenario
    from typer.testing import CliRunner

    from smkit import cli

    out = tmp_path / "tn.zarr"
    result = CliRunner().invoke(cli.app, ["downscale", "--scenario", "three-north", "--start", "2009-07-15",
                                          "--end", "2009-07-15", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert xr.open_zarr(out, consolidated=False).sizes["time"] == 1
