"""Station matching, network scores, model intercomparison, figures and splits (smkit.validate)."""

import warnings

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.core.grid import Grid
from smkit.plot.validate import plot_model_comparison, plot_scatter, plot_station_map, plot_station_series
from smkit.validate import (
    StationMatchWarning,
    compare_models,
    interpolation_baselines,
    match_stations,
    model_label,
    network_table,
    period_bounds,
    score_networks,
    score_seasons,
    score_stations,
    split_stations,
    split_years,
    to_pairs,
)

GRID = Grid(100.0, 101.0, 38.0, 39.0, 0.1)  # 10 x 10 pixels
DAYS = pd.date_range("2009-01-03", "2009-03-31", freq="D")  # the toy product's days
PAPER = ["cci", "rf", "mlr", "svr", "xgb", "bma"]


# --------------------------------------------------------------------------- helpers
def toy_product(days=DAYS, grid=GRID):
    """Method "day": the day index (0 on the first day); "pix": 100 * row + column."""
    nt, (ny, nx) = len(days), grid.shape
    day = np.broadcast_to(np.arange(nt, dtype=np.float32)[:, None, None], (nt, ny, nx))
    pix = np.broadcast_to(
        (100 * np.arange(ny)[:, None] + np.arange(nx)[None, :]).astype(np.float32), (nt, ny, nx)
    )
    return xr.Dataset(
        {"sm": (("model", "time", "lat", "lon"), np.stack([day, pix]), {"units": "m3 m-3"})},
        coords={
            "model": ["day", "pix"],
            "time": days.values.astype("datetime64[ns]"),
            **grid.coords(),
        },
    )


STATION_DAYS = pd.date_range("2008-12-01", "2009-04-30", freq="D")


def toy_stations(rows, times=STATION_DAYS):
    """rows: (name, network, lat, lon, {date: sm}, {date: rsm}, fc, bd)."""
    n, nt = len(rows), len(times)
    sm = np.full((n, nt), np.nan, np.float32)
    rsm = np.full((n, nt), np.nan, np.float32)
    pos = {t: k for k, t in enumerate(times)}
    for s, r in enumerate(rows):
        for d, v in r[4].items():
            sm[s, pos[pd.Timestamp(d)]] = v
        for d, v in r[5].items():
            rsm[s, pos[pd.Timestamp(d)]] = v
    cad = {"QXZ": "daily", "CERN": "pentad", "NZW": "dekad"}
    return xr.Dataset(
        {
            "sm": (("station", "time"), sm, {"units": "m3 m-3"}),
            "rsm": (("station", "time"), rsm, {"units": "percent"}),
        },
        coords={
            "time": times.values.astype("datetime64[ns]"),
            "station": np.arange(n),
            "name": ("station", np.array([r[0] for r in rows], dtype=object)),
            "network": ("station", np.array([r[1] for r in rows], dtype=object)),
            "cadence": ("station", np.array([cad[r[1]] for r in rows], dtype=object)),
            "lat": ("station", [r[2] for r in rows]),
            "lon": ("station", [r[3] for r in rows]),
            "elevation": ("station", np.full(n, 1000.0)),
            "land_cover": ("station", np.array(["Farmland"] * n, dtype=object)),
            "field_capacity": ("station", [r[6] for r in rows]),
            "bulk_density": ("station", [r[7] for r in rows]),
        },
    )


def day_index(date):
    return (pd.Timestamp(date) - DAYS[0]).days


def mean_index(first, last, skip=()):
    days = [d for d in pd.date_range(first, last) if d not in {pd.Timestamp(s) for s in skip}]
    return np.mean([day_index(d) for d in days])


@pytest.fixture(scope="module")
def truth_product(tiny):
    """The 1-km truth as a product (method "truth") beside the interpolation baselines."""
    b = interpolation_baselines(tiny.coarse, tiny.truth)
    tr = tiny.truth["sm"].expand_dims(model=["truth"])
    return xr.concat([tr, b["sm"]], dim="model").to_dataset(name="sm")


