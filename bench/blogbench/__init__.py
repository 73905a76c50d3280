"""The benchmark sections behind bench/run.py, one module each."""
