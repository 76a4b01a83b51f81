"""Settings of the tracking-log ingest (section ``ingest``, env ``ASPECTS_INGEST__*``)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class ForwardTarget(BaseModel):
    """An external LRS that receives a copy of the transformed statements."""

    name: str = Field(description="Short unique name (letters, digits, `_.-`); keys its queue.")
    url: str = Field(
        description="Base URL of the xAPI endpoint; statements are POSTed to <url>/statements."
    )
    username: str | None = Field(default=None, description="HTTP Basic user (the LRS key).")
    password: SecretStr | None = Field(default=None, description="HTTP Basic password (secret).")
    events: list[str] | None = Field(
        default=None,
        description="Open edX event names to forward (allow-list). Unset: every event.",
    )
    orgs: list[str] | None = Field(
        default=None,
        description="Course organisations to forward (allow-list). Unset: every organisation.",
    )
    batch_size: int = Field(default=200, ge=1, le=10_000, description="Statements per POST.")
    timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for one POST.")
    max_backoff: float = Field(
        default=300.0, gt=0, description="Longest pause between retries, in seconds."
    )

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must use only letters, digits, '_', '.' and '-'")
        return value


class IngestSettings(BaseModel):
    """Which tracking logs are followed, how they are batched and where copies go."""

    paths: list[Path] = Field(
        default_factory=list,
        description=(
            "Tracking logs the live follower tails (e.g. /edx/var/log/tracking/tracking.log); "
            "rotated siblings (tracking.log.1, tracking.log-20240101.gz) are found beside them."
        ),
    )
    batch_size: int = Field(
        default=5000,
        ge=1,
        description="Flush a batch when it holds this many lines (each INSERT costs ~10 ms).",
    )
    flush_interval: float = Field(
        default=0.5,
        gt=0,
        le=1.0,
        description="Flush a non-empty batch at least this often, in seconds (at most 1).",
    )
    poll_interval: float = Field(
        default=0.1, gt=0, le=5.0, description="How often the follower looks for new lines (s)."
    )
    backfill_batch_size: int = Field(
        default=100_000,
        ge=1,
        description=(
            "Statements per INSERT during `aspects ingest PATH` (larger parts: fewer merges; "
            "~110 MB of JSON per batch)."
        ),
    )
    workers: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Transformer processes during backfill. Unset: one per CPU core. 0: transform in "
            "the main process."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the checkpoints, dead letters and forwarding queue. "
            "Unset: SQLite at <data_dir>/ingest.sqlite3."
        ),
    )
    dead_letter_max_bytes: int = Field(
        default=16_384,
        ge=256,
        description="Rejected lines are kept up to this many bytes (the rest is cut off).",
    )
    forward: list[ForwardTarget] = Field(
        default_factory=list,
        description="External LRSs to copy statements to (a JSON list in the environment).",
    )

    @field_validator("forward")
    @classmethod
    def _unique_names(cls, value: list[ForwardTarget]) -> list[ForwardTarget]:
        names = [target.name for target in value]
        if len(names) != len(set(names)):
            raise ValueError("forwarding target names must be unique")
        return value
