"""What scripts/compile_transform.py and scripts/compile_xapi.py share: build a group of modules
with mypyc in a temporary directory and install each library beside its source under src/.

Each finished library is copied next to its target and renamed over it, so processes that
already loaded an older build keep a valid mapping.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))


def install(built: Path, target: Path) -> None:
    """Copy beside the target, then rename over it (never rewrite a loaded library in place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copy2(built, staging)
    os.replace(staging, target)


def build_group(paths: list[Path], group: str, dist_name: str) -> list[Path]:
    """Compile ``paths`` as one mypyc group; returns the libraries installed under src/."""
    from mypyc.build import mypycify  # the mypy in the dev extras
    from setuptools import setup

    with tempfile.TemporaryDirectory(prefix="aspects-mypyc-") as temp:
        work = Path(temp)
        extensions = mypycify(
            [str(path) for path in paths], group_name=group, target_dir=str(work / "c")
        )
        # setuptools would read (and reject) the project's pyproject.toml: build elsewhere
        os.chdir(work)
        try:
            setup(
                name=dist_name,
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
        finally:
            os.chdir(ROOT)
        installed = []
        for library in sorted((work / "lib").rglob(f"*{SUFFIX}")):
            target = SRC / library.relative_to(work / "lib")
            install(library, target)
            installed.append(target)
    return installed


def main(doc: str, build: Callable[[], None], clean: Callable[[], None]) -> None:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled build")
    args = parser.parse_args()
    os.chdir(ROOT)  # mypy reads its configuration (pyproject.toml) from here
    if args.clean:
        clean()
    else:
        build()
