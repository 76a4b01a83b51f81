"""Running Superset's side: the bootstrap and the gunicorn server, as child processes."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aspects.dashboards.runtime import (
    ADMIN_PASSWORD_ENV,
    admin_password,
    superset_env,
    write_runtime,
)
from aspects.dashboards.venv import VenvResult, ensure_venv, venv_python
from aspects.settings import Settings


@dataclass(frozen=True)
class InitResult:
    venv: VenvResult
    runtime: Path
    seconds: float


def prepare(settings: Settings) -> tuple[VenvResult, Path]:
    """The virtualenv up to date and the runtime file written: what every Superset run needs."""
    venv = ensure_venv(settings.dashboards.venv)
    return venv, write_runtime(settings)


def _run_superset_side(settings: Settings, runtime: Path, command: str) -> None:
    env = superset_env(settings, runtime)
    env[ADMIN_PASSWORD_ENV] = admin_password(settings)
    subprocess.run(  # noqa: S603 - our virtualenv's interpreter, fixed arguments
        [str(venv_python(settings.dashboards.venv)), "-m", "aspects_superset", command],
        env=env,
        check=True,
    )


def init(settings: Settings) -> InitResult:
    """Idempotent bootstrap: virtualenv, metadata schema, roles, admin, database, assets."""
    started = time.monotonic()
    venv, runtime = prepare(settings)
    _run_superset_side(settings, runtime, "init")
    return InitResult(venv, runtime, time.monotonic() - started)


def import_assets(settings: Settings) -> None:
    """Re-import the dashboard files (after editing them); the schema must exist (init)."""
    _, runtime = prepare(settings)
    _run_superset_side(settings, runtime, "import-assets")


def gunicorn_command(settings: Settings) -> list[str]:
    dashboards = settings.dashboards
    gunicorn = venv_python(dashboards.venv).parent / "gunicorn"
    return [
        str(gunicorn),
        "--workers",
        str(dashboards.workers),
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--bind",
        f"{dashboards.host}:{dashboards.port}",
        "--timeout",
        "120",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "aspects_superset.wsgi:application",
    ]


def start(settings: Settings, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start Superset under gunicorn (the caller waits on or terminates the process).

    ``log``: a file for its output (default: inherited stdout/stderr).
    """
    _, runtime = prepare(settings)
    output = log.open("ab") if log is not None else None
    return subprocess.Popen(  # noqa: S603 - our virtualenv's gunicorn, arguments we build
        gunicorn_command(settings),
        env=superset_env(settings, runtime),
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
