"""The notebooks' base: study, report, caches, reproduce, benchmarks."""