@pytest.fixture(scope="module")
def matched(tiny, truth_product):
    with warnings.catch_warnings():
        warnings.simplefilter("error", StationMatchWarning)  # every tiny station is matched
        return match_stations(truth_product, tiny.stations, coarse=tiny.coarse)


@pytest.fixture(scope="module")
def paper_matched(matched):
    """Matched pairs with the paper's six methods, made from the truth by fixed perturbations."""
    truth = matched["pred"].sel({"model": "truth"})
    obs = matched["obs"]
    rng = np.random.default_rng(1)
    preds = [matched["pred"].sel({"model": "nearest"})]  # cci: the coarse cell
    for k in range(5):
        noise = xr.DataArray(rng.normal(0, 0.01 * (k + 1), obs.shape), dims=obs.dims)
        preds.append(truth + noise + 0.005 * k)
    pred = xr.concat(preds, dim="model").assign_coords(model=PAPER)
    # a gap in one method: common pairs must remove it from every method
    pred[PAPER.index("svr"), :, :20] = np.nan
    return matched.drop_vars("pred").drop_dims("model").assign(pred=pred.where(obs.notnull()))


# --------------------------------------------------------------------------- periods and matching
def test_period_bounds_pentads_and_dekads_end_at_month_end():
    s, e = period_bounds(["2009-01-29", "2009-02-26", "2008-02-29", "2009-03-05"], "pentad")
    assert [str(d.date()) for d in s] == ["2009-01-26", "2009-02-26", "2008-02-26", "2009-03-01"]
    assert [str(d.date()) for d in e] == ["2009-01-31", "2009-02-28", "2008-02-29", "2009-03-05"]
    s, e = period_bounds(["2009-01-10", "2009-01-11", "2009-02-21", "2009-04-30"], "dekad")
    assert [str(d.date()) for d in s] == ["2009-01-01", "2009-01-11", "2009-02-21", "2009-04-21"]
    assert [str(d.date()) for d in e] == ["2009-01-10", "2009-01-20", "2009-02-28", "2009-04-30"]
    with pytest.raises(ValueError, match="valid cadences"):
        period_bounds(["2009-01-01"], "weekly")


def test_cadence_averaging_by_hand_and_nzw_conversion():
    prod = toy_product()
    prod["sm"].loc[{"model": "day", "time": "2009-01-27"}] = np.nan  # NaN-aware mean
    rows = [
        ("Q", "QXZ", 38.05, 100.05, {"2009-01-10": 0.2, "2009-03-31": 0.3}, {}, np.nan, np.nan),
        (
            "C",
            "CERN",
            38.55,
            100.35,
            {"2009-01-01": 0.1, "2009-01-26": 0.2, "2009-02-26": 0.3, "2009-03-16": 0.25},
            {},
            np.nan,
            np.nan,
        ),
        # NZW: percent of field capacity, one stamp at the dekad start, one inside the dekad
        ("N", "NZW", 38.95, 100.95, {}, {"2009-02-21": 50.0, "2009-03-08": 80.0}, 0.25, 1.4),
    ]
    m = match_stations(prod, toy_stations(rows))
    assert list(m["status"].values) == ["ok", "ok", "ok"]
    day = m["pred"].sel({"model": "day"})

    def at(name, date):
        return float(day.sel(station=int(np.flatnonzero(m["name"].values == name)[0]), time=date))

    assert at("Q", "2009-01-10") == day_index("2009-01-10")
    assert at("Q", "2009-03-31") == day_index("2009-03-31")
    # the first pentad is only partly covered by the product (from Jan 3): days 0, 1, 2
    assert at("C", "2009-01-01") == pytest.approx(1.0)
    assert at("C", "2009-01-26") == pytest.approx(
        mean_index("2009-01-26", "2009-01-31", skip=["2009-01-27"])
    )
    assert at("C", "2009-02-26") == pytest.approx(mean_index("2009-02-26", "2009-02-28"))
    assert at("C", "2009-03-16") == pytest.approx(mean_index("2009-03-16", "2009-03-20"))
    assert at("N", "2009-02-21") == pytest.approx(mean_index("2009-02-21", "2009-02-28"))
    assert at("N", "2009-03-08") == pytest.approx(mean_index("2009-03-01", "2009-03-10"))
    # pred only where the station observed; obs in m3 m-3 (NZW converted)
    assert np.array_equal(np.isfinite(day.values), np.isfinite(m["obs"].values))
    nzw = m["obs"].sel(station=2)
    assert float(nzw.sel(time="2009-02-21")) == pytest.approx(0.50 * 0.25 * 1.4, rel=1e-6)
    assert float(nzw.sel(time="2009-03-08")) == pytest.approx(0.80 * 0.25 * 1.4, rel=1e-6)
    # the pixel holding each station: row 100 * i + column j
    pix = m["pred"].sel({"model": "pix"})
    assert np.nanmax(pix.values, axis=1).tolist() == [0.0, 503.0, 909.0]
    assert m["pixel_lat"].values.tolist() == pytest.approx([38.05, 38.55, 38.95])
    # December observations (before the product) are not in the time axis
    assert pd.DatetimeIndex(m["time"].values).min() == pd.Timestamp("2009-01-01")


