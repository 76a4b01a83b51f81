"""The key table ``lrs_statement_keys`` (migration 0014) for statements stored before it existed.

Its materialized view indexes every statement stored after the migration; a store upgraded with
statements already in ``lrs_statements`` gets those indexed here, at LRS start-up, in one
``INSERT ... SELECT`` of the statements older than the oldest indexed one (none on later starts).
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from aspects.lrs.statements.sql import load


def index_older_statements(client: Client, database: str) -> None:
    """Index the statements older than the key table's oldest (blocking; idempotent)."""
    client.command(load("keys_backfill.sql", database))
