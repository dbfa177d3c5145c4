import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from smkit.bma.zones import NO_ZONE, kmeans_zones, zone_of_stations, zones_to_fine
from smkit.core.grid import Grid
from smkit.plot.zones import plot_zones

CGRID = Grid(100.0, 101.5, 40.0, 41.5, 0.25)  # 6 x 6 coarse cells


def coarse_sm(seed=0, nt=30, dead=((0, 0), (5, 5), (2, 3))):
    """Coarse sm(time, lat, lon), m3 m-3: wetter to the north-east, noisy, dead cells."""
    rng = np.random.default_rng(seed)
    ny, nx = CGRID.shape
    base = 0.05 + 0.3 * (np.add.outer(np.arange(ny), np.arange(nx)) / (ny + nx - 2))
    sm = base[None] + rng.normal(0, 0.01, (nt, ny, nx))
    sm[rng.random(sm.shape) < 0.3] = np.nan  # gaps
    for i, j in dead:
        sm[:, i, j] = np.nan
    return xr.DataArray(
        sm.astype(np.float32),
        dims=("time", "lat", "lon"),
        name="sm",
        coords={"time": pd.date_range("2003-01-01", periods=nt), **CGRID.coords()},
        attrs={"units": "m3 m-3"},
    )


def test_labels_ordered_by_wetness_and_no_data_cells():
    sm = coarse_sm()
    z = kmeans_zones(sm, k=4)
    assert z.dims == ("lat", "lon") and z.dtype == np.int32
    assert z.name == "zone"
    vals = z.values
    assert set(np.unique(vals)) == {NO_ZONE, 1, 2, 3, 4}
    never = sm.isnull().all("time").values
    np.testing.assert_array_equal(vals == NO_ZONE, never)
    mean = sm.mean("time").values
    zone_means = [mean[vals == j].mean() for j in range(1, 5)]
    assert np.all(np.diff(zone_means) > 0)  # zone 1 driest
    np.testing.assert_allclose(z.attrs["zone_mean_sm"], zone_means, atol=1e-5)
    # clusters of a 1-D feature are intervals: every zone-1 cell is drier than every zone-2 cell
    for j in range(1, 4):
        assert mean[vals == j].max() < mean[vals == j + 1].min()


def test_cf_attributes():
    z = kmeans_zones(coarse_sm(), k=3, seed=5)
    assert z.attrs["units"] == "1"
    assert "long_name" in z.attrs
    np.testing.assert_array_equal(z.attrs["flag_values"], [1, 2, 3])
    assert z.attrs["flag_meanings"] == "zone_1 zone_2 zone_3"
    assert z.attrs["k"] == 3 and z.attrs["seed"] == 5
    assert z.encoding["_FillValue"] == NO_ZONE
    assert z["lat"].attrs["units"] == "degrees_north"


def test_deterministic_per_seed_and_stable_across_seeds():
    sm = coarse_sm(seed=1)
    a = kmeans_zones(sm, k=5, seed=3)
    b = kmeans_zones(sm, k=5, seed=3)
    xr.testing.assert_identical(a, b)
    # k-means' internal cluster numbering changes with the seed, the ordered labels do not
    c = kmeans_zones(sm, k=3, seed=0)
    d = kmeans_zones(sm, k=3, seed=11)
    np.testing.assert_array_equal(c.values, d.values)


def test_dataset_and_dask_input_give_same_zones():
    sm = coarse_sm(seed=2)
    ref = kmeans_zones(sm, k=3)
    xr.testing.assert_identical(kmeans_zones(sm.to_dataset(), k=3), ref)
    xr.testing.assert_identical(kmeans_zones(sm.chunk({"time": 7}), k=3), ref)


def test_min_count_excludes_sparse_cells():
    sm = coarse_sm(seed=3, dead=())
    sm[:-1, 1, 1] = np.nan  # a single retrieval
    assert kmeans_zones(sm, k=2).values[1, 1] != NO_ZONE
    assert kmeans_zones(sm, k=2, min_count=2).values[1, 1] == NO_ZONE


def test_features_are_used_and_checked():
    sm = coarse_sm(seed=4)
    ny, nx = CGRID.shape
    west_east = xr.DataArray(
        np.tile(np.arange(nx, dtype=float), (ny, 1)) * 1000.0,
        dims=("lat", "lon"),
        coords=CGRID.coords(),
        name="dem",
    )
    only_sm = kmeans_zones(sm, k=2)
    with_dem = kmeans_zones(sm, k=2, features={"dem": west_east})
    assert with_dem.attrs["features"] == "sm_mean dem"
    assert not np.array_equal(only_sm.values, with_dem.values)
    # a NaN feature removes the cell
    holey = west_east.copy()
    holey[3, 3] = np.nan
    assert kmeans_zones(sm, k=2, features=[holey]).values[3, 3] == NO_ZONE
    other = west_east.assign_coords(lon=west_east.lon + 0.1)
    with pytest.raises(ValueError, match="not on the coarse grid"):
        kmeans_zones(sm, k=2, features=other)


