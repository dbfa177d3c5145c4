"""The data model: vocabulary, grids, schema checks."""
