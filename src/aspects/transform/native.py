"""Which build of the transformer runs: the mypyc-compiled modules or their Python sources.

``make compile`` (``scripts/compile_transform.py``) compiles the transformer's hot modules with
mypyc into extension modules beside their sources. Imported first by the package, this module
makes every transformer module load from its source when any compiled one is out of date (see
:mod:`aspects.compiled`). :func:`build_info` says which build is in use (``aspects transform
--build-info``, the throughput benchmark).
"""

from __future__ import annotations

from pathlib import Path

from aspects.compiled import PURE_ENV, BuildState, CompiledSet

__all__ = ["PURE_ENV", "BuildState", "build_info", "build_state", "select_build"]

# The set is every extension module found in the package (scripts/compile_transform.py decides).
TRANSFORMER = CompiledSet("aspects.transform", Path(__file__).resolve().parent)


def build_state() -> BuildState:
    return TRANSFORMER.build_state()


def select_build() -> BuildState:
    return TRANSFORMER.select_build()


def build_info() -> dict[str, object]:
    return TRANSFORMER.build_info()
