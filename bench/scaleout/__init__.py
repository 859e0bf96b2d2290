"""Growing past one machine: a measured simulation of the single-PostgreSQL bottleneck.

`python -m bench.scaleout --help`. Everything runs against a PostgreSQL database the caller
names (a throwaway one: the loader empties its tables) and over loopback only. The method and
the figures are in docs/scaling.md.
"""
