"""Settings of privacy (section ``privacy``, env ``ASPECTS_PRIVACY__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PrivacySettings(BaseModel):
    """Erasure and the retention of personal data."""

    pii_retention_days: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Delete rows of the PII tables (usernames, emails, names) this many days after they "
            "were written, separately from store.retention_days. Unset: keep while PII is on."
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
