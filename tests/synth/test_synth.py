import dataclasses

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.analysis.realism import TARGETS, out_of_range, realism, realism_table
from smkit.core.grid import Grid
from smkit.core.scenario import open_scenario
from smkit.synth import PRESETS, World, make_scenario

FINE_VARS = {"lst": "K", "ndvi": "1", "albedo": "1", "precip": "mm day-1", "dem": "m"}


def test_tiny_structure_and_units(tiny):
    assert set(tiny.coarse.data_vars) == {"sm", "sm_uncertainty", "flag"}
    assert set(tiny.fine.data_vars) == set(FINE_VARS)
    for name, units in FINE_VARS.items():
        assert tiny.fine[name].attrs["units"] == units
    assert tiny.fine["dem"].dims == ("lat", "lon")
    assert tiny.coarse["sm"].attrs["units"] == "m3 m-3"
    assert tiny.truth["sm"].attrs["units"] == "m3 m-3"
    for ds in tiny.datasets().values():
        if "lat" in ds.dims:
            assert ds["lat"].attrs["units"] == "degrees_north"
            assert ds["lon"].attrs["units"] == "degrees_east"
            assert np.all(np.diff(ds["lat"]) > 0) and np.all(np.diff(ds["lon"]) > 0)
    assert tiny.coarse["time"].dtype == "datetime64[ns]"
    assert tiny.truth["sm"].dtype == np.float32
    # the fine grid nests in the coarse grid with the preset's factor
    cg, fg = Grid.from_dataset(tiny.coarse), Grid.from_dataset(tiny.fine)
    assert round(cg.res / fg.res) == PRESETS["tiny"].factor
    assert (cg.lon0, cg.lat0) == (fg.lon0, fg.lat0)


def test_values_are_physical(tiny):
    sm = tiny.truth["sm"].values
    assert np.nanmin(sm) >= 0.01 and np.nanmax(sm) <= 0.55
    lst = tiny.fine["lst"].values
    assert 230 < np.nanmin(lst) and np.nanmax(lst) < 340
    assert 0.1 < np.isnan(lst).mean() < 0.6  # cloud gaps
    assert -0.1 <= np.nanmin(tiny.fine["ndvi"]) and np.nanmax(tiny.fine["ndvi"]) <= 1
    assert 0 < np.nanmin(tiny.fine["albedo"]) and np.nanmax(tiny.fine["albedo"]) < 0.5
    assert np.nanmin(tiny.fine["precip"]) >= 0


def test_coarse_gaps_are_flagged(tiny):
    sm, flag = tiny.coarse["sm"].values, tiny.coarse["flag"].values
    assert np.array_equal(np.isnan(sm), flag > 0)
    months = tiny.coarse["time"].dt.month.values
    winter = np.isin(months, [12, 1, 2])
    assert ((flag[winter] & 1) > 0).mean() > 0.8  # frozen soil in winter
    assert ((flag & 4) > 0).mean() > 0.03  # random losses


def test_ndvi_is_a_16_day_composite(tiny):
    ndvi = tiny.fine["ndvi"].isel(lat=3, lon=5).to_series()
    doy = ndvi.index.day_of_year
    period = ndvi.index.year * 100 + (doy - 1) // 16
    assert ndvi.groupby(period).nunique().max() == 1
    assert ndvi.nunique() > 10


def test_coarse_resolution_of_albedo_and_precip(tiny):
    f = PRESETS["tiny"].factor  # 0.025 degrees: 2 pixels per 0.05, 4 per 0.1
    alb = tiny.fine["albedo"].isel(time=100).values
    assert np.array_equal(alb[::2, ::2], alb[1::2, 1::2])
    pr = tiny.fine["precip"].isel(time=slice(0, 60)).values
    assert np.array_equal(pr[:, ::4, ::4], pr[:, 3::4, 3::4])
    assert f == 10


def test_same_seed_is_bit_identical_and_seeds_differ(tiny):
    again = make_scenario("tiny", seed=0)
    for name, ds in tiny.datasets().items():
        xr.testing.assert_identical(ds, getattr(again, name))
    other = make_scenario("tiny", seed=1)
    assert not np.array_equal(other.truth["sm"].values, tiny.truth["sm"].values)


def test_blocks_are_independent_of_chunking():
    world, p = World(seed=7), PRESETS["tiny"]
    whole = world.fine_block(p, 100, 140, 0, 80, 0, 80)
    parts = [World(seed=7).fine_block(p, t0, t1, 0, 40, 40, 80) for t0, t1 in [(100, 113), (113, 140)]]
    for key, value in whole.items():
        sub = value[:, :4, 4:] if key.startswith("c_") else value[:, :40, 40:]
        np.testing.assert_array_equal(sub, np.concatenate([q[key] for q in parts]))


