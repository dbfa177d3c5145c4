"""The truth model: static fields, weather, water stores and the fields observed of them.

:class:`World` computes, at any point and day, a pure function of the seed: terrain,
soil and vegetation (:meth:`World.static`), forcing and the surface and root-zone
stores on the 0.1 and 0.05 degree grids (:meth:`World.forcing`), the same
interpolated to points (:meth:`World.point_state`), and blocks of the fine grid --
the 1-km truth, LST, NDVI, albedo, precipitation and the coarse retrieval
(:meth:`World.fine_block`) -- and of the model-like fields (ERA5-, Noah- and
PDSI-like). The retrieval's errors are applied by :mod:`smkit.synth.retrieval`,
the stations built by :mod:`smkit.synth.stations`; the package docstring
(:mod:`smkit.synth`) describes the whole world.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit, ndtri

from smkit.core.grid import Grid, block_mean
from smkit.synth.constants import ALBEDO_RES, CELL, LAPSE, Stream
from smkit.synth.noise import PlaneWaves, daily_waves, hash_normal, hash_uniform, rng
from smkit.synth.physics import (
    day_numbers,
    day_of_year,
    loss_rate,
    ndvi_period_start,
    root_decay,
    temperature_climatology,
    windowed_store,
)
from smkit.synth.presets import (
    DEM_ANCHORS,
    FIXED_DROUGHTS,
    N_RANDOM_DROUGHTS,
    NOAH_POLYGON,
    THREE_NORTH,
    Preset,
    RetrievalErrors,
    StationErrors,
)
from smkit.synth.retrieval import retrieve
from smkit.synth.stations import station_dataset

__all__ = ["World"]

# parameters of the water balance
SUB = 0.05  # grid of the surface stores: rain is patchier than the 0.1 degree forcing
L_SURFACE = 60  # days of memory of the surface store
L_ROOT = 120  # days of memory of the root-zone store
HALO = L_ROOT + 16  # days before a block needed to build it (root zone at NDVI period starts)
S0 = 16.0  # mm, storage scale of the retention curve
PATCHINESS = 1.0  # log-s.d. of the rain of a 0.05 degree cell about its 0.1 degree cell's
IRRIGATION = 35.0  # mm per flood irrigation of a fully irrigated cell, every 10 days in Apr-Sep

# drainage multipliers of the two surface stores a pixel's storage is mixed from
# (loam drains slowly, sand fast: McColl et al. 2017, Geophys. Res. Lett. 44, 3682,
# find surface drydown e-folding times of 2-10 days, shortest on sandy dry soils)
DRAIN_SLOW, DRAIN_FAST = 0.6, 1.7
SURFACE_LOSS = 1.5  # surface (0-5 cm) loss rate over the evaporative-demand rate of the stores


def _thin_plate_fit(x, y, z, smoothing=1e-3):
    """Coefficients of a smoothing thin-plate spline through (x, y, z)."""
    n = len(x)
    r = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(r > 0, r**2 * np.log(r), 0.0)
    p = np.column_stack([np.ones(n), x, y])
    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = k + smoothing * np.eye(n)
    a[:n, n:] = p
    a[n:, :n] = p.T
    sol = np.linalg.solve(a, np.concatenate([z, np.zeros(3)]))
    return sol[:n], sol[n:]


class _LRU:
    """A tiny thread-safe LRU cache for per-tile static fields."""

    def __init__(self, size: int = 16):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


def _albedo_cell(lat, lon):
    """Global row and column (as floats) of the 0.05 degree albedo cell holding each point."""
    return np.floor((lat + 90.0) / ALBEDO_RES + 1e-9), np.floor((lon + 180.0) / ALBEDO_RES + 1e-9)


def _saturation(st: dict, theta):
    """Relative wetness (0-1) of soil moisture ``theta`` between the residual and saturated contents."""
    return (theta - st["theta_r"]) / (st["theta_s"] - st["theta_r"])


def _grid_points(grid: Grid, y0: int, y1: int, x0: int, x1: int):
    """Latitudes and longitudes (flat, row-major) of the cell centres of a block of ``grid``."""
    return (a.ravel() for a in np.meshgrid(grid.lat[y0:y1], grid.lon[x0:x1], indexing="ij"))


# --------------------------------------------------------------------------- the world
@dataclass
class World:
    """The synthetic truth model: static fields, forcing and soil moisture at any point.

    Parameters
    ----------
    seed : int
        Seed of every random quantity.
    valley_wetness : float, default 0.5
        Correlation (-1 to 1) between the topographic wetness of a pixel and
        how low it lies inside its neighbourhood: 1, valleys are wetter than
        ridges everywhere (a pure topographic wetness index); -1, ridges are
        wetter; 0, the sub-grid wetness pattern ignores the relief. Between
        25-km cells elevation brings rain and cold (wetter uplands) whatever
        this is, so the sign of elevation's effect may differ between scales.
    retrieval : RetrievalErrors
        Error model of the coarse retrieval.
    station_errors : StationErrors
        Errors of the in-situ stations.
    """

    seed: int = 0
    valley_wetness: float = 0.5
    retrieval: RetrievalErrors = field(default_factory=RetrievalErrors)
    station_errors: StationErrors = field(default_factory=StationErrors)
    _cache: _LRU = field(default_factory=_LRU, repr=False)
    _weather_cache: _LRU = field(default_factory=lambda: _LRU(4), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        if not -1.0 <= self.valley_wetness <= 1.0:
            raise ValueError(f"valley_wetness must lie in [-1, 1], got {self.valley_wetness}")
        s = self.seed
        self.f_dem_mid = PlaneWaves(rng(s, Stream.DEM_MID), 64, 30.0, 300.0, 1.0)
        self.f_dem_small = PlaneWaves(rng(s, Stream.DEM_SMALL), 160, 2.0, 30.0, 0.9)
        self.f_soil = PlaneWaves(rng(s, Stream.SOIL), 96, 1.5, 200.0, 0.5)
        self.f_veg = PlaneWaves(rng(s, Stream.VEG), 96, 2.0, 200.0, 0.6)
        self.f_bias = PlaneWaves(rng(s, Stream.BIAS), 32, 100.0, 1500.0, 1.0)
        self.f_wet = PlaneWaves(rng(s, Stream.WET), 96, 2.0, 30.0, 0.9)
        self.f_texture = PlaneWaves(rng(s, Stream.TEXTURE), 48, 30.0, 400.0, 1.0)
        self.f_illum = PlaneWaves(rng(s, Stream.ILLUM), 64, 1.5, 15.0, 0.8)
        self.f_colour = PlaneWaves(rng(s, Stream.COLOUR), 64, 5.0, 400.0, 0.8)
        self.f_gain = PlaneWaves(rng(s, Stream.GAIN), 32, 100.0, 1500.0, 1.0)
        self.f_irr = PlaneWaves(rng(s, Stream.IRR), 64, 8.0, 80.0, 0.8)
        self.f_bias_local = PlaneWaves(rng(s, Stream.BIASLOC), 48, 25.0, 150.0, 0.8)
        self.f_model_soil = PlaneWaves(rng(s, Stream.MSOIL), 48, 30.0, 400.0, 1.0)
        self.f_model_precip = PlaneWaves(rng(s, Stream.MPRECIP), 48, 50.0, 800.0, 1.0)
        self.f_pclim = PlaneWaves(rng(s, Stream.PCLIM), 48, 30.0, 300.0, 0.8)
        self.f_heating = PlaneWaves(rng(s, Stream.HEAT), 48, 5.0, 150.0, 0.7)
        anchors = np.array(DEM_ANCHORS, dtype=float)
        self._ax, self._ay = anchors[:, 0], anchors[:, 1]
        self._aw, self._ac = _thin_plate_fit(self._ax, self._ay, anchors[:, 2])
        g = rng(s, Stream.DROUGHT)
        tn = THREE_NORTH
        random_droughts = [
            (g.uniform(tn.lon0 + 2, tn.lon1 - 2), g.uniform(tn.lat0 + 2, tn.lat1 - 2),
             g.uniform(0.6, 1.8), g.uniform(0.55, 0.75))
            for _ in range(N_RANDOM_DROUGHTS)
        ]
        self.droughts = FIXED_DROUGHTS + random_droughts

    # ------------------------------------------------------------ static fields
    def dem_base(self, lat, lon) -> np.ndarray:
        """Large-scale elevation through the anchors, m."""
        lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
        out = self._ac[0] + self._ac[1] * lon + self._ac[2] * lat
        for x, y, w in zip(self._ax, self._ay, self._aw, strict=True):
            r2 = (lon - x) ** 2 + (lat - y) ** 2
            out = out + w * np.where(r2 > 0, 0.5 * r2 * np.log(np.maximum(r2, 1e-300)), 0.0)
        return np.clip(out, -150.0, 6500.0)

    def deficit(self, lat, lon) -> np.ndarray:
        """Fraction of precipitation missing in persistent drought patches (0-0.75)."""
        lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
        out = np.zeros(lat.shape)
        for x, y, r, sev in self.droughts:
            d2 = ((lon - x) * np.cos(np.deg2rad(y))) ** 2 + (lat - y) ** 2
            out = out + sev * np.exp(-0.5 * (d2 / r**2) ** 2)
        return np.minimum(out, 0.75)

    def annual_precip(self, lat, lon, dem_large) -> np.ndarray:
        """Nominal annual precipitation, mm yr-1.

        An east-west gradient, orographic enhancement above 1600 m, and
        regional structure of +-30 % over 30-300 km that elevation does not
        explain (moisture pathways, rain shadows, convective hot spots).
        """
        east = expit((np.asarray(lon) - 104.0) / 5.0)
        north_west = 1.0 - 0.3 * expit((np.asarray(lat) - 45.0) / 1.5) * (1.0 - east)
        regional = np.exp(0.3 * self.f_pclim(lat, lon))
        return ((35.0 + 520.0 * east) * north_west + 0.13 * np.maximum(dem_large - 1600.0, 0.0)) * regional

    def static(self, lat, lon) -> dict[str, np.ndarray]:
        """Static fields at points: elevation, wetness, soil, vegetation, retention.

        Returns
        -------
        dict
            ``dem`` and ``dem_large`` (m), ``wet`` (topographic wetness, unit
            variance), ``irrigated`` (irrigated share 0-1), ``sand`` (sand share 0-1: fast drainage, little
            retention), ``fveg`` (vegetation fraction 0-1), ``theta_s`` and
            ``theta_r`` (saturated and residual water content, m3 m-3),
            ``alpha`` (retention multiplier), ``s_base`` (mm), ``illum``
            (sun-facing slopes, unit variance), ``heating`` (land-cover and
            emissivity effects on LST, unit variance), ``colour`` (bare-soil
            brightness, unit variance).
        """
        lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
        base = self.dem_base(lat, lon)
        rug = np.clip((base - 600.0) / 1800.0, 0.15, 1.0)
        small = self.f_dem_small(lat, lon)
        dem_large = base + 350.0 * rug * self.f_dem_mid(lat, lon)
        dem = dem_large + 180.0 * rug * small
        c = self.valley_wetness
        wet = -c * small + np.sqrt(1.0 - c * c) * self.f_wet(lat, lon)
        pann = self.annual_precip(lat, lon, dem_large)
        # oases: irrigated farmland on the dry plains and foothills (the Hexi corridor)
        irrigated = (expit((self.f_irr(lat, lon) - 1.2) / 0.2) * expit((pann - 60.0) / 20.0)
                     * expit((350.0 - pann) / 50.0) * expit((2300.0 - dem_large) / 150.0))
        fveg = expit((pann - 380.0) / 90.0 + 0.7 * self.f_veg(lat, lon) + 0.25 * wet + 4.0 * irrigated)
        fveg = fveg * (1.0 - expit((dem - 4100.0) / 150.0))
        soil = self.f_soil(lat, lon)
        sand = expit(1.3 * self.f_texture(lat, lon) + 0.9 * soil)
        return {
            "dem": dem,
            "dem_large": dem_large,
            "wet": wet,
            "irrigated": irrigated,
            "sand": sand,
            "fveg": fveg,
            **self.soil(sand, wet, fveg),
            "illum": rug * self.f_illum(lat, lon),
            "heating": self.f_heating(lat, lon),
            "colour": self.f_colour(lat, lon),
            "rug": rug,
        }

    @staticmethod
    def soil(sand, wet, fveg) -> dict[str, np.ndarray]:
        """Retention parameters from sand share, wetness and vegetation (see :meth:`theta`)."""
        return {
            "theta_s": 0.47 - 0.09 * sand,
            "theta_r": 0.06 - 0.04 * sand,
            "alpha": np.exp(0.2 * wet + 0.5 * (fveg - 0.3) - 0.8 * (sand - 0.5)),
            "s_base": 1.0 * np.maximum(wet, 0.0),
        }

    @staticmethod
    def theta(st: dict, storage: np.ndarray) -> np.ndarray:
        """Volumetric soil moisture (m3 m-3) from surface storage (mm) and static fields."""
        sat = 1.0 - np.exp(-st["alpha"] * (storage + st["s_base"]) / S0)
        return st["theta_r"] + (st["theta_s"] - st["theta_r"]) * sat

    # ------------------------------------------------------------ forcing on the 0.1 degree grid
    def forcing(self, ci: np.ndarray, cj: np.ndarray, days: np.ndarray, clim: bool = True,
                sub: tuple | None = None) -> dict[str, np.ndarray]:
        """Daily forcing and stores at 0.1 degree cells.

        Parameters
        ----------
        ci, cj : ndarray of int, shape (N,)
            Global row and column of the cells (0.1 degree grid from 90 S, 180 W).
        days : ndarray of int, shape (D,)
            Consecutive day numbers; the first ``HALO`` are spin-up.
        clim : bool, default True
            Also compute the stores under the nominal climatology.
        sub : (holder, si, sj), optional
            0.05 degree cells (global rows ``si``, columns ``sj``) lying in the
            0.1 degree cells ``holder`` (indices into ``ci``/``cj``) at which
            to compute the surface stores (default: at the 0.1 degree cells).

        Returns
        -------
        dict of ndarray, shape (D - HALO + 16, N) for ``root`` and (D - HALO, N) otherwise
            ``precip`` (mm day-1), ``t_sl`` (sea-level air temperature, K),
            ``slow`` and ``fast`` (surface storage of slowly and fast draining
            soil, mm, at the ``sub`` cells: their own patchy share of the rain
            plus irrigation), ``root`` (R, mm, from 16 days before the block); with
            ``clim``: ``root_clim`` (the root-zone store under the nominal,
            drought-free climatology, from 16 days before).
        """
        wx = self._weather(ci, cj, days)
        precip, k_s = wx["precip"], wx["k_s"]
        if sub is None:
            holder, si, sj = np.arange(ci.size), ci, cj
        else:
            holder, si, sj = sub
        # the surface stores: each 0.05 degree cell gets its own share of the rain
        # (lognormal, mean 1) and flood irrigation on its irrigated part
        sd_days = days[L_ROOT + 16 - L_SURFACE + 1 :]  # the days the surface stores need
        d0 = days.size - sd_days.size
        patch = np.exp(PATCHINESS * hash_normal(self.seed, Stream.PATCH, sd_days[:, None], si, sj)
                       - 0.5 * PATCHINESS**2)
        slat, slon = (si + 0.5) * SUB - 90.0, (sj + 0.5) * SUB - 180.0
        irr = self.static(slat, slon)["irrigated"]
        sdoy = day_of_year(sd_days)[:, None]
        phase = (10 * hash_uniform(self.seed, Stream.IRRDAY, ci[holder], cj[holder])).astype(int)
        turn = (sd_days[:, None] + phase) % 10
        water = precip[d0:, holder] * patch + IRRIGATION * irr * ((turn == 0) & (sdoy >= 100) & (sdoy <= 270))
        ks = k_s[d0:, holder]
        first = HALO - d0
        out = {
            "precip": precip[HALO:],
            "t_sl": wx["t_sl"][HALO:],
            "slow": windowed_store(water, np.exp(-DRAIN_SLOW * SURFACE_LOSS * ks), first, L_SURFACE),
            "fast": windowed_store(water, np.exp(-DRAIN_FAST * SURFACE_LOSS * ks), first, L_SURFACE),
            "root": wx["root"],
        }
        if clim:
            lat = (ci + 0.5) * CELL - 90.0
            st = self.static(lat, (cj + 0.5) * CELL - 180.0)
            doy = day_of_year(days)[:, None]
            t_clim = temperature_climatology(lat, doy) - LAPSE * st["dem_large"]
            k_clim = loss_rate(t_clim)
            pclim = self._pbar_nominal(lat, st["dem_large"], (cj + 0.5) * CELL - 180.0, doy)
            pclim = np.broadcast_to(pclim, precip.shape)
            out["root_clim"] = windowed_store(pclim, root_decay(k_clim), HALO - 16, L_ROOT)
        return out

    def _pbar_nominal(self, lat, dem_large, lon, doy) -> np.ndarray:
        """Nominal (drought-free) mean precipitation of the day of year, mm day-1."""
        season = np.cos(2 * np.pi * (doy - 205) / 365.25)
        return self.annual_precip(lat, lon, dem_large) / 365.25 * (1.0 + 0.85 * season)

    def _weather(self, ci: np.ndarray, cj: np.ndarray, days: np.ndarray) -> dict[str, np.ndarray]:
        """Precipitation, air temperature, loss rate and root-zone store of 0.1 degree cells.

        Values of a cell depend only on the cell and the days, so they are kept
        per days range and cell (several point sets of one block share cells:
        pixels, albedo cells, stations, cell centres) and computed once.
        """
        keys = ci * 10_000 + cj
        table = self._weather_cache.get((int(days[0]), days.size), dict)
        with self._lock:
            known = table.get("keys", np.zeros(0, np.int64))
            missing = np.setdiff1d(keys, known)
        if missing.size:
            new = self._weather_cells(missing // 10_000, missing % 10_000, days)
            with self._lock:
                known = table.get("keys", np.zeros(0, np.int64))
                keep = ~np.isin(missing, known)
                merged = np.concatenate([known, missing[keep]])
                order = np.argsort(merged, kind="stable")
                for name, v in new.items():
                    old = table.get(name, np.zeros((v.shape[0], 0)))
                    table[name] = np.concatenate([old, v[:, keep]], axis=1)[:, order]
                table["keys"] = merged[order]
        with self._lock:
            idx = np.searchsorted(table["keys"], keys)
            out = {name: table[name][:, idx] for name in ("precip", "t_sl", "k_s", "root_all")}
        out["root"] = out.pop("root_all")[HALO - 16 :]
        return out

    def _weather_cells(self, ci, cj, days) -> dict[str, np.ndarray]:
        lat = (ci + 0.5) * CELL - 90.0
        lon = (cj + 0.5) * CELL - 180.0
        st = self.static(lat, lon)
        dem_l = st["dem_large"]
        doy = day_of_year(days)[:, None]
        # air temperature: latitude, continental seasonal cycle, lapse rate, anomalies
        ext = np.concatenate([days[:1] - np.arange(3, 0, -1), days])
        e = daily_waves(self.seed, Stream.TEMP, ext, lat, lon, 12, 300.0, 3000.0, 1.0)
        anom = (e[3:] + 0.7 * e[2:-1] + 0.49 * e[1:-2] + 0.343 * e[:-3]) * (2.5 / 1.3226)
        t_sl = temperature_climatology(lat, doy) + anom
        t_air = t_sl - LAPSE * dem_l
        # precipitation: climatology x season x deficit; occurrence from a smooth field
        # with convective-scale structure (15 km and up), amounts independent per cell
        pbar_nom = self._pbar_nominal(lat, dem_l, lon, doy)
        pbar = pbar_nom * (1.0 - self.deficit(lat, lon))
        pwet = np.clip(0.03 + 0.12 * np.sqrt(pbar_nom), 0.02, 0.5)
        g = daily_waves(self.seed, Stream.RAIN, days, lat, lon, 24, 15.0, 1200.0, 1.0)
        amount = -np.log(hash_uniform(self.seed, Stream.RAINAMT, days[:, None], ci, cj))
        precip = np.where(g < ndtri(pwet), amount * pbar / pwet, 0.0)
        k_s = loss_rate(t_air)
        root = windowed_store(precip, root_decay(k_s), HALO - 16, L_ROOT)
        root_all = np.concatenate([np.full((HALO - 16, ci.size), np.nan), root])
        return {"precip": precip, "t_sl": t_sl, "k_s": k_s, "root_all": root_all}

    # ------------------------------------------------------------ points
    @staticmethod
    def _bilinear(lat, lon, res):
        """Corner cells and weights of bilinear interpolation from the centres of a ``res`` grid."""
        fi = (lat + 90.0) / res - 0.5
        fj = (lon + 180.0) / res - 0.5
        i0, j0 = np.floor(fi).astype(np.int64), np.floor(fj).astype(np.int64)
        wi, wj = fi - i0, fj - j0
        ci = np.stack([i0, i0 + 1, i0, i0 + 1])
        cj = np.stack([j0, j0, j0 + 1, j0 + 1])
        w = np.stack([(1 - wi) * (1 - wj), wi * (1 - wj), (1 - wi) * wj, wi * wj])
        return ci, cj, w

    def _point_setup(self, lat, lon):
        """Static fields and interpolation tables of points (cached per point set)."""
        ci, cj, w = self._bilinear(lat, lon, CELL)
        si, sj, ws = self._bilinear(lat, lon, SUB)
        hi = np.floor((lat + 90.0) / CELL + 1e-9).astype(np.int64)
        hj = np.floor((lon + 180.0) / CELL + 1e-9).astype(np.int64)
        skeys, sinv = np.unique((si * 100_000 + sj).ravel(), return_inverse=True)
        su_i, su_j = skeys // 100_000, skeys % 100_000
        shi, shj = su_i // 2, su_j // 2  # the 0.1 degree cell holding each 0.05 degree cell
        keys = np.concatenate([(ci * 10_000 + cj).ravel(), hi * 10_000 + hj, shi * 10_000 + shj])
        uniq, inv = np.unique(keys, return_inverse=True)
        n1, n2 = ci.size, ci.size + hi.size
        return {
            "static": self.static(lat, lon), "w": w, "uniq": uniq,
            "corner": inv[:n1].reshape(ci.shape), "holder": inv[n1:n2],
            "sub": (inv[n2:], su_i, su_j), "ws": ws, "scorner": sinv.reshape(si.shape),
        }

    def point_state(self, lat, lon, days, root_rows=None, clim=True) -> dict[str, np.ndarray]:
        """Forcing and stores interpolated to points, plus static fields there.

        Parameters
        ----------
        lat, lon : ndarray, shape (N,)
            Points (pixel centres), degrees.
        days : ndarray of int, shape (D,)
            Consecutive day numbers of the output.
        root_rows : ndarray of int, optional
            Rows of the root-zone arrays to interpolate (all by default).
        clim : bool, default True
            Also interpolate the climatological root-zone store.

        Returns
        -------
        dict
            ``static`` (dict at points), ``surface`` (mm: the slow and fast
            stores mixed by the point's sand share), ``t_sl`` (D, N) bilinear;
            ``root`` (and ``root_clim``) (D + 16, N) from 16 days before;
            ``precip`` (D, N) of the 0.1 degree cell
            holding each point.
        """
        lat = np.asarray(lat, float).ravel()
        lon = np.asarray(lon, float).ravel()
        key = (lat.size, lat[0], lat[-1], lon[0], lon[-1], float(lat.sum()), float(lon.sum()))
        setup = self._cache.get(key, lambda: self._point_setup(lat, lon))
        static, uniq = setup["static"], setup["uniq"]
        all_days = np.arange(days[0] - HALO, days[-1] + 1)
        f = self.forcing(uniq // 10_000, uniq % 10_000, all_days, clim=clim, sub=setup["sub"])

        def interp(a, w=setup["w"], corner=setup["corner"]):
            return sum(w[c] * a[:, corner[c]] for c in range(4))

        def interp_sub(a):
            return interp(a, setup["ws"], setup["scorner"])

        rr = slice(None) if root_rows is None else root_rows
        sand = static["sand"]
        out = {
            "static": static,
            "surface": (1.0 - sand) * interp_sub(f["slow"]) + sand * interp_sub(f["fast"]),
            "t_sl": interp(f["t_sl"]),
            "root": interp(f["root"][rr]),
            "precip": f["precip"][:, setup["holder"]],
        }
        if clim:
            out["root_clim"] = interp(f["root_clim"][rr])
        return out

    def truth(self, st: dict, surface: np.ndarray, days: np.ndarray, gi, gj) -> np.ndarray:
        """The 1-km truth (m3 m-3) from surface storage at pixels with global indices ``gi, gj``."""
        theta = self.theta(st, surface) + 0.004 * hash_normal(self.seed, Stream.TRUTH, days[:, None], gi, gj)
        return np.clip(theta, 0.01, st["theta_s"])

    # ------------------------------------------------------------ blocks of the fine grid
    def fine_block(self, preset: Preset, t0: int, t1: int, y0: int, y1: int, x0: int, x1: int):
        """Truth, covariates and coarse retrieval of one (time, lat, lon) block.

        Indices are positions on the preset's time axis and fine grid; spatial
        bounds must be multiples of the nesting factor.

        Returns
        -------
        dict of ndarray
            Fine ``sm`` (truth), ``lst``, ``ndvi``, ``albedo``, ``precip`` of
            shape (t1-t0, y1-y0, x1-x0) and coarse ``c_sm``, ``c_unc``, ``c_flag``
            of shape (t1-t0, (y1-y0)/factor, (x1-x0)/factor).
        """
        fine, f = preset.fine, preset.factor
        days = day_numbers(preset.time[t0:t1])
        lat1, lon1 = fine.lat[y0:y1], fine.lon[x0:x1]
        ny, nx, nd = lat1.size, lon1.size, days.size
        lat, lon = (a.ravel() for a in np.meshgrid(lat1, lon1, indexing="ij"))
        gi, gj = fine.global_index(lat, lon)
        pstart = ndvi_period_start(days)
        ps = self.point_state(lat, lon, days, root_rows=pstart - (days[0] - 16), clim=False)
        st = ps["static"]

        theta = self.truth(st, ps["surface"], days, gi, gj)
        t_air = ps["t_sl"] - LAPSE * st["dem"]
        # the 0.05 degree cells of the pixels, on which clouds, swath errors and albedo vary
        ai, aj = _albedo_cell(lat, lon)
        akey, ainv = np.unique(ai * 100_000 + aj, return_inverse=True)
        a_lat = (akey // 100_000 + 0.5) * ALBEDO_RES - 90.0
        a_lon = (akey % 100_000 + 0.5) * ALBEDO_RES - 180.0
        lst = self._lst(st, theta, t_air, days, gi, gj)
        # clouds: a smooth daily field on 0.05 degree cells, likelier on rainy days
        cloud = daily_waves(self.seed, Stream.CLOUD, days, a_lat, a_lon, 16, 20.0, 800.0, 0.8)
        overpass = daily_waves(self.seed, Stream.OVERPASS, days, a_lat, a_lon, 8, 150.0, 2000.0, 1.0)
        lst = lst + 1.5 * overpass[:, ainv]
        lst = np.where(cloud[:, ainv] + 1.2 * (ps["precip"] > 0.5) > 0.75, np.nan, lst)
        ndvi = self._ndvi(st, ps["root"], pstart, gi, gj)
        albedo = self._albedo_cells(a_lat, a_lon, days)[:, ainv]

        # coarse retrieval of the cell means, with gaps
        shape = (nd, ny, nx)
        cell = block_mean(theta.reshape(shape), f)
        t_cell = block_mean(t_air.reshape(shape), f)
        veg_cell = block_mean(st["fveg"].reshape(ny, nx), f)
        clat = lat1.reshape(-1, f).mean(axis=1)
        clon = lon1.reshape(-1, f).mean(axis=1)
        c_sm, c_unc, flag = retrieve(self, preset, days, cell, t_cell, veg_cell, clat, clon)

        out = {
            "sm": theta, "lst": lst, "ndvi": ndvi, "albedo": albedo, "precip": ps["precip"],
        }
        out = {k: v.reshape(shape).astype(np.float32) for k, v in out.items()}
        out["c_sm"] = c_sm.astype(np.float32)
        out["c_unc"] = c_unc.astype(np.float32)
        out["c_flag"] = flag
        return out

    def _lst(self, st: dict, theta, t_air, days, gi, gj) -> np.ndarray:
        """Clear-sky LST (K) of pixels ``gi, gj`` before the swath-scale error and clouds.

        Air temperature + surface heating that wanes as the soil wets, warmer
        sun-facing slopes, land-cover heating and retrieval noise (MODIS LST
        errors of 1-3 K in drylands: Wan 2014, Remote Sens. Environ. 140, 36-45).
        """
        doy = day_of_year(days)[:, None]
        rad = 6.0 + 6.0 * np.cos(2 * np.pi * (doy - 180) / 365.25)
        beta = _saturation(st, theta)
        lst = t_air + rad * (1.0 - beta) * (1.0 - 0.6 * st["fveg"]) + 1.0 - 2.5 * st["fveg"]
        return (lst + 2.5 * st["illum"] + 1.5 * st["heating"]
                + 1.2 * hash_normal(self.seed, Stream.LST, days[:, None], gi, gj))

    def _ndvi(self, st: dict, root, pstart, gi, gj) -> np.ndarray:
        """NDVI: 16-day composites following root-zone water ``root`` (mm) of the period start."""
        pdoy = day_of_year(pstart + 8)[:, None]
        pheno = 0.15 + 0.85 * np.exp(-(((pdoy - 215.0) / 55.0) ** 2))
        green = st["fveg"] * pheno * (0.35 + 0.65 * root / (root + 15.0))
        return 0.06 + 0.78 * green + 0.012 * hash_normal(self.seed, Stream.NDVI, pstart[:, None], gi, gj)

    def model_mean(self, lat, lon) -> np.ndarray:
        """Long-term mean surface soil moisture of a land model at points, m3 m-3.

        What a GLDAS-Noah-like model knows: the nominal (drought-free) seasonal
        forcing with precipitation errors of its own, temperature from a smooth
        elevation (its forcing is coarse), its own soil map, no sub-grid detail
        and no actual weather, averaged over a year. The retrieval is rescaled
        towards it.
        """
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        days = np.arange(-L_SURFACE + 1, 365)  # a nominal year (day 0 = 1 Jan 1970) and its spin-up
        doy = day_of_year(days)[:, None]
        dem = self.dem_base(lat, lon)
        pfac = np.exp(self.retrieval.model_precip_error * self.f_model_precip(lat, lon))
        pclim = self._pbar_nominal(lat, dem, lon, doy) * pfac
        t_air = temperature_climatology(lat, doy) - LAPSE * dem
        k = loss_rate(t_air)
        store = windowed_store(pclim, np.exp(-k), L_SURFACE - 1, L_SURFACE)
        sand = expit(0.7 * self.f_texture(lat, lon) + 0.9 * self.f_model_soil(lat, lon))
        fveg = expit((self.annual_precip(lat, lon, dem) - 380.0) / 90.0)
        return self.theta(self.soil(sand, 0.0, fveg), store).mean(axis=0)

    def _albedo_cells(self, lat, lon, days) -> np.ndarray:
        """Albedo of 0.05 degree cells: bright dry bare soil, darker when wet or vegetated."""
        ps = self.point_state(lat, lon, days, clim=False)
        st = ps["static"]
        theta = self.theta(st, ps["surface"])
        beta = _saturation(st, theta)
        bare = 0.31 + 0.05 * st["colour"] - 0.12 * beta  # soil colour: sands bright, loess darker
        alb = (1.0 - st["fveg"]) * bare + st["fveg"] * 0.15
        ai, aj = _albedo_cell(lat, lon)
        return alb + 0.004 * hash_normal(self.seed, Stream.ALB, days[:, None], ai, aj)

    def dem_block(self, preset: Preset, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Elevation (m) of a block of the fine grid."""
        lat, lon = np.meshgrid(preset.fine.lat[y0:y1], preset.fine.lon[x0:x1], indexing="ij")
        return self.static(lat, lon)["dem"].astype(np.float32)

    # ------------------------------------------------------------ model-like fields
    def era5_block(self, grid: Grid, days, y0, y1, x0, x1) -> np.ndarray:
        """ERA5-like top-layer (0-7 cm) soil moisture at 0.1 degrees: wet bias in drylands."""
        lat, lon = _grid_points(grid, y0, y1, x0, x1)
        ps = self.point_state(lat, lon, days, clim=False)
        st = ps["static"]
        theta = self.theta(st, ps["surface"])
        gi, gj = grid.global_index(lat, lon)
        era = 0.06 + 0.8 * theta + 0.04 * (1.0 - st["fveg"])
        era = era + 0.006 * hash_normal(self.seed, Stream.ERA5, days[:, None], gi, gj)
        return era.reshape(len(days), y1 - y0, x1 - x0).astype(np.float32)

    def noah_block(self, grid: Grid, days, y0, y1, x0, x1) -> np.ndarray:
        """Noah-like 0-10 cm soil moisture at 0.05 degrees: dry bias, Loess-Plateau-like region only."""
        from matplotlib.path import Path as MplPath

        lat, lon = _grid_points(grid, y0, y1, x0, x1)
        inside = MplPath(NOAH_POLYGON).contains_points(np.column_stack([lon, lat]))
        out = np.full((len(days), lat.size), np.nan, dtype=np.float32)
        if inside.any():
            ps = self.point_state(lat[inside], lon[inside], days, clim=False)
            theta = self.theta(ps["static"], ps["surface"])
            gi, gj = grid.global_index(lat[inside], lon[inside])
            noah = 0.92 * theta - 0.015 + 0.01 * hash_normal(self.seed, Stream.NOAH, days[:, None], gi, gj)
            out[:, inside] = np.clip(noah, 0.01, 0.5)
        return out.reshape(len(days), y1 - y0, x1 - x0)

    def pdsi_block(self, grid: Grid, months: pd.DatetimeIndex, y0, y1, x0, x1) -> np.ndarray:
        """PDSI-like monthly index from root-zone storage anomalies (about -6 to 6)."""
        lat, lon = _grid_points(grid, y0, y1, x0, x1)
        first = months[0]
        last = months[-1] + pd.offsets.MonthEnd(0)
        days = day_numbers(pd.date_range(first, last, freq="D"))
        ps = self.point_state(lat, lon, days)
        root, clim = ps["root"][16:], ps["root_clim"][16:]
        month_of = pd.DatetimeIndex(np.asarray(days, "datetime64[D]")).to_period("M")
        out = np.empty((len(months), lat.size))
        for m, period in enumerate(months.to_period("M")):
            sel = month_of == period
            r, c = root[sel].mean(axis=0), clim[sel].mean(axis=0)
            out[m] = np.clip(2.0 * (r - c) / (0.4 * c + 1.0), -8.0, 8.0)
        return out.reshape(len(months), y1 - y0, x1 - x0).astype(np.float32)

    # ------------------------------------------------------------ stations
    def stations(self, preset: Preset) -> xr.Dataset:
        """In-situ stations of the preset's domain with their cadences and errors.

        See :func:`smkit.synth.stations.station_dataset`.
        """
        return station_dataset(self, preset)
