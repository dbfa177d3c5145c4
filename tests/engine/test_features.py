import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.core.grid import block_mean
from smkit.engine.features import aggregate, aggregate_array, keys_kernel


def _cubic_by_loops(x, f, min_valid=0.5):
    """Direct, loop-based cubic convolution downsampling (independent of the vectorised one)."""
    ny, nx = x.shape[0] // f, x.shape[1] // f
    out = np.full((ny, nx), np.nan)
    for ci in range(ny):
        for cj in range(nx):
            cy, cx = (ci + 0.5) * f - 0.5, (cj + 0.5) * f - 0.5
            num = den = full = 0.0
            for i in range(x.shape[0]):
                wy = float(keys_kernel((i - cy) / f))
                if wy == 0:
                    continue
                for j in range(x.shape[1]):
                    w = wy * float(keys_kernel((j - cx) / f))
                    full += w
                    if np.isfinite(x[i, j]):
                        num += w * x[i, j]
                        den += w
            own = x[ci * f:(ci + 1) * f, cj * f:(cj + 1) * f]
            if np.isfinite(own).mean() >= min_valid and den >= 0.25 * full:
                out[ci, cj] = num / den
    return out


def test_keys_kernel_interpolates():
    assert keys_kernel(0.0) == 1.0
    np.testing.assert_allclose(keys_kernel(np.array([1.0, 2.0, 2.5, -1.0])), 0.0, atol=1e-15)
    # the shifted kernels sum to one (partition of unity)
    x = np.linspace(0, 1, 11)
    np.testing.assert_allclose(sum(keys_kernel(x - k) for k in range(-2, 4)), 1.0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), f=st.integers(2, 5), gaps=st.floats(0, 0.6))
def test_cubic_matches_loops(seed, f, gaps):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3 * f, 4 * f))
    x[rng.random(x.shape) < gaps] = np.nan
    np.testing.assert_allclose(aggregate_array(x, f, "cubic"), _cubic_by_loops(x, f), atol=1e-12)


def test_cubic_keeps_constants_and_interior_linear_trends():
    f = 5
    x = np.full((6 * f, 6 * f), 3.5)
    np.testing.assert_allclose(aggregate_array(x, f, "cubic"), 3.5)
    i, j = np.meshgrid(np.arange(6 * f), np.arange(6 * f), indexing="ij")
    lin = 0.3 * i - 0.1 * j
    inner = aggregate_array(lin, f, "cubic")[2:-2, 2:-2]
    np.testing.assert_allclose(inner, block_mean(lin, f)[2:-2, 2:-2], atol=1e-10)


def test_mean_and_invalid_cells():
    x = np.arange(16.0).reshape(4, 4)
    x[:2, :2] = np.nan
    out = aggregate_array(x, 2, "mean")
    assert np.isnan(out[0, 0]) and out[1, 1] == np.mean([10, 11, 14, 15])
    assert np.isnan(aggregate_array(x, 2, "cubic")[0, 0])
    with pytest.raises(ValueError, match="aggregation"):
        aggregate_array(x, 2, "nearest")


def test_aggregate_dataset_cubic_equals_array(tiny):
    fine = tiny.fine.isel(time=slice(100, 103))
    agg = aggregate(fine, tiny.coarse, method="cubic")
    direct = aggregate_array(fine["ndvi"].values, 10, "cubic")
    np.testing.assert_allclose(agg["ndvi"].values, direct, rtol=1e-6)
    assert agg["ndvi"].dims == ("time", "lat", "lon")
    np.testing.assert_allclose(agg["lat"], tiny.coarse["lat"])
