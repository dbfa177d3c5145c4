import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from smkit.core.grid import Grid, block_mean, nesting_factor


def test_grid_coordinates_are_cell_centres():
    g = Grid(99.0, 102.0, 37.0, 40.0, 0.25)
    assert g.shape == (12, 12)
    assert g.lat[0] == 37.125 and g.lon[-1] == 101.875
    assert Grid.from_dataset(__import__("xarray").Dataset(coords=g.coords())) == g


def test_nesting_factor():
    c = Grid(99.0, 102.0, 37.0, 40.0, 0.25)
    assert nesting_factor(c, c.with_res(0.01)) == 25
    with pytest.raises(ValueError, match="not an integer"):
        nesting_factor(c, c.with_res(0.03))
    with pytest.raises(ValueError, match="edge"):
        nesting_factor(c, Grid(99.0, 101.9, 37.0, 40.0, 0.01))


def test_global_index_is_extent_independent():
    a = Grid(99.0, 102.0, 37.0, 40.0, 0.01)
    b = Grid(73.5, 127.75, 33.5, 50.25, 0.01)
    ia, ja = a.global_index(a.lat[5], a.lon[7])
    ib, jb = b.global_index(a.lat[5], a.lon[7])
    assert (ia, ja) == (ib, jb)


@settings(max_examples=40, deadline=None)
@given(
    factor=st.integers(1, 4),
    ny=st.integers(1, 3),
    nx=st.integers(1, 3),
    data=st.data(),
)
def test_block_mean_matches_nanmean(factor, ny, nx, data):
    x = data.draw(arrays(np.float64, (2, ny * factor, nx * factor),
                         elements=st.one_of(st.floats(-10, 10), st.just(np.nan))))
    got = block_mean(x, factor)
    for t in range(2):
        for i in range(ny):
            for j in range(nx):
                block = x[t, i * factor:(i + 1) * factor, j * factor:(j + 1) * factor]
                if np.isnan(block).all():
                    assert np.isnan(got[t, i, j])
                else:
                    assert got[t, i, j] == pytest.approx(np.nanmean(block), abs=1e-12)


def test_block_mean_min_valid():
    x = np.array([[1.0, np.nan], [np.nan, np.nan]])
    assert block_mean(x, 2)[0, 0] == 1.0
    assert np.isnan(block_mean(x, 2, min_valid=0.5)[0, 0])
