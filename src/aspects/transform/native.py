"""Which build of the transformer runs: the mypyc-compiled modules or their Python sources.

``make compile`` (``scripts/compile_transform.py``) compiles the transformer's hot modules with
mypyc into extension modules beside their sources, and records a hash of each source in
``_compiled.json``. Python imports an extension module in preference to the source of the same
name, so a build left behind after a source was edited would silently run old code. This module
prevents that: imported first by the package, it checks the record and, when any compiled
module's source has changed (or the record is missing), makes every transformer module load
from its source instead, with a warning. All or nothing: compiled modules call each other
natively, so an up-to-date module must not run beside a stale one.

``ASPECTS_PURE_PYTHON=1`` forces the sources (to compare the two builds, or to debug).
:func:`build_info` says which build is in use (``aspects transform --build-info``, the
throughput benchmark).
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
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PURE_ENV = "ASPECTS_PURE_PYTHON"
_PACKAGE_DIR = Path(__file__).resolve().parent
_SRC = _PACKAGE_DIR.parents[1]
_MANIFEST = _PACKAGE_DIR / "_compiled.json"
_SHARED = "_native__mypyc"  # mypyc's runtime library of the group, not a module of ours


@dataclass(frozen=True)
class BuildState:
    """What is on disk: compiled modules, which of them are out of date, and the switch."""

    modules: tuple[str, ...]
    stale: tuple[str, ...]
    forced_pure: bool

    @property
    def use_compiled(self) -> bool:
        return bool(self.modules) and not self.stale and not self.forced_pure


def _source(module: str) -> Path:
    return _SRC.joinpath(*module.split(".")).with_suffix(".py")


def _libraries() -> list[str]:
    """Module names of the extension modules found in the package (built for this Python)."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    names = []
    for library in _PACKAGE_DIR.rglob(f"*{suffix}"):
        if library.name.startswith(_SHARED):
            continue
        relative = library.relative_to(_SRC)
        names.append(".".join(relative.parts)[: -len(suffix)])
    return sorted(names)


def build_state() -> BuildState:
    forced = os.environ.get(PURE_ENV, "").strip().lower() not in ("", "0", "false", "no")
    libraries = _libraries()
    if not libraries:
        return BuildState((), (), forced)
    try:
        manifest = json.loads(_MANIFEST.read_text())
        recorded: dict[str, str] = dict(manifest["modules"])
    except (OSError, ValueError, KeyError, TypeError):
        # extension modules without our record: nothing says they match the sources
        return BuildState(tuple(libraries), tuple(libraries), forced)
    stale = [name for name in libraries if name not in recorded]
    for name, expected in recorded.items():
        source = _source(name)
        try:
            current = hashlib.sha256(source.read_bytes()).hexdigest()
        except OSError:
            current = ""
        if current != expected or name not in libraries:
            stale.append(name)
    return BuildState(tuple(libraries), tuple(sorted(set(stale))), forced)


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads the listed modules from their ``.py`` sources, never their extension modules."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


def select_build() -> BuildState:
    """Called once by the package before any of its modules is imported."""
    state = build_state()
    if state.modules and not state.use_compiled:
        if any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
            return state
        if state.stale and not state.forced_pure:
            warnings.warn(
                "aspects.transform: the compiled modules are older than their sources "
                f"({', '.join(state.stale[:3])}...); using the sources. Run `make compile`.",
                RuntimeWarning,
                stacklevel=2,
            )
        sys.meta_path.insert(0, _SourceFinder(frozenset(state.modules)))
    return state


def build_info() -> dict[str, object]:
    """Which build runs in this process: ``{"build": "compiled"|"python", ...}``."""
    state = build_state()
    compiled = []
    for name in state.modules:
        module = sys.modules.get(name)
        if module is None:
            continue
        if not (getattr(module, "__file__", None) or "").endswith(".py"):
            compiled.append(name)
    if compiled:
        build = "compiled"
    elif state.forced_pure:
        build = f"python ({PURE_ENV} set)"
    elif state.stale:
        build = "python (compiled build out of date: run `make compile`)"
    else:
        build = "python (not compiled: run `make compile`)"
    return {
        "build": build,
        "compiled_modules": len(compiled),
        "compilable_modules": len(state.modules),
    }
