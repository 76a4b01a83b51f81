"""Erasure as the CLI and the retirement hook run it: resolve, expand, erase everywhere."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.privacy.erasure import ErasureReport, erase, identity_tables
from aspects.privacy.stores import erase_other_stores
from aspects.privacy.subject import Subject, email_actor_ids, transformer_actors
from aspects.settings import Settings

_SCALAR = ("actor_id", "user_id", "username", "email")
_FIELDS = {
    "actor_id": "actor_ids",
    "user_id": "user_ids",
    "username": "usernames",
    "email": "emails",
}


def expand_subject(client: Client, settings: Settings, subject: Subject) -> Subject:
    """Add what the identity-mapping tables (PII tables) know about the subject.

    A mapping table is a stored table with two or more of actor_id / user_id / username / email
    and no statement_id (so not a fact table): a row that matches any known identifier gives the
    others, e.g. the username that events hashed by username were pseudonymised with.
    """
    db = settings.store.database
    for table in identity_tables(client, settings.store):
        columns = [name for name in _SCALAR if name in table.columns]
        if len(columns) < 2 or "statement_id" in table.columns:
            continue
        known = {name: sorted(getattr(subject, _FIELDS[name])) for name in columns}
        where = " OR ".join(
            f"toString({name}) IN {{{name}:Array(String)}}" for name in columns if known[name]
        )
        if not where:
            continue
        selected = ", ".join(f"toString({name})" for name in columns)
        result = client.query(f"SELECT {selected} FROM {db}.{table.name} WHERE {where}", known)
        found: dict[str, set[str]] = {name: set() for name in _FIELDS}
        for row in result.result_rows:
            for name, value in zip(columns, row, strict=True):
                if value:
                    found[name].add(str(value))
        subject = subject | Subject(
            frozenset(found["actor_id"]),
            frozenset(found["user_id"]),
            frozenset(found["username"]),
            frozenset(found["email"]),
        )
    return subject


def complete_subject(client: Client, settings: Settings, subject: Subject) -> Subject:
    """Every id of the subject: what the mapping tables know, and the pseudonyms of those ids."""
    subject = expand_subject(client, settings, subject)
    # Identifiers learnt from mapping tables have pseudonyms and email forms of their own.
    actors = transformer_actors(settings)
    extra = {actors.pseudonym(key) for key in subject.user_ids | subject.usernames}
    for email in subject.emails:
        extra |= email_actor_ids(email)
    return subject | Subject(actor_ids=frozenset(extra))


def erase_learner(client: Client, settings: Settings, subject: Subject) -> ErasureReport:
    """Erase the subject from the store, the LRS documents and the ingest database."""
    subject = complete_subject(client, settings, subject)
    return erase(
        client,
        settings.store,
        subject,
        wait_seconds=settings.privacy.erase_wait_seconds,
        other_stores=lambda who: erase_other_stores(settings, who),
    )
