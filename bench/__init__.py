"""Benchmarks against peers in one run, printing ratios (see bench/README.md); not tests."""
