import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smkit.engine.windows import candidates, choose_windows, day_offsets, gather, space_offsets


def test_candidates_orders():
    assert candidates() == [(3, 1), (4, 1), (5, 1), (5, 2), (5, 3)]
    assert candidates(growth="time") == [(3, 1), (3, 2), (3, 3), (4, 3), (5, 3)]
    assert candidates(sw_max=10, nd_max=5)[-1] == (10, 5)
    with pytest.raises(ValueError, match="growth"):
        candidates(growth="diagonal")


def test_day_order_is_t_then_back_and_forth():
    assert day_offsets(5).tolist() == [0, -1, 1, -2, 2]
    assert space_offsets(3).tolist() == [-1, 0, 1]
    assert space_offsets(4).tolist() == [-2, -1, 0, 1]


def _brute(valid, t, i, j, need, seq):
    T, ny, nx = valid.shape
    for s, n in seq:
        c = sum(
            1
            for d in day_offsets(n)
            for di in space_offsets(s)
            for dj in space_offsets(s)
            if 0 <= t + d < T and 0 <= i + di < ny and 0 <= j + dj < nx and valid[t + d, i + di, j + dj]
        )
        if c >= need:
            return s, n, c, False
    return s, n, c, True


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(0.05, 0.9), need=st.integers(1, 60),
       growth=st.sampled_from(["space", "time", "alternate"]))
def test_choose_windows_matches_brute_force(seed, frac, need, growth):
    rng = np.random.default_rng(seed)
    valid = rng.random((6, 7, 9)) < frac
    seq = candidates(sw_max=6, nd_max=4, growth=growth)
    ch = choose_windows(valid, need, seq)
    for t in range(6):
        for i in range(7):
            for j in range(9):
                got = (ch.sw[t, i, j], ch.nd[t, i, j], ch.count[t, i, j], ch.short[t, i, j])
                assert got == _brute(valid, t, i, j, need, seq)


def test_gather_returns_the_window_samples():
    rng = np.random.default_rng(0)
    valid = rng.random((5, 6, 6)) < 0.5
    feat = rng.random((5, 6, 6, 3))
    tgt = rng.random((5, 6, 6))
    ch = choose_windows(valid, 12, candidates())
    cells = np.array([[2, 3, 3], [0, 0, 0], [4, 5, 1]])
    X, y, ptr = gather(valid, feat, tgt, ch, cells)
    assert np.array_equal(np.diff(ptr), ch.count[cells[:, 0], cells[:, 1], cells[:, 2]])
    for b, (t, i, j) in enumerate(cells):
        s, n = ch.sw[t, i, j], ch.nd[t, i, j]
        expect = [tgt[t + d, i + di, j + dj]
                  for d in day_offsets(n) for di in space_offsets(s) for dj in space_offsets(s)
                  if 0 <= t + d < 5 and 0 <= i + di < 6 and 0 <= j + dj < 6 and valid[t + d, i + di, j + dj]]
        assert y[ptr[b]:ptr[b + 1]].tolist() == expect
