"""Setu benchmarks: `python -m bench` (or `make bench`).

Prints each figure with its goal and writes them all to bench/results.json. Exits non-zero when
an enforced figure misses its goal or a measurement could not be made. Nothing here runs in
`make test`: timings belong to the bench, never to test assertions.
"""
