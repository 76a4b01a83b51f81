"""The live follower: tail the configured logs into the store until asked to stop.

``run_live(settings, client, stop)`` is what ``aspects ingest follow`` and ``aspects serve`` call:
it reads and transforms in the calling thread, stores batches in a second thread (in order) and
forwards in a third, and returns once ``stop`` is set, after storing what it has read. A batch is
stored when it holds ``ingest.batch_size`` lines, when nothing more is waiting, or once it is
``ingest.flush_interval`` old; while the previous batch is being stored, the next one grows.
"""

from __future__ import annotations

import logging
import queue
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
    storer = _Storer(store, stop, on_flush)
    try:
        while not stop.is_set():
            idle = storer.idle()
            read = 0
            for stream in streams:
                # While the storer is busy, keep reading into the next (bigger) batch.
                deadline = (
                    (sink.started or time.monotonic()) + config.flush_interval
                    if idle
                    else float("inf")
                )
                read += stream.poll(sink, config.batch_size - sink.events, deadline)
            due = sink.started is not None and (
                time.monotonic() - sink.started >= config.flush_interval
            )
            full = sink.events >= config.batch_size
            if full or (sink.dirty and (due or read == 0) and storer.idle()):
                storer.put(sink.detach())  # waits only when full and the storer is busy
                continue  # more may be waiting: look again before sleeping
            if read == 0:
                stop.wait(config.poll_interval)
        if sink.dirty:
            storer.put(sink.detach())
        storer.close()
    finally:
        storer.abandon()
        for stream in streams:
            stream.close()
        forward_stop.set()
        if forwarder_thread is not None:
            forwarder_thread.join(timeout=10)
        state.close()


class _Storer:
    """Stores batches in order, in one thread, while the reader transforms the next batch
    (chDB runs an INSERT outside the GIL, so both cores work). Checkpoints still follow their
    own batch's INSERT, so this changes nothing about exactly-once."""

    def __init__(
        self,
        store: Callable[[Batch], Flushed],
        stop: threading.Event,
        on_flush: Callable[[Flushed], None] | None,
    ) -> None:
        self._store = store
        self._stop = stop
        self._on_flush = on_flush
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._busy = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="aspects-ingest-store", daemon=True)
        self._thread.start()

    def idle(self) -> bool:
        return not self._busy.is_set() and self._queue.empty()

    def put(self, batch: Batch) -> None:
        self._raise()
        self._busy.set()
        self._queue.put(batch)

    def close(self) -> None:
        """Store what is queued, then stop; re-raises a failure of the thread."""
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def abandon(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=60)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            try:
                if self._error is None:
                    if self._stop.is_set():  # last batches: a few tries, then give up loudly
                        _flush(self._store, batch, threading.Event(), self._on_flush, attempts=3)
                    else:
                        _flush(self._store, batch, self._stop, self._on_flush)
            except BaseException as error:  # re-raised in the reader thread
                self._error = error
            finally:
                if self._queue.empty():
                    self._busy.clear()


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