def test_lazy_build_equals_eager():
    base = dataclasses.replace(
        PRESETS["tiny"], start="2009-06-01", end="2009-07-10", time_chunk=9, space_chunk=40
    )
    eager = make_scenario(dataclasses.replace(base, eager=True), seed=3)
    lazy = make_scenario(dataclasses.replace(base, eager=False), seed=3)
    assert isinstance(lazy.truth["sm"].data, dask.array.Array)
    assert lazy.truth["sm"].chunks[0][0] == 9
    loaded = lazy.load()
    for name in ("coarse", "fine", "truth", "era5", "noah", "pdsi"):
        xr.testing.assert_equal(getattr(eager, name), getattr(loaded, name))


def test_stations_networks_and_cadences(tiny):
    st = tiny.stations
    names = set(st["name"].values)
    assert {"Arou", "Guantan", "Maliantan", "Yingke", "Linze", "Haibei"} <= names
    arou = st.where(st["name"] == "Arou", drop=True)
    assert arou["lon"].item() == 100.46 and arou["lat"].item() == 38.04
    dates = pd.DatetimeIndex(st["time"].values)
    for i in range(st.sizes["station"]):
        net = str(st["network"].values[i])
        sm = st["sm"].values[i]
        rsm = st["rsm"].values[i]
        if net == "QXZ":
            assert np.isfinite(sm).mean() > 0.6  # daily, with gaps and outages
        elif net == "CERN":
            assert set(dates[np.isfinite(sm)].day) <= {1, 6, 11, 16, 21, 26}
        else:
            assert np.isnan(sm).all()
            assert set(dates[np.isfinite(rsm)].day) <= {1, 11, 21}
            assert 10 < np.nanmean(rsm) < 120  # percent of field capacity
            assert np.isfinite(st["field_capacity"].values[i]) and np.isfinite(st["bulk_density"].values[i])


def test_stations_follow_the_truth_with_representativeness_errors(tiny):
    st = tiny.stations
    qxz = np.flatnonzero(st["network"].values == "QXZ")
    rs, offsets = [], []
    for i in qxz:
        truth = tiny.truth["sm"].sel(lat=float(st["lat"][i]), lon=float(st["lon"][i]), method="nearest")
        obs = st["sm"].isel(station=i)
        ok = np.isfinite(obs.values)
        rs.append(np.corrcoef(obs.values[ok], truth.values[ok])[0, 1])
        offsets.append(float(np.mean(obs.values[ok] - truth.values[ok])))
        # outages: whole 30-day blocks missing, besides single days
        assert 0.02 < (~ok).mean() < 0.5
    assert min(rs) > 0.6 and max(rs) < 0.99  # a probe follows its pixel, but not exactly
    assert np.mean(np.abs(offsets)) > 0.01


def test_nzw_conversion_carries_property_errors(tiny):
    """Converting NZW's relative moisture with the published soil properties does not give the truth back."""
    from smkit.core.schema import stations_to_volumetric

    st = stations_to_volumetric(tiny.stations)
    nzw = np.flatnonzero(st["network"].values == "NZW")
    assert nzw.size
    gains = []
    for i in nzw:
        truth = tiny.truth["sm"].sel(lat=float(st["lat"][i]), lon=float(st["lon"][i]), method="nearest")
        obs = st["sm"].isel(station=i).values
        ok = np.isfinite(obs)
        gains.append(np.mean(obs[ok]) / np.mean(truth.values[ok]))
    assert np.std(gains) > 0.02


def test_models_and_drought_index(tiny):
    assert tiny.era5["sm"].shape[1:] == Grid.from_dataset(tiny.coarse).with_res(0.1).shape
    # ERA5-like is wetter than the truth in drylands
    assert float(tiny.era5["sm"].mean()) > float(tiny.truth["sm"].mean())
    noah = tiny.noah["sm"]
    covered = noah.notnull().any("time")
    assert 0 < float(covered.mean()) < 0.5  # Loess-Plateau-like region only: the SE corner
    assert bool(covered.sel(lat=37.6, lon=101.4, method="nearest"))
    assert not bool(covered.sel(lat=39.4, lon=99.6, method="nearest"))
    pdsi = tiny.pdsi["pdsi"]
    assert pdsi.sizes["time"] == 18
    dry = (pdsi <= -2).mean("time")
    assert float(dry.sel(lat=39.25, lon=101.1, method="nearest")) > 0.8  # the fixed drought patch
    assert float((dry > 0.8).mean()) < 0.2


