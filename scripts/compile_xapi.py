"""Compile statement validation and the LRS's preparation (``aspects.xapi.native.COMPILED_MODULES``)
with mypyc, in place under src/ (``make compile``), as scripts/compile_transform.py does for the
transformer.

The extension modules sit beside their sources; ``aspects.xapi.native`` loads the sources
instead when they changed after the build (or with ``ASPECTS_PURE_PYTHON=1``). See docs/lrs.md,
"Performance".

Usage: ``python scripts/compile_xapi.py [--clean]``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mypyc_build import SRC, SUFFIX, build_group, main

sys.path.insert(0, str(SRC))

from aspects.xapi.native import COMPILED_MODULES, MANIFEST, digest, source_of

GROUP = "aspects.xapi._native"


def libraries() -> list[Path]:
    """The built libraries: one per compiled module, and the group's shared runtime."""
    modules = [source_of(name).with_suffix(SUFFIX) for name in COMPILED_MODULES]
    return sorted({*MANIFEST.parent.glob(f"_native__mypyc*{SUFFIX}"), *modules})


def clean() -> None:
    for library in libraries():
        library.unlink(missing_ok=True)
    MANIFEST.unlink(missing_ok=True)


def build() -> None:
    started = time.perf_counter()
    # hashed before the build: a source edited meanwhile makes the build stale, not "fresh"
    modules = {name: digest(source_of(name)) for name in COMPILED_MODULES}
    paths = [source_of(name) for name in COMPILED_MODULES]
    build_group(paths, GROUP, "aspects-xapi-native")
    manifest = {"python": sys.implementation.cache_tag, "modules": modules}
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    elapsed = time.perf_counter() - started
    print(f"compiled {len(paths)} modules of aspects.xapi with mypyc in {elapsed:.0f} s")


if __name__ == "__main__":
    main(__doc__ or "", build, clean)
