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

import logging
import os
import subprocess
import sys
import time

log = logging.getLogger("aspects_superset")

ADMIN_PASSWORD_ENV = "ASPECTS_SUPERSET_ADMIN_PASSWORD"  # noqa: S105 - a variable's name


def superset_cli(*args: str) -> None:
    """Run Superset's own CLI in a child process (it builds its app per invocation)."""
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "aspects_superset", "superset", *args], check=True
    )
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


def init() -> None:
    superset_cli("db", "upgrade")
    superset_cli("init")
    setup()
