"""Garbage-collector settings for the long-running processes (API workers, RQ workers, the OBD
gateway).  Pure: no Flask, no database.

These processes build and drop batches of thousands of records (several container objects
each), and the gateway holds up to 50,000 decoded records between decode and commit.  With
CPython's default thresholds (700, 10, 10) the cyclic collector runs every few dozen records,
and its older generations walk everything alive again and again: the app and SQLAlchemy's
metadata made at start-up, and every pending record.  Measured on this machine, back to back
(`python -m benchmarks obd`): the gateway 33 -> 27 µs of CPU per record (2 processes: 20% ->
29% of the COPY ceiling); the JSON endpoint, batches of 1,000, 84,000 -> 99,000 records/s.

`gc.freeze()` puts what start-up made out of the collector's sight (it is never garbage);
the higher thresholds make young collections rarer.  The collector still runs, so reference
cycles are still freed.
"""
from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_batches() -> None:
    """Call once the process has built its app: what exists then is frozen."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
