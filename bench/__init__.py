"""Benchmarks: each module runs with one command and prints its figures (never a timed test)."""
