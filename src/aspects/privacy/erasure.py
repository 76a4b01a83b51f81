"""Erasure of one learner from the analytic store, and the whole procedure across stores.

Order matters (see docs/privacy.md): first the tombstones, so that no writer stores the learner
again; then a pause longer than the writers' tombstone refresh, so that writers in other
processes have stopped too; then the deletes. Each table gets a lightweight ``DELETE`` (waited
for): from then on no query sees the rows. Then ``ALTER TABLE ... APPLY DELETED MASK`` runs in the
background and rewrites the affected parts without them, so the rows are physically gone too
(:func:`purge_pending` tells when). Measured at 1M statements: a synchronous ``ALTER TABLE ...
DELETE`` of the raw table rewrote its big JSON column for ~60 s, the lightweight delete took ~3 s;
queries are served throughout either way.

Which tables: every stored table of the database with a column that can name a learner
(``actor_id``, ``user_id``, ``username``, ``email``, or the LRS's ``agents`` arrays), found in
``system.columns`` at the time of the erasure, so report tables added later are covered without
a change here. A statement that mentions the learner only as a related agent (instructor, team
member) is removed with its statement id from every table that has one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.privacy.subject import Subject
from aspects.privacy.tombstones import record_tombstones
from aspects.store.settings import StoreSettings

_SQL = resources.files("aspects.privacy.sql")
_IDENTITY_COLUMNS = (_SQL / "identity_columns.sql").read_text(encoding="utf-8")
_KEY_ACTOR = " ".join(
    line
    for line in (_SQL / "agent_key_actor.sql").read_text(encoding="utf-8").splitlines()
    if not line.lstrip().startswith("--")
)
_VOIDED = "http://adlnet.gov/expapi/verbs/voided"
# Identity columns -> the parameter their values are compared with.
_SCALAR = {
    "actor_id": "actor_ids",
    "user_id": "user_ids",
    "username": "usernames",
    "email": "emails",
}


@dataclass
class ErasureReport:
    """What an erasure removed: rows per table and per other store."""

    actor_ids: int = 0
    tombstones: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    dead_letters: int = 0
    queued_forwards: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "actor_ids": self.actor_ids,
            "tombstones": self.tombstones,
            "rows": dict(sorted(self.rows.items())),
            "documents": self.documents,
            "dead_letters": self.dead_letters,
            "queued_forwards": self.queued_forwards,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class IdentityTable:
    name: str
    columns: frozenset[str]


def identity_tables(client: Client, settings: StoreSettings) -> list[IdentityTable]:
    """Stored tables with at least one column that can name a learner."""
    result = client.query(_IDENTITY_COLUMNS, parameters={"db": settings.database})
    found = []
    for name, columns in result.result_rows:
        wanted = set(columns) & {*_SCALAR, "agents", "related_agents"}
        if wanted and name != "privacy_tombstones":
            found.append(IdentityTable(str(name), frozenset(columns)))
    return found


def _condition(table: IdentityTable, subject: Subject, related: bool) -> str | None:
    """The WHERE of the rows of ``table`` that belong to the subject (None: none can)."""
    parts = []
    for column, parameter in _SCALAR.items():
        if column in table.columns and getattr(subject, parameter):
            parts.append(f"toString({column}) IN {{{parameter}:Array(String)}}")
    agent_columns = [name for name in ("agents", "related_agents") if name in table.columns]
    if agent_columns and subject.actor_ids:
        arrays = f"arrayConcat({', '.join(agent_columns)})"
        parts.append(f"arrayExists(k -> ({_KEY_ACTOR}) IN {{actor_ids:Array(String)}}, {arrays})")
    if related and "statement_id" in table.columns:
        parts.append("statement_id IN {related:Array(UUID)}")
    return " OR ".join(f"({part})" for part in parts) if parts else None


def _parameters(subject: Subject, related: Sequence[str]) -> dict[str, Any]:
    return {
        "actor_ids": sorted(subject.actor_ids),
        "user_ids": sorted(subject.user_ids),
        "usernames": sorted(subject.usernames),
        "emails": sorted(subject.emails),
        "related": list(related),
    }


def _read_name(table: IdentityTable, settings: StoreSettings) -> str:
    """Where to read a table whole: on a cluster, the Distributed table over the *_local ones."""
    return table.name.removesuffix("_local") if settings.cluster else table.name


def _related_statements(
    client: Client, settings: StoreSettings, tables: Sequence[IdentityTable], subject: Subject
) -> tuple[list[str], list[str]]:
    """Statement ids (and attachment hashes) the LRS index links to the subject's agents."""
    ids: set[str] = set()
    hashes: set[str] = set()
    for table in tables:
        if not ({"agents", "statement_id"} <= table.columns) or not subject.actor_ids:
            continue
        condition = _condition(table, subject, related=False)
        attachments = (
            "attachment_hashes" if "attachment_hashes" in table.columns else "[]::Array(String)"
        )
        result = client.query(
            f"SELECT toString(statement_id), {attachments} "
            f"FROM {settings.database}.{_read_name(table, settings)} "
            f"WHERE {condition}",
            parameters=_parameters(subject, []),
        )
        for statement_id, attached in result.result_rows:
            ids.add(statement_id)
            hashes.update(attached)
    return sorted(ids), sorted(hashes)


