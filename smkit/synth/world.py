"""The synthetic Three-North world: a known 1-km truth and everything observed of it.

No archive is reachable from a newcomer's laptop, and a downscaling method can
only be scored at 1 km where the 1-km truth is known. So smkit ships an
observing-system experiment shaped like the paper's region, calibrated so that
it is as hard as the real data (:mod:`smkit.analysis.realism` measures it against the
published error statistics):

* **terrain** -- a large-scale elevation surface interpolated through
  real-looking anchor heights of the Three-North region (Tarim, Qilian,
  Loess Plateau, the North-East plain, the paper's stations ...) plus
  fractal relief that is rougher in the mountains;
* **weather** -- daily precipitation on a 0.1 degree grid (GPM-like) from a
  climatology that dries from east to west, wets with altitude and has
  regional structure elevation does not explain, a summer monsoon peak,
  rain/no-rain patterns drawn as smooth random fields down to convective
  scales, and a few persistent drought patches (deficits of up to 75 %); air
  temperature from latitude, season, a 6.5 K/km lapse rate and day-to-day
  anomalies;
* **truth** -- a daily water balance. Each 0.05 degree cell gets its own,
  patchy share of its 0.1 degree cell's rain (what a 0.1 degree product
  cannot see) plus flood irrigation in oases; two surface stores, of slowly
  (loam) and fast (sand) draining soil, lose water at a rate set by
  temperature, ``S_t = sum_j W_{t-j} exp(-sum_{i<j} k_{t-i})`` over the last
  60 days, and each 1-km pixel mixes them by its sand share, so the sub-grid
  pattern changes with rain and drydown, not only with terrain; a slower
  root-zone store ``R`` (120 days) feeds vegetation. The pixel's soil
  moisture maps storage through a saturating curve whose parameters come from
  soil texture, vegetation and a topographic wetness index,
  ``theta = theta_r + (theta_s - theta_r) (1 - exp(-alpha (S + S_base) / S0))``;
  whether valleys or ridges are wetter inside a cell is the world parameter
  ``valley_wetness``;
* **covariates tied to the truth, as loosely as the real ones** -- LST rises
  above air temperature as the surface dries and falls with vegetation, with
  sun-facing slopes, land-cover heating, a day-to-day swath-scale error,
  noise and cloud gaps; NDVI as 16-day MODIS-period composites that follow
  root-zone water with a lag; albedo at 0.05 degrees brightening over dry
  bare soil of varying colour; precipitation at 0.1 degrees; elevation at 1 km;
* **the coarse retrieval** -- the 0.25 degree cell mean of the truth plus
  errors that persist in time (AR(1), ten days) and spread over neighbouring
  cells (the sensor footprint), grow with vegetation, rescaled towards a land
  model's climatology (range compressed, the model's biases passed on), with
  static and seasonal biases and gaps (frozen soil, dense vegetation, random
  losses) flagged like ESA CCI (1, 2, 4); see :class:`RetrievalErrors`;
* **stations** at the paper's coordinates (tables 2 and 3) with their
  cadences (QXZ daily, CERN five-day, NZW ten-day in percent relative
  humidity, published with soil properties that differ from the ones that
  produced it) and the representativeness and sensor errors of single probes:
  depth, gain, offset, noise, drift and outages (:class:`StationErrors`);
* **models** -- ERA5-like (0.1 degree, wet bias in drylands), Noah-like
  (0.05 degree, Loess-Plateau-like region only, dry bias) and a PDSI-like
  monthly index on a ~4 km grid from root-zone storage anomalies.

Every value is a pure function of the seed, the world's parameters, the
location and the day (see :mod:`smkit.synth.noise`), so any chunk can be built
alone -- the ``three-north`` preset is built lazily with dask -- and the same
seed gives bit-identical data.
"""

from __future__ import annotations

import json
import operator
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.highlevelgraph import HighLevelGraph
from scipy.special import expit, ndtri