def test_station_on_a_pixel_edge_goes_to_the_pixel_below_like_synth():
    rows = [("E", "QXZ", 38.3, 100.3, {"2009-02-01": 0.2}, {}, np.nan, np.nan)]
    m = match_stations(toy_product(), toy_stations(rows))
    assert float(m["pixel_lat"][0]) == pytest.approx(38.25)
    assert float(m["pixel_lon"][0]) == pytest.approx(100.25)


def test_outside_and_no_overlap_reported_with_nan_scores():
    rows = [
        (
            "In",
            "QXZ",
            38.5,
            100.5,
            {"2009-02-01": 0.2, "2009-02-02": 0.25, "2009-02-03": 0.3},
            {},
            np.nan,
            np.nan,
        ),
        ("Far", "QXZ", 45.0, 120.0, {"2009-02-01": 0.2}, {}, np.nan, np.nan),
        ("Early", "CERN", 38.5, 100.5, {"2008-12-01": 0.2, "2008-12-26": 0.3}, {}, np.nan, np.nan),
    ]
    with pytest.warns(StationMatchWarning) as rec:
        m = match_stations(toy_product(), toy_stations(rows))
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert "'Far' outside grid" in msg and "'Early' no overlap" in msg and "'In'" not in msg
    assert list(m["status"].values) == ["ok", "outside grid", "no overlap"]
    assert np.isnan(m["pixel_lat"].values[1])
    assert m.sizes["station"] == 3  # reported, not dropped
    sc = score_stations(m)
    bad = sc[sc["name"].isin(["Far", "Early"])]
    assert (bad["n"] == 0).all() and bad[["r", "rmse", "mae", "bias", "ubrmse"]].isna().all().all()
    good = sc[(sc["name"] == "In") & (sc["model"] == "day")].iloc[0]
    assert good["n"] == 3 and good["r"] == pytest.approx(1.0)
    net = score_networks(m)
    assert set(net["network"]) == {"QXZ", "CERN"}
    cern = net[net["network"] == "CERN"]
    assert (cern["n"] == 0).all() and cern["r"].isna().all() and (cern["n_stations"] == 0).all()


def test_all_nan_product_gives_a_clear_message_and_n_zero(tiny, truth_product):
    empty = truth_product.isel(time=slice(0, 60)).where(False)
    with pytest.warns(StationMatchWarning, match="no product data"):
        m = match_stations(empty, tiny.stations)
    assert set(m["status"].values) == {"no product data"}
    sc = score_stations(m)
    assert (sc["n"] == 0).all() and sc["r"].isna().all() and sc["mae"].isna().all()
    table = network_table(score_networks(m))
    assert (table["N"] == 0).all()