def _assert_realistic(sc):
    stats = realism(sc)
    assert out_of_range(stats) == {}, realism_table(stats)[["value", "target"]]
    signs = {"lst": -1, "ndvi": 1, "albedo": -1, "precip": 1, "dem": 1}  # the paper's Fig. 3b
    for name, sign in signs.items():
        assert np.sign(stats["r_covariates"][name]) == sign, name
    assert stats["within_sd"] / stats["between_sd"] >= 0.2
    return stats


def test_realism_on_tiny(tiny):
    """The tiny world stays inside the published ranges (fails when a change drifts it out)."""
    stats = _assert_realistic(tiny)
    table = realism_table(stats)
    assert set(TARGETS) <= set(stats)
    assert table["in range"].iloc[: len(TARGETS)].all()
    assert table["source"].iloc[: len(TARGETS)].str.len().min() > 10  # every target cites a source


def test_realism_flags_a_kind_world():
    """The statistics fail a world that is kinder than reality (the world before issue 15's fix)."""
    from smkit.synth import RetrievalErrors, StationErrors

    kind = make_scenario(
        dataclasses.replace(PRESETS["tiny"], start="2009-05-01", end="2009-09-30"),
        retrieval=RetrievalErrors(gain=1.0, gain_veg=0.0, gain_sd=0.0, error_sd=0.02, error_sd_veg=0.0,
                                  memory=1.0, footprint=0.0, white_sd=0.02, bias_terrain=0.0),
        station_errors=StationErrors(depth_weight=(0.0, 0.0), gain=(1.0, 1.0), offset_sd=0.0,
                                     noise_sd=0.005, drift_share=0.0),
    )
    bad = out_of_range(realism(kind))
    assert {"retrieval_error_sd", "retrieval_error_acf1", "retrieval_error_neighbour_r",
            "station_pixel_r", "station_offset"} <= set(bad)


def test_world_parameters_are_recorded_and_change_the_world(tiny):
    import json

    params = json.loads(tiny.coarse.attrs["world"])
    assert params["valley_wetness"] == 0.5 and params["retrieval"]["memory"] == 10.0
    lat, lon = np.meshgrid(np.linspace(38.0, 38.2, 40), np.linspace(100.0, 100.2, 40), indexing="ij")
    r = {}
    for c in (1.0, -1.0):
        st = World(seed=0, valley_wetness=c).static(lat, lon)
        relief = st["dem"] - st["dem_large"]
        r[c] = np.corrcoef(relief.ravel(), st["wet"].ravel())[0, 1]
    assert r[1.0] < -0.99 and r[-1.0] > 0.99  # valleys wetter, or ridges wetter
    with pytest.raises(ValueError, match="valley_wetness"):
        World(valley_wetness=2.0)


@pytest.mark.slow
def test_realism_on_demo():
    """The demo world stays inside the published ranges (about two minutes)."""
    sc = make_scenario("demo")
    assert sc.truth["sm"].shape == (1096, 300, 300)
    names = set(sc.stations["name"].values)
    assert {"Arou", "Guantan", "Maliantan", "Yingke", "Linze", "Haibei"} <= names
    _assert_realistic(sc.load())


def test_three_north_is_lazy_and_a_day_computes():
    sc = make_scenario("three-north")
    assert sc.truth["sm"].shape == (2922, 1675, 5425)
    assert isinstance(sc.fine["lst"].data, dask.array.Array)
    assert len(sc.stations["station"]) == 18 + 234
    day = sc.truth["sm"].sel(time="2009-07-15").isel(lat=slice(500, 560), lon=slice(2000, 2060))
    a = day.compute()
    b = make_scenario("three-north").truth["sm"].sel(time="2009-07-15").isel(
        lat=slice(500, 560), lon=slice(2000, 2060)).compute()
    assert np.isfinite(a).all()
    xr.testing.assert_identical(a, b)


def test_save_and_load_roundtrip(tiny, tmp_path):
    small = type(tiny)(**{k: v.isel(time=slice(0, 20)) if "time" in v.dims and k != "pdsi" else v
                          for k, v in tiny.datasets().items()})
    for path in (tmp_path / "s.zarr", tmp_path / "s.nc"):
        small.to_zarr(path, progress=False) if path.suffix == ".zarr" else small.to_netcdf(path)
        back = open_scenario(path).load()
        for name, ds in small.datasets().items():
            xr.testing.assert_allclose(ds, getattr(back, name))
            assert getattr(back, name).attrs["preset"] == "tiny"


def test_unknown_preset():
    with pytest.raises(KeyError, match="tiny"):
        make_scenario("huge")
