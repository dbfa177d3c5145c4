"""The notebooks' base: study (scenario, products, scorecards), uncertainty reruns, report, caches, reproduce, benchmarks."""