def test_unknown_method_and_cadence_are_named(tiny, truth_product):
    with pytest.raises(KeyError, match="available: truth, nearest, bilinear"):
        match_stations(truth_product, tiny.stations, models=["bma"])
    st = tiny.stations.assign_coords(
        cadence=("station", np.array(["weekly"] * tiny.stations.sizes["station"], dtype=object))
    )
    with pytest.raises(ValueError, match="unknown cadence 'weekly'"):
        match_stations(truth_product, st)


def test_truth_reproduces_station_observations(tiny, matched):
    assert list(matched["model"].values) == ["cci", "truth", "nearest", "bilinear"]
    assert set(matched["status"].values) == {"ok"}
    sc = score_stations(matched, models=["truth"], common=False).set_index("name")
    # probes follow their pixel's truth, with the representativeness errors of single probes
    assert (sc["r"] > 0.6).all() and (sc["r"] < 0.99).all()
    # a station that reports its pixel's truth exactly, at its own cadence, is matched exactly:
    # only right if the pentads and dekads are aligned with the periods the product is averaged over
    truth = tiny.truth["sm"]
    st = tiny.stations
    exact = np.full(st["sm"].shape, np.nan)
    dates = pd.DatetimeIndex(st["time"].values)
    for k in range(st.sizes["station"]):
        pix = truth.sel(lat=float(matched["pixel_lat"][k]), lon=float(matched["pixel_lon"][k])).to_series()
        cadence = str(st["cadence"].values[k])
        if cadence == "daily":
            exact[k] = pix.values
            continue
        starts, ends = period_bounds(dates, cadence)
        for t in np.flatnonzero(np.isfinite(st["sm"].values[k]) | np.isfinite(st["rsm"].values[k])):
            exact[k, t] = pix[starts[t] : ends[t]].mean()
    perfect = st.drop_vars("rsm").assign(sm=(("station", "time"), exact, st["sm"].attrs))
    m = match_stations(truth.expand_dims(model=["truth"]).to_dataset(name="sm"), perfect)
    sp = score_stations(m, models=["truth"], common=False)
    assert (sp["r"] > 0.9999).all() and (sp["ubrmse"] < 1e-6).all()
    # NZW: one sample a dekad against the dekad mean, converted from percent with soil
    # properties that carry their own errors
    dekad = sc[sc["network"] == "NZW"]
    assert (dekad["r"] > 0.5).all() and (dekad["bias"].abs() < 0.1).all()
    n_obs = np.isfinite(tiny.stations["sm"].values).sum(axis=1) + np.isfinite(
        tiny.stations["rsm"].values
    ).sum(axis=1)
    assert sc["n"].to_numpy().tolist() == n_obs.tolist()


def test_to_pairs_is_tidy(matched):
    df = to_pairs(matched)
    assert list(df.columns) == [
        "station",
        "name",
        "network",
        "time",
        "obs",
        "cci",
        "truth",
        "nearest",
        "bilinear",
    ]
    assert len(df) == int(np.isfinite(matched["obs"].values).sum())
    row = df.iloc[100]
    assert row["truth"] == float(
        matched["pred"].sel({"model": "truth", "station": row["station"], "time": row["time"]})
    )
    full = to_pairs(matched, complete=True)
    assert np.isfinite(full[["obs", "cci", "truth", "nearest", "bilinear"]].to_numpy()).all()
    assert 0 < len(full) < len(df)


