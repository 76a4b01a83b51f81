"""Which build of a compiled set of modules runs: the mypyc extension modules or their sources.

``make compile`` compiles two sets of hot modules with mypyc into extension modules beside their
sources (scripts/compile_transform.py: the transformer; scripts/compile_xapi.py: statement
validation and the LRS's preparation), and records a hash of each source in the set's
``_compiled.json``. Python imports an extension module in preference to the source of the same
name, so a build left behind after a source was edited would silently run old code. A
:class:`CompiledSet`'s :meth:`~CompiledSet.select_build`, called by its package before any of the
set's modules is imported, prevents that: when any compiled module's source changed (or the
record is missing) every module of the set loads from its source instead, with a warning. All or
nothing: compiled modules call each other natively, so an up-to-date module must not run beside
a stale one.

``ASPECTS_PURE_PYTHON=1`` forces the sources (to compare the builds, or to debug).
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
MANIFEST_NAME = "_compiled.json"
_SRC = Path(__file__).resolve().parents[1]
_SHARED_PREFIX = "_native__mypyc"  # mypyc's runtime library of a group, not a module of ours
# Extension modules that are not mypyc builds of a source (the Rust transformer, which keeps its
# own record: aspects.transform.fast): never part of a compiled set.
FOREIGN_LIBRARIES = frozenset({"aspects.transform._fast"})


def source_of(module: str) -> Path:
    return _SRC.joinpath(*module.split(".")).with_suffix(".py")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _suffix() -> str:
    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def forced_pure() -> bool:
    return os.environ.get(PURE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def is_compiled(module: ModuleType) -> bool:
    return not (getattr(module, "__file__", None) or "").endswith(".py")


@dataclass(frozen=True)
class BuildState:
    """What is on disk: compiled modules, which of them are out of date, and the switch."""

    modules: tuple[str, ...]
    stale: tuple[str, ...]
    forced_pure: bool

    @property
    def use_compiled(self) -> bool:
        return bool(self.modules) and not self.stale and not self.forced_pure


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
        return importlib.util.spec_from_file_location(fullname, source_of(fullname))


@dataclass(frozen=True)
class CompiledSet:
    """One set of modules compiled together, its record kept in ``package_dir/_compiled.json``.

    ``modules`` names the set when it is fixed (it may span packages); when empty, the set is every
    extension module found under ``package_dir``.
    """

    package: str
    package_dir: Path
    modules: tuple[str, ...] = ()

    @property
    def manifest(self) -> Path:
        return self.package_dir / MANIFEST_NAME

    def libraries(self) -> list[str]:
        """Module names of the set's extension modules built for this Python."""
        suffix = _suffix()
        if self.modules:
            return [m for m in self.modules if source_of(m).with_suffix(suffix).exists()]
        names = []
        for library in self.package_dir.rglob(f"*{suffix}"):
            if library.name.startswith(_SHARED_PREFIX):
                continue
            name = ".".join(library.relative_to(_SRC).parts)[: -len(suffix)]
            if name not in FOREIGN_LIBRARIES:
                names.append(name)
        return sorted(names)

    def build_state(self) -> BuildState:
        forced = forced_pure()
        libraries = self.libraries()
        if not libraries:
            return BuildState((), (), forced)
        try:
            recorded: dict[str, str] = dict(json.loads(self.manifest.read_text())["modules"])
        except (OSError, ValueError, KeyError, TypeError):
            # extension modules without our record: nothing says they match the sources
            return BuildState(tuple(libraries), tuple(libraries), forced)
        stale = [name for name in libraries if name not in recorded]
        for name, expected in recorded.items():
            try:
                current = digest(source_of(name))
            except OSError:
                current = ""
            if current != expected or name not in libraries:
                stale.append(name)
        return BuildState(tuple(libraries), tuple(sorted(set(stale))), forced)

    def select_build(self) -> BuildState:
        """Called once by the package before any module of the set is imported."""
        state = self.build_state()
        if state.modules and not state.use_compiled:
            names = frozenset(state.modules)
            if any(
                isinstance(finder, _SourceFinder) and finder.names == names
                for finder in sys.meta_path
            ):
                return state
            if state.stale and not state.forced_pure:
                warnings.warn(
                    f"{self.package}: the compiled modules are older than their sources "
                    f"({', '.join(state.stale[:3])}...); using the sources. Run `make compile`.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            sys.meta_path.insert(0, _SourceFinder(names))
        return state

    def build_info(self) -> dict[str, object]:
        """Which build runs in this process: ``{"build": "compiled"|"python ...", ...}``."""
        state = self.build_state()
        compiled = [
            name for name in state.modules if name in sys.modules and is_compiled(sys.modules[name])
        ]
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
