"""Datasets: the Sample schema, loaders for upstream benchmarks and the built-in demo sets."""
