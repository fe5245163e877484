"""Benchmarks: scripts that measure the catalog at realistic sizes (run with ``python -m``)."""
