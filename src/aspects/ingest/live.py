"""The live follower: tail the configured logs into the store until asked to stop.

``run_live(settings, client, stop)`` is what ``aspects ingest follow`` and ``aspects serve`` call:
it runs in the calling thread (forwarding in one more thread) and returns once ``stop`` is set,
after storing what it has read. Batches are flushed when they hold ``ingest.batch_size`` lines or
are ``ingest.flush_interval`` old, whichever comes first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.ingest.follow import Stream
from aspects.ingest.forward import Forwarder
from aspects.ingest.sink import Batch, Flushed, LagTracker, Sink
from aspects.ingest.state import IngestState, default_url
from aspects.ingest.transformer import build_converter, converter_spec, store_course_names
from aspects.settings import Settings

log = logging.getLogger(__name__)

_RETRY_PAUSE = 1.0


def open_state(settings: Settings) -> IngestState:
    """The ingest state database from the settings (SQLite under data_dir by default)."""
    return IngestState(settings.ingest.database_url or default_url(settings.data_dir))


def run_live(
    settings: Settings,
    client: Client,
    stop: threading.Event,
    *,
    paths: list[Path] | None = None,
    on_flush: Callable[[Flushed], None] | None = None,
) -> None:
    """Follow ``paths`` (default: ``ingest.paths``) until ``stop`` is set; see the module doc.

    The store must be migrated. A failing INSERT keeps the batch and is retried every second:
    nothing read is checkpointed before it is stored.
    """
    config = settings.ingest
    follow = paths if paths is not None else list(config.paths)
    state = open_state(settings)
    names = None
    if settings.transform.course_names_file is None:
        names = store_course_names(client, settings.store.database)
    converter = build_converter(converter_spec(settings), course_names=names)
    sink = Sink()
    lags = LagTracker()

    def store(batch: Batch) -> Flushed:
        return batch.store(client, settings.store.database, state, config.forward, lags)

    streams = [Stream(path, state, converter) for path in follow]
    forward_stop = threading.Event()
    forwarder_thread = None
    if config.forward:
        forwarder = Forwarder(state, config.forward)
        forwarder_thread = threading.Thread(
            target=forwarder.run, args=(forward_stop,), name="aspects-forward", daemon=True
        )
        forwarder_thread.start()
    log.info("following %s", ", ".join(map(str, follow)) or "nothing")
    try:
        while not stop.is_set():
            read = 0
            for stream in streams:
                read += stream.poll(sink, config.batch_size)
            due = sink.started is not None and (
                time.monotonic() - sink.started >= config.flush_interval
            )
            if sink.events >= config.batch_size or (sink.dirty and (due or read == 0)):
                _flush(store, sink.detach(), stop, on_flush)
            if read == 0:
                stop.wait(config.poll_interval)
        if sink.dirty:
            _flush(store, sink.detach(), threading.Event(), on_flush, attempts=3)
    finally:
        for stream in streams:
            stream.close()
        forward_stop.set()
        if forwarder_thread is not None:
            forwarder_thread.join(timeout=10)
        state.close()


def _flush(
    store: Callable[[Batch], Flushed],
    batch: Batch,
    stop: threading.Event,
    on_flush: Callable[[Flushed], None] | None,
    attempts: int | None = None,
) -> None:
    tried = 0
    while True:
        try:
            flushed = store(batch)
        except Exception:
            tried += 1
            log.exception("storing a batch failed; keeping it and retrying")
            if stop.is_set() or (attempts is not None and tried >= attempts):
                raise
            stop.wait(_RETRY_PAUSE)
            continue
        if on_flush is not None:
            on_flush(flushed)
        return
