"""The runtime file: everything the main package tells Superset, as one JSON document.

The main package (``aspects.dashboards``) writes it from its validated settings, mode 0600 as it
holds secrets, and names it in the ``ASPECTS_SUPERSET_RUNTIME`` environment variable. Keeping the
contract a plain file means this package needs none of the main package's dependencies.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aspects_superset import RUNTIME_ENV


@dataclass(frozen=True)
class LMS:
    url: str  # what Superset's server calls (token, user info, courses)
    browser_url: str  # where browsers are sent to sign in (authorize)
    client_id: str
    client_secret: str
    jwks_url: str | None
    issuer: str | None
    scope: str
    course_roles_ttl: int

    def api(self, path: str) -> str:
        return self.url.rstrip("/") + path


@dataclass(frozen=True)
class Runtime:
    secret_key: str
    metadata_db_uri: str
    cache_dir: Path
    clickhouse_uri: str
    clickhouse_database: str
    database_name: str
    lms: LMS | None
    admin_username: str
    admin_email: str
    proxy_fix: bool
    login_max_failures: int  # failed local sign-ins from one address before the lockout
    login_lockout: int  # seconds

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Runtime:
        lms = data.get("lms")
        return cls(
            secret_key=data["secret_key"],
            metadata_db_uri=data["metadata_db_uri"],
            cache_dir=Path(data["cache_dir"]),
            clickhouse_uri=data["clickhouse_uri"],
            clickhouse_database=data["clickhouse_database"],
            database_name=data.get("database_name", "Aspects ClickHouse"),
            lms=LMS(**lms) if lms else None,
            admin_username=data.get("admin_username", "admin"),
            admin_email=data.get("admin_email", "admin@localhost"),
            proxy_fix=bool(data.get("proxy_fix", False)),
            login_max_failures=int(data.get("login_max_failures", 5)),
            login_lockout=int(data.get("login_lockout", 300)),
        )


def load(path: str | os.PathLike[str] | None = None) -> Runtime:
    """Read the runtime file named by ``path`` or by ``ASPECTS_SUPERSET_RUNTIME``."""
    name = path or os.environ.get(RUNTIME_ENV)
    if not name:
        raise RuntimeError(f"{RUNTIME_ENV} is not set: start Superset through `aspects dashboards`")
    return Runtime.from_dict(json.loads(Path(name).read_text()))
