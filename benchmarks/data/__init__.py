"""Synthetic data sets for the end-to-end benchmarks."""
