import numpy as np
import pytest
import xarray as xr

import smkit.engine.run as ds_mod
from smkit.core.cf import PROVENANCE_ATTRS
from smkit.engine import downscale, fill_time_gaps
from smkit.validate import interpolation_baselines, truth_skill


@pytest.fixture(scope="module")
def month(tiny):
    sel = {"time": slice("2009-06-01", "2009-06-30")}
    return tiny.coarse.sel(sel), tiny.fine.sel(sel)


def test_fill_time_gaps():
    x = np.array([1.0, np.nan, np.nan, 4.0, np.nan, 6.0, np.nan])
    filled, was = fill_time_gaps(x[:, None], max_gap=2)
    np.testing.assert_allclose(filled[:, 0], [1, 2, 3, 4, 5, 6, np.nan])
    assert was[:, 0].tolist() == [False, True, True, False, True, False, False]
    filled, _ = fill_time_gaps(x[:, None], max_gap=1)
    assert np.isnan(filled[1, 0]) and filled[4, 0] == 5


def test_product_structure(month):
    coarse, fine = month
    p = downscale(coarse, fine, learners=("mlr",), progress=False)
    assert p["sm"].dims == ("model", "time", "lat", "lon")
    assert p["sm"].dtype == np.float32 and p["sm"].attrs["units"] == "m3 m-3"
    assert list(p["model"].values) == ["mlr"]
    assert p["window_sw"].dims == ("time", "clat", "clon")
    assert set(np.unique(p["window_sw"])) <= {0, 3, 4, 5}
    assert np.isfinite(p["sm"]).mean() > 0.5
    assert "hyperparameters" in p.attrs and p.attrs["factor"] == 10
    # a cell-day without retrieval but with a full window is predicted and flagged
    flag = p["window_flag"].values
    missing = np.isnan(coarse["sm"].values)
    assert ((flag & 4) > 0).tolist() == missing.tolist()


def test_chunking_does_not_change_the_product(month):
    coarse, fine = month
    a = downscale(coarse, fine, learners=("mlr",), time_chunk=30, progress=False)
    b = downscale(coarse, fine, learners=("mlr",), time_chunk=7, tile=3, progress=False)
    xr.testing.assert_allclose(a, b, atol=1e-6)


def test_killed_run_resumes_to_the_same_store(month, tmp_path, monkeypatch):
    coarse, fine = month
    ref = downscale(coarse, fine, learners=("mlr",), time_chunk=5, out=tmp_path / "ref.zarr",
                    progress=False).load()
    calls = {"n": 0}
    real = ds_mod.process_chunk

    def dying(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real(*args, **kw)

    monkeypatch.setattr(ds_mod, "process_chunk", dying)
    with pytest.raises(KeyboardInterrupt):
        downscale(coarse, fine, learners=("mlr",), time_chunk=5, out=tmp_path / "p.zarr", progress=False,
                  workers=1)
    monkeypatch.setattr(ds_mod, "process_chunk", real)
    counted = {"n": 0}

    def counting(*args, **kw):
        counted["n"] += 1
        return real(*args, **kw)

    monkeypatch.setattr(ds_mod, "process_chunk", counting)
    again = downscale(coarse, fine, learners=("mlr",), time_chunk=5, out=tmp_path / "p.zarr",
                      progress=False, workers=1).load()
    assert counted["n"] == 6 - 3  # only the unfinished chunks ran
    # two stores: the same product, each stamped with its own creation time
    assert again.attrs["date_created"] and again.attrs["history"].startswith(again.attrs["date_created"])
    for ds in (ref, again):
        for key in PROVENANCE_ATTRS:
            ds.attrs.pop(key)
    xr.testing.assert_identical(ref, again)
    with pytest.raises(ValueError, match="other arguments"):
        downscale(coarse, fine, learners=("mlr",), time_chunk=5, sw_max=4, out=tmp_path / "p.zarr",
                  progress=False)


def test_a_store_of_smkit_01_is_not_resumed(month, tmp_path):
    coarse, fine = month
    store = tmp_path / "p.zarr"
    downscale(coarse, fine, learners=("mlr",), time_chunk=30, out=store, progress=False, workers=1)
    old = xr.open_zarr(store, consolidated=False).load().rename({"model": "method"})
    old.to_zarr(tmp_path / "old.zarr", consolidated=False)
    with pytest.raises(ValueError, match="written by smkit 0.1 .* read it with smkit.open_product"):
        downscale(coarse, fine, learners=("mlr",), time_chunk=30, out=tmp_path / "old.zarr", progress=False)


def test_bad_input_gives_clear_errors(month):
    coarse, fine = month
    with pytest.raises(KeyError, match="choose from"):
        downscale(coarse, fine, learners=("cnn",))
    with pytest.raises(KeyError, match="strategy"):
        downscale(coarse, fine, strategy="local")
    with pytest.raises(ValueError, match="nest"):
        downscale(coarse, fine.isel(lat=slice(0, 75)), learners=("mlr",))
    with pytest.raises(KeyError, match="lst"):
        downscale(coarse, fine.drop_vars("lst"), learners=("mlr",))


def test_all_nan_day_is_flagged_not_crashing(month):
    coarse, fine = month
    c = coarse.copy(deep=True)
    c["sm"][10:13] = np.nan  # three days without any retrieval
    p = downscale(c, fine, learners=("mlr",), progress=False)
    assert np.isnan(p["sm"].isel(time=11)).all()
    assert ((p["window_flag"].isel(time=11).values & 2) > 0).all()


def test_global_strategy_runs(month):
    coarse, fine = month
    p = downscale(coarse, fine, learners=("mlr",), strategy="global", progress=False)
    assert np.isfinite(p["sm"]).mean() > 0.5


def test_reference_learners_beat_bilinear_in_subgrid_r(month, tiny):
    """The tree learners recover sub-grid detail that interpolation cannot."""
    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 4)), fine.isel(time=slice(0, 4))
    p = downscale(c, f, learners=("rf",), backend="reference", progress=False)
    both = xr.concat([p["sm"], interpolation_baselines(c, tiny.truth)["sm"]], dim="model")
    sk = truth_skill(both, tiny.truth, factor=10)
    assert sk.loc["rf", "r_anomaly"] > sk.loc["bilinear", "r_anomaly"]