def test_dask_product_equals_eager_and_reads_only_station_chunks(tiny, truth_product, matched):
    lazy = truth_product.chunk({"model": 1, "time": 100, "lat": 20, "lon": 20})
    m = match_stations(lazy, tiny.stations, coarse=tiny.coarse.chunk({"time": 200}))
    xr.testing.assert_identical(m, matched)

    seen = []

    def record(block, block_info=None):
        seen.append(tuple(block_info[0]["chunk-location"][2:]))
        return block

    prod = toy_product()
    arr = da.from_array(prod["sm"].values, chunks=(2, 30, 5, 5)).map_blocks(
        record, dtype=np.float32
    )
    rows = [
        ("A", "QXZ", 38.05, 100.05, {"2009-02-01": 0.2}, {}, np.nan, np.nan),
        ("B", "CERN", 38.75, 100.65, {"2009-02-01": 0.2}, {}, np.nan, np.nan),
    ]
    m = match_stations(prod.copy(data={"sm": arr}), toy_stations(rows))
    assert sorted(set(seen)) == [(0, 0), (1, 1)]  # 2 of the 4 spatial chunks
    assert m["pred"].sel({"model": "pix"}).max("time").values.tolist() == [0.0, 706.0]


# --------------------------------------------------------------------------- scores and tables
def test_table4_structure_and_values(paper_matched):
    net = score_networks(paper_matched)
    assert list(dict.fromkeys(net["network"])) == ["NZW", "CERN", "QXZ"]
    table = network_table(net)
    assert table.index.names == ["metric", "network"]
    assert list(table.columns) == ["N", "CCI", "RF", "MLR", "SVR", "XG", "BMA"]
    assert list(dict.fromkeys(table.index.get_level_values(0))) == [
        "R",
        "RMSE (m3 m-3)",
        "MAE (m3 m-3)",
        "ubRMSE (m3 m-3)",
    ]
    # by hand: pooled QXZ pairs where every method has a value
    qxz = paper_matched.isel(station=np.flatnonzero(paper_matched["network"].values == "QXZ"))
    o = qxz["obs"].values.ravel()
    p = qxz["pred"].values.reshape(len(PAPER), -1)
    ok = np.isfinite(o) & np.isfinite(p).all(axis=0)
    assert table.loc[("R", "QXZ"), "N"] == ok.sum()
    bma = p[PAPER.index("bma")][ok]
    assert table.loc[("R", "QXZ"), "BMA"] == pytest.approx(np.corrcoef(bma, o[ok])[0, 1], abs=1e-12)
    assert table.loc[("MAE (m3 m-3)", "QXZ"), "BMA"] == pytest.approx(
        np.mean(np.abs(bma - o[ok])), abs=1e-12
    )
    assert table.loc[("RMSE (m3 m-3)", "QXZ"), "XG"] == pytest.approx(
        np.sqrt(np.mean((p[PAPER.index("xgb")][ok] - o[ok]) ** 2)), abs=1e-12
    )
    d = bma - o[ok]
    assert table.loc[("ubRMSE (m3 m-3)", "QXZ"), "BMA"] == pytest.approx(np.std(d), abs=1e-12)
    # without common pairs the svr gap shows in the counts: an N block replaces the N column
    loose = network_table(score_networks(paper_matched, common=False))
    assert "N" not in loose.columns
    n = loose.loc["N"]
    assert (n["SVR"] < n["RF"]).all() and isinstance(n.loc["QXZ", "RF"], int)
    assert [model_label(m) for m in PAPER] == ["CCI", "RF", "MLR", "SVR", "XG", "BMA"]


def test_seasons_split_by_month(paper_matched):
    se = score_seasons(paper_matched)
    assert set(se["period"]) == {"M1", "M2"}
    whole = score_networks(paper_matched).set_index(["network", "model"])["n"]
    per = se.pivot_table(index=["network", "model"], columns="period", values="n")
    assert ((per["M1"] + per["M2"]) == whole.loc[per.index]).all()
    months = pd.DatetimeIndex(paper_matched["time"].values).month
    monsoon = np.isin(months, [5, 6, 7, 8, 9])
    sub = paper_matched.isel(station=np.flatnonzero(paper_matched["network"].values == "CERN"))
    ok = np.isfinite(sub["obs"].values) & np.isfinite(sub["pred"].values).all(axis=0)
    assert per.loc[("CERN", "bma"), "M1"] == (ok & monsoon[None, :]).sum()
    assert per.loc[("CERN", "bma"), "M2"] == (ok & ~monsoon[None, :]).sum()
    # a custom period by dates, inclusive of the whole end year
    by_year = score_networks(paper_matched, {"2010": ("2010-01-01", "2010")})
    assert (
        by_year["n"].sum()
        == se[se["network"].isin(by_year["network"])]["n"].sum()
        - score_networks(paper_matched, {"2009": slice("2009-01-01", "2009-12-31")})["n"].sum()
    )
    table = network_table(se)
    assert table.index.names == ["metric", "network", "period"]


