"""Which build of statement validation runs: the mypyc-compiled modules or their Python sources.

``make compile`` (``scripts/compile_xapi.py``) compiles :data:`COMPILED_MODULES` with mypyc into
extension modules beside their sources. Imported first by the package, this module makes all of
them load from their sources when any compiled one is out of date (see :mod:`aspects.compiled`).
The sources stay the reference: tests check that both builds give the same verdicts.
"""

from __future__ import annotations

from pathlib import Path

from aspects.compiled import BuildState, CompiledSet, digest, is_compiled, source_of

__all__ = ["COMPILED_MODULES", "MANIFEST", "digest", "is_compiled", "select_build", "source_of"]

# The LRS's preparation of statements is compiled with them (it imports aspects.xapi, and
# aspects.lrs.statements imports this package first, so the check below runs before it loads).
COMPILED_MODULES = (
    "aspects.xapi.agents",
    "aspects.xapi.validation",
    "aspects.lrs.statements.prepare",
)
VALIDATION = CompiledSet("aspects.xapi", Path(__file__).resolve().parent, COMPILED_MODULES)
MANIFEST = VALIDATION.manifest


def select_build() -> BuildState:
    return VALIDATION.select_build()