def test_days_selects_output_but_keeps_neighbours(month):
    coarse, fine = month
    full = downscale(coarse, fine, learners=("mlr",), progress=False)
    one = downscale(coarse, fine, learners=("mlr",), days=slice("2009-06-10", "2009-06-12"), progress=False)
    assert one.sizes["time"] == 3
    xr.testing.assert_allclose(one, full.sel(time=slice("2009-06-10", "2009-06-12")), atol=1e-6)


def test_forest_does_not_depend_on_chunking(month):
    """Window ids are global, so a seeded forest gives the same product however it is chunked."""
    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 6)), fine.isel(time=slice(0, 6))
    a = downscale(c, f, learners=("rf",), params={"rf": {"n_estimators": 10}}, time_chunk=6,
                  progress=False)
    b = downscale(c, f, learners=("rf",), params={"rf": {"n_estimators": 10}}, time_chunk=4, tile=5,
                  progress=False)
    xr.testing.assert_allclose(a, b, atol=1e-6)


def test_threads_and_processes_give_the_same_product(month, tmp_path):
    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 8)), fine.isel(time=slice(0, 8))
    one = downscale(c, f, learners=("mlr", "xgb"), params={"xgb": {"n_rounds": 10}}, time_chunk=4,
                    tile=4, workers=1, progress=False)
    two = downscale(c, f, learners=("mlr", "xgb"), params={"xgb": {"n_rounds": 10}}, time_chunk=4,
                    tile=4, workers=2, progress=False)
    xr.testing.assert_identical(one, two)
    procs = downscale(c, f, learners=("mlr", "xgb"), params={"xgb": {"n_rounds": 10}}, time_chunk=4,
                      tile=4, workers=2, scheduler="processes", out=tmp_path / "p.zarr",
                      progress=False).load()
    xr.testing.assert_allclose(one, procs, atol=1e-6)
    with pytest.raises(ValueError, match="scheduler"):
        downscale(c, f, learners=("mlr",), scheduler="gpu-cluster", progress=False)


def test_cubic_aggregation_runs_and_is_recorded(month):
    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 4)), fine.isel(time=slice(0, 4))
    p = downscale(c, f, learners=("mlr",), aggregation="cubic", progress=False)
    assert p.attrs["aggregation"] == "cubic"
    m = downscale(c, f, learners=("mlr",), progress=False)
    assert np.isfinite(p["sm"]).mean() > 0.5
    assert not np.allclose(p["sm"].values, m["sm"].values, equal_nan=True)
    with pytest.raises(KeyError, match="aggregation"):
        downscale(c, f, learners=("mlr",), aggregation="lanczos")


def _fill_by_interp(x, max_gap):
    """Independent reference: numpy.interp per series, keeping only short interior gaps."""
    out = x.copy()
    for j in range(x.shape[1]):
        ok = np.flatnonzero(np.isfinite(x[:, j]))
        for a, b in zip(ok[:-1], ok[1:], strict=True):
            if 1 <= b - a - 1 <= max_gap:
                k = np.arange(a + 1, b)
                out[k, j] = np.interp(k, [a, b], x[[a, b], j])
    return out


