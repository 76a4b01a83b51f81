"""LRS credentials (HTTP Basic key + secret, xAPI scopes) and the ``authenticate`` dependency.

Secrets are stored only as scrypt hashes. scrypt is slow on purpose (tens of milliseconds), which
a busy LRS cannot pay on every request, so a verified secret is remembered per process as a
SHA-256 digest next to the stored hash it was checked against: a later request with the same
secret skips scrypt, and a changed hash takes effect at once.

Reading the credential from the database on every request (a session, a row, a thread hop) cost
a busy LRS ~10% of its CPU, so each process also trusts a principal it built for
``lrs.credential_cache_seconds`` (:class:`CredentialCache`, keyed by a digest of the whole
``Authorization`` header): a revocation, which happens in another process (the CLI), is
refused within that bound; 0 reads the database on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from aspects.errors import AspectsError
from aspects.lrs.db import CredentialRow

# The scopes of xAPI 1.0.3 §4.2 (OAuth scopes), kept for Basic credentials as well.
SCOPES: tuple[str, ...] = (
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "state",
    "define",
    "profile",
    "all/read",
    "all",
)
# What the xAPI specification gives a client that asks for no scope.
DEFAULT_SCOPES: tuple[str, ...] = ("statements/write", "statements/read/mine")

# A scope grants itself and these.
_IMPLIES: dict[str, frozenset[str]] = {
    "all": frozenset(SCOPES),
    "all/read": frozenset({"all/read", "statements/read", "statements/read/mine"}),
    "statements/read": frozenset({"statements/read", "statements/read/mine"}),
}

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2**14, 8, 1, 32
_REALM = 'Basic realm="xAPI", charset="UTF-8"'


class CredentialError(AspectsError):
    """A credential operation was refused (unknown key, bad scope, weak secret)."""


@dataclass(frozen=True)
class Principal:
    """Who sent a request: its credential key, granted scopes and xAPI authority Agent."""

    key: str
    scopes: frozenset[str]
    authority: dict[str, Any] = field(hash=False, compare=False)

    def allows(self, *scopes: str) -> bool:
        """True when any of ``scopes`` is granted, directly or through a broader scope."""
        granted: set[str] = set()
        for scope in self.scopes:
            granted |= _IMPLIES.get(scope, frozenset({scope}))
        return any(scope in granted for scope in scopes)


@dataclass(frozen=True)
class Credential:
    """A stored credential as listed (never its secret)."""

    key: str
    name: str
    scopes: tuple[str, ...]
    authority: dict[str, Any]
    created_at: datetime
    revoked_at: datetime | None


def normalize_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Validated scopes in canonical order; none given means the specification's default."""
    chosen = {scope.strip() for scope in scopes if scope.strip()}
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise CredentialError(
            f"unknown scope(s) {', '.join(unknown)}; valid scopes: {', '.join(SCOPES)}"
        )
    return tuple(scope for scope in SCOPES if scope in chosen) or DEFAULT_SCOPES


def hash_secret(secret: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``secret``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_SCRYPT_LEN
    )
    return "$".join(
        ("scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest))
    )


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a hash made by :func:`hash_secret` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=128 * 1024 * 1024,
        )
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def authority_agent(name: str, key: str, home_page: str) -> dict[str, Any]:
    """The xAPI Agent a credential writes as: an account on the LRS named by the key."""
    return {"objectType": "Agent", "name": name, "account": {"homePage": home_page, "name": key}}


