"""Benchmarks: `python -m bench [--smoke]` -> bench/results.json and bench/RESULTS.md (see bench/README.md)."""
