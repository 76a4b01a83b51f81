"""Settings of privacy (section ``privacy``, env ``ASPECTS_PRIVACY__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PrivacySettings(BaseModel):
    """Erasure, and the retention sweep of the stores that have no TTL."""

    retention_sweep_seconds: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "How often `aspects serve` deletes ingest dead letters and queued forwards older "
            "than the retention (they live in SQL databases, which have no TTL)."
        ),
    )
    erase_wait_seconds: float = Field(
        default=3.0,
        ge=0,
        description=(
            "Erasure waits this long between recording the tombstone and deleting, so that "
            "writers in other processes (which re-read tombstones every 2 s) stop storing the "
            "learner first. 0 only when this process is the only writer."
        ),
    )
