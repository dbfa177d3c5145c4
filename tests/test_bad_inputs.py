"""A corpus of bad inputs: each gives one clear InputError (what, where, the fix), never a silent result.

Every case mutates the tiny scenario in one way and goes through the schema checks that every entry
point runs (``check_coarse`` / ``check_fine`` / ``check_stations``).
"""

import re
import warnings

import cftime
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.core.schema import InputError, NormalisationWarning, check_coarse, check_fine, check_stations


@pytest.fixture(scope="module")
def sc():
    from smkit.synth import make_scenario

    return make_scenario("tiny", seed=0)


def _days(ds, step=1):
    return ds.isel(time=slice(0, 20, step))


def _set(ds, name, values=None, **attrs):
    ds = ds.copy()
    if values is not None:
        ds[name] = ds[name].copy(data=values)
    ds[name].attrs.update(attrs)
    return ds


def _sm(ds, f):
    return _set(ds, "sm", f(ds["sm"].values))


def _julian(ds):
    t = [cftime.DatetimeJulian(d.year, d.month, d.day) for d in pd.DatetimeIndex(ds.time.values)]
    return ds.assign_coords(time=t)


def _crossing(ds):
    lon = np.arange(ds.sizes["lon"]) * 0.25 + 179.125
    return ds.assign_coords(lon=("lon", lon, ds["lon"].attrs))


def _counts(ds):
    return _set(ds, "sm", np.nan_to_num(ds["sm"].values * 10000).astype("int16"))


COARSE = {
    "percent values": (lambda c: _sm(c, lambda v: v * 100), "looks like percent"),
    "percent units": (lambda c: _set(c, "sm", units="%"), "divide by 100"),
    "no units": (lambda c: _set(c, "sm").assign(sm=c["sm"].copy().assign_attrs(units=None)
                                                .drop_attrs()), "no 'units'"),
    "negative": (lambda c: _sm(c, lambda v: v - 0.3), "cannot be negative"),
    "inf": (lambda c: _sm(c, lambda v: np.where(v > 0.2, np.inf, v)), "infinite"),
    "-inf": (lambda c: _sm(c, lambda v: np.where(v > 0.2, -np.inf, v)), "infinite"),
    "raw int16 counts": (_counts, "raw stored counts"),
    "duplicated day": (lambda c: xr.concat([c.isel(time=[0]), c.isel(time=slice(0, 10))], "time"),
                       "duplicate time"),
    "shuffled days": (lambda c: c.isel(time=np.random.default_rng(0).permutation(20)), "not increasing"),
    "two-day step": (lambda c: _days(c, 2), "one step per day"),
    "gap in days": (lambda c: c.isel(time=[0, 1, 2, 5, 6]), "one step per day"),
    "no time coordinate": (lambda c: c.drop_vars("time"), "time"),
    "julian calendar": (_julian, "datetime64"),
    "sub-daily time": (lambda c: c.assign_coords(time=c.time + np.timedelta64(6, "h")), "midnight"),
    "a DataArray": (lambda c: c["sm"], "DataArray"),
    "a numpy array": (lambda c: c["sm"].values, "ndarray"),
    "across 180 degrees": (_crossing, "180 degree meridian"),
    "no sm": (lambda c: c.rename(sm="soil_moisture"), "missing"),
    "sm without time": (lambda c: c.assign(sm=c["sm"].isel(time=0, drop=True)), "dims"),
    "lat without units": (lambda c: c.assign_coords(lat=("lat", c.lat.values)), "units"),
    "irregular lon": (lambda c: c.assign_coords(lon=("lon", c.lon.values + np.r_[0, 0.01, np.zeros(6)],
                                                     c.lon.attrs)), "irregular"),
    "one latitude": (lambda c: c.isel(lat=[0]), "at least 2"),
    "lat in radians": (lambda c: c.assign_coords(lat=("lat", np.deg2rad(c.lat.values), {"units": "radians"})),
                       "units"),
    "uncertainty in percent": (lambda c: _set(c, "sm_uncertainty", c["sm_uncertainty"].values * 100),
                               "looks like percent"),
}