def erase_from_store(client: Client, settings: StoreSettings, subject: Subject) -> dict[str, int]:
    """Delete the subject's rows from every identity table; returns rows deleted per table."""
    db = settings.database
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    tables = identity_tables(client, settings)
    related, attachment_hashes = _related_statements(client, settings, tables, subject)
    parameters = _parameters(subject, related)
    # Before the raw rows go: the voiding index is found through them.
    deleted: dict[str, int] = _erase_voidings(client, settings, subject)
    for table in tables:
        condition = _condition(table, subject, related=bool(related))
        if condition is None:
            continue
        count = int(
            str(
                client.command(
                    f"SELECT count() FROM {db}.{_read_name(table, settings)} WHERE {condition}",
                    parameters=parameters,
                )
            )
        )
        if count or settings.cluster:
            client.command(
                f"DELETE FROM {db}.{table.name}{on_cluster} WHERE {condition}",
                parameters=parameters,
                settings={"lightweight_deletes_sync": 2},
            )
            client.command(
                f"ALTER TABLE {db}.{table.name}{on_cluster} APPLY DELETED MASK",
                settings={"mutations_sync": 0},
            )
        deleted[table.name.removesuffix("_local")] = count
    deleted.update(_erase_attachments(client, settings, attachment_hashes))
    return deleted


def _erase_voidings(client: Client, settings: StoreSettings, subject: Subject) -> dict[str, int]:
    """Rows of the voiding index made by the subject's own voiding statements.

    ``voided_statements`` names no actor (voided id, voiding statement id), so the identity
    columns do not find it; its rows of the subject are those of the subject's statements with
    the verb voided, read from the raw table before that is erased.
    """
    db = settings.database
    suffix = "_local" if settings.cluster else ""
    exists = client.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": db, "t": "voided_statements" + suffix},
    )
    if not subject.actor_ids or not exists:
        return {}
    ids = [
        str(row[0])
        for row in client.query(
            f"SELECT DISTINCT statement_id FROM {db}.xapi_statements "
            "WHERE actor_id IN {actor_ids:Array(String)} AND verb_id = {voided:String}",
            parameters={"actor_ids": sorted(subject.actor_ids), "voided": _VOIDED},
        ).result_rows
    ]
    if not ids:
        return {"voided_statements": 0}
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    condition = "voiding_statement_id IN {ids:Array(UUID)}"
    count = int(
        str(
            client.command(
                f"SELECT count() FROM {db}.voided_statements WHERE {condition}",
                parameters={"ids": ids},
            )
        )
    )
    if count or settings.cluster:
        client.command(
            f"DELETE FROM {db}.voided_statements{suffix}{on_cluster} WHERE {condition}",
            parameters={"ids": ids},
            settings={"lightweight_deletes_sync": 2},
        )
        client.command(
            f"ALTER TABLE {db}.voided_statements{suffix}{on_cluster} APPLY DELETED MASK",
            settings={"mutations_sync": 0},
        )
    return {"voided_statements": count}


