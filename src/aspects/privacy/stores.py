"""Erasure from the transactional databases: LRS documents, ingest dead letters and queue.

These are SQLAlchemy databases of other components (aspects.lrs.db, aspects.ingest.state); this
module only deletes from them. A database that was never created (its default SQLite file does
not exist and no URL is configured) holds nothing to erase and is left uncreated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, inspect, or_, select

from aspects.privacy.erasure import ErasureReport
from aspects.privacy.subject import Subject
from aspects.settings import Settings

_BATCH = 1000


def existing_engine(url: str | None, default_file: Path) -> Engine | None:
    """An engine on the configured database, or on the default SQLite file if it exists."""
    if url:
        return create_engine(url)
    if not default_file.exists():
        return None
    return create_engine(f"sqlite:///{default_file.resolve()}")


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def erase_documents(engine: Engine, subject: Subject) -> int:
    """State and agent-profile documents of the subject's agents (any homePage for accounts)."""
    from aspects.lrs.db import DocumentRow

    if not inspect(engine).has_table(DocumentRow.__tablename__):
        return 0
    conditions = []
    for actor_id in subject.actor_ids:
        if actor_id.startswith("sha1:"):
            key = f"|mbox_sha1sum|{actor_id.removeprefix('sha1:')}"
            conditions.append(DocumentRow.agent.in_([f"Agent{key}", f"Group{key}"]))
        elif actor_id.startswith("mailto:") or "://" in actor_id:
            kind = "mbox" if actor_id.startswith("mailto:") else "openid"
            conditions.append(
                DocumentRow.agent.in_([f"Agent|{kind}|{actor_id}", f"Group|{kind}|{actor_id}"])
            )
        else:
            pattern = f"%|account|%|{_like_literal(actor_id)}"
            conditions.append(DocumentRow.agent.like(pattern, escape="\\"))
    if not conditions:
        return 0
    with engine.begin() as connection:
        result = connection.execute(delete(DocumentRow).where(or_(*conditions)))
        return int(result.rowcount or 0)


def dead_letter_pattern(subject: Subject) -> re.Pattern[bytes] | None:
    """Matches a tracking-log line (even a broken one) that names the subject."""
    alternatives = [
        rb'"user_?id"\s*:\s*"?' + re.escape(user_id.encode()) + rb"(?!\d)"
        for user_id in subject.user_ids
    ]
    alternatives += [
        rb'"username"\s*:\s*"' + re.escape(name.encode()) + rb'"' for name in subject.usernames
    ]
    alternatives += [re.escape(email.encode()) for email in subject.emails]
    alternatives += [re.escape(actor_id.encode()) for actor_id in subject.actor_ids]
    if not alternatives:
        return None
    return re.compile(b"|".join(alternatives), re.IGNORECASE)


def erase_ingest(engine: Engine, subject: Subject) -> tuple[int, int]:
    """(dead letters, queued forwards) of the subject deleted from the ingest database."""
    from aspects.ingest.state import dead_letters_table, queue_table

    if not inspect(engine).has_table(dead_letters_table.name):
        return 0, 0
    pattern = dead_letter_pattern(subject)
    dead = 0
    if pattern is not None:
        doomed: list[int] = []
        with engine.connect() as connection:
            rows = connection.execute(select(dead_letters_table.c.id, dead_letters_table.c.line))
            for row_id, line in rows:
                if pattern.search(bytes(line)):
                    doomed.append(int(row_id))
        dead = _delete_ids(engine, dead_letters_table, doomed)
    queued = 0
    needles = sorted(subject.actor_ids | subject.emails)
    if needles:
        conditions = [
            queue_table.c.statement.like(f"%{_like_literal(needle)}%", escape="\\")
            for needle in needles
        ]
        with engine.begin() as connection:
            queued = int(
                connection.execute(delete(queue_table).where(or_(*conditions))).rowcount or 0
            )
    return dead, queued


def _delete_ids(engine: Engine, table: object, ids: Iterable[int]) -> int:
    from sqlalchemy import Table

    assert isinstance(table, Table)
    ids = list(ids)
    count = 0
    with engine.begin() as connection:
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            count += int(
                connection.execute(delete(table).where(table.c.id.in_(chunk))).rowcount or 0
            )
    return count


def erase_other_stores(settings: Settings, subject: Subject) -> ErasureReport:
    """Erase the subject from the LRS documents and the ingest database, where they exist."""
    report = ErasureReport()
    documents = existing_engine(settings.lrs.database_url, settings.data_dir / "lrs.sqlite3")
    if documents is not None:
        try:
            report.documents = erase_documents(documents, subject)
        finally:
            documents.dispose()
    ingest = existing_engine(settings.ingest.database_url, settings.data_dir / "ingest.sqlite3")
    if ingest is not None:
        try:
            report.dead_letters, report.queued_forwards = erase_ingest(ingest, subject)
        finally:
            ingest.dispose()
    return report
