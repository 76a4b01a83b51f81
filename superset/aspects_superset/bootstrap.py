"""Idempotent set-up of Superset for Aspects, inside Superset's virtualenv.

``python -m aspects_superset init`` runs, each step safe to repeat:
1. ``superset db upgrade`` (metadata schema) and ``superset init`` (roles and permissions, ours
   included: see AspectsSecurityManager.sync_role_definitions), each in its own process as
   Superset's CLI expects;
2. the local admin (password from ASPECTS_SUPERSET_ADMIN_PASSWORD): created, or its password
   and role reset;
3. the ClickHouse database, datasets, charts and dashboards from the asset files, imported with
   overwrite (UUIDs derived from names, so the same objects every time).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("aspects_superset")

ADMIN_PASSWORD_ENV = "ASPECTS_SUPERSET_ADMIN_PASSWORD"


def superset_cli(*args: str) -> None:
    """Run Superset's own CLI in a child process (it builds its app per invocation)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "aspects_superset", "superset", *args], check=True)
    print(f"superset {' '.join(args)}: {time.monotonic() - started:.1f} s", flush=True)


def ensure_admin(app: object) -> None:
    from superset import security_manager
    from superset.extensions import db

    from aspects_superset.runtime import load

    runtime = load()
    password = os.environ.get(ADMIN_PASSWORD_ENV)
    if not password:
        raise SystemExit(f"{ADMIN_PASSWORD_ENV} is not set")
    role = security_manager.find_role("Admin")
    user = security_manager.find_user(username=runtime.admin_username)
    if user is None:
        security_manager.add_user(
            runtime.admin_username,
            "Aspects",
            "Admin",
            runtime.admin_email,
            role,
            password=password,
        )
        print(f"created admin {runtime.admin_username}", flush=True)
    else:
        security_manager.reset_password(user.id, password)
        user.roles = [role]
        db.session.commit()


def import_assets() -> list[str]:
    from flask import g
    from superset import security_manager
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.extensions import db

    from aspects_superset.assets import build_bundle
    from aspects_superset.runtime import load

    runtime = load()
    bundle = build_bundle(
        runtime.database_name, runtime.clickhouse_uri, runtime.clickhouse_database
    )
    g.user = security_manager.find_user(username=runtime.admin_username)
    ImportAssetsCommand(bundle.contents, passwords=bundle.passwords).run()
    db.session.commit()
    return bundle.dashboards


def setup() -> None:
    from superset.app import create_app

    app = create_app()
    with app.app_context(), app.test_request_context():
        started = time.monotonic()
        ensure_admin(app)
        titles = import_assets()
        print(
            f"imported {len(titles)} dashboards ({', '.join(titles)}) "
            f"in {time.monotonic() - started:.1f} s",
            flush=True,
        )


def schema_revision(metadata_uri: str) -> str | None:
    """The metadata database's alembic revision (None: no schema yet)."""
    import sqlalchemy as sa

    engine = sa.create_engine(metadata_uri)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            rows = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return ",".join(sorted(row[0] for row in rows)) or None
    finally:
        engine.dispose()


def schema_fingerprint(metadata_uri: str) -> str:
    """Superset's version and the schema revision it left: equal means nothing to upgrade.

    (Asking alembic for Superset's head revision would import Superset's models, which need a
    running app; recording the revision our last upgrade reached is as exact and instant.)
    """
    from importlib.metadata import version

    return f"{version('apache-superset')} {schema_revision(metadata_uri)}"


def metadata_identity(metadata_uri: str, stamp_dir: Path) -> str:
    """Which metadata database a stamp is about.

    A SQLite file beside the stamp is named relative to it: the two travel together (a copied
    data directory, the tests' template), so the stamp stays valid; any other URL as it is.
    """
    prefix = "sqlite:///"
    if metadata_uri.startswith(prefix):
        path = Path(metadata_uri.removeprefix(prefix))
        if path.parent == stamp_dir:
            return f"sqlite:(beside the stamp)/{path.name}"
    return metadata_uri


def roles_fingerprint(metadata_identity: str) -> str:
    """What `superset init` depends on: Superset's version, our security manager, and which
    metadata database it ran on."""
    from importlib.metadata import version

    from aspects_superset import security

    digest = hashlib.sha256()
    digest.update(version("apache-superset").encode())
    digest.update(Path(security.__file__).read_bytes())
    digest.update(metadata_identity.encode())
    return digest.hexdigest()


def init() -> None:
    from aspects_superset.runtime import load

    runtime = load()
    schema_stamp = runtime.cache_dir.parent / "schema.stamp"
    uri = runtime.metadata_db_uri
    if not schema_stamp.is_file() or schema_stamp.read_text().strip() != schema_fingerprint(uri):
        superset_cli("db", "upgrade")
        schema_stamp.parent.mkdir(parents=True, exist_ok=True)
        schema_stamp.write_text(schema_fingerprint(uri) + "\n")
    else:
        print("metadata schema is up to date", flush=True)
    stamp = runtime.cache_dir.parent / "roles.stamp"
    fingerprint = roles_fingerprint(metadata_identity(uri, stamp.parent.resolve()))
    if not stamp.is_file() or stamp.read_text().strip() != fingerprint:
        superset_cli("init")
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint + "\n")
    else:
        print("roles and permissions are up to date", flush=True)
    setup()
