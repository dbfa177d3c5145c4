"""The data model: vocabulary, grids, schema checks, the scenario container and the crash-safe store protocol."""
