"""The notebooks' base: study, products, scorecards, uncertainty reruns, report, caches, reproduce, bench."""
