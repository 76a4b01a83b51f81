"""The cyclic garbage collector of the LRS server process, tuned for its allocation pattern.

A POST of 100 statements parses ~5,000 dicts and lists that stay alive until the commit, and the
writer keeps each committed statement's row (a list holding five lists and a UUID) pending for up
to a second. With CPython's default thresholds (700, 10, 10) those objects are scanned by a young
collection every ~700 surviving allocations, promoted, scanned again, and a full collection
walks the whole heap (FastAPI, pydantic, SQLAlchemy, chDB's bindings: several hundred thousand
objects) every few seconds. Measured with ``gc.callbacks`` inside ``aspects lrs serve`` under
the POST benchmark (4 clients, 15 s, load 3-4, 2026-11-28): collections took **10.8 ms per 100
statements** with the defaults, 6.9 ms after ``gc.freeze()`` alone, **1.9 ms** with the freeze
and the thresholds below (28 young collections in 15 s of ~44 ms each instead of 1,460).

Almost everything the LRS allocates per request is freed by reference counting; the collector is
only needed for the rare cycles (exceptions with tracebacks, some asyncio objects), which a young
collection every 20,000 surviving allocations and a full one every 200 of those still reclaim.
"""

from __future__ import annotations

import gc

# Young collection after this many net container allocations, middle generation after this many
# young collections, full collection after this many middle ones.
THRESHOLDS = (20_000, 20, 10)


def tune_collector() -> None:
    """Move every object alive now (modules, the app, its clients) out of the collector's sight
    for good, and collect the rest less often (module docstring). For the server process only:
    it changes process-wide state, so tests and library callers leave it alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
