"""docs/data-sources.md agrees with the readers: a section per registered reader, the registry's
file-name patterns, the example file names, and YAML snippets that the configuration loader takes."""

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from smkit.readers import load_config
from smkit.readers.registry import SOURCES, STATION_FORMATS

DOCS = Path(__file__).resolve().parent.parent / "docs"
TEXT = (DOCS / "data-sources.md").read_text()
HEADINGS = [line for line in TEXT.splitlines() if line.startswith("#")]
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", TEXT, flags=re.S)
READERS = sorted({r.__name__ for r, *_ in SOURCES.values() if r is not None}
                 | {r.__name__ for r, _ in STATION_FORMATS.values()})


def _section(reader: str) -> str:
    """The text of the section whose heading names ``reader``, down to the next heading of its level."""
    lines = TEXT.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and f"`{reader}`" in line)
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level),
               len(lines))
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("reader", READERS)
def test_every_registered_reader_has_a_section(reader):
    assert any(f"`{reader}`" in h for h in HEADINGS), (reader, HEADINGS)


def _patterns(pattern):
    return (pattern,) if isinstance(pattern, str) else tuple(pattern)


@pytest.mark.parametrize("key", sorted(k for k, (r, *_) in SOURCES.items() if r is not None))
def test_each_section_gives_the_file_name_patterns_the_registry_searches(key):
    reader, pattern, _ = SOURCES[key]
    section = _section(reader.__name__)
    for p in _patterns(pattern):
        assert f"`{p}`" in section, (key, p)


@pytest.mark.parametrize("fmt", sorted(STATION_FORMATS))
def test_each_station_section_gives_its_pattern(fmt):
    reader, pattern = STATION_FORMATS[fmt]
    assert f"`{pattern}`" in _section(reader.__name__), (fmt, pattern)


def test_example_file_names_match_their_sources_patterns():
    # every example name in backticks that starts like a product's files matches the folder pattern
    names = set(re.findall(r"`([A-Za-z0-9_.\-]+\.(?:nc|nc4|hdf|tif|HDF5|hgt|stm|grib))`", TEXT))
    checked = 0
    for name in names:
        for key, (_reader, pattern, _) in SOURCES.items():
            if pattern is None:
                continue
            stem = {"coarse": "SOILMOISTURE", "lst": "11A1", "ndvi": "13A2", "albedo": "MCD43C3",
                    "precip": "3B-", "pdsi": "TerraClimate_PDSI"}.get(key)
            if stem and stem in name:
                assert any(fnmatch.fnmatch(name, p) for p in _patterns(pattern)), (name, key, pattern)
                checked += 1
    assert checked >= 10


def _base():
    return yaml.safe_load((DOCS / "sources.example.yaml").read_text())


def test_the_doc_has_a_yaml_snippet_for_every_source():
    keys = set()
    for block in YAML_BLOCKS:
        keys |= set((yaml.safe_load(block) or {}).get("sources", {}))
    assert keys == set(SOURCES), sorted(set(SOURCES) ^ keys)
    formats = {e["format"] for block in YAML_BLOCKS
               for e in (yaml.safe_load(block) or {}).get("sources", {}).get("stations", [])}
    assert formats == set(STATION_FORMATS)


@pytest.mark.parametrize("k", range(len(YAML_BLOCKS)))
def test_each_yaml_snippet_is_taken_by_the_configuration_loader(k, tmp_path):
    snippet = yaml.safe_load(YAML_BLOCKS[k])
    if "region" in snippet:
        cfg = snippet
    else:
        cfg = _base()
        cfg["sources"].update(snippet["sources"])
    cfg["root"] = str(tmp_path)
    checked = load_config(cfg)
    for key, spec in snippet["sources"].items():
        if key == "stations":
            assert [e["format"] for e in checked["sources"]["stations"]] == [e["format"] for e in spec]
        else:
            assert {o: v for o, v in checked["sources"][key].items()} == spec


def test_the_doc_does_not_point_outside_the_project():
    assert "../shared" not in TEXT