@pytest.mark.parametrize("case", COARSE)
def test_bad_coarse_gives_one_clear_error(sc, case):
    mutate, match = COARSE[case]
    bad = mutate(_days(sc.coarse))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NormalisationWarning)
        with pytest.raises(InputError, match=match) as err:
            check_coarse(bad)
    assert err.value.fix, "every error says how to fix it"


FINE = {
    "lst in Celsius": (lambda f: _set(f, "lst", f["lst"].values - 273.15), "Celsius"),
    "lst -inf": (lambda f: _set(f, "lst", np.where(f["lst"].values > 290, -np.inf, f["lst"].values)),
                 "infinite"),
    "ndvi integers": (lambda f: _set(f, "ndvi", f["ndvi"].values * 10000), "scale factor 0.0001"),
    "albedo percent": (lambda f: _set(f, "albedo", f["albedo"].values * 100), "scale factor"),
    "precip per hour": (lambda f: _set(f, "precip", units="mm h-1"), "multiply by 24"),
    "precip per second": (lambda f: _set(f, "precip", units="kg m-2 s-1"), "86400"),
    "dem in km": (lambda f: _set(f, "dem", units="km"), "multiply by 1000"),
    "no dem": (lambda f: f.drop_vars("dem"), "missing"),
    "dem with time": (lambda f: f.assign(dem=f["dem"].expand_dims(time=f.time)), "static"),
    "two-day step": (lambda f: f.isel(time=slice(0, 20, 2)), "one step per day"),
}


@pytest.mark.parametrize("case", FINE)
def test_bad_fine_gives_one_clear_error(sc, case):
    mutate, match = FINE[case]
    with pytest.raises(InputError, match=match) as err:
        check_fine(mutate(_days(sc.fine)))
    assert err.value.fix


def test_fine_missing_a_coarse_day_and_not_nesting(sc):
    coarse, fine = _days(sc.coarse), _days(sc.fine)
    with pytest.raises(InputError, match="coarse date"):
        check_fine(fine.isel(time=slice(1, None)).pipe(lambda f: f.isel(time=slice(0, 10))), coarse=coarse)
    shifted = fine.assign_coords(lon=fine.lon + 0.003)
    with pytest.raises(InputError, match="does not nest"):
        check_fine(shifted, coarse=coarse)


STATIONS = {
    "empty": (lambda s: s.isel(station=[]), "no stations"),
    "percent values": (lambda s: _sm(s, lambda v: v * 100), "looks like percent"),
    "negative": (lambda s: _sm(s, lambda v: v - 0.5), "cannot be negative"),
    "inf": (lambda s: _sm(s, lambda v: np.where(v > 0.2, np.inf, v)), "infinite"),
    "no coordinates": (lambda s: s.assign_coords(lat=s.lat.where(s.station != 0)), "without coordinates"),
    "rsm without soil properties": (lambda s: s.drop_vars("field_capacity"), "field_capacity"),
    "field capacity in percent": (lambda s: s.assign_coords(field_capacity=s.field_capacity * 100), "percent"),
    "no network": (lambda s: s.drop_vars("network"), "network"),
    "a DataArray": (lambda s: s["sm"], "DataArray"),
}


@pytest.mark.parametrize("case", STATIONS)
def test_bad_stations_give_one_clear_error(sc, case):
    mutate, match = STATIONS[case]
    with pytest.raises(InputError, match=match) as err:
        check_stations(mutate(sc.stations))
    assert err.value.fix


def test_a_station_outside_the_grid_is_named(sc):
    from smkit.core.grid import Grid

    moved = sc.stations.assign_coords(lon=sc.stations.lon.where(sc.stations.station != 0, 120.0))
    with pytest.raises(InputError, match="outside the grid"):
        check_stations(moved, grid=Grid.from_dataset(sc.coarse))


