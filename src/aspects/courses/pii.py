"""Learners' usernames, emails and names (opt-in): the ``user_pii`` table and its import.

The table exists only when ``courses.pii`` is on: :func:`ensure_pii_table` refuses otherwise,
and nothing else creates it. Rows come from a CSV exported from the LMS (columns actor_id or
external_user_id, and optionally user_id, username, email, name), keyed by the pseudonymous
actor id the statements carry. Bad rows are reported with their line and reason; good rows
are still imported.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.errors import ConfigError
from aspects.store.migrate import apply_retention, render
from aspects.store.settings import StoreSettings

TABLE = "user_pii"
_FIELDS = ("user_id", "username", "email", "name")


@dataclass
class PIIImport:
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def ensure_pii_table(client: Client, store: StoreSettings, pii_enabled: bool) -> None:
    """Create the PII table (idempotent); only when PII is enabled."""
    if not pii_enabled:
        raise ConfigError("PII is disabled (courses.pii = false): no PII table is created")
    sql = (resources.files("aspects.courses.sql") / "user_pii.sql").read_text(encoding="utf-8")
    for statement in render(sql, store):
        client.command(statement)
    apply_retention(client, store)  # its PII retention TTL from the start (docs/privacy.md)


def pii_table_exists(client: Client, database: str) -> bool:
    return bool(
        client.command(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": database, "t": TABLE},
        )
    )


def import_pii_csv(
    client: Client, store: StoreSettings, path: Path, pii_enabled: bool
) -> PIIImport:
    """Import a CSV of learners' PII; returns the count and the rejected lines with reasons."""
    ensure_pii_table(client, store, pii_enabled)
    result = PIIImport()
    rows: list[list[object]] = []
    now = dt.datetime.now(dt.UTC)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for line, record in enumerate(reader, start=2):
            actor = (record.get("actor_id") or record.get("external_user_id") or "").strip()
            if not actor:
                result.rejected.append((line, "no actor_id / external_user_id"))
                continue
            email = (record.get("email") or "").strip()
            if email and "@" not in email:
                result.rejected.append((line, f"not an email address: {email!r}"))
                continue
            rows.append([actor, *((record.get(name) or "").strip() for name in _FIELDS), now])
    if rows:
        client.insert(
            f"{store.database}.{TABLE}",
            rows,
            column_names=["actor_id", *_FIELDS, "updated_at"],
        )
    result.imported = len(rows)
    return result
