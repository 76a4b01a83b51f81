"""Compile statement validation and the LRS's preparation (``aspects.xapi.native.COMPILED_MODULES``)
with mypyc, in place under src/ (``make compile``), as scripts/compile_transform.py does for the
transformer.

The extension modules sit beside their sources; ``aspects.xapi.native`` loads the sources
instead when they changed after the build (or with ``ASPECTS_PURE_PYTHON=1``). See docs/lrs.md,
"Performance".

Usage: ``python scripts/compile_xapi.py [--clean]``
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(SRC))

from aspects.xapi.native import COMPILED_MODULES, MANIFEST, digest, source_of  # noqa: E402

GROUP = "aspects.xapi._native"


def libraries() -> list[Path]:
    """The built libraries: one per compiled module, and the group's shared runtime."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    modules = [source_of(name).with_suffix(suffix) for name in COMPILED_MODULES]
    return sorted({*MANIFEST.parent.glob(f"_native__mypyc*{suffix}"), *modules})


def clean() -> None:
    for library in libraries():
        library.unlink(missing_ok=True)
    MANIFEST.unlink(missing_ok=True)


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    started = time.perf_counter()
    # hashed before the build: a source edited meanwhile makes the build stale, not "fresh"
    modules = {name: digest(source_of(name)) for name in COMPILED_MODULES}
    paths = [str(source_of(name)) for name in COMPILED_MODULES]
    with tempfile.TemporaryDirectory(prefix="aspects-mypyc-xapi-") as temp:
        work = Path(temp)
        extensions = mypycify(paths, group_name=GROUP, target_dir=str(work / "c"))
        os.chdir(work)  # setuptools would read (and reject) the project's pyproject.toml
        setup(
            name="aspects-xapi-native",
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
        os.chdir(ROOT)
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        for library in sorted((work / "lib").rglob(f"*{suffix}")):
            target = SRC / library.relative_to(work / "lib")
            # copy beside, then rename over: a process that loaded the old one keeps it valid
            staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.copy2(library, staging)
            os.replace(staging, target)
    manifest = {"python": sys.implementation.cache_tag, "modules": modules}
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    elapsed = time.perf_counter() - started
    print(f"compiled {len(paths)} modules of aspects.xapi with mypyc in {elapsed:.0f} s")


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