def test_descending_latitude_is_flagged_and_fixed_not_refused(sc):
    flipped = _days(sc.coarse).isel(lat=slice(None, None, -1))
    with pytest.warns(NormalisationWarning, match="descending"):
        out = check_coarse(flipped)
    xr.testing.assert_identical(out, _days(sc.coarse))


# ------------------------------------------------------------------ the command line
@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory, sc):
    path = tmp_path_factory.mktemp("cli") / "tiny.zarr"
    sc.to_zarr(path, progress=False)
    return path


def _cli(*args):
    from typer.testing import CliRunner

    from smkit.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


CLI = {
    "check a missing store": (lambda p, t: ("check", t / "nowhere.zarr"), "nor an existing store"),
    "check a corrupt store": (lambda p, t: ("check", _corrupt(t)), "could not be opened as a scenario"),
    "check a product store": (lambda p, t: ("check", _product_like(t)), "could not be opened as a scenario"),
    "serve on port 99999": (lambda p, t: ("serve", "--port", 99999), "65535"),
    "reproduce with missing params": (lambda p, t: ("reproduce", "--preset", "tiny", "--params",
                                                    t / "missing.yaml", "--out", t / "r"), "missing.yaml"),
    "downscale start after end": (lambda p, t: ("downscale", "--scenario", p, "--out", t / "o.zarr",
                                                "--start", "2009-06-10", "--end", "2009-06-01"), "after --end"),
    "downscale outside the data": (lambda p, t: ("downscale", "--scenario", p, "--out", t / "o.zarr",
                                                 "--start", "2001-01-01", "--end", "2001-01-05"),
                                   "the data run from 2009-04-01 to 2010-09-30"),
    "downscale a bad date": (lambda p, t: ("downscale", "--scenario", p, "--out", t / "o.zarr",
                                           "--start", "2009-13-45"), "YYYY-MM-DD"),
    "downscale time chunk 0": (lambda p, t: ("downscale", "--scenario", p, "--out", t / "o.zarr",
                                             "--time-chunk", 0), "time-chunk"),
    "downscale tile 0": (lambda p, t: ("downscale", "--scenario", p, "--out", t / "o.zarr", "--tile", 0),
                         "tile"),
    "downscale workers 0": (lambda p, t: ("downscale", "--scenario", p, "--out", t / "o.zarr",
                                          "--workers", 0), "workers"),
    "downscale unknown scenario": (lambda p, t: ("downscale", "--scenario", "atlantis", "--out", t / "o.zarr"),
                                   "neither a preset"),
}


def _corrupt(tmp):
    path = tmp / "corrupt.zarr"
    path.mkdir()
    (path / "zarr.json").write_text("{not json")
    return path


def _product_like(tmp):
    path = tmp / "product.zarr"
    xr.Dataset({"sm": (("time",), np.zeros(3))}).to_zarr(path, consolidated=False)
    return path


@pytest.mark.parametrize("case", CLI)
def test_bad_command_lines_end_in_one_message_not_a_traceback(tiny_store, tmp_path, case):
    make, match = CLI[case]
    result = _cli(*make(tiny_store, tmp_path))
    assert result.exit_code != 0
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # unwrap rich's error box
    assert match in text, text
    assert "Traceback" not in text and not isinstance(result.exception, Exception) or \
        isinstance(result.exception, SystemExit), result.exception


# ------------------------------------------------------------------ validation
def _truth_product(sc):
    days = {"time": slice("2009-07-01", "2009-07-20")}
    prod = sc.truth["sm"].sel(days).expand_dims(model=["truth"]).to_dataset(name="sm")
    prod.attrs["factor"] = 10
    return prod, sc.truth.sel(days)