def test_errors_are_clear():
    sm = coarse_sm()
    n_valid = int(sm.notnull().any("time").sum())
    with pytest.raises(ValueError, match=rf"k={n_valid + 1}.*only {n_valid} coarse cell"):
        kmeans_zones(sm, k=n_valid + 1)
    with pytest.raises(ValueError, match="NaN everywhere"):
        kmeans_zones(sm * np.nan, k=2)
    with pytest.raises(ValueError, match="positive"):
        kmeans_zones(sm, k=0)
    flat = xr.full_like(sm, 0.2)
    with pytest.raises(ValueError, match="distinct"):
        kmeans_zones(flat, k=2)
    with pytest.raises(KeyError, match="no 'sm'"):
        kmeans_zones(sm.to_dataset(name="soil"), k=2)


def test_zones_to_fine_is_a_block_copy():
    z = kmeans_zones(coarse_sm(), k=3)
    fgrid = CGRID.with_res(0.05)  # factor 5
    fine = zones_to_fine(z, fgrid)
    assert fine.shape == fgrid.shape and fine.dims == ("lat", "lon")
    np.testing.assert_array_equal(fine.values, np.repeat(np.repeat(z.values, 5, 0), 5, 1))
    np.testing.assert_allclose(fine["lat"].values, fgrid.lat)
    assert fine.attrs == z.attrs
    # a Dataset on the fine grid works the same
    ds = xr.Dataset(coords=fgrid.coords())
    xr.testing.assert_identical(zones_to_fine(z, ds), fine)
    with pytest.raises(ValueError, match="does not nest"):
        zones_to_fine(z, CGRID.with_res(0.1))


def test_zone_of_stations_inside_outside_and_gaps():
    z = kmeans_zones(coarse_sm(), k=3)
    st = xr.Dataset(
        coords={
            "station": [10, 11, 12, 13],
            "name": ("station", ["A", "B", "far", "gap"]),
            "lat": ("station", [40.1, 41.4, 45.0, 40.1]),
            "lon": ("station", [100.3, 101.4, 100.5, 100.05]),
        }
    )
    with pytest.warns(UserWarning) as rec:
        out = zone_of_stations(z, st)
    msgs = " ".join(str(r.message) for r in rec)
    assert "far" in msgs and "outside" in msgs
    assert "gap" in msgs and "without a zone" in msgs  # cell (0, 0) never has data
    assert out.dims == ("station",)
    np.testing.assert_array_equal(out["station"].values, [10, 11, 12, 13])
    assert out.values[0] == z.values[0, 1]
    assert out.values[1] == NO_ZONE  # cell (5, 5) never has data either
    assert out.values[2] == NO_ZONE and out.values[3] == NO_ZONE
    # DataFrame input, no warnings when all stations are in zones
    df = pd.DataFrame({"lat": [40.1, 40.6], "lon": [100.3, 100.6]}, index=["p", "q"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = zone_of_stations(z, df)
    np.testing.assert_array_equal(got.values, [z.values[0, 1], z.values[2, 2]])
    np.testing.assert_array_equal(got["station"].values, ["p", "q"])


def test_tiny_scenario_integration(tiny):
    z = kmeans_zones(tiny.coarse["sm"], k=7)
    assert set(np.unique(z.values)) - {NO_ZONE} == set(range(1, 8))
    fine = zones_to_fine(z, tiny.fine)
    assert fine.shape == (tiny.fine.sizes["lat"], tiny.fine.sizes["lon"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        st = zone_of_stations(z, tiny.stations)
    assert st.sizes["station"] == tiny.stations.sizes["station"]
    # a station's zone is the zone of the fine pixel holding it
    for s in range(st.sizes["station"]):
        lat, lon = float(tiny.stations["lat"][s]), float(tiny.stations["lon"][s])
        pix = fine.sel(lat=lat, lon=lon, method="nearest")
        assert int(pix) == int(st[s])


def test_plot_zones(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    z = kmeans_zones(coarse_sm(), k=3)
    st = pd.DataFrame(
        {"lat": [40.1, 41.2], "lon": [100.3, 101.1], "name": ["A", "B"], "network": ["CERN", "NZW"]}
    )
    fig = plot_zones(z, st)
    ax = fig.axes[0]
    assert "zones" in ax.get_title()
    assert "degrees east" in ax.get_xlabel() and "degrees north" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"CERN", "NZW", "no data"} <= set(labels)
    fig.savefig(tmp_path / "zones.png")


def test_plot_zones_keeps_its_old_name_with_a_warning():
    from smkit.bma import zones

    with pytest.warns(DeprecationWarning, match="smkit.plot.zones.plot_zones"):
        assert zones.plot_zones is plot_zones
