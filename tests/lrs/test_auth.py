"""Credentials and the ``authenticate`` dependency, on SQLite and PostgreSQL databases.

The app here is a minimal FastAPI app with one protected route: it exercises the dependency
exactly as the LRS routers use it, without depending on the statements side of the LRS.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from aspects.lrs import auth as auth_module
from aspects.lrs.auth import (
    DEFAULT_SCOPES,
    CredentialCache,
    CredentialError,
    Principal,
    authenticate,
    create_credential,
    hash_secret,
    list_credentials,
    normalize_scopes,
    parse_basic,
    revoke_credential,
    verify_secret,
)
from aspects.lrs.db import CredentialRow, make_sessionmaker
from aspects.settings import Settings
from tests.lrs.postgres import postgres_cluster  # noqa: F401 (fixture)

HOME = "https://lrs.example.org"


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """The LRS database on SQLite, and on PostgreSQL when it is installed (else skipped)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_cluster").shared_database()
        factory = make_sessionmaker(Settings(data_dir=tmp_path, lrs={"database_url": url}))
        with factory() as session:
            session.execute(delete(CredentialRow))
            session.commit()
    else:
        factory = make_sessionmaker(Settings(data_dir=tmp_path))
    yield factory
    factory.kw["bind"].dispose()


def basic(key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def protected_app(sessions: sessionmaker[Session]) -> FastAPI:
    app = FastAPI()
    app.state.sessionmaker = sessions

    @app.get("/whoami")
    def whoami(principal: Annotated[Principal, Depends(authenticate)]) -> dict[str, object]:
        return {
            "key": principal.key,
            "scopes": sorted(principal.scopes),
            "authority": principal.authority,
            "can_write_state": principal.allows("state"),
        }

    return app


def test_secrets_are_hashed_and_verified() -> None:
    stored = hash_secret("correct horse battery")
    assert "correct horse" not in stored
    assert stored.startswith("scrypt$")
    assert verify_secret("correct horse battery", stored)
    assert not verify_secret("correct horse batterY", stored)
    assert not verify_secret("x", "not-a-hash")
    # same secret, new salt: different hash
    assert hash_secret("correct horse battery") != stored


def test_scopes_are_validated_and_default_to_the_spec() -> None:
    assert normalize_scopes([]) == DEFAULT_SCOPES
    assert normalize_scopes(["all", "state"]) == ("state", "all")
    with pytest.raises(CredentialError, match="unknown scope"):
        normalize_scopes(["statements/delete"])


def test_principal_scope_implications() -> None:
    everything = Principal("k", frozenset({"all"}), {})
    assert everything.allows("state")
    assert everything.allows("statements/write")
    reader = Principal("k", frozenset({"all/read"}), {})
    assert reader.allows("statements/read")
    assert reader.allows("statements/read/mine")
    assert not reader.allows("statements/write")
    assert not reader.allows("state")
    mine = Principal("k", frozenset({"statements/read/mine"}), {})
    assert mine.allows("statements/read/mine")
    assert not mine.allows("statements/read")
    assert mine.allows("statements/read", "statements/read/mine")


def test_create_list_revoke(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        credential, secret = create_credential(
            session, name="Tutor", scopes=["state", "profile"], home_page=HOME
        )
        assert len(secret) >= 32
        assert credential.authority == {
            "objectType": "Agent",
            "name": "Tutor",
            "account": {"homePage": HOME, "name": credential.key},
        }
        row = session.get(CredentialRow, credential.key)
        assert row is not None
        assert secret not in row.secret_hash
        with pytest.raises(CredentialError, match="already exists"):
            create_credential(session, name="x", scopes=[], home_page=HOME, key=credential.key)
        with pytest.raises(CredentialError, match="at least 12"):
            create_credential(session, name="x", scopes=[], home_page=HOME, secret="short")
        with pytest.raises(CredentialError, match="without ':'"):
            create_credential(session, name="x", scopes=[], home_page=HOME, key="a:b")
        other, _ = create_credential(session, name="Other", scopes=[], home_page=HOME)
        assert [c.key for c in list_credentials(session)] == [credential.key, other.key]
        revoked = revoke_credential(session, credential.key)
        assert revoked.revoked_at is not None
        assert [c.key for c in list_credentials(session, include_revoked=False)] == [other.key]
        with pytest.raises(CredentialError, match="no credential"):
            revoke_credential(session, "missing")


def test_parse_basic() -> None:
    assert parse_basic(basic("k", "s:with:colons")["Authorization"]) == ("k", "s:with:colons")
    assert parse_basic(None) is None
    assert parse_basic("Bearer abc") is None
    assert parse_basic("Basic !!!") is None
    assert parse_basic("Basic " + base64.b64encode(b"nocolon").decode()) is None
    assert parse_basic(basic("k\x00", "s")["Authorization"]) is None
    assert parse_basic(basic("k" * 65, "s")["Authorization"]) is None
    assert parse_basic(basic("", "s")["Authorization"]) is None


def test_authenticate_dependency(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    scrypt_calls: list[str] = []

    def counting_verify(secret: str, stored: str) -> bool:
        scrypt_calls.append(secret)
        return verify_secret(secret, stored)

    monkeypatch.setattr(auth_module, "verify_secret", counting_verify)
    with sessions() as session:
        credential, secret = create_credential(
            session, name="LMS", scopes=["statements/write", "state"], home_page=HOME
        )
    app = protected_app(sessions)
    with TestClient(app) as client:
        missing = client.get("/whoami")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Basic realm=")
        wrong = client.get("/whoami", headers=basic(credential.key, secret + "x"))
        assert wrong.status_code == 401
        unknown = client.get("/whoami", headers=basic("nobody", secret))
        assert unknown.status_code == 401
        nul = client.get("/whoami", headers=basic(credential.key, "a\x00b"))
        assert nul.status_code == 401

        ok = client.get("/whoami", headers=basic(credential.key, secret))
        assert ok.status_code == 200
        body = ok.json()
        assert body["key"] == credential.key
        assert body["scopes"] == ["state", "statements/write"]
        assert body["authority"]["account"] == {"homePage": HOME, "name": credential.key}
        assert body["can_write_state"] is True

        # Later requests with the same secret are served from memory, without scrypt; a wrong
        # secret is still refused after a right one was remembered (by the remembered digest).
        for _ in range(5):
            assert client.get("/whoami", headers=basic(credential.key, secret)).status_code == 200
        assert scrypt_calls == [secret + "x", secret]
        again_wrong = client.get("/whoami", headers=basic(credential.key, "y" * 40))
        assert again_wrong.status_code == 401
        assert scrypt_calls == [secret + "x", secret]

        # Revocation takes effect once the cached principal expires (lrs.credential_cache_
        # seconds; 1 s by default), even for a remembered secret.
        with sessions() as session:
            revoke_credential(session, credential.key)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            status = client.get("/whoami", headers=basic(credential.key, secret)).status_code
            if status == 401:
                break
        else:
            status = client.get("/whoami", headers=basic(credential.key, secret)).status_code
        assert status == 401
        assert scrypt_calls == [secret + "x", secret]


def test_credential_cache_bounds_revocation(sessions: sessionmaker[Session]) -> None:
    """A verified principal is trusted for the cache period and no longer; 0 reads every time."""
    with sessions() as session:
        credential, secret = create_credential(
            session, name="LMS", scopes=["state"], home_page=HOME
        )
    now = [100.0]
    app = protected_app(sessions)
    app.state.credential_cache = CredentialCache(2.0, clock=lambda: now[0])
    reads: list[str] = []
    original = auth_module.principal_for

    def counting(session: Session, key: str, secret: str, verified: object) -> Principal | None:
        reads.append(key)
        return original(session, key, secret, verified)  # type: ignore[arg-type]

    headers = basic(credential.key, secret)
    with TestClient(app) as client, pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth_module, "principal_for", counting)
        for _ in range(5):
            assert client.get("/whoami", headers=headers).status_code == 200
        assert reads == [credential.key]  # one database read for five requests
        # a wrong secret is never served from the cache
        assert client.get("/whoami", headers=basic(credential.key, "z" * 20)).status_code == 401
        with sessions() as session:
            revoke_credential(session, credential.key)
        now[0] += 1.9
        assert client.get("/whoami", headers=headers).status_code == 200  # within the bound
        now[0] += 0.1
        assert client.get("/whoami", headers=headers).status_code == 401  # the bound reached
        assert client.get("/whoami", headers=headers).status_code == 401

    with sessions() as session:
        other, other_secret = create_credential(
            session, name="LMS 2", scopes=["state"], home_page=HOME
        )
    app = protected_app(sessions)
    app.state.credential_cache = CredentialCache(0)
    with TestClient(app) as client:
        headers = basic(other.key, other_secret)
        assert client.get("/whoami", headers=headers).status_code == 200
        with sessions() as session:
            revoke_credential(session, other.key)
        assert client.get("/whoami", headers=headers).status_code == 401  # at once
