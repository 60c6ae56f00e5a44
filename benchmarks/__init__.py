"""Benchmarks: wslearn beside websockets and wsproto, measured in one run (see README.md)."""
