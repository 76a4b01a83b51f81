"""Settings of the ClickHouse store (section ``store``, env ``ASPECTS_STORE__*``)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StoreSettings(BaseModel):
    """Where the analytic database lives and who may use it."""

    url: SecretStr | None = Field(
        default=None,
        description=(
            "ClickHouse server URL, http(s)://user:password@host:port/database. "
            "Unset: the embedded database (chDB) under `path`."
        ),
    )
    path: Path | None = Field(
        default=None,
        description="Directory of the embedded database. Default: <data_dir>/clickhouse.",
    )
    database: str = Field(default="aspects", description="Database that holds our tables.")
    cluster: str | None = Field(
        default=None,
        description=(
            "ClickHouse cluster name. Set: DDL runs ON CLUSTER, tables are Replicated*MergeTree "
            "with Distributed tables in front."
        ),
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Delete statements (raw, the LRS's own tables, every table derived from them) older "
            "than this many days, by emission time; `aspects serve` also sweeps ingest dead "
            "letters and forwarding queues by age. Unset: keep forever."
        ),
    )
    pii_retention_days: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Delete rows of the PII tables (usernames, emails, names) this many days after they "
            "were written, separately from retention_days (a TTL, set on every migrate and when "
            "the PII table is created). Unset: keep while PII is on."
        ),
    )
    kpis_refresh_seconds: float = Field(
        default=60.0,
        ge=0,
        description=(
            "How often `aspects serve` refreshes the operator_kpis cache of whole past days "
            "(changed days only; the report is exact either way, just slower on uncached days). "
            "0: not in serve (run `aspects reports refresh` from cron instead)."
        ),
    )
    endpoint_host: str = Field(
        default="127.0.0.1",
        description="Address `aspects db serve` (the embedded database HTTP interface) binds.",
    )
    endpoint_port: int = Field(default=8123, ge=1, le=65535, description="Its port.")
    admin_user: str = Field(default="aspects", description="Endpoint user with full rights.")
    admin_password: SecretStr | None = Field(
        default=None,
        description=(
            "Password of `admin_user`. Required in production; in development a random one is "
            "generated once and kept in <data_dir>/secrets/."
        ),
    )
    readonly_user: str = Field(
        default="aspects_reader",
        description="Endpoint user that may only read (Superset, reports).",
    )
    readonly_password: SecretStr | None = Field(
        default=None,
        description="Password of `readonly_user`; same rules as `admin_password`.",
    )

    @field_validator("database", "cluster")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENTIFIER.match(value):
            raise ValueError("must be a plain identifier: letters, digits and underscores")
        return value
