"""Errors of the transformer: each carries a short ``reason`` that reports and dead letters keep."""

from __future__ import annotations

from aspects.errors import AspectsError


class MalformedLine(AspectsError):
    """A tracking-log line that is not one JSON event (bad JSON, not an object, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedEvent(AspectsError):
    """An event of a supported name that lacks what its statement needs (field, type, user)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
