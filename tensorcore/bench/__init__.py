"""Benchmark tools: a median timer and kernel-variant comparisons."""
