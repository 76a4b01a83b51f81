"""Running the LRS: open the store (migrated), the documents database, and serve with uvicorn.

One process: the embedded store (chDB) allows a single process per data directory, and the
group-commit writer is what makes one process fast. asyncio sets TCP_NODELAY on its sockets,
which small xAPI requests need.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from aspects.lrs.app import create_app
from aspects.lrs.collector import tune_collector
from aspects.lrs.db import make_sessionmaker
from aspects.settings import Settings
from aspects.store.client import open_migrated_client

# Seconds a thread holding the GIL runs before one waiting for it gets it (Python's default
# 0.005). lrs_post.py --clients 4, 20 s, 3 alternated pairs at load 8-11 (a shared machine):
# 4,044 -> 4,518 statements/s (medians) at the same server CPU per 100 statements (15.6 / 15.5).
SWITCH_INTERVAL = 0.0005
# chDB's background merge threads run at this nice value (Linux), so that a request's threads
# (the event loop, the commit, the receive workers) get a core first and merges the idle time
# (they need ~1-2 ms of CPU per 100 statements). Threads named by chDB; MergeMutate threads are
# started when the first merges come, so they are looked for every RENICE_SECONDS.
MERGE_NICE = 10
MERGE_THREADS = ("MergeMutate", "BgSchPool", "BgStrmSchPool", "PoolDelayExec")
RENICE_SECONDS = 1.0
_TASKS = Path("/proc/self/task")


def lower_priority(prefixes: Iterable[str], nice: int) -> int:
    """Give this process's threads whose names start with one of ``prefixes`` the ``nice``
    value (Linux: per thread); how many were changed. Threads gone meanwhile are skipped."""
    names = tuple(prefixes)
    changed = 0
    for task in _TASKS.iterdir():
        try:
            name = (task / "comm").read_text().strip()
            if name.startswith(names) and os.getpriority(os.PRIO_PROCESS, int(task.name)) != nice:
                os.setpriority(os.PRIO_PROCESS, int(task.name), nice)
                changed += 1
        except (OSError, ValueError):
            continue  # the thread ended
    return changed


def _keep_merges_behind(stop: threading.Event) -> None:
    while not stop.wait(RENICE_SECONDS):
        lower_priority(MERGE_THREADS, MERGE_NICE)


def build_app(settings: Settings) -> FastAPI:
    """The LRS app over the configured store (migrated to the latest schema first)."""
    client = open_migrated_client(settings.store, settings.data_dir)
    return create_app(settings, client, make_sessionmaker(settings), settings.lrs.receive_workers)


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until interrupted, on ``lrs.host``:``lrs.port`` unless given."""
    app = build_app(settings)
    # After the app and its store clients exist: they are what the collector need not scan.
    tune_collector()
    # Many threads here wait on I/O and then want the GIL back (the commit's journal sync, the
    # receive pool's hand-off threads, the flush and the copy calling chDB); with the default
    # 5 ms switch interval each such return could wait up to 5 ms behind the event loop.
    sys.setswitchinterval(SWITCH_INTERVAL)
    stop = threading.Event()
    if _TASKS.is_dir() and hasattr(os, "setpriority"):
        threading.Thread(
            target=_keep_merges_behind, args=(stop,), name="lrs-renice", daemon=True
        ).start()
    try:
        uvicorn.run(
            app,
            host=host or settings.lrs.host,
            port=port or settings.lrs.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        stop.set()
