"""Compile the transformer's hot modules with mypyc, in place under src/ (``make compile``).

The compiled extension modules sit beside their sources and are imported instead of them; the
sources stay the reference: the package imports and passes every test without this step, and
``aspects.transform.native`` falls back to the sources when they changed after the build (or
with ``ASPECTS_PURE_PYTHON=1``). See docs/transform.md, "Compiled build".

Usage: ``python scripts/compile_transform.py [--clean]``

The build runs in a temporary directory; each finished library is copied next to its target
and renamed over it, so processes that already loaded an older build keep a valid mapping.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "aspects" / "transform"
MANIFEST = PACKAGE / "_compiled.json"
GROUP = "aspects.transform._native"
# Not compiled: package __init__ files (import-time wiring), the pydantic settings model
# (mypyc cannot compile its metaclass), the store-backed course names (I/O bound), the
# compiled-build switch itself, and the worker-pool wiring.
EXCLUDED = {"settings.py", "course_store.py", "native.py"}


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
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return sorted(PACKAGE.rglob(f"*{suffix}"))


def clean() -> None:
    for library in built_libraries():
        library.unlink()
    MANIFEST.unlink(missing_ok=True)


def install(built: Path, target: Path) -> None:
    """Copy beside the target, then rename over it (never rewrite a loaded library in place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copy2(built, staging)
    os.replace(staging, target)


def build() -> None:
    from mypyc.build import mypycify  # the mypy in the dev extras
    from setuptools import setup

    paths = sources()
    started = time.perf_counter()
    # hashed before the build: a source edited meanwhile makes the build stale, not "fresh"
    modules = {module_name(path): digest(path) for path in paths}
    with tempfile.TemporaryDirectory(prefix="aspects-mypyc-") as temp:
        work = Path(temp)
        extensions = mypycify(
            [str(path) for path in paths], group_name=GROUP, target_dir=str(work / "c")
        )
        # setuptools would read (and reject) the project's pyproject.toml: build elsewhere
        os.chdir(work)
        setup(
            name="aspects-transform-native",
            ext_modules=extensions,
            script_args=[
                "--quiet",
                "build_ext",
                "--build-lib",
                str(work / "lib"),
                "--build-temp",
                str(work / "temp"),
            ],
        )
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        produced = sorted((work / "lib").rglob(f"*{suffix}"))
        expected = {module_name(path) for path in paths}
        names = {".".join(p.relative_to(work / "lib").parts)[: -len(suffix)] for p in produced}
        missing = expected - names
        if missing:
            raise SystemExit(f"mypyc produced no library for {sorted(missing)}")
        wanted = {SRC / library.relative_to(work / "lib") for library in produced}
        for library in built_libraries():  # leftovers of modules no longer compiled
            if library not in wanted:
                library.unlink()
        for library in produced:
            install(library, SRC / library.relative_to(work / "lib"))
        os.chdir(ROOT)
    manifest = {
        "python": sys.implementation.cache_tag,
        "modules": modules,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(
        f"compiled {len(paths)} modules of aspects.transform with mypyc "
        f"in {time.perf_counter() - started:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled build")
    args = parser.parse_args()
    os.chdir(ROOT)  # mypy reads its configuration (pyproject.toml) from here
    if args.clean:
        clean()
    else:
        build()


if __name__ == "__main__":
    main()
