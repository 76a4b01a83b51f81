"""The runtime file Superset's side reads (contract: superset/aspects_superset/runtime.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from aspects.errors import ConfigError
from aspects.settings import Settings

RUNTIME_ENV = "ASPECTS_SUPERSET_RUNTIME"
ADMIN_PASSWORD_ENV = "ASPECTS_SUPERSET_ADMIN_PASSWORD"  # noqa: S105 - a variable's name


def superset_dir(settings: Settings) -> Path:
    return (settings.data_dir / "superset").resolve()


def clickhouse_url(settings: Settings) -> str:
    """How Superset reaches ClickHouse: always as a read-only user."""
    configured = settings.dashboards.clickhouse_url
    if configured is not None:
        return configured.get_secret_value()
    store = settings.store
    if store.url is not None:
        raise ConfigError(
            "dashboards.clickhouse_url is required with store.url: give Superset a read-only "
            "ClickHouse user's URL (clickhousedb+connect://user:pw@host:port/database)"
        )
    password = settings.secret("store_readonly", store.readonly_password)
    return (
        f"clickhousedb+connect://{quote(store.readonly_user, safe='')}:"
        f"{quote(password, safe='')}@{store.endpoint_host}:{store.endpoint_port}/{store.database}"
    )


def metadata_url(settings: Settings) -> str:
    """Superset's metadata database URL, for SQLAlchemy 1.4 (Superset's).

    SQLAlchemy 1.4 has no psycopg 3 dialect: a ``postgresql+psycopg://`` URL (the form the LRS
    database setting takes under SQLAlchemy 2) is read with psycopg2, which Superset's
    virtualenv always has.
    """
    configured = settings.dashboards.metadata_url
    if configured is not None:
        url = configured.get_secret_value()
        for prefix in ("postgresql+psycopg://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg2://" + url.removeprefix(prefix)
        return url
    return f"sqlite:///{superset_dir(settings) / 'superset.db'}"


def admin_password(settings: Settings) -> str:
    return settings.secret("superset_admin", settings.dashboards.admin_password)


def runtime_document(settings: Settings) -> dict[str, Any]:
    dashboards = settings.dashboards
    lms: dict[str, Any] | None = None
    if dashboards.lms_url:
        if dashboards.lms_client_secret is None:
            raise ConfigError("dashboards.lms_client_secret is required with dashboards.lms_url")
        root = dashboards.lms_url.rstrip("/")
        lms = {
            "url": root,
            "browser_url": (dashboards.lms_browser_url or root).rstrip("/"),
            "client_id": dashboards.lms_client_id,
            "client_secret": dashboards.lms_client_secret.get_secret_value(),
            "jwks_url": dashboards.lms_jwks_url,
            "issuer": dashboards.lms_issuer or f"{root}/oauth2",
            "scope": dashboards.lms_scope,
            "course_roles_ttl": dashboards.course_roles_ttl,
        }
    return {
        "secret_key": settings.secret("superset_secret_key", dashboards.secret_key),
        "metadata_db_uri": metadata_url(settings),
        "cache_dir": str(superset_dir(settings) / "cache"),
        "clickhouse_uri": clickhouse_url(settings),
        "clickhouse_database": settings.store.database,
        "database_name": "Aspects ClickHouse",
        "lms": lms,
        "admin_username": dashboards.admin_username,
        "admin_email": dashboards.admin_email,
        "proxy_fix": dashboards.proxy_fix,
        "login_max_failures": dashboards.login_max_failures,
        "login_lockout": dashboards.login_lockout,
    }


def write_runtime(settings: Settings) -> Path:
    """Write the runtime file, mode 0600 (it holds secrets); return its path."""
    directory = superset_dir(settings)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "runtime.json"
    data = orjson.dumps(runtime_document(settings), option=orjson.OPT_INDENT_2)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    temporary.replace(path)
    return path


def superset_env(settings: Settings, runtime: Path) -> dict[str, str]:
    """Environment of every Superset process we start."""
    env = dict(os.environ)
    env[RUNTIME_ENV] = str(runtime)
    env.pop("SUPERSET_CONFIG_PATH", None)  # ours, set by aspects_superset itself
    env["SUPERSET_HOME"] = str(superset_dir(settings) / "home")
    return env