# --------------------------------------------------------------------------- model comparison
def test_compare_models_shapes_and_a_hand_checked_pixel(tiny):
    prod = tiny.truth["sm"].expand_dims(model=["bma"]).to_dataset(name="sm")
    res = compare_models(prod, {"ERA5": tiny.era5, "Noah": tiny.noah})
    assert list(res) == ["ERA5", "Noah"]
    era, noah = res["ERA5"], res["Noah"]
    assert era["r"].shape == (20, 20) and noah["r"].shape == (40, 40)
    assert {"r", "mae", "rmse", "bias", "ubrmse", "n"} <= set(era.data_vars)
    np.testing.assert_array_equal(era["lat"].values, tiny.era5["lat"].values)
    # ERA5 cell (7, 11) holds the 4 x 4 truth pixels of rows 28-31, columns 44-47
    i, j = 7, 11
    block = np.nanmean(
        tiny.truth["sm"].values[:, 4 * i : 4 * i + 4, 4 * j : 4 * j + 4].reshape(-1, 16), axis=1
    )
    ref = tiny.era5["sm"].values[:, i, j]
    assert float(era["r"][i, j]) == pytest.approx(np.corrcoef(block, ref)[0, 1], abs=1e-6)
    assert float(era["mae"][i, j]) == pytest.approx(np.mean(np.abs(block - ref)), abs=1e-6)
    assert int(era["n"][i, j]) == tiny.era5.sizes["time"]
    # Noah covers part of the domain: elsewhere n = 0 and NaN, never an error
    covered = np.isfinite(tiny.noah["sm"].values).any(axis=0)
    assert 0 < covered.sum() < covered.size
    assert np.array_equal(noah["n"].values > 0, covered)
    assert np.isnan(noah["r"].values[~covered]).all()
    # on the product's grid, every fine pixel takes its ERA5 cell
    fine = compare_models(prod, {"ERA5": tiny.era5}, grid="product")["ERA5"]
    assert fine["r"].shape == (80, 80)
    assert "cell holding" in fine.attrs["regridding"]


def test_compare_models_dask_equals_eager(tiny):
    prod = (
        tiny.truth["sm"].isel(time=slice(0, 90)).expand_dims(model=["bma"]).to_dataset(name="sm")
    )
    eager = compare_models(prod, {"ERA5": tiny.era5})["ERA5"]
    lazy = compare_models(
        prod.chunk({"time": 30, "lat": 40, "lon": 40}), {"ERA5": tiny.era5.chunk({"time": 45})}
    )["ERA5"]
    assert lazy["r"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), eager, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="valid choices"):
        compare_models(prod, {"ERA5": tiny.era5}, grid="finest")


