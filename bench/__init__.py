"""Benchmarks users can run: each prints its figures next to a ceiling measured in the same run."""
