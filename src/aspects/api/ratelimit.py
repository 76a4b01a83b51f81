"""A token bucket per caller: ``burst`` requests at once, refilled at ``per_minute``."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """In-process buckets (one API process per host; behind several, limits are per process)."""

    def __init__(self, per_minute: int, burst: int, max_callers: int = 100_000) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._max = max_callers
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before the next one."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(caller, (self._burst, now))
            tokens = min(self._burst, tokens + (now - at) * self._rate)
            if tokens >= 1:
                if len(self._buckets) >= self._max and caller not in self._buckets:
                    self._buckets.clear()  # bounded memory under a flood of identities
                self._buckets[caller] = (tokens - 1, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) / self._rate

    def wait(self, caller: str) -> float:
        """Seconds before ``caller`` may make a request, without using one (0: now)."""
        now = time.monotonic()
        with self._lock:
            found = self._buckets.get(caller)
        if found is None:
            return 0.0
        tokens = min(self._burst, found[0] + (now - found[1]) * self._rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self._rate
