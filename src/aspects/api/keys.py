"""API keys of the reports API: created, listed and revoked by `aspects api keys`.

A key is ``ak_<id>_<secret>`` where the secret is 256 random bits; only the SHA-256 of the whole
key is stored (table ``api_keys``, migration 0061), so a stolen table lets nobody call the API.
A key is scoped to courses and/or organisations, or (explicitly) to every course.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from aspects.errors import AspectsError

TABLE = "api_keys"
_KEY = re.compile(r"^ak_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_COURSE = re.compile(r"^course-v1:[^+\s]+\+[^+\s]+\+[^+\s]+$")
_ORG = re.compile(r"^[A-Za-z0-9_.-]+$")
_COLUMNS = [
    "key_id",
    "key_hash",
    "name",
    "courses",
    "orgs",
    "all_courses",
    "pii",
    "erase",
    "created_at",
    "revoked_at",
    "version",
]


class ApiKeyError(AspectsError):
    """A key operation was refused (bad scope, unknown key)."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    courses: tuple[str, ...]
    orgs: tuple[str, ...]
    all_courses: bool
    pii: bool
    erase: bool
    created_at: datetime
    revoked_at: datetime | None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    client: Client,
    database: str,
    *,
    name: str,
    courses: Sequence[str] = (),
    orgs: Sequence[str] = (),
    all_courses: bool = False,
    pii: bool = False,
    erase: bool = False,
) -> tuple[ApiKey, str]:
    """A new key and its plain text (shown once)."""
    bad = [course for course in courses if not _COURSE.match(course)]
    bad += [org for org in orgs if not _ORG.match(org)]
    if bad:
        raise ApiKeyError(f"not a course key (course-v1:ORG+NUMBER+RUN) or org: {', '.join(bad)}")
    if not (courses or orgs or all_courses or erase):
        raise ApiKeyError("a key needs a scope: --course, --org, --all-courses or --erase")
    key_id = secrets.token_hex(8)
    plain = f"ak_{key_id}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    key = ApiKey(key_id, name, tuple(courses), tuple(orgs), all_courses, pii, erase, now, None)
    _write(client, database, key, _hash(plain), now)
    return key, plain


def _write(client: Client, database: str, key: ApiKey, key_hash: str, version: datetime) -> None:
    client.insert(
        f"{database}.{TABLE}",
        [
            [
                key.key_id,
                key_hash,
                key.name,
                list(key.courses),
                list(key.orgs),
                key.all_courses,
                key.pii,
                key.erase,
                key.created_at,
                key.revoked_at,
                version,
            ]
        ],
        column_names=_COLUMNS,
    )


def _rows(client: Client, database: str, where: str, parameters: dict[str, str]) -> list[tuple]:  # type: ignore[type-arg]
    result = client.query(
        f"SELECT key_id, key_hash, name, courses, orgs, all_courses, pii, erase, created_at, "
        f"revoked_at FROM {database}.{TABLE} FINAL {where} ORDER BY created_at",
        parameters=parameters,
    )
    return [tuple(row) for row in result.result_rows]


def _key(row: tuple) -> ApiKey:  # type: ignore[type-arg]
    key_id, _hash_value, name, courses, orgs, all_courses, pii, erase, created, revoked = row
    return ApiKey(
        key_id,
        name,
        tuple(courses),
        tuple(orgs),
        bool(all_courses),
        bool(pii),
        bool(erase),
        created,
        revoked,
    )


def list_keys(client: Client, database: str) -> list[ApiKey]:
    return [_key(row) for row in _rows(client, database, "", {})]


def revoke_key(client: Client, database: str, key_id: str) -> ApiKey:
    rows = _rows(client, database, "WHERE key_id = {id:String}", {"id": key_id})
    if not rows:
        raise ApiKeyError(f"no API key {key_id!r}")
    key = _key(rows[0])
    if key.revoked_at is not None:
        return key
    now = datetime.now(UTC)
    revoked = ApiKey(**{**key.__dict__, "revoked_at": now})
    stored_hash = rows[0][1]
    _write(
        client,
        database,
        revoked,
        stored_hash.decode() if isinstance(stored_hash, bytes) else stored_hash,
        now,
    )
    return revoked


def verify_key(client: Client, database: str, plain: str) -> ApiKey | None:
    """The active key ``plain`` is, else None (malformed, unknown, revoked)."""
    match = _KEY.match(plain)
    if match is None:
        return None
    rows = _rows(client, database, "WHERE key_id = {id:String}", {"id": match[1]})
    if not rows:
        return None
    stored = rows[0][1]
    stored = stored.decode() if isinstance(stored, bytes) else str(stored)
    if not hmac.compare_digest(stored, _hash(plain)):
        return None
    key = _key(rows[0])
    return key if key.revoked_at is None else None
