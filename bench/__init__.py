"""`make bench`: bulk-load a large SQLite fixture, then measure the real server over HTTP.

Entry point: `python -m bench.run --help`. See docs/performance.md.
"""