def test_fill_time_gaps_matches_interp():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 40))
    x[rng.random(x.shape) < 0.4] = np.nan
    filled, was = fill_time_gaps(x, 3)
    np.testing.assert_allclose(filled, _fill_by_interp(x, 3), atol=1e-12)
    assert (was == (np.isnan(x) & np.isfinite(filled))).all()


def test_cells_mask_produces_only_those_cells(month, tmp_path):
    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 6)), fine.isel(time=slice(0, 6))
    full = downscale(c, f, learners=("mlr",), progress=False)
    mask = xr.zeros_like(c["sm"].isel(time=0), dtype=bool)
    mask[2, 5] = True
    part = downscale(c, f, learners=("mlr",), cells=mask, tile=4, out=tmp_path / "p.zarr",
                     progress=False).load()
    sl = {"lat": slice(20, 30), "lon": slice(50, 60)}
    xr.testing.assert_allclose(part["sm"].isel(sl), full["sm"].isel(sl), atol=1e-6)
    assert np.isnan(part["sm"].values).sum() == part["sm"].size - np.isfinite(full["sm"].isel(sl)).sum()
    flags = part["window_flag"].values
    assert ((flags[:, [0, 7], :] & 2) > 0).all()  # unrequested cells are flagged skipped
    with pytest.raises(ValueError, match="other arguments"):  # a different mask is another product
        mask[2, 5], mask[3, 3] = False, True
        downscale(c, f, learners=("mlr",), cells=mask, tile=4, out=tmp_path / "p.zarr", progress=False)


def test_config_is_the_one_option_list():
    from dataclasses import fields

    from smkit.engine import OPTIONS, Config

    assert OPTIONS == tuple(f.name for f in fields(Config))
    cfg = Config.from_options(learners=["mlr"], sw_max=7)
    assert cfg.learners == ("mlr",) and cfg.sw_max == 7
    assert Config.from_options(cfg, sw_max=5).digest() == Config(learners=("mlr",)).digest()
    assert Config().digest() != Config(blend=False).digest()
    with pytest.raises(TypeError, match="unknown downscaling option.*sw_maxx"):
        Config.from_options(sw_maxx=3)
    with pytest.raises(KeyError, match="unknown strategy"):
        Config(strategy="magic")
    with pytest.raises(ValueError, match="sm_max"):
        Config(sm_max=60.0)


def test_downscale_takes_a_config_or_its_fields(month):
    from smkit.engine import Config

    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 3)), fine.isel(time=slice(0, 3))
    a = downscale(c, f, Config(learners=("mlr",), sw_max=3), progress=False)
    b = downscale(c, f, learners=("mlr",), sw_max=3, progress=False)
    xr.testing.assert_identical(a, b)
    with pytest.raises(TypeError, match="unknown downscaling option"):
        downscale(c, f, learner=("mlr",), progress=False)


def test_variants_share_reading_and_equal_separate_runs(month, tmp_path):
    from smkit.engine import downscale_variants

    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 6)), fine.isel(time=slice(0, 6))
    sets = {"all": ("lst", "ndvi", "albedo", "precip", "dem"), "without lst": ("ndvi", "albedo", "precip", "dem")}
    calls = {"n": 0}
    real = ds_mod.load_inputs

    def counting(*args, **kw):
        calls["n"] += 1
        return real(*args, **kw)

    ds_mod.load_inputs = counting
    try:
        both = downscale_variants(c, f, sets, learners=("mlr",), time_chunk=3, progress=False,
                                  out={k: tmp_path / f"{i}.zarr" for i, k in enumerate(sets)})
    finally:
        ds_mod.load_inputs = real
    assert calls["n"] == 2  # two chunks, read once for both sets
    for name, covs in sets.items():
        alone = downscale(c, f, learners=("mlr",), covariates=covs, time_chunk=3, progress=False)
        xr.testing.assert_allclose(both[name].load(), alone, atol=1e-6)
        assert both[name].attrs["covariates"] == ",".join(covs)
    with pytest.raises(KeyError, match="not found"):
        downscale_variants(c, f, {"x": ("lst", "soil")}, learners=("mlr",), progress=False)


