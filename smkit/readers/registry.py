"""The registry of readers: which reader reads each source of ``sources.yaml``.

Owns :data:`SOURCES` and :data:`STATION_FORMATS` (key -> reader callable and the
file pattern searched in a folder), the sources the cube cannot do without, the
cube's groups and the version of each reader's interpretation of its product. A
new archive is a reader module registered here.
"""

from __future__ import annotations

from smkit.core.vocabulary import CUBE_GROUPS
from smkit.readers.esacci import read_esacci
from smkit.readers.imerg import read_imerg
from smkit.readers.ismn import read_ismn
from smkit.readers.models import read_era5_land, read_noah, read_terraclimate_pdsi
from smkit.readers.modis import read_mcd43c3, read_mod11a1, read_mod13a2
from smkit.readers.srtm import read_srtm
from smkit.readers.station_csv import read_cern, read_nzw, read_qxz

__all__ = ["READER_VERSIONS", "SOURCES", "STATION_FORMATS", "REQUIRED_SOURCES", "GROUPS"]

#: Version of each reader's interpretation of its product; recorded in the
#: cube's provenance and part of the resume fingerprint (bump on any change of
#: what a reader returns).
READER_VERSIONS = {
    "read_esacci": "1.0", "read_mod11a1": "1.0", "read_mod13a2": "1.0", "read_mcd43c3": "1.0",
    "read_srtm": "1.0", "read_imerg": "1.0", "read_era5_land": "1.0", "read_noah": "1.0",
    "read_terraclimate_pdsi": "1.0", "read_ismn": "1.0", "read_nzw": "1.0", "read_cern": "1.0",
    "read_qxz": "1.0",
}

#: source key -> (reader, default file pattern inside a folder, group)
SOURCES = {
    "coarse": (read_esacci, "*-SOILMOISTURE-L3S-SSMV-COMBINED-*.nc", "coarse"),
    "lst": (read_mod11a1, ("*MOD11A1*", "*MYD11A1*"), "fine"),
    "ndvi": (read_mod13a2, ("*MOD13A2*", "*MYD13A2*"), "fine"),
    "albedo": (read_mcd43c3, "*MCD43C3*", "fine"),
    "precip": (read_imerg, "3B-*IMERG*", "fine"),
    "dem": (read_srtm, ("*.tif", "*.tiff", "*.hgt"), "fine"),
    "stations": (None, None, "stations"),
    "era5": (read_era5_land, ("*.nc", "*.grib", "*.grb"), "era5"),  # NetCDF or the CDS's GRIB
    "noah": (read_noah, "*.nc4", "noah"),
    "pdsi": (read_terraclimate_pdsi, "TerraClimate_PDSI_*.nc", "pdsi"),
}
#: station format key -> (reader, default file pattern inside a folder)
STATION_FORMATS = {"ismn": (read_ismn, "*_sm_*.stm"), "nzw": (read_nzw, "*.csv"),
                   "cern": (read_cern, "*.csv"), "qxz": (read_qxz, "*.csv")}
#: Sources every configuration names: the coarse soil moisture and the five fine covariates.
REQUIRED_SOURCES = ("coarse", "lst", "ndvi", "albedo", "precip", "dem")
#: Groups of the cube :func:`smkit.readers.ingest` writes (besides the empty ``truth``).
GROUPS = CUBE_GROUPS
