"""Native "sure valid" verdicts for statement bodies (``validate_statements`` of the crate).

The Rust code (native/src/xapi.rs) answers, for each statement of a JSON body, "valid for sure"
or "not sure", in a small fraction of the time :func:`aspects.xapi.validation.validate_statement`
takes; a statement not sure there (unusual shapes, Groups, SubStatements, attachments, any doubt,
and every invalid one) is validated by the Python code as before, which stays the reference and
gives every error message. It is in the native transformer's module
(``aspects.transform._fast``), so it is used only when that build is loaded and up to date
(:func:`aspects.transform.fast.native_state`); otherwise, and on any failure of the call,
:func:`sure_valid` answers None and everything is validated in Python.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["Verdicts", "native_prepare", "native_verdicts", "sure_valid"]

# (body, xAPI version) -> one bool per statement (True: valid for sure), or None (no verdict).
Verdicts = Callable[[bytes, str], list[bool] | None]


@functools.cache
def native_verdicts() -> Verdicts | None:
    """The native function, or None when the native module is not usable (not built, out of
    date, ``ASPECTS_PURE_PYTHON``). Looked up once per process: the state check hashes the
    crate's sources."""
    from aspects.transform.fast import native_state

    if native_state() != "loaded":
        return None
    module = importlib.import_module("aspects.transform._fast")
    verdicts: Verdicts | None = getattr(module, "validate_statements", None)
    return verdicts


@functools.cache
def native_prepare() -> Callable[..., Any] | None:
    """The crate's ``prepare_statements`` (native/src/prepare.rs: a receive worker's whole
    statement path for sure-valid bodies, :func:`aspects.lrs.statements.receive.prepare_share`),
    or None when the native module is not usable. Usable iff :func:`native_verdicts` is (its
    state check, which hashes the crate's sources, is not repeated)."""
    if native_verdicts() is None:
        return None
    module = importlib.import_module("aspects.transform._fast")
    function: Callable[..., Any] | None = getattr(module, "prepare_statements", None)
    return function


def sure_valid(body: bytes, version: str) -> list[bool] | None:
    """For each statement of ``body`` (a JSON array of statements, or one statement object),
    whether it is valid for sure in ``version``; None when there is no native verdict (then the
    caller validates every statement in Python)."""
    verdicts = native_verdicts()
    if verdicts is None:
        return None
    try:
        return verdicts(body, version)
    except Exception:  # the Python validator is the fallback for any failure
        return None
