"""Opening a ClickHouse client: embedded chDB or a server, through clickhouse-connect alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from aspects.errors import ConfigError
from aspects.store.allocator import configure_chdb_allocator
from aspects.store.settings import StoreSettings


def embedded_path(settings: StoreSettings, data_dir: Path) -> Path:
    """Directory of the embedded database."""
    return (settings.path or data_dir / "clickhouse").resolve()


def open_client(settings: StoreSettings, data_dir: Path, **kwargs: Any) -> Client:
    """A clickhouse-connect client for the configured store.

    Embedded (no ``url``): chDB in this process. chDB locks its directory to one process and
    allows one path per process, so open it once and keep the client for the process's life
    (closing the last connection shuts the engine down). Other processes reach the embedded
    database through ``aspects db serve``.
    """
    if settings.url is None:
        path = embedded_path(settings, data_dir)
        path.mkdir(parents=True, exist_ok=True)
        configure_chdb_allocator()  # before chDB loads (the first embedded client)
        return clickhouse_connect.get_client(interface="chdb", path=str(path), **kwargs)
    return clickhouse_connect.get_client(
        **server_arguments(settings.url.get_secret_value()), **kwargs
    )


def server_arguments(url: str) -> dict[str, Any]:
    """clickhouse-connect arguments from ``http(s)://user:password@host:port/database``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("store.url must look like http(s)://user:password@host:port/database")
    arguments: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or (8443 if parts.scheme == "https" else 8123),
        "secure": parts.scheme == "https",
        "username": unquote(parts.username or "default"),
        "password": unquote(parts.password or ""),
    }
    database = parts.path.strip("/")
    if database:
        arguments["database"] = database
    return arguments


def open_migrated_client(settings: StoreSettings, data_dir: Path, **kwargs: Any) -> Client:
    """:func:`open_client`, with the schema migrated to the latest version (idempotent)."""
    from aspects.store.migrate import migrate

    client = open_client(settings, data_dir, **kwargs)
    migrate(client, settings)
    return client
