"""Aspects inside Apache Superset.

This package runs in Superset's own virtualenv (Superset pins SQLAlchemy < 2, so it cannot share
the main one). The main package talks to it only through files and processes: it writes a runtime
JSON file (see :mod:`aspects_superset.runtime`) and runs ``python -m aspects_superset ...`` or
gunicorn on :mod:`aspects_superset.wsgi`.
"""

RUNTIME_ENV = "ASPECTS_SUPERSET_RUNTIME"


def configure_environment() -> None:
    """Point Superset at our configuration module before anything imports ``superset``."""
    import os
    from pathlib import Path

    os.environ.setdefault(
        "SUPERSET_CONFIG_PATH", str(Path(__file__).with_name("superset_config.py"))
    )
