"""Numbered SQL migrations, rendered for a single server or a cluster.

Migrations are ``migrations/NNNN_name.sql`` files of ``;``-separated statements with two
placeholders: ``${db}`` (the database) and ``${on_cluster}`` (empty, or ``ON CLUSTER name``).
For a cluster, :func:`render` also turns every ``ENGINE = XMergeTree(args)`` table into
``<name>_local`` with ``ReplicatedXMergeTree`` and puts a ``Distributed`` table of the original
name in front of it, and points materialized views at the local tables, so queries and inserts
keep using the plain names.

A line ``-- aspects:sharding <table> <expression>`` sets the Distributed table's sharding key
(default ``rand()``); rows that must collapse together need a key of their identity.
A line ``-- aspects:retention <table> <time expression>`` declares the table's retention TTL
(``store.retention_days``), ``-- aspects:pii-retention <table> <time expression>`` that of a PII
table (``store.pii_retention_days``); :func:`apply_retention` sets (or removes) them on every
migrate. The expression is usually a column; a migration may declare a table created elsewhere
(a PII table made on demand): it gets its TTL once it exists. Setting an unchanged TTL again is
a no-op for ClickHouse; a new or changed one is materialized over the existing rows once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from string import Template

from clickhouse_connect.driver.client import Client

from aspects.store.settings import StoreSettings

VERSION_TABLE = "schema_migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_RETENTION = re.compile(r"^--\s*aspects:retention\s+(\w+)\s+(.+?)\s*$", re.MULTILINE)
_PII_RETENTION = re.compile(r"^--\s*aspects:pii-retention\s+(\w+)\s+(.+?)\s*$", re.MULTILINE)
_SHARDING = re.compile(r"^--\s*aspects:sharding\s+(\w+)\s+(.+?)\s*$", re.MULTILINE)
_CREATE_TABLE = re.compile(
    r"CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<name>\w+)(?P<rest>.*?)"
    r"ENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?",
    re.DOTALL,
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def retention(self) -> list[tuple[str, str]]:
        """(table, time expression) pairs this migration declares for the retention TTL."""
        return _RETENTION.findall(self.sql)

    @property
    def pii_retention(self) -> list[tuple[str, str]]:
        """(table, time expression) pairs this migration declares for the PII retention TTL."""
        return _PII_RETENTION.findall(self.sql)


def migrations() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("aspects.store.migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


def split_statements(sql: str) -> list[str]:
    """Statements of a migration: split on ``;`` at the end of a line, comments dropped."""
    statements = []
    for chunk in re.split(r";\s*$", sql, flags=re.MULTILINE):
        lines = [line for line in chunk.splitlines() if not line.strip().startswith("--")]
        text = "\n".join(lines).strip()
        if text:
            statements.append(text)
    return statements


def render(sql: str, settings: StoreSettings) -> list[str]:
    """The statements of one migration for these settings."""
    cluster = settings.cluster
    on_cluster = f"ON CLUSTER {cluster}" if cluster else ""
    text = Template(sql).substitute(db=settings.database, on_cluster=on_cluster)
    statements = split_statements(text)
    if not cluster:
        return statements
    sharding = dict(_SHARDING.findall(sql))
    return [out for statement in statements for out in _for_cluster(statement, cluster, sharding)]


def _for_cluster(statement: str, cluster: str, sharding: dict[str, str]) -> list[str]:
    match = _CREATE_TABLE.match(statement)
    if match:
        db, name, engine = match["db"], match["name"], match["engine"]
        zk_args = f"'/clickhouse/tables/{{shard}}/{db}/{name}_local', '{{replica}}'"
        args = f"{zk_args}, {match['args']}" if match["args"] else zk_args
        local = (
            f"CREATE TABLE IF NOT EXISTS {db}.{name}_local{match['rest']}"
            f"ENGINE = Replicated{engine}({args})" + statement[match.end() :]
        )
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {db}.{name} ON CLUSTER {cluster} AS {db}.{name}_local "
            f"ENGINE = Distributed({cluster}, {db}, {name}_local, {sharding.get(name, 'rand()')})"
        )
        return [local, distributed]
    if statement.startswith("ALTER TABLE"):
        # Table settings and the like belong to each shard's local (MergeTree) table.
        return [re.sub(r"^ALTER TABLE (\w+)\.(\w+)\b", r"ALTER TABLE \1.\2_local", statement)]
    if statement.startswith("CREATE MATERIALIZED VIEW"):
        # A view fires on inserts into the local table of each shard and writes locally.
        return [re.sub(r"\b(FROM|TO|JOIN) (\w+)\.(\w+)\b", r"\1 \2.\3_local", statement)]
    return [statement]


def current_version(client: Client, settings: StoreSettings) -> int:
    """The highest applied migration, 0 for an empty database."""
    exists = client.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": settings.database, "t": VERSION_TABLE},
    )
    if not exists:
        return 0
    version = client.command(f"SELECT max(version) FROM {settings.database}.{VERSION_TABLE}")
    return int(str(version or 0))


def migrate(client: Client, settings: StoreSettings, target: int | None = None) -> list[Migration]:
    """Apply the pending migrations up to ``target`` (default: all); idempotent.

    Returns the migrations applied now. Every migration's DDL is itself idempotent
    (``IF NOT EXISTS``), so a run interrupted between a migration and its version row is safe to
    repeat.
    """
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    client.command(f"CREATE DATABASE IF NOT EXISTS {settings.database}{on_cluster}")
    engine = (
        f"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{settings.database}/{VERSION_TABLE}',"
        " '{replica}')"
        if settings.cluster
        else "MergeTree"
    )
    client.command(
        f"CREATE TABLE IF NOT EXISTS {settings.database}.{VERSION_TABLE}{on_cluster} "
        "(version UInt32, name String, applied_at DateTime64(6, 'UTC') DEFAULT now64(6)) "
        f"ENGINE = {engine} ORDER BY version"
    )
    # Every version not recorded yet, not only those above the highest: a migration numbered
    # into a gap (e.g. 0013 after 0061 was applied) must still reach existing stores.
    done = {
        int(row[0])
        for row in client.query(
            f"SELECT DISTINCT version FROM {settings.database}.{VERSION_TABLE}"
        ).result_rows
    }
    applied = []
    for migration in migrations():
        if migration.version in done or (target is not None and migration.version > target):
            continue
        for statement in render(migration.sql, settings):
            client.command(statement)
        client.insert(
            f"{settings.database}.{VERSION_TABLE}",
            [[migration.version, migration.name]],
            column_names=["version", "name"],
        )
        applied.append(migration)
    apply_retention(client, settings)
    return applied


def retention_tables() -> list[tuple[str, str]]:
    """Every (table, time expression) that follows the retention setting."""
    return [pair for migration in migrations() for pair in migration.retention]


def pii_retention_tables() -> list[tuple[str, str]]:
    """Every (table, time expression) that follows the PII retention setting."""
    return [pair for migration in migrations() for pair in migration.pii_retention]


def apply_retention(client: Client, settings: StoreSettings) -> list[str]:
    """Set each declared table's TTL from the settings, or remove it when unset.

    Returns the tables that exist and were handled (the others get theirs once created).
    """
    done = _apply_ttl(client, settings, retention_tables(), settings.retention_days)
    return done + _apply_ttl(client, settings, pii_retention_tables(), settings.pii_retention_days)


def _apply_ttl(
    client: Client, settings: StoreSettings, tables: list[tuple[str, str]], days: int | None
) -> list[str]:
    db = settings.database
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    suffix = "_local" if settings.cluster else ""
    done = []
    for table, column in tables:
        exists = client.command(
            "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": db, "t": table + suffix},
        )
        if not exists:
            continue
        has_ttl = "TTL" in str(
            client.command(
                "SELECT engine_full FROM system.tables "
                "WHERE database = {db:String} AND name = {t:String}",
                parameters={"db": db, "t": table + suffix},
            )
        )
        if days is not None:
            client.command(
                f"ALTER TABLE {db}.{table}{suffix}{on_cluster} MODIFY TTL "
                f"toDateTime({column}) + toIntervalDay({int(days)})"
            )
        elif has_ttl:
            client.command(f"ALTER TABLE {db}.{table}{suffix}{on_cluster} REMOVE TTL")
        done.append(table)
    return done
