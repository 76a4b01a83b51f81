"""Retention of personal data (PII tables), separate from the statements' retention.

``store.retention_days`` applies to the raw and derived tables (``-- aspects:retention`` lines,
aspects.store.migrate). PII tables (usernames, emails, names) declare themselves with a line
``-- aspects:pii-retention <table> <time column>`` in their migration and follow
``privacy.pii_retention_days`` instead, usually much shorter. Both are ClickHouse TTLs: rows
expire in the background as parts merge, and ``materialize=True`` forces it now.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources

from clickhouse_connect.driver.client import Client

from aspects.store.migrate import migrations
from aspects.store.settings import StoreSettings

_PII_RETENTION = re.compile(r"^--\s*aspects:pii-retention\s+(\w+)\s+(\w+)\s*$", re.MULTILINE)


# PII tables created outside the numbered migrations (only when PII is on), by their DDL file.
_PII_DDL = (("aspects.courses.sql", "user_pii.sql"),)
# Known PII tables whose DDL does not declare itself yet.
_KNOWN = (("user_pii", "updated_at"),)


def pii_tables() -> list[tuple[str, str]]:
    """Every (table, time column) declared as a PII table (migrations and PII table DDL)."""
    found = [pair for migration in migrations() for pair in _PII_RETENTION.findall(migration.sql)]
    for package, name in _PII_DDL:
        text = (resources.files(package) / name).read_text(encoding="utf-8")
        found += _PII_RETENTION.findall(text)
    declared = {table for table, _ in found}
    return found + [pair for pair in _KNOWN if pair[0] not in declared]


def apply_pii_retention(
    client: Client,
    settings: StoreSettings,
    days: int | None,
    *,
    tables: Sequence[tuple[str, str]] | None = None,
    materialize: bool = False,
) -> list[str]:
    """Set (``days``) or remove (None) the TTL of each existing PII table; returns their names.

    ``materialize`` applies the TTL to existing rows at once (a mutation) instead of at the
    next merge.
    """
    db = settings.database
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    suffix = "_local" if settings.cluster else ""
    done = []
    for table, column in tables if tables is not None else pii_tables():
        name = f"{db}.{table}{suffix}"
        engine = client.query(
            "SELECT engine_full FROM system.tables "
            "WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": db, "t": table + suffix},
        ).result_rows
        if not engine:
            continue
        if days is not None:
            client.command(
                f"ALTER TABLE {name}{on_cluster} MODIFY TTL "
                f"toDateTime({column}) + toIntervalDay({int(days)})"
            )
            if materialize:
                client.command(
                    f"ALTER TABLE {name}{on_cluster} MATERIALIZE TTL",
                    settings={"mutations_sync": 2},
                )
        elif " TTL " in f" {engine[0][0]} ":
            client.command(f"ALTER TABLE {name}{on_cluster} REMOVE TTL")
        done.append(table)
    return done
