"""Constants of the synthetic world: its version, grids, memories, physical constants, stream ids.

Every module of :mod:`smkit.synth` takes these from here. The stream identifiers
(``S_*``) name the independent random quantities of the world (see
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

# stream identifiers of the random quantities (never reuse one for two things)
S_DEM_MID, S_DEM_SMALL, S_SOIL, S_VEG, S_BIAS, S_DROUGHT = 1, 2, 3, 4, 5, 6
S_RAIN, S_RAINAMT, S_TEMP, S_CLOUD = 10, 11, 12, 13
S_TRUTH, S_LST, S_NDVI, S_ALB = 20, 21, 22, 23
S_CNOISE, S_CGAP, S_CUNC = 30, 31, 32
S_STOFF, S_STNOISE, S_STGAP, S_NZW = 40, 41, 42, 43
S_NOAH, S_ERA5 = 50, 51
S_WET, S_TEXTURE, S_ILLUM, S_COLOUR, S_GAIN, S_OVERPASS = 60, 61, 62, 63, 64, 65
S_CWHITE, S_STGAIN, S_STDEPTH, S_STDRIFT, S_STOUT = 66, 67, 68, 69, 70
S_PATCH, S_IRR, S_IRRDAY, S_BIASLOC, S_MSOIL, S_MPRECIP = 71, 72, 73, 74, 75, 76
S_PCLIM, S_HEAT = 77, 78