from smkit import __version__
from smkit.core.grid import TIME_ATTRS, Grid, block_mean
from smkit.core.scenario import Scenario
from smkit.core.vocabulary import NETWORK_CADENCE
from smkit.synth.constants import (
    ALBEDO_RES, CELL, DRAIN_FAST, DRAIN_SLOW, FREEZE, HALO, IRRIGATION, L_ROOT, L_SURFACE, LAPSE, PATCHINESS,
    PDSI_RES, S0, SUB, SURFACE_LOSS, WORLD_VERSION,
)
from smkit.synth.constants import (
    S_ALB, S_BIAS, S_BIASLOC, S_CGAP, S_CLOUD, S_CNOISE, S_COLOUR, S_CUNC, S_CWHITE, S_DEM_MID, S_DEM_SMALL,
    S_DROUGHT, S_ERA5, S_GAIN, S_HEAT, S_ILLUM, S_IRR, S_IRRDAY, S_LST, S_MPRECIP, S_MSOIL, S_NDVI, S_NOAH,
    S_NZW, S_OVERPASS, S_PATCH, S_PCLIM, S_RAIN, S_RAINAMT, S_SOIL, S_STDEPTH, S_STDRIFT, S_STGAIN, S_STGAP,
    S_STNOISE, S_STOFF, S_STOUT, S_TEMP, S_TEXTURE, S_TRUTH, S_VEG, S_WET,
)
from smkit.synth.noise import PlaneWaves, daily_waves, hash_normal, hash_uniform, rng
from smkit.synth.physics import (
    day_numbers, day_of_year, loss_rate, ndvi_period_start, root_decay, temperature_climatology, windowed_store,
)
from smkit.synth.stations import station_dataset
from smkit.synth.presets import (
    DEM_ANCHORS, FIXED_DROUGHTS, N_RANDOM_DROUGHTS, NOAH_POLYGON, PRESETS, STATION_TABLE, THREE_NORTH, Preset,
    RetrievalErrors, StationErrors,
)

