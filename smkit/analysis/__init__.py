"""Analyses of products: realism, drought, importance, uncertainty, experiments."""
