"""Forwarding stored statements to external LRSs from a persistent queue.

Statements are queued (in the ingest state database) in the same transaction as the checkpoint
of the batch they came from, so an outage of a remote LRS, or of this process, loses nothing.
Each target is sent its queue in order, in batches; a failure pauses that target with
exponential back-off (with jitter) up to ``max_backoff``. Re-sending is harmless: statement ids
are deterministic and an LRS treats a known id with the same content as already stored.

What a remote refuses for good (400, 409, 413, 422) is split in halves until the culprit
statements are isolated; those are parked in the queue with the reason (counted as
``forward_rejected``) so that they no longer block the rest.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from aspects.ingest.settings import ForwardTarget
from aspects.ingest.state import IngestState

log = logging.getLogger(__name__)

XAPI_VERSION = "1.0.3"
_PERMANENT = {400, 409, 413, 422}
_FIRST_BACKOFF = 0.5


class TransientError(Exception):
    """The remote could not take the batch now; try again later."""


class Forwarder:
    """Sends each target its queue; one instance per process, run in one thread."""

    def __init__(
        self,
        state: IngestState,
        targets: Sequence[ForwardTarget],
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._state = state
        self._targets = list(targets)
        self._http = http or httpx.Client()
        self._clock = clock
        self._failures = {target.name: 0 for target in self._targets}
        self._next = {target.name: 0.0 for target in self._targets}

    def close(self) -> None:
        self._http.close()

    def backoff(self, target: ForwardTarget) -> float:
        """Seconds to wait after the current run of failures (full jitter above half)."""
        failures = self._failures[target.name]
        ceiling = min(target.max_backoff, _FIRST_BACKOFF * 2 ** (failures - 1))
        jitter: float = 0.5 + random.random() / 2  # noqa: S311 - jitter, not secrecy
        return float(ceiling) * jitter

    def send_due(self) -> int:
        """One batch to every target that is due; returns the statements delivered."""
        delivered = 0
        now = self._clock()
        for target in self._targets:
            if now < self._next[target.name]:
                continue
            batch = self._state.pending(target.name, target.batch_size)
            if not batch:
                continue
            try:
                delivered += self._deliver(target, batch)
            except TransientError as error:
                self._failures[target.name] += 1
                pause = self.backoff(target)
                self._next[target.name] = self._clock() + pause
                self._state.attempted(queue_id for queue_id, _ in batch)
                log.warning(
                    "forwarding to %s failed (%s); retry in %.1f s", target.name, error, pause
                )
            else:
                self._failures[target.name] = 0
                self._next[target.name] = 0.0
        return delivered

    def _deliver(self, target: ForwardTarget, batch: list[tuple[int, str]]) -> int:
        status, detail = self._post(target, [text for _, text in batch])
        if status in (200, 204):
            return self._state.delivered(queue_id for queue_id, _ in batch)
        if status in _PERMANENT:
            if len(batch) == 1:
                self._state.refused([batch[0][0]], f"HTTP {status}: {detail}")
                return 0
            middle = len(batch) // 2
            return self._deliver(target, batch[:middle]) + self._deliver(target, batch[middle:])
        raise TransientError(f"HTTP {status}: {detail}")

    def _post(self, target: ForwardTarget, texts: list[str]) -> tuple[int, str]:
        auth: httpx.Auth | None = None
        if target.username is not None:
            password = target.password.get_secret_value() if target.password else ""
            auth = httpx.BasicAuth(target.username, password)
        body = ("[" + ",".join(texts) + "]").encode()
        try:
            response = self._http.post(
                target.url.rstrip("/") + "/statements",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Experience-API-Version": XAPI_VERSION,
                },
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=target.timeout,
            )
        except httpx.HTTPError as error:
            raise TransientError(f"{type(error).__name__}: {error}") from error
        return response.status_code, response.text[:500]

    def idle_for(self) -> float:
        """Seconds until some target is due again (for the loop's sleep)."""
        if not self._targets:
            return 1.0
        now = self._clock()
        return max(0.0, min(self._next.values()) - now)

    def run(self, stop: threading.Event, poll: float = 0.2) -> None:
        """Forward until ``stop`` is set."""
        while not stop.is_set():
            try:
                sent = self.send_due()
            except Exception:
                log.exception("forwarder error")
                sent = 0
            if not sent:
                stop.wait(max(poll, min(self.idle_for(), 5.0)))

    def drain(self, timeout: float) -> bool:
        """Forward until every queue is empty (True) or ``timeout`` seconds pass (False)."""
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            self.send_due()
            depths = self._state.queue_depths()
            if not any(depths.get(target.name, (0, 0))[0] for target in self._targets):
                return True
            time.sleep(min(0.2, max(0.0, self.idle_for())))
        return False
