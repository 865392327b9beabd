"""Benchmarks: not tests. Each prints its figures; `python -m benchmarks` lists and runs them."""