VALIDATION = {
    "truth in percent": (lambda p, t, s: ("truth", p, t.assign(sm=t["sm"] * 100)), "looks like percent"),
    "truth without units": (lambda p, t, s: ("truth", p, t.assign(sm=t["sm"].drop_attrs())), "no 'units'"),
    "product in percent units": (lambda p, t, s: ("truth", p.assign(sm=p["sm"].assign_attrs(units="%")), t),
                                 "divide by 100"),
    "product in percent values": (lambda p, t, s: ("truth", p.assign(sm=p["sm"] * 100), t), "looks like percent"),
    "stations in percent": (lambda p, t, s: ("stations", p, s.assign(sm=s["sm"] * 100)), "looks like percent"),
    "product in percent at stations": (lambda p, t, s: ("stations", p.assign(sm=p["sm"].assign_attrs(units="%")),
                                                        s), "divide by 100"),
}


@pytest.mark.parametrize("case", VALIDATION)
def test_validation_refuses_what_it_cannot_score(sc, case):
    from smkit.validate import match_stations, truth_skill

    prod, truth = _truth_product(sc)
    kind, p, x = VALIDATION[case][0](prod, truth, sc.stations)
    with pytest.raises(InputError, match=VALIDATION[case][1]):
        if kind == "truth":
            truth_skill(p, x)
        else:
            match_stations(p, x)


def test_truth_skill_takes_the_factor_from_smkits_product(sc):
    from smkit.validate import truth_skill

    prod, truth = _truth_product(sc)
    assert truth_skill(prod, truth).loc["truth", "r"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="give factor="):
        truth_skill(prod.assign_attrs(factor=0), truth)


# ------------------------------------------------------------------ BMA
def _pairs(n=200, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    obs = rng.uniform(0.05, 0.4, n)
    cols = {m: obs + rng.normal(0, 0.03, n) for m in ("rf", "mlr", "svr", "xgb")}
    return pd.DataFrame({"zone": rng.integers(0, 2, n), "station": rng.integers(0, 12, n), "obs": obs, **cols})


BMA_CASES = {
    "a member in percent": (lambda p: p.assign(rf=p["rf"] * 100), "members dataset, variable 'rf'.*percent"),
    "observations in percent": (lambda p: p.assign(obs=p["obs"] * 100), "stations dataset, variable 'obs'"),
    "negative observations": (lambda p: p.assign(obs=p["obs"] - 0.5), "cannot be negative"),
    "an infinite member": (lambda p: p.assign(xgb=np.where(p["xgb"] > 0.3, np.inf, p["xgb"])), "infinite"),
}


@pytest.mark.parametrize("case", BMA_CASES)
def test_bma_refuses_pairs_it_cannot_mix(case):
    from smkit.bma import fit_zones

    mutate, match = BMA_CASES[case]
    with pytest.raises(InputError, match=match):
        fit_zones(mutate(_pairs()))


def test_bma_fits_plausible_pairs_and_members_may_dip_below_zero():
    from smkit.bma import fit_zones

    p = _pairs()
    fit = fit_zones(p.assign(mlr=p["mlr"] - 0.2))
    assert set(fit.fits) >= {0, 1}


# ------------------------------------------------------------------ the downscaling API
DOWNSCALE = {
    **{f"coarse: {k}": ("coarse", COARSE[k][0], COARSE[k][1]) for k in (
        "percent values", "negative", "duplicated day", "shuffled days", "two-day step", "a DataArray",
        "raw int16 counts", "inf")},
    **{f"fine: {k}": ("fine", FINE[k][0], FINE[k][1]) for k in ("lst in Celsius", "two-day step")},
}


@pytest.mark.parametrize("case", DOWNSCALE)
def test_downscale_runs_the_same_checks(sc, case):
    import smkit

    which, mutate, match = DOWNSCALE[case]
    coarse, fine = _days(sc.coarse), _days(sc.fine)
    coarse, fine = (mutate(coarse), fine) if which == "coarse" else (coarse, mutate(fine))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NormalisationWarning)
        with pytest.raises(InputError, match=match):
            smkit.downscale(coarse, fine, learners=("mlr",), progress=False)