def test_blending_removes_the_steps_at_cell_edges(month, tiny):
    """Blended products step at cell edges no more than the truth does; cell-by-cell ones do."""
    from smkit.validate import seam_ratio

    coarse, fine = month
    c, f = coarse.isel(time=slice(10, 16)), fine.isel(time=slice(10, 16))
    truth = tiny.truth["sm"].sel(time=c["time"]).values
    blended = downscale(c, f, learners=("rf", "mlr"), params={"rf": {"n_estimators": 20}}, progress=False)
    single = downscale(c, f, learners=("rf", "mlr"), params={"rf": {"n_estimators": 20}}, blend=False,
                       smooth_coarse=False, progress=False)
    ok = np.isfinite(blended["sm"].values).all(axis=0)
    t_seam = seam_ratio(np.where(ok, truth, np.nan), 10)
    for m in ("rf", "mlr"):
        b = seam_ratio(blended["sm"].sel({"model": m}).values, 10)
        s = seam_ratio(single["sm"].sel({"model": m}).values, 10)
        assert abs(b - t_seam) < 0.15, (m, b, t_seam)
        assert s > b + 0.15, (m, s, b)
    assert blended.attrs["blend"] == 1 and single.attrs["blend"] == 0
    # the same pixels are produced either way
    assert np.array_equal(np.isfinite(blended["sm"].values), np.isfinite(single["sm"].values))


def test_blended_chunks_join_without_a_seam(month):
    """Ring windows carry their global id: tiles of 3 cells give the product of one tile."""
    coarse, fine = month
    c, f = coarse.isel(time=slice(0, 5)), fine.isel(time=slice(0, 5))
    opts = dict(learners=("rf", "xgb"), params={"rf": {"n_estimators": 10}, "xgb": {"n_rounds": 10}},
                progress=False)
    a = downscale(c, f, tile=8, time_chunk=5, **opts)
    b = downscale(c, f, tile=3, time_chunk=2, **opts)
    xr.testing.assert_allclose(a, b, atol=1e-6)


def test_values_stay_physical_and_clipping_is_counted(month):
    coarse, fine = month
    p = downscale(coarse, fine, learners=("mlr", "svr"), params={"mlr": {"alpha": 0.0}}, sm_max=0.3,
                  progress=False)
    sm = p["sm"].values
    assert np.nanmin(sm) >= 0.0 and np.nanmax(sm) <= 0.3
    np.testing.assert_allclose(p["sm"].attrs["valid_range"], [0.0, 0.3])
    hit = np.isclose(sm, 0.0) | np.isclose(sm, 0.3)
    counted = p["clipped"].values
    assert counted.sum() > 0 and counted.sum() <= hit.sum()
    flagged = (p["window_flag"].values & 16) > 0
    assert np.array_equal(flagged, counted.sum(axis=0) > 0)
    with pytest.raises(ValueError, match="sm_max"):
        downscale(coarse, fine, learners=("mlr",), sm_max=60.0, progress=False)


def test_coarse_covariates_are_smoothed_from_their_native_cells(month):
    """Albedo (0.05 degrees) and precipitation (0.1 degrees) no longer step at their cell edges."""
    from smkit.engine.features import native_block, smooth_native

    coarse, fine = month
    assert native_block(fine["albedo"], 0.025) == 2 and native_block(fine["precip"], 0.025) == 4
    assert native_block(fine["lst"], 0.025) == 1
    day = fine["precip"].isel(time=3).values.astype(float)
    smooth = smooth_native(day, 4, first_row=int((37.5 + 90) / 0.025), first_col=int((99.5 + 180) / 0.025))
    # block means are kept up to the curvature of the interpolant, and the field is continuous
    blocks = lambda a: a[:, 2:-2].reshape(80, 19, 4).mean(2)  # noqa: E731
    assert np.abs(np.diff(smooth, axis=1)).max() < np.abs(np.diff(day, axis=1)).max()
    assert np.corrcoef(blocks(smooth).ravel(), blocks(day).ravel())[0, 1] > 0.95
    with pytest.raises(ValueError, match="whole multiple"):
        native_block(fine["albedo"].assign_attrs(native_resolution=0.06), 0.025)


def test_stations_add_the_subgrid_pattern(tiny):
    """downscale(stations=...) learns the sub-grid pattern from the stations; subgrid=False turns it off."""
    sel = {"time": slice("2009-06-01", "2009-08-31")}
    c, f = tiny.coarse.sel(sel), tiny.fine.sel(sel)
    plain = downscale(c, f, learners=("mlr",), progress=False)
    learned = downscale(c, f, learners=("mlr",), stations=tiny.stations, progress=False)
    off = downscale(c, f, learners=("mlr",), stations=tiny.stations, subgrid=False, progress=False)
    xr.testing.assert_identical(plain["sm"], off["sm"])
    assert "subgrid" in learned.attrs and "subgrid" not in plain.attrs
    assert not np.allclose(learned["sm"].values, plain["sm"].values, equal_nan=True)
