"""Which build of statement validation runs: the mypyc-compiled modules or their Python sources.

``make compile`` (``scripts/compile_xapi.py``) compiles :data:`COMPILED_MODULES` with mypyc into
extension modules beside their sources and records a hash of each source in ``_compiled.json``.
Python prefers an extension module to a source of the same name, so a build left behind after a
source was edited would silently run old rules. Imported first by the package, this module
checks the record; when any compiled module's source changed (or the record is missing) every
one of them loads from its source, with a warning. ``ASPECTS_PURE_PYTHON=1`` forces the sources.
The sources stay the reference: tests check that both builds give the same verdicts.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PURE_ENV = "ASPECTS_PURE_PYTHON"
# The LRS's preparation of statements is compiled with them (it imports aspects.xapi, and
# aspects.lrs.statements imports this package first, so the check below runs before it loads).
COMPILED_MODULES = (
    "aspects.xapi.agents",
    "aspects.xapi.validation",
    "aspects.lrs.statements.prepare",
)
_PACKAGE_DIR = Path(__file__).resolve().parent
_SRC = _PACKAGE_DIR.parents[1]
MANIFEST = _PACKAGE_DIR / "_compiled.json"


def source_of(module: str) -> Path:
    return _SRC.joinpath(*module.split(".")).with_suffix(".py")


def _library(module: str) -> Path:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return _SRC.joinpath(*module.split(".")).with_suffix(suffix)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stale_modules() -> list[str]:
    """Compiled modules that must not run (their source differs from what was compiled)."""
    built = [name for name in COMPILED_MODULES if _library(name).exists()]
    if not built:
        return []
    try:
        recorded = dict(json.loads(MANIFEST.read_text())["modules"])
    except (OSError, ValueError, KeyError, TypeError):
        return built
    stale = []
    for name in built:
        try:
            current = digest(source_of(name))
        except OSError:
            current = ""
        if recorded.get(name) != current:
            stale.append(name)
    return stale


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' ``.py`` sources instead of their extension modules."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_of(fullname))


def select_build() -> None:
    """Called once by the package before any compiled module is imported."""
    if any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        return
    forced = os.environ.get(PURE_ENV, "").strip().lower() not in ("", "0", "false", "no")
    stale = stale_modules()
    if stale and not forced:
        warnings.warn(
            f"aspects.xapi: the compiled modules are older than their sources ({', '.join(stale)})"
            "; using the sources. Run `make compile`.",
            RuntimeWarning,
            stacklevel=2,
        )
    if stale or forced:
        sys.meta_path.insert(0, _SourceFinder())


def is_compiled(module: ModuleType) -> bool:
    return not (getattr(module, "__file__", None) or "").endswith(".py")
