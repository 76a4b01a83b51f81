"""Compile the transformer's hot modules with mypyc, in place under src/ (``make compile``).

The compiled extension modules sit beside their sources and are imported instead of them; the
sources stay the reference: the package imports and passes every test without this step, and
``aspects.transform.native`` falls back to the sources when they changed after the build (or
with ``ASPECTS_PURE_PYTHON=1``). See docs/transform.md, "Compiled build".

Usage: ``python scripts/compile_transform.py [--clean]``

The build itself (temporary directory, install by rename) is scripts/mypyc_build.py, shared
with scripts/compile_xapi.py.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from mypyc_build import SRC, SUFFIX, build_group, main

PACKAGE = SRC / "aspects" / "transform"
MANIFEST = PACKAGE / "_compiled.json"
GROUP = "aspects.transform._native"
# Not compiled: package __init__ files (import-time wiring), the pydantic settings model
# (mypyc cannot compile its metaclass), the store-backed course names (I/O bound), the
# compiled-build switch itself, the worker-pool wiring, and the native (Rust) module's loader.
EXCLUDED = {"settings.py", "course_store.py", "native.py", "fast.py"}


def sources() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" and path.name not in EXCLUDED
    )


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def built_libraries() -> list[Path]:
    # not the Rust transformer (scripts/compile_native.py builds and records it)
    return sorted(p for p in PACKAGE.rglob(f"*{SUFFIX}") if not p.name.startswith("_fast."))


def clean() -> None:
    for library in built_libraries():
        library.unlink()
    MANIFEST.unlink(missing_ok=True)


def build() -> None:
    paths = sources()
    started = time.perf_counter()
    # hashed before the build: a source edited meanwhile makes the build stale, not "fresh"
    modules = {module_name(path): digest(path) for path in paths}
    installed = build_group(paths, GROUP, "aspects-transform-native")
    names = {".".join(p.relative_to(SRC).parts)[: -len(SUFFIX)] for p in installed}
    missing = set(modules) - names
    if missing:
        raise SystemExit(f"mypyc produced no library for {sorted(missing)}")
    for library in built_libraries():  # leftovers of modules no longer compiled
        if library not in installed:
            library.unlink()
    manifest = {"python": sys.implementation.cache_tag, "modules": modules}
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(
        f"compiled {len(paths)} modules of aspects.transform with mypyc "
        f"in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main(__doc__ or "", build, clean)