# --------------------------------------------------------------------------- figures
def test_figures_are_created(tmp_path, tiny, paper_matched):
    st = score_stations(paper_matched)
    figs = {
        "map": plot_station_map(st, ("r", "mae"), "BMA", outline=tiny.fine["dem"]),
        "map_box": plot_station_map(st, "bias", "xgb", outline=Grid.from_dataset(tiny.truth)),
        "scatter": plot_scatter(paper_matched, ("cci", "bma")),
        "series": plot_station_series(paper_matched, "Arou"),
        "series_nzw": plot_station_series(paper_matched, int(paper_matched["station"].values[-1])),
    }
    prod = (
        tiny.truth["sm"].isel(time=slice(0, 60)).expand_dims(model=["bma"]).to_dataset(name="sm")
    )
    figs["models"] = plot_model_comparison(
        compare_models(prod, {"ERA5": tiny.era5, "Noah": tiny.noah})
    )
    for name, fig in figs.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=40)
        assert path.stat().st_size > 3000
        assert fig.axes[0].get_title() or fig.get_suptitle()
        plt.close(fig)
    # the station series: retrieval and BMA above, the four learners below, never six lines in one panel
    series = [ax for ax in figs["series"].axes if ax.get_lines()]
    assert len(series) == 2 and all(len(ax.get_lines()) <= 5 for ax in series)
    panels = [ax for ax in figs["scatter"].axes if ax.get_aspect() == 1.0]
    assert len(panels) == 6 and all(
        len(ax.child_axes) == 1 for ax in panels
    )  # each with season boxes
    boxes = [tx.get_text() for ax in panels for tx in ax.texts if "RMSE" in tx.get_text()]
    assert len(boxes) == 6 and all("RMSE = " in b and b.count("m3 m-3") == 3 and "-0.000" not in b for b in boxes)
    for ax in panels:  # the season boxes sit beside the scatter, on its soil-moisture scale
        (ins,) = ax.child_axes
        assert ins.get_position().x0 >= ax.get_position().x1 and ins.get_ylim() == ax.get_ylim()
    with pytest.raises(KeyError, match="available"):
        plot_station_map(st, "r", "gbm")


# --------------------------------------------------------------------------- honest splits
def test_split_years_disjoint_and_covering(paper_matched):
    train, test = split_years(paper_matched, 2009, [2010])
    years = lambda ds: set(pd.DatetimeIndex(ds["time"].values).year)  # noqa: E731
    assert years(train) == {2009} and years(test) == {2010}
    assert train.sizes["time"] + test.sizes["time"] == paper_matched.sizes["time"]
    pairs = to_pairs(paper_matched)
    a, b = split_years(pairs, [2009], 2010)
    assert len(a) + len(b) == len(pairs) and set(a["time"].dt.year) == {2009}
    with pytest.raises(ValueError, match=r"\[2010\]"):
        split_years(pairs, [2009, 2010], [2010])


def test_split_stations_leaves_stations_out_within_zones():
    n = 23
    ds = xr.Dataset(
        coords={"station": np.arange(n), "name": ("station", [f"S{k}" for k in range(n)])}
    )
    zones = np.array([k % 3 for k in range(n)])
    folds = split_stations(ds, zones, n_folds=4, seed=3)
    assert len(folds) == 4
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(n))  # each station held out exactly once
    for train, test in folds:
        assert not set(train) & set(test)
        assert sorted(np.r_[train, test].tolist()) == list(range(n))
    for z in range(3):  # every zone spread evenly over the folds
        counts = [np.isin(te, np.flatnonzero(zones == z)).sum() for _, te in folds]
        assert max(counts) - min(counts) <= 1
    again = split_stations(ds, {f"S{k}": zones[k] for k in range(n)}, n_folds=4, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    other = split_stations(ds, zones, n_folds=4, seed=4)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))
    with pytest.raises(KeyError, match="S22"):
        split_stations(ds, {f"S{k}": 0 for k in range(n - 1)}, n_folds=2)
    with pytest.raises(ValueError, match="at least 2"):
        split_stations(ds, zones, n_folds=1)


def test_station_r_colour_bar_reaches_negative_r_and_diverges_at_zero(paper_matched):
    from matplotlib.colors import TwoSlopeNorm

    st = score_stations(paper_matched)
    st.loc[(st["model"] == "bma").to_numpy().nonzero()[0][0], "r"] = -0.34
    fig = plot_station_map(st, "r", "BMA")
    (bar,) = [im for ax in fig.axes for im in ax.collections if getattr(im, "norm", None) is not None
              and isinstance(im.norm, TwoSlopeNorm)][:1]
    assert (bar.norm.vmin, bar.norm.vcenter, bar.norm.vmax) == (-0.4, 0.0, 1.0)
    plt.close(fig)