@pytest.mark.parametrize("arg", [{"time_chunk": -3}, {"time_chunk": 0}, {"tile": 0}, {"workers": 0},
                                 {"time_chunk": 2.5}])
def test_downscale_refuses_chunking_it_cannot_do(sc, arg):
    import smkit

    with pytest.raises(ValueError, match=f"{next(iter(arg))} must be a whole number >= 1"):
        smkit.downscale(_days(sc.coarse), _days(sc.fine), learners=("mlr",), progress=False, **arg)


def test_downscale_of_descending_latitude_is_flagged_and_equals_the_ascending_run(sc):
    import smkit

    coarse, fine = _days(sc.coarse, 1).isel(time=slice(0, 4)), _days(sc.fine).isel(time=slice(0, 4))
    ref = smkit.downscale(coarse, fine, learners=("mlr",), progress=False)
    with pytest.warns(NormalisationWarning, match="descending"):
        flipped = smkit.downscale(coarse.isel(lat=slice(None, None, -1)), fine.isel(lat=slice(None, None, -1)),
                                  learners=("mlr",), progress=False)
    xr.testing.assert_identical(flipped["sm"], ref["sm"])
    # CF names (ESA CCI, ERA5) and 0..360 longitudes are normalised as the readers do
    cf = {"lat": "latitude", "lon": "longitude"}
    with pytest.warns(NormalisationWarning, match="renamed 'latitude' to 'lat'"):
        renamed = smkit.downscale(coarse.rename(cf), fine.rename(cf), learners=("mlr",), progress=False)
    xr.testing.assert_identical(renamed["sm"], ref["sm"])


def test_a_busy_or_full_store_is_one_message_on_the_command_line(tiny_store, tmp_path, monkeypatch):
    import errno

    from smkit.core import store as st
    from smkit.engine import store as engine_store

    out = tmp_path / "o.zarr"
    args = ("downscale", "--scenario", tiny_store, "--out", out, "--start", "2009-07-01", "--end", "2009-07-02",
            "--learners", "mlr")
    with st.lock(out):
        busy = _cli(*args)
    assert busy.exit_code == 2 and "is writing" in busy.output and busy.exception.__class__ is SystemExit

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(engine_store.xr.Dataset, "to_zarr", full)
    result = _cli(*args[:-2], "--learners", "mlr")
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "the disk is full while writing" in text, text


def test_a_deleted_chunk_file_of_a_scenario_store_is_refused_not_read_as_nan(sc, tmp_path):
    from smkit.core.scenario import open_scenario

    path = sc.to_zarr(tmp_path / "tiny.zarr", progress=False)
    open_scenario(path)  # whole: fine
    chunk = sorted(p for p in (path / "fine" / "lst" / "c").rglob("*") if p.is_file())[-1]
    chunk.unlink()
    with pytest.raises(InputError, match="fine dataset, variable 'lst': 1 of .* chunk files are missing"):
        open_scenario(path)


@pytest.mark.parametrize("caps", [{"sw_max": 11}, {"sw_max": 2}, {"nd_max": 6}, {"nd_max": 0}, {"sw_max": 5.5}])
def test_window_caps_outside_the_documented_range_are_refused(caps):
    from smkit.engine import Config

    name = next(iter(caps))
    with pytest.raises(ValueError, match=f"{name} must be a whole number of .* from"):
        Config(**caps)


def test_albedo_a_resampling_overshoot_below_zero_is_not_taken_for_scaling(sc):
    # the synthetic three-north albedo dips to -0.0023 at places: not a scale mistake
    fine = _days(sc.fine)
    check_fine(fine.assign(albedo=fine["albedo"] - fine["albedo"].min() - 0.0023))
    with pytest.raises(InputError, match="looks scaled"):
        check_fine(fine.assign(albedo=fine["albedo"] - fine["albedo"].min() - 0.05))
