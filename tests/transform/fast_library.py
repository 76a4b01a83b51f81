"""Test a given build of the native crate: ``ASPECTS_FAST_LIBRARY=<path to lib_fast.so>``.

Development only (native/README.md, "A private copy"). The production loader
(:mod:`aspects.transform.fast`) uses the installed build alone, and only while it is as new as
the crate's sources; comparing builds (a private one, an older one) needs another one loaded
without that check. :func:`use_library` does it for one test process: tests/transform/conftest.py
calls it when the variable is set, before the test modules ask ``native_state()``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import aspects.transform.fast as fast
from aspects.compiled import PURE_ENV, forced_pure

LIBRARY_ENV = "ASPECTS_FAST_LIBRARY"
MODULE = "aspects.transform._fast"


def requested_library() -> Path | None:
    """The build named by ``ASPECTS_FAST_LIBRARY``, if any."""
    value = os.environ.get(LIBRARY_ENV)
    return Path(value) if value else None


def use_library(path: Path) -> None:
    """Load ``path`` as ``aspects.transform._fast`` and have ``open_fast`` use it (no staleness
    check; ``ASPECTS_PURE_PYTHON=1`` still disables it). Raises FileNotFoundError/ImportError."""
    if not path.is_file():
        raise FileNotFoundError(f"{LIBRARY_ENV}: no library at {path}")
    spec = importlib.util.spec_from_file_location(MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{LIBRARY_ENV}: {path} cannot be loaded as {MODULE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[MODULE] = module  # open_fast imports it by name: this module, not the installed

    def native_state() -> str:
        return f"disabled ({PURE_ENV} set)" if forced_pure() else "loaded"

    fast.native_state = native_state  # fast.py is not compiled: open_fast looks it up by name
