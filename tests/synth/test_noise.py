import numpy as np

from smkit.synth.noise import PlaneWaves, daily_waves, hash_normal, hash_uniform, rng


def test_hash_uniform_is_keyed_and_uniform():
    i = np.arange(200_000)
    u = hash_uniform(1, 2, i)
    assert np.all((u > 0) & (u < 1))
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert np.array_equal(u[123:456], hash_uniform(1, 2, i[123:456]))
    assert not np.array_equal(u, hash_uniform(2, 2, i))
    assert not np.array_equal(u, hash_uniform(1, 3, i))


def test_hash_normal_moments():
    z = hash_normal(0, 5, np.arange(200_000), 7)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01


def test_plane_waves_unit_variance_and_pointwise():
    f = PlaneWaves(rng(0, 1), 64, 5.0, 100.0, 0.8)
    lat, lon = np.meshgrid(np.linspace(30, 50, 300), np.linspace(75, 125, 300), indexing="ij")
    v = f(lat, lon)
    assert 0.5 < v.var() < 1.5
    assert np.array_equal(v[10:20, 30:40], f(lat[10:20, 30:40], lon[10:20, 30:40]))


def test_daily_waves_depend_on_day_only():
    lat, lon = np.linspace(37, 40, 50), np.linspace(99, 102, 50)
    a = daily_waves(0, 10, np.arange(100, 110), lat, lon, 8, 10.0, 500.0, 1.0)
    b = daily_waves(0, 10, np.arange(105, 108), lat[5:], lon[5:], 8, 10.0, 500.0, 1.0)
    assert np.array_equal(a[5:8, 5:], b)