__all__ = ["PRESETS", "Preset", "RetrievalErrors", "StationErrors", "World", "make_scenario"]

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
        self.f_dem_mid = PlaneWaves(rng(s, S_DEM_MID), 64, 30.0, 300.0, 1.0)
        self.f_dem_small = PlaneWaves(rng(s, S_DEM_SMALL), 160, 2.0, 30.0, 0.9)
        self.f_soil = PlaneWaves(rng(s, S_SOIL), 96, 1.5, 200.0, 0.5)
        self.f_veg = PlaneWaves(rng(s, S_VEG), 96, 2.0, 200.0, 0.6)
        self.f_bias = PlaneWaves(rng(s, S_BIAS), 32, 100.0, 1500.0, 1.0)
        self.f_wet = PlaneWaves(rng(s, S_WET), 96, 2.0, 30.0, 0.9)
        self.f_texture = PlaneWaves(rng(s, S_TEXTURE), 48, 30.0, 400.0, 1.0)
        self.f_illum = PlaneWaves(rng(s, S_ILLUM), 64, 1.5, 15.0, 0.8)
        self.f_colour = PlaneWaves(rng(s, S_COLOUR), 64, 5.0, 400.0, 0.8)
        self.f_gain = PlaneWaves(rng(s, S_GAIN), 32, 100.0, 1500.0, 1.0)
        self.f_irr = PlaneWaves(rng(s, S_IRR), 64, 8.0, 80.0, 0.8)
        self.f_bias_local = PlaneWaves(rng(s, S_BIASLOC), 48, 25.0, 150.0, 0.8)
        self.f_model_soil = PlaneWaves(rng(s, S_MSOIL), 48, 30.0, 400.0, 1.0)
        self.f_model_precip = PlaneWaves(rng(s, S_MPRECIP), 48, 50.0, 800.0, 1.0)
        self.f_pclim = PlaneWaves(rng(s, S_PCLIM), 48, 30.0, 300.0, 0.8)
        self.f_heating = PlaneWaves(rng(s, S_HEAT), 48, 5.0, 150.0, 0.7)
        anchors = np.array(DEM_ANCHORS, dtype=float)
        self._ax, self._ay = anchors[:, 0], anchors[:, 1]
        self._aw, self._ac = _thin_plate_fit(self._ax, self._ay, anchors[:, 2])
        g = rng(s, S_DROUGHT)
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
        patch = np.exp(PATCHINESS * hash_normal(self.seed, S_PATCH, sd_days[:, None], si, sj)
                       - 0.5 * PATCHINESS**2)
        slat, slon = (si + 0.5) * SUB - 90.0, (sj + 0.5) * SUB - 180.0
        irr = self.static(slat, slon)["irrigated"]
        sdoy = day_of_year(sd_days)[:, None]
        phase = (10 * hash_uniform(self.seed, S_IRRDAY, ci[holder], cj[holder])).astype(int)
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
        e = daily_waves(self.seed, S_TEMP, ext, lat, lon, 12, 300.0, 3000.0, 1.0)
        anom = (e[3:] + 0.7 * e[2:-1] + 0.49 * e[1:-2] + 0.343 * e[:-3]) * (2.5 / 1.3226)
        t_sl = temperature_climatology(lat, doy) + anom
        t_air = t_sl - LAPSE * dem_l
        # precipitation: climatology x season x deficit; occurrence from a smooth field
        # with convective-scale structure (15 km and up), amounts independent per cell
        pbar_nom = self._pbar_nominal(lat, dem_l, lon, doy)
        pbar = pbar_nom * (1.0 - self.deficit(lat, lon))
        pwet = np.clip(0.03 + 0.12 * np.sqrt(pbar_nom), 0.02, 0.5)
        g = daily_waves(self.seed, S_RAIN, days, lat, lon, 24, 15.0, 1200.0, 1.0)
        amount = -np.log(hash_uniform(self.seed, S_RAINAMT, days[:, None], ci, cj))
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
        theta = self.theta(st, surface) + 0.004 * hash_normal(self.seed, S_TRUTH, days[:, None], gi, gj)
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
        d2 = days[:, None]

        theta = self.truth(st, ps["surface"], days, gi, gj)
        t_air = ps["t_sl"] - LAPSE * st["dem"]

        # LST: air temperature + surface heating that wanes as the soil wets, warmer
        # sun-facing slopes, a day-to-day atmospheric / view-angle error at swath scale
        # and retrieval noise (MODIS LST errors of 1-3 K in drylands: Wan 2014,
        # Remote Sens. Environ. 140, 36-45)
        doy = day_of_year(days)[:, None]
        rad = 6.0 + 6.0 * np.cos(2 * np.pi * (doy - 180) / 365.25)
        beta = (theta - st["theta_r"]) / (st["theta_s"] - st["theta_r"])
        lst = t_air + rad * (1.0 - beta) * (1.0 - 0.6 * st["fveg"]) + 1.0 - 2.5 * st["fveg"]
        lst = lst + 2.5 * st["illum"] + 1.5 * st["heating"] + 1.2 * hash_normal(self.seed, S_LST, d2, gi, gj)
        # clouds: a smooth daily field on 0.05 degree cells, likelier on rainy days
        ai, aj = np.floor((lat + 90.0) / ALBEDO_RES + 1e-9), np.floor((lon + 180.0) / ALBEDO_RES + 1e-9)
        akey, ainv = np.unique(ai * 100_000 + aj, return_inverse=True)
        a_i, a_j = akey // 100_000, akey % 100_000
        a_lat = (a_i + 0.5) * ALBEDO_RES - 90.0
        a_lon = (a_j + 0.5) * ALBEDO_RES - 180.0
        cloud = daily_waves(self.seed, S_CLOUD, days, a_lat, a_lon, 16, 20.0, 800.0, 0.8)
        overpass = daily_waves(self.seed, S_OVERPASS, days, a_lat, a_lon, 8, 150.0, 2000.0, 1.0)
        lst = lst + 1.5 * overpass[:, ainv]
        lst = np.where(cloud[:, ainv] + 1.2 * (ps["precip"] > 0.5) > 0.75, np.nan, lst)

        # NDVI: 16-day composites following root-zone water of the period start
        pdoy = day_of_year(pstart + 8)[:, None]
        pheno = 0.15 + 0.85 * np.exp(-(((pdoy - 215.0) / 55.0) ** 2))
        root = ps["root"]
        green = st["fveg"] * pheno * (0.35 + 0.65 * root / (root + 15.0))
        ndvi = 0.06 + 0.78 * green + 0.012 * hash_normal(self.seed, S_NDVI, pstart[:, None], gi, gj)

        # albedo on 0.05 degree cells: bright dry bare soil, darker when wet or vegetated
        ast = self._albedo_cells(a_lat, a_lon, days)
        albedo = ast[:, ainv]

        # coarse retrieval of the cell means, with gaps
        shape = (nd, ny, nx)
        cell = block_mean(theta.reshape(shape), f)
        t_cell = block_mean(t_air.reshape(shape), f)
        veg_cell = block_mean(st["fveg"].reshape(ny, nx), f)
        clat = lat1.reshape(-1, f).mean(axis=1)
        clon = lon1.reshape(-1, f).mean(axis=1)
        c_sm, c_unc, flag = self._retrieve(preset, days, cell, t_cell, veg_cell, clat, clon)

        out = {
            "sm": theta, "lst": lst, "ndvi": ndvi, "albedo": albedo, "precip": ps["precip"],
        }
        out = {k: v.reshape(shape).astype(np.float32) for k, v in out.items()}
        out["c_sm"] = c_sm.astype(np.float32)
        out["c_unc"] = c_unc.astype(np.float32)
        out["c_flag"] = flag
        return out

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

    def _retrieve(self, preset: Preset, days, cell, t_cell, veg_cell, clat, clon):
        """The coarse retrieval of cell-mean truth ``cell`` (D, Ny, Nx): values, uncertainty, flags.

        See :class:`RetrievalErrors`. Every term is a pure function of the seed,
        the cell's global index and the day, so a block can be built alone.
        """
        e = self.retrieval
        nd, ny, nx = cell.shape
        cla, clo = np.meshgrid(clat, clon, indexing="ij")
        cgi, cgj = preset.coarse.global_index(cla, clo)
        clim = self.model_mean(cla.ravel(), clo.ravel()).reshape(ny, nx)
        gain = e.gain - e.gain_veg * (veg_cell - 0.3) + e.gain_sd * self.f_gain(cla, clo)
        gain = np.clip(gain, 0.3, 1.0)
        doy = day_of_year(days)[:, None, None]
        growing = np.exp(-(((doy - 215.0) / 55.0) ** 2))  # the phenology of the NDVI
        rug = self.static(cla, clo)["rug"]
        bias = (e.bias_sd * self.f_bias(cla, clo) + e.bias_terrain * rug * self.f_bias_local(cla, clo)
                - e.bias_season * veg_cell * growing)
        # correlated error: white noise over the cells and a ring around them, spread by
        # the footprint kernel, then an AR(1) in time as a truncated exponential sum
        lags = e.lags
        ext = np.arange(days[0] - lags + 1, days[-1] + 1)
        ri = cgi[0, 0] - 1 + np.arange(ny + 2)
        rj = cgj[0, 0] - 1 + np.arange(nx + 2)
        w = hash_normal(self.seed, S_CNOISE, ext[:, None, None], ri[None, :, None], rj[None, None, :])
        k1 = np.array([e.footprint, 1.0, e.footprint])
        kern = np.outer(k1, k1) / np.sqrt(np.sum(np.outer(k1, k1) ** 2))
        spread = sum(kern[a, b] * w[:, a : a + ny, b : b + nx] for a in range(3) for b in range(3))
        phi = np.exp(-1.0 / e.memory)
        ar = np.zeros((nd, ny, nx))
        for j in range(lags):
            ar += phi**j * spread[lags - 1 - j : lags - 1 - j + nd]
        ar *= np.sqrt((1.0 - phi**2) / (1.0 - phi ** (2 * lags)))
        sd = e.error_sd + e.error_sd_veg * veg_cell
        white = hash_normal(self.seed, S_CWHITE, days[:, None, None], cgi, cgj)
        c_sm = clim + gain * (cell - clim + sd * ar + e.white_sd * white) + bias
        c_sm = np.clip(c_sm, 0.01, 0.55)
        frozen = t_cell < FREEZE
        dense = np.broadcast_to(veg_cell > e.dense_vegetation, c_sm.shape)
        lost = hash_uniform(self.seed, S_CGAP, days[:, None, None], cgi, cgj) < e.gap_rate
        flag = (frozen * 1 + dense * 2 + (lost & ~frozen & ~dense) * 4).astype(np.int8)
        c_sm = np.where(flag > 0, np.nan, c_sm)
        # the product's own uncertainty estimate: the error model's s.d., known to +-20 %
        c_unc = np.hypot(sd, e.white_sd) * (0.8 + 0.4 * hash_uniform(
            self.seed, S_CUNC, days[:, None, None], cgi, cgj))
        c_unc = np.where(flag > 0, np.nan, c_unc)
        return c_sm, c_unc, flag

    def _albedo_cells(self, lat, lon, days) -> np.ndarray:
        ps = self.point_state(lat, lon, days, clim=False)
        st = ps["static"]
        theta = self.theta(st, ps["surface"])
        beta = (theta - st["theta_r"]) / (st["theta_s"] - st["theta_r"])
        bare = 0.31 + 0.05 * st["colour"] - 0.12 * beta  # soil colour: sands bright, loess darker
        alb = (1.0 - st["fveg"]) * bare + st["fveg"] * 0.15
        ai = np.floor((lat + 90.0) / ALBEDO_RES + 1e-9)
        aj = np.floor((lon + 180.0) / ALBEDO_RES + 1e-9)
        return alb + 0.004 * hash_normal(self.seed, S_ALB, days[:, None], ai, aj)

    def dem_block(self, preset: Preset, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Elevation (m) of a block of the fine grid."""
        lat, lon = np.meshgrid(preset.fine.lat[y0:y1], preset.fine.lon[x0:x1], indexing="ij")
        return self.static(lat, lon)["dem"].astype(np.float32)

    # ------------------------------------------------------------ model-like fields
    def era5_block(self, grid: Grid, days, y0, y1, x0, x1) -> np.ndarray:
        """ERA5-like top-layer (0-7 cm) soil moisture at 0.1 degrees: wet bias in drylands."""
        lat, lon = (a.ravel() for a in np.meshgrid(grid.lat[y0:y1], grid.lon[x0:x1], indexing="ij"))
        ps = self.point_state(lat, lon, days, clim=False)
        st = ps["static"]
        theta = self.theta(st, ps["surface"])
        gi, gj = grid.global_index(lat, lon)
        era = 0.06 + 0.8 * theta + 0.04 * (1.0 - st["fveg"])
        era = era + 0.006 * hash_normal(self.seed, S_ERA5, days[:, None], gi, gj)
        return era.reshape(len(days), y1 - y0, x1 - x0).astype(np.float32)

    def noah_block(self, grid: Grid, days, y0, y1, x0, x1) -> np.ndarray:
        """Noah-like 0-10 cm soil moisture at 0.05 degrees: dry bias, Loess-Plateau-like region only."""
        from matplotlib.path import Path as MplPath

        lat, lon = (a.ravel() for a in np.meshgrid(grid.lat[y0:y1], grid.lon[x0:x1], indexing="ij"))
        inside = MplPath(NOAH_POLYGON).contains_points(np.column_stack([lon, lat]))
        out = np.full((len(days), lat.size), np.nan, dtype=np.float32)
        if inside.any():
            ps = self.point_state(lat[inside], lon[inside], days, clim=False)
            theta = self.theta(ps["static"], ps["surface"])
            gi, gj = grid.global_index(lat[inside], lon[inside])
            noah = 0.92 * theta - 0.015 + 0.01 * hash_normal(self.seed, S_NOAH, days[:, None], gi, gj)
            out[:, inside] = np.clip(noah, 0.01, 0.5)
        return out.reshape(len(days), y1 - y0, x1 - x0)

    def pdsi_block(self, grid: Grid, months: pd.DatetimeIndex, y0, y1, x0, x1) -> np.ndarray:
        """PDSI-like monthly index from root-zone storage anomalies (about -6 to 6)."""
        lat, lon = (a.ravel() for a in np.meshgrid(grid.lat[y0:y1], grid.lon[x0:x1], indexing="ij"))
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


def _time_coord(times) -> xr.Variable:
    return xr.Variable("time", pd.DatetimeIndex(times).values.astype("datetime64[ns]"), TIME_ATTRS)


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _lazy_multi(func, tblocks, yblocks, xblocks, outputs: dict, token: str) -> dict:
    """Dask arrays of several outputs of one block function, sharing one task per block.

    ``outputs`` maps an output key to ``(divisor, dtype)``: spatial chunk sizes
    are the block sizes divided by ``divisor``.
    """
    gen = f"smkit-synth-{token}"
    idx = [(a, b, c) for a in range(len(tblocks)) for b in range(len(yblocks)) for c in range(len(xblocks))]
    layer = {(gen, a, b, c): (func, *tblocks[a], *yblocks[b], *xblocks[c]) for a, b, c in idx}
    arrays = {}
    for key, (div, dtype) in outputs.items():
        name = f"{gen}-{key}"
        sub = {(name, a, b, c): (operator.getitem, (gen, a, b, c), key) for a, b, c in idx}
        graph = HighLevelGraph({gen: layer, name: sub}, {gen: set(), name: {gen}})
        chunks = (
            tuple(t1 - t0 for t0, t1 in tblocks),
            tuple((y1 - y0) // div for y0, y1 in yblocks),
            tuple((x1 - x0) // div for x0, x1 in xblocks),
        )
        arrays[key] = da.Array(graph, name, chunks, dtype=dtype)
    return arrays


def _aux_grid_array(block_fn, grid: Grid, times, tchunk: int, schunk: int, token: str, eager: bool):
    """An auxiliary (time, lat, lon) field on its own grid, eager or lazy."""
    nt, (ny, nx) = len(times), grid.shape
    if eager:
        return block_fn(times, 0, ny, 0, nx)
    tb, yb, xb = _blocks(nt, tchunk), _blocks(ny, schunk), _blocks(nx, schunk)
    name = f"smkit-aux-{token}"
    layer = {
        (name, a, b, c): (block_fn, times[t0:t1], y0, y1, x0, x1)
        for a, (t0, t1) in enumerate(tb)
        for b, (y0, y1) in enumerate(yb)
        for c, (x0, x1) in enumerate(xb)
    }
    chunks = (tuple(t1 - t0 for t0, t1 in tb), tuple(y1 - y0 for y0, y1 in yb), tuple(x1 - x0 for x0, x1 in xb))
    return da.Array(HighLevelGraph({name: layer}, {name: set()}), name, chunks, dtype=np.float32)


def make_scenario(preset: str | Preset = "tiny", seed: int = 0, *, valley_wetness: float = 0.5,
                  retrieval: RetrievalErrors | None = None,
                  station_errors: StationErrors | None = None) -> Scenario:
    """Build the synthetic observing-system experiment of a preset.

    Parameters
    ----------
    preset : {"tiny", "demo", "three-north"} or Preset
        Size and period (see :data:`PRESETS`): ``tiny`` is built in memory in
        seconds; ``demo`` and ``three-north`` return lazy dask-backed datasets
        whose blocks are built on demand (write them with
        :meth:`Scenario.to_zarr` or call :meth:`Scenario.load`).
    seed : int, default 0
        Seed of every random quantity; the same seed gives bit-identical data.
    valley_wetness, retrieval, station_errors
        Parameters of the world (see :class:`World`); the defaults are
        calibrated to published error statistics (:mod:`smkit.analysis.realism`).

    Returns
    -------
    Scenario
        ``coarse`` (0.25 degree ``sm``, ``sm_uncertainty`` in m3 m-3, ``flag``),
        ``fine`` (``lst`` K, ``ndvi`` 1, ``albedo`` 1, ``precip`` mm day-1,
        ``dem`` m), ``truth`` (1-km ``sm``, m3 m-3), ``stations`` (``sm`` m3 m-3,
        ``rsm`` percent for NZW), ``era5`` and ``noah`` (``sm``, m3 m-3, on
        0.1 and 0.05 degree grids) and ``pdsi`` (monthly, ~4 km).

    Examples
    --------
    >>> sc = make_scenario("tiny")
    >>> sorted(sc.fine.data_vars)
    ['albedo', 'dem', 'lst', 'ndvi', 'precip']
    >>> sc.coarse["sm"].attrs["units"]
    'm3 m-3'
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise KeyError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        preset = PRESETS[preset]
    if preset.space_chunk % preset.factor:
        raise ValueError("space_chunk must be a multiple of the nesting factor")
    world = World(seed, valley_wetness=valley_wetness, retrieval=retrieval or RetrievalErrors(),
                  station_errors=station_errors or StationErrors())
    times = preset.time
    fine, coarse = preset.fine, preset.coarse
    nt, (ny, nx) = len(times), fine.shape
    world_params = {"valley_wetness": world.valley_wetness, "retrieval": asdict(world.retrieval),
                    "station_errors": asdict(world.station_errors)}
    token = dask.base.tokenize(preset, seed, json.dumps(world_params, sort_keys=True), WORLD_VERSION,
                               __version__)
    outputs = {
        "sm": (1, np.float32), "lst": (1, np.float32), "ndvi": (1, np.float32),
        "albedo": (1, np.float32), "precip": (1, np.float32),
        "c_sm": (preset.factor, np.float32), "c_unc": (preset.factor, np.float32),
        "c_flag": (preset.factor, np.int8),
    }

    def block(t0, t1, y0, y1, x0, x1):
        return world.fine_block(preset, t0, t1, y0, y1, x0, x1)

    if preset.eager:
        arr = block(0, nt, 0, ny, 0, nx)
        dem = world.dem_block(preset, 0, ny, 0, nx)
    else:
        arr = _lazy_multi(
            block, _blocks(nt, preset.time_chunk), _blocks(ny, preset.space_chunk),
            _blocks(nx, preset.space_chunk), outputs, token,
        )
        sb = _blocks(ny, preset.space_chunk), _blocks(nx, preset.space_chunk)
        name = f"smkit-dem-{token}"
        layer = {
            (name, b, c): (world.dem_block, preset, y0, y1, x0, x1)
            for b, (y0, y1) in enumerate(sb[0]) for c, (x0, x1) in enumerate(sb[1])
        }
        dem = da.Array(
            HighLevelGraph({name: layer}, {name: set()}), name,
            (tuple(b - a for a, b in sb[0]), tuple(b - a for a, b in sb[1])), dtype=np.float32,
        )

    attrs = {
        "Conventions": "CF-1.10",
        "title": f"smkit synthetic observing-system experiment, preset {preset.name}",
        "source": "smkit.synth (synthetic; not real observations)",
        "preset": preset.name,
        "seed": seed,
        "world_version": WORLD_VERSION,
        "world": json.dumps(world_params, sort_keys=True),
        "smkit_version": __version__,
    }
    tcoord = _time_coord(times)
    fc = {"time": tcoord, **fine.coords()}
    sm_attrs = {"long_name": "volumetric soil moisture", "units": "m3 m-3"}
    truth = xr.Dataset(
        {"sm": (("time", "lat", "lon"), arr["sm"], {**sm_attrs, "long_name": "true 1-km surface soil moisture"})},
        coords=fc, attrs={**attrs, "title": attrs["title"] + ": 1-km truth"},
    )
    fine_ds = xr.Dataset(
        {
            "lst": (("time", "lat", "lon"), arr["lst"], {
                "long_name": "land surface temperature (MOD11A1-like, daytime)",
                "standard_name": "surface_temperature", "units": "K"}),
            "ndvi": (("time", "lat", "lon"), arr["ndvi"], {
                "long_name": "normalized difference vegetation index (MOD13A2-like 16-day composite)",
                "units": "1"}),
            "albedo": (("time", "lat", "lon"), arr["albedo"], {
                "long_name": "surface albedo (MCD43C3-like, 0.05 degree)",
                "standard_name": "surface_albedo", "units": "1", "native_resolution": ALBEDO_RES}),
            "precip": (("time", "lat", "lon"), arr["precip"], {
                "long_name": "precipitation (GPM-IMERG-like, 0.1 degree)",
                "standard_name": "lwe_precipitation_rate", "units": "mm day-1",
                "native_resolution": CELL}),
            "dem": (("lat", "lon"), dem, {
                "long_name": "elevation (SRTM-like)", "standard_name": "surface_altitude", "units": "m"}),
        },
        coords=fc, attrs={**attrs, "title": attrs["title"] + ": fine covariates"},
    )
    cc = {"time": tcoord, **coarse.coords()}
    coarse_ds = xr.Dataset(
        {
            "sm": (("time", "lat", "lon"), arr["c_sm"], {
                **sm_attrs, "long_name": "satellite soil moisture (ESA CCI COMBINED-like)"}),
            "sm_uncertainty": (("time", "lat", "lon"), arr["c_unc"], {
                "long_name": "soil moisture uncertainty", "units": "m3 m-3"}),
            "flag": (("time", "lat", "lon"), arr["c_flag"], {
                "long_name": "retrieval flag",
                "flag_masks": np.array([1, 2, 4], np.int8),
                "flag_meanings": "frozen_soil dense_vegetation other_loss",
                "units": "1"}),
        },
        coords=cc, attrs={**attrs, "title": attrs["title"] + ": coarse retrieval"},
    )
    # auxiliary model-like fields on their own grids
    g_era, g_noah, g_pdsi = coarse.with_res(CELL), coarse.with_res(ALBEDO_RES), coarse.with_res(PDSI_RES)
    days = day_numbers(times)
    months = pd.date_range(times[0], times[-1], freq="MS")
    tchunk = max(preset.time_chunk, 32)
    era = _aux_grid_array(
        lambda d, *b: world.era5_block(g_era, d, *b), g_era, days, tchunk, 250, token + "era5", preset.eager
    )
    noah = _aux_grid_array(
        lambda d, *b: world.noah_block(g_noah, d, *b), g_noah, days, tchunk, 250, token + "noah", preset.eager
    )
    pdsi = _aux_grid_array(
        lambda m, *b: world.pdsi_block(g_pdsi, m, *b), g_pdsi, months, 12, 250, token + "pdsi", preset.eager
    )
    era_ds = xr.Dataset(
        {"sm": (("time", "lat", "lon"), era, {
            **sm_attrs, "long_name": "ERA5-Land-like top layer (0-7 cm) soil moisture"})},
        coords={"time": tcoord, **g_era.coords()}, attrs={**attrs, "title": attrs["title"] + ": ERA5-like"},
    )
    noah_ds = xr.Dataset(
        {"sm": (("time", "lat", "lon"), noah, {
            **sm_attrs, "long_name": "Noah-like 0-10 cm soil moisture (Loess-Plateau-like region)"})},
        coords={"time": tcoord, **g_noah.coords()}, attrs={**attrs, "title": attrs["title"] + ": Noah-like"},
    )
    pdsi_ds = xr.Dataset(
        {"pdsi": (("time", "lat", "lon"), pdsi, {
            "long_name": "Palmer drought severity index (PDSI-like, monthly)", "units": "1"})},
        coords={"time": _time_coord(months), **g_pdsi.coords()},
        attrs={**attrs, "title": attrs["title"] + ": PDSI-like"},
    )
    stations = world.stations(preset)
    stations.attrs = {**attrs, "title": attrs["title"] + ": in-situ stations"}
    return Scenario(coarse_ds, fine_ds, truth, stations, era_ds, noah_ds, pdsi_ds)
