"""A daemon thread that runs one task now and every ``interval`` seconds until stopped.

`aspects serve` runs several such background jobs (the operator_kpis cache refresher, the
retention sweep); each subclass says what one pass does in :meth:`PeriodicTask.run_once`.
A pass that raises is logged and tried again at the next interval: a background job must not
die of one failure, nor stop the server.
"""

from __future__ import annotations

import logging
import threading
from typing import Self


class PeriodicTask:
    """Runs :meth:`run_once` now and every ``interval`` seconds; counts passes and failures."""

    def __init__(
        self,
        name: str,
        interval: float,
        *,
        what: str,
        log: logging.Logger,
        join_timeout: float,
    ) -> None:
        self._interval = interval
        self._what = what
        self._log = log
        self._join_timeout = join_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.passes = 0  # passes that completed
        self.failures = 0  # passes that raised

    def run_once(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._join_timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.passes += 1
            except Exception:  # retried at the next interval
                self.failures += 1
                self._log.exception("%s failed", self._what)
            self._stop.wait(self._interval)
