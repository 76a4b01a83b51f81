"""Superset's own virtualenv: created and kept in step with our pins.

Superset 6.1 pins SQLAlchemy < 2 (ours is 2.x), so it cannot share the main virtualenv. The
virtualenv gets apache-superset pinned by ``superset/constraints.txt`` (with the fixes measured in
the shared notes) and our ``aspects_superset`` package, editable, so that asset files edited in
the checkout are what the next import reads. A stamp with the hash of the pins skips the work
when nothing changed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aspects.errors import ConfigError

STAMP = ".aspects-installed"


def superset_source() -> Path:
    """The ``superset/`` folder of the checkout (the aspects_superset package)."""
    source = Path(__file__).resolve().parents[3] / "superset"
    if not (source / "pyproject.toml").is_file():
        raise ConfigError(f"aspects_superset sources not found at {source}")
    return source


def venv_python(venv: Path) -> Path:
    return venv.resolve() / "bin" / "python"


def _fingerprint(source: Path) -> str:
    digest = hashlib.sha256()
    for name in ("constraints.txt", "pyproject.toml"):
        digest.update((source / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class VenvResult:
    path: Path
    installed: bool  # False: it was already up to date
    seconds: float


def ensure_venv(venv: Path, *, python: str = sys.executable) -> VenvResult:
    """Create or update Superset's virtualenv; a no-op when the stamp matches.

    One set of packages whatever the settings (the PostgreSQL driver included), so that the
    CLI's `dashboards venv` and an `init` with a PostgreSQL metadata URL agree on the stamp.
    """
    started = time.monotonic()
    source = superset_source()
    fingerprint = _fingerprint(source)
    stamp = venv / STAMP
    if stamp.is_file() and stamp.read_text().strip() == fingerprint:
        return VenvResult(venv, False, time.monotonic() - started)
    if not venv_python(venv).is_file():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)  # noqa: S603
    pip = [str(venv_python(venv)), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603 - our virtualenv's pip, arguments we build
        [*pip, "-c", str(source / "constraints.txt"), "-e", str(source)], check=True
    )
    stamp.write_text(fingerprint + "\n")
    return VenvResult(venv, True, time.monotonic() - started)
