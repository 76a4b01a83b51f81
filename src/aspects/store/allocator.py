"""chDB's memory allocator: keep freed pages for reuse instead of returning them to the kernel.

chDB carries its own jemalloc, configured when the library loads, from its built-in options and
then the ``JE_MALLOC_CONF`` environment variable. Built in: ``dirty_decay_ms:5000,
muzzy_decay_ms:0``, so memory freed by one INSERT (the Native block read in, each column of each
part, the compression buffers, a part per report table) goes back to the kernel within seconds
(``madvise``) and the next INSERT touches fresh pages that the kernel must fault in and zero.
Profiled on the backfill's INSERTs (1.03M statements, all report views), ~40% of chDB's CPU was
in the kernel, 22% page faults. With freed pages kept, page faults halved and chDB's CPU per
statement fell by ~1-3 us in most rounds (docs/ingest.md, "Session 7"). The price: memory freed
stays with the process for about a minute instead of five seconds (peak RSS of a backfill 1.6 ->
1.8-2.0 GB). Never purging (``dirty_decay_ms:-1,muzzy_decay_ms:-1``) measured a little better
again, but would keep a large query's memory for the process's life: an option for a process
that only backfills.

The options apply only if set before chDB is first loaded in the process, and an operator's own
``JE_MALLOC_CONF`` wins (jemalloc options, e.g. ``dirty_decay_ms:5000`` for the old behaviour).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

VARIABLE = "JE_MALLOC_CONF"
# Freed pages kept ~a minute (decay curves of 60 s) instead of 5 s: the next INSERTs reuse them.
OPTIONS = "dirty_decay_ms:60000,muzzy_decay_ms:60000"


def configure_chdb_allocator(
    environ: MutableMapping[str, str] | None = None,
) -> bool:
    """Set chDB's allocator options unless the environment already has some; call before chDB
    is imported. Returns False when chDB is already loaded (then nothing changes for this
    process: jemalloc read its options when chDB loaded)."""
    environ = os.environ if environ is None else environ
    if "chdb" in sys.modules:
        return False
    environ.setdefault(VARIABLE, OPTIONS)
    return True