def _erase_attachments(
    client: Client, settings: StoreSettings, hashes: Sequence[str]
) -> dict[str, int]:
    """Attachment bodies of erased LRS statements that no remaining statement references."""
    if not hashes:
        return {}
    db = settings.database
    suffix = "_local" if settings.cluster else ""
    on_cluster = f" ON CLUSTER {settings.cluster}" if settings.cluster else ""
    condition = (
        "sha2 IN {hashes:Array(String)} AND sha2 NOT IN "
        f"(SELECT arrayJoin(attachment_hashes) FROM {db}.lrs_statements)"
    )
    count = int(
        str(
            client.command(
                f"SELECT count() FROM {db}.lrs_attachments WHERE {condition}",
                parameters={"hashes": list(hashes)},
            )
        )
    )
    if count or settings.cluster:
        client.command(
            f"DELETE FROM {db}.lrs_attachments{suffix}{on_cluster} WHERE {condition}",
            parameters={"hashes": list(hashes)},
            settings={"lightweight_deletes_sync": 2},
        )
        client.command(
            f"ALTER TABLE {db}.lrs_attachments{suffix}{on_cluster} APPLY DELETED MASK",
            settings={"mutations_sync": 0},
        )
    return {"lrs_attachments": count}


def purge_pending(client: Client, settings: StoreSettings) -> int:
    """Mutations of the database still running (the physical purge of erased rows among them)."""
    found = client.command(
        "SELECT count() FROM system.mutations WHERE database = {db:String} AND NOT is_done",
        parameters={"db": settings.database},
    )
    return int(str(found))


def remaining_rows(
    client: Client, settings: StoreSettings, subject: Subject, *, physical: bool = False
) -> dict[str, int]:
    """Rows of the subject still in the store, per table (all zero after an erasure).

    ``physical``: count rows still on disk, deleted or not (zero once :func:`purge_pending` is).
    """
    db = settings.database
    found = {}
    for table in identity_tables(client, settings):
        condition = _condition(table, subject, related=False)
        if condition is None:
            continue
        count = client.command(
            f"SELECT count() FROM {db}.{_read_name(table, settings)} WHERE {condition}",
            parameters=_parameters(subject, []),
            settings={"apply_deleted_mask": 0} if physical else None,
        )
        found[table.name.removesuffix("_local")] = int(str(count))
    return found


def erase(
    client: Client,
    settings: StoreSettings,
    subject: Subject,
    *,
    wait_seconds: float,
    other_stores: Callable[[Subject], ErasureReport] | None = None,
) -> ErasureReport:
    """The whole erasure: tombstones, wait, store rows, then the other stores (documents, ingest).

    ``other_stores`` erases from the transactional databases (see aspects.privacy.stores); it
    returns a report whose documents / dead letters / queued forwards are merged in.
    """
    began = time.monotonic()
    report = ErasureReport(actor_ids=len(subject.actor_ids))
    report.tombstones = record_tombstones(client, settings.database, subject.actor_ids)
    if wait_seconds > 0:
        time.sleep(wait_seconds)
    report.rows = erase_from_store(client, settings, subject)
    if other_stores is not None:
        others = other_stores(subject)
        report.documents = others.documents
        report.dead_letters = others.dead_letters
        report.queued_forwards = others.queued_forwards
    report.seconds = time.monotonic() - began
    return report
