"""Running the LRS: open the store (migrated), the documents database, and serve with uvicorn.

One process: the embedded store (chDB) allows a single process per data directory, and the
group-commit writer is what makes one process fast. asyncio sets TCP_NODELAY on its sockets,
which small xAPI requests need.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from aspects.lrs.app import create_app
from aspects.lrs.collector import tune_collector
from aspects.lrs.db import make_sessionmaker
from aspects.settings import Settings
from aspects.store.client import open_migrated_client

# Seconds a thread holding the GIL runs before one waiting for it gets it (Python's default
# 0.005). lrs_post.py --clients 4, 20 s, alternated pairs on a shared machine: 4,044 -> 4,518
# statements/s (medians of 3, load 8-11, CPU per 100 statements 15.6 / 15.5 ms), then with this
# session's other changes in both: 4,620 -> 6,592 (medians of 3, every pair better, load 8-10,
# CPU 15.0 / 14.3 ms); on a quiet machine (load 2-3) neutral: 9,078 -> 9,165 (CPU 16.5 / 16.3):
# the waits grow when the machine is busy.
SWITCH_INTERVAL = 0.0005


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
    uvicorn.run(
        app,
        host=host or settings.lrs.host,
        port=port or settings.lrs.port,
        log_level="warning",
        access_log=False,
    )
