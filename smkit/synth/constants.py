"""Constants of the synthetic world: its version, grids, memories, physical constants, stream ids.

Every module of :mod:`smkit.synth` takes these from here. The stream identifiers
(:class:`Stream`) name the independent random quantities of the world (see
:mod:`smkit.synth.noise`): each number serves one quantity only, and changing one
changes the world (bump :data:`WORLD_VERSION`).
"""

#: Version of the world's equations: bumped whenever a change alters generated values, so that
#: scenarios and products cached from an older world are never reused.
WORLD_VERSION = 2

CELL = 0.1  # forcing grid (precipitation, air temperature), degrees
SUB = 0.05  # grid of the surface stores: rain is patchier than the 0.1 degree forcing
ALBEDO_RES = 0.05  # MCD43C3 climate-modelling grid, degrees
PDSI_RES = 1.0 / 24.0  # TerraClimate grid, degrees
L_SURFACE = 60  # days of memory of the surface store
L_ROOT = 120  # days of memory of the root-zone store
HALO = L_ROOT + 16  # days before a block needed to build it (root zone at NDVI period starts)
S0 = 16.0  # mm, storage scale of the retention curve
LAPSE = 0.0065  # K m-1
FREEZE = 273.15  # K

PATCHINESS = 1.0  # log-s.d. of the rain of a 0.05 degree cell about its 0.1 degree cell's
IRRIGATION = 35.0  # mm per flood irrigation of a fully irrigated cell, every 10 days in Apr-Sep

# drainage multipliers of the two surface stores a pixel's storage is mixed from
# (loam drains slowly, sand fast: McColl et al. 2017, Geophys. Res. Lett. 44, 3682,
# find surface drydown e-folding times of 2-10 days, shortest on sandy dry soils)
DRAIN_SLOW, DRAIN_FAST = 0.6, 1.7
SURFACE_LOSS = 1.5  # surface (0-5 cm) loss rate over the evaporative-demand rate of the stores


class Stream:
    """Stream identifiers of the random quantities: one number each, never reused for two things.

    Plain integers, passed after the seed as the first key of :func:`smkit.synth.noise.rng`,
    :func:`~smkit.synth.noise.hash_normal`, :func:`~smkit.synth.noise.hash_uniform`
    and :func:`~smkit.synth.noise.daily_waves`.
    """

    DEM_MID, DEM_SMALL, SOIL, VEG, BIAS, DROUGHT = 1, 2, 3, 4, 5, 6
    RAIN, RAINAMT, TEMP, CLOUD = 10, 11, 12, 13
    TRUTH, LST, NDVI, ALB = 20, 21, 22, 23
    CNOISE, CGAP, CUNC = 30, 31, 32
    STOFF, STNOISE, STGAP, NZW = 40, 41, 42, 43
    NOAH, ERA5 = 50, 51
    WET, TEXTURE, ILLUM, COLOUR, GAIN, OVERPASS = 60, 61, 62, 63, 64, 65
    CWHITE, STGAIN, STDEPTH, STDRIFT, STOUT = 66, 67, 68, 69, 70
    PATCH, IRR, IRRDAY, BIASLOC, MSOIL, MPRECIP = 71, 72, 73, 74, 75, 76
    PCLIM, HEAT = 77, 78