def create_credential(
    session: Session,
    *,
    name: str,
    scopes: Iterable[str],
    home_page: str,
    key: str | None = None,
    secret: str | None = None,
) -> tuple[Credential, str]:
    """Store a new credential; returns it and its secret (shown once, stored only hashed)."""
    chosen = normalize_scopes(scopes)
    # Hex, so a key never starts with "-" and reads as an option on a command line.
    key = key or secrets.token_hex(12)
    if not key or ":" in key or len(key) > 64 or not key.isprintable():
        raise CredentialError("a key must be 1-64 printable characters without ':'")
    if secret is None:
        secret = secrets.token_urlsafe(32)
    elif len(secret) < 12:
        raise CredentialError("a secret must have at least 12 characters")
    if session.get(CredentialRow, key) is not None:
        raise CredentialError(f"a credential with key {key!r} already exists")
    authority = authority_agent(name, key, home_page)
    row = CredentialRow(
        key=key,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=" ".join(chosen),
        authority=orjson.dumps(authority).decode(),
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    session.add(row)
    session.commit()
    return _credential(row), secret


def list_credentials(session: Session, *, include_revoked: bool = True) -> list[Credential]:
    """Every credential, oldest first."""
    query = select(CredentialRow).order_by(CredentialRow.created_at, CredentialRow.key)
    if not include_revoked:
        query = query.where(CredentialRow.revoked_at.is_(None))
    return [_credential(row) for row in session.scalars(query)]


def revoke_credential(session: Session, key: str) -> Credential:
    """Mark a credential revoked (kept, so that its statements' authority stays explained)."""
    row = session.get(CredentialRow, key)
    if row is None:
        raise CredentialError(f"no credential with key {key!r}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()
    return _credential(row)


def _credential(row: CredentialRow) -> Credential:
    return Credential(
        key=row.key,
        name=row.name,
        scopes=tuple(row.scopes.split()),
        authority=orjson.loads(row.authority),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class VerifiedSecrets:
    """Per-process memory of secrets already checked against a stored hash (see module doc)."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], bytes] = {}

    def check(self, key: str, secret: str, stored_hash: str) -> bool:
        digest = hashlib.sha256(secret.encode()).digest()
        with self._lock:
            known = self._known.get((key, stored_hash))
        if known is not None:
            return hmac.compare_digest(known, digest)
        if not verify_secret(secret, stored_hash):
            return False
        with self._lock:
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[(key, stored_hash)] = digest
        return True


def principal_for(
    session: Session, key: str, secret: str, verified: VerifiedSecrets
) -> Principal | None:
    """The principal of a valid, unrevoked credential, else None."""
    row = session.get(CredentialRow, key)
    if row is None or row.revoked_at is not None:
        return None
    if not verified.check(key, secret, row.secret_hash):
        return None
    return Principal(
        key=row.key, scopes=frozenset(row.scopes.split()), authority=orjson.loads(row.authority)
    )


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(key, secret) of an ``Authorization: Basic`` header, None when absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        return None
    key, sep, secret = decoded.partition(":")
    if not sep or not key or len(key) > 64 or "\x00" in decoded:
        return None  # no stored key looks like that (and PostgreSQL text cannot hold NUL)
    return key, secret


def unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": _REALM})


class CredentialCache:
    """Principals of recently verified ``Authorization`` headers, each trusted for ``seconds``
    (see the module docstring). Used from the event loop only; only a digest of the header is
    kept, never the secret."""

    def __init__(
        self, seconds: float, limit: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._limit = limit
        self._clock = clock
        self._known: dict[bytes, tuple[Principal, float]] = {}

    @staticmethod
    def _digest(header: str) -> bytes:
        return hashlib.sha256(header.encode("utf-8", "surrogateescape")).digest()

    def get(self, header: str) -> Principal | None:
        if self.seconds <= 0:
            return None
        found = self._known.get(self._digest(header))
        if found is None:
            return None
        principal, expires = found
        if self._clock() >= expires:
            return None
        return principal

    def put(self, header: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[self._digest(header)] = (principal, self._clock() + self.seconds)


def credential_cache(state: Any) -> CredentialCache:
    """The app's cache (``app.state.credential_cache``), made from its settings when absent."""
    cache: CredentialCache | None = getattr(state, "credential_cache", None)
    if cache is None:
        settings = getattr(state, "settings", None)
        seconds = settings.lrs.credential_cache_seconds if settings is not None else 1.0
        cache = state.credential_cache = CredentialCache(seconds)
    return cache


def _lookup(state: Any, key: str, secret: str) -> Principal | None:
    verified = getattr(state, "verified_secrets", None)
    if verified is None:
        verified = state.verified_secrets = VerifiedSecrets()
    factory: sessionmaker[Session] = state.sessionmaker
    with factory() as session:
        return principal_for(session, key, secret, verified)


async def authenticate(request: Request) -> Principal:
    """FastAPI dependency: the request's principal, or 401 with ``WWW-Authenticate``.

    A principal verified less than ``lrs.credential_cache_seconds`` ago comes from memory
    without a thread hop; otherwise the database is read in the thread pool."""
    header = request.headers.get("authorization")
    state = request.app.state
    cache = credential_cache(state)
    if header:
        cached = cache.get(header)
        if cached is not None:
            return cached
    pair = parse_basic(header)
    if pair is None or header is None:
        raise unauthorized("HTTP Basic authentication with an LRS credential is required")
    principal = await run_in_threadpool(_lookup, state, pair[0], pair[1])
    if principal is None:
        raise unauthorized("unknown or revoked credential, or wrong secret")
    cache.put(header, principal)
    return principal


def forbidden(*scopes: str) -> HTTPException:
    """403 naming the scopes that would have allowed the request."""
    return HTTPException(
        status_code=403, detail=f"this credential lacks the scope {' or '.join(scopes)}"
    )
