"""Location-keyed random numbers for the synthetic world.

Every random quantity of the synthetic world is a pure function of the seed
and of *where and when* it is drawn (global grid indices, day number), never
of the order of generation. That is what lets a chunk of the three-north
preset be built alone and still be bit-identical to the same chunk of a whole
build: white noise comes from a counter-based hash (splitmix64), spatially
smooth fields from sums of random plane waves whose parameters are drawn once
per seed (static fields) or once per day (weather).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "KM_PER_DEG_LON",
    "KM_PER_DEG_LAT",
    "hash_uniform",
    "hash_normal",
    "rng",
    "PlaneWaves",
    "daily_waves",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

# kilometres per degree on the plane used for all smooth fields (fixed, so a
# field is the same function of lat/lon in every domain)
KM_PER_DEG_LON = 111.32 * np.cos(np.deg2rad(40.0))
KM_PER_DEG_LAT = 110.57


def _mix(x: np.ndarray) -> np.ndarray:
    """Splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@numba.vectorize(["uint64(uint64, int64)"], cache=True)
def _step(h, k):  # pragma: no cover - compiled
    """One key folded into the hash state: splitmix64 of ``h ^ (k + golden)``."""
    x = h ^ (np.uint64(k) + np.uint64(0x9E3779B97F4A7C15))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.vectorize(["float64(uint64)"], cache=True)
def _to_unit(h):  # pragma: no cover - compiled
    return (np.float64(h >> np.uint64(11)) + 0.5) * 2.0**-53


def hash_uniform(seed: int, stream: int, *keys) -> np.ndarray:
    """Uniform numbers in (0, 1) keyed by ``seed``, ``stream`` and integer ``keys``.

    ``keys`` are broadcast together; the result has their broadcast shape.
    """
    with np.errstate(over="ignore"):
        h = _mix(np.asarray(seed, dtype=np.uint64) * _GOLDEN + np.uint64(stream))
    for k in keys:
        h = _step(h, np.asarray(k, dtype=np.int64))
    return _to_unit(h)


def hash_normal(seed: int, stream: int, *keys) -> np.ndarray:
    """Standard normal numbers keyed like :func:`hash_uniform` (Box-Muller).

    The two uniforms of the transform are ``hash_uniform(seed, stream, ...)``
    and ``hash_uniform(seed, stream + 7919, ...)``.
    """
    u1 = hash_uniform(seed, stream, *keys)
    u2 = hash_uniform(seed, stream + 7919, *keys)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def rng(seed: int, *keys: int) -> np.random.Generator:
    """A numpy Generator keyed by ``seed`` and integer ``keys``."""
    return np.random.default_rng([int(seed), *[int(k) for k in keys]])


def _draw_modes(gen: np.random.Generator, n: int, lmin: float, lmax: float, hurst: float):
    wavelength = np.exp(gen.uniform(np.log(lmin), np.log(lmax), n))
    theta = gen.uniform(0.0, np.pi, n)
    phase = gen.uniform(0.0, 2.0 * np.pi, n)
    k = 2.0 * np.pi / wavelength
    amp = wavelength**hurst
    amp = amp * np.sqrt(2.0 / np.sum(amp**2))  # unit variance
    return k * np.cos(theta), k * np.sin(theta), phase, amp


class PlaneWaves:
    """A smooth random field: a sum of plane waves with unit variance.

    Parameters
    ----------
    gen : numpy.random.Generator
        Source of the wave parameters.
    n : int
        Number of waves.
    lmin, lmax : float
        Shortest and longest wavelength, km.
    hurst : float
        Amplitude grows as wavelength**hurst (larger: smoother field).
    """

    def __init__(self, gen: np.random.Generator, n: int, lmin: float, lmax: float, hurst: float):
        self.kx, self.ky, self.phase, self.amp = _draw_modes(gen, n, lmin, lmax, hurst)

    def __call__(self, lat, lon) -> np.ndarray:
        """Evaluate at points (broadcast ``lat`` and ``lon``, degrees)."""
        x = np.asarray(lon, dtype=np.float64) * KM_PER_DEG_LON
        y = np.asarray(lat, dtype=np.float64) * KM_PER_DEG_LAT
        x, y = np.broadcast_arrays(x, y)
        acc = np.zeros(x.shape)
        for kx, ky, ph, a in zip(self.kx, self.ky, self.phase, self.amp, strict=True):
            acc += a * np.cos(kx * x + ky * y + ph)
        return acc


def daily_waves(
    seed: int, stream: int, days: np.ndarray, lat, lon, n: int, lmin: float, lmax: float,
    hurst: float,
) -> np.ndarray:
    """A smooth unit-variance random field drawn afresh each day.

    Parameters
    ----------
    days : ndarray of int, shape (D,)
        Day numbers (days since 1970-01-01).
    lat, lon : ndarray, shape (N,)
        Points, degrees.

    Returns
    -------
    ndarray, shape (D, N)
    """
    days = np.asarray(days, dtype=np.int64)
    params = [_draw_modes(rng(seed, stream, d), n, lmin, lmax, hurst) for d in days]
    kx, ky, ph, amp = (np.stack([p[i] for p in params]) for i in range(4))  # (D, n)
    x = np.asarray(lon, dtype=np.float64)[None, :] * KM_PER_DEG_LON
    y = np.asarray(lat, dtype=np.float64)[None, :] * KM_PER_DEG_LAT
    acc = np.zeros((days.size, x.shape[1]))
    for m in range(n):
        acc += amp[:, m, None] * np.cos(kx[:, m, None] * x + ky[:, m, None] * y + ph[:, m, None])
    return acc
