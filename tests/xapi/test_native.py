"""The compiled statement validation (``make compile``, scripts/compile_xapi.py) gives the same
verdict as its sources: every third ERB fixture statement and thousands of mutations of them
(each property removed, each value replaced by values of other types), in both xAPI versions.
Without a compiled build this compares nothing and is skipped, unless
``ASPECTS_EXPECT_COMPILED=1`` (make test) says the build must be there."""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from aspects.lrs.statements import prepare
from aspects.xapi import native, validation

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "erb" / "xapi"
REPLACEMENTS: list[Any] = [None, 0, 1.5, -2, "", "x", "mailto:a@example.org", [], {}, True]
EXPECT = os.environ.get("ASPECTS_EXPECT_COMPILED") == "1"


def source_module(name: str = "aspects.xapi.validation") -> ModuleType:
    """A compiled module loaded from its .py under another name, beside the compiled one."""
    spec = importlib.util.spec_from_file_location(
        "_source_" + name.replace(".", "_"), native.source_of(name)
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def mutations(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield statement
    for path in paths(statement):
        if not path:
            continue
        for replacement in ["<removed>", *REPLACEMENTS]:
            changed = copy.deepcopy(statement)
            parent = changed
            for step in path[:-1]:
                parent = parent[step]
            if replacement == "<removed>":
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            yield changed


def verdict(module: ModuleType, statement: dict[str, Any], version: str) -> tuple[str, str, str]:
    try:
        module.validate_statement(statement, version)
    except Exception as error:  # StatementInvalid of either build, or anything else alike
        return type(error).__name__, str(getattr(error, "path", "")), str(error)
    return "valid", "", ""


@pytest.mark.skipif(
    not native.is_compiled(validation) and not EXPECT,
    reason="no compiled build (make compile); ASPECTS_EXPECT_COMPILED=1 makes this a failure",
)
def test_compiled_and_source_validation_agree() -> None:
    assert native.is_compiled(validation), "the compiled build is not in use: run `make compile`"
    source = source_module()
    assert not native.is_compiled(source)
    # Every third fixture keeps this to a few seconds; they share most of their shapes.
    fixtures = sorted(FIXTURES.glob("*.json"))[::3]
    statements = [orjson.loads(path.read_bytes()) for path in fixtures]
    assert len(statements) > 20
    compared = 0
    kinds: set[str] = set()
    for original in statements:
        for statement in mutations(original):
            for version in ("1.0.3", "2.0.0"):
                expected = verdict(source, statement, version)
                assert verdict(validation, statement, version) == expected, statement
                kinds.add(expected[1])
                compared += 1
    assert compared > 5_000
    assert len(kinds) > 50  # many different rules were exercised, not one verdict


@pytest.mark.skipif(
    not native.is_compiled(prepare) and not EXPECT,
    reason="no compiled build (make compile); ASPECTS_EXPECT_COMPILED=1 makes this a failure",
)
def test_compiled_and_source_preparation_agree() -> None:
    """The LRS's preparation (ids, content hash, normalisation, stored rows) is the same."""
    assert native.is_compiled(prepare), "the compiled build is not in use: run `make compile`"
    source = source_module("aspects.lrs.statements.prepare")
    authority = {"objectType": "Agent", "mbox": "mailto:authority@example.org"}
    stored = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
    fixtures = sorted(FIXTURES.glob("*.json"))
    assert len(fixtures) > 50
    for path in fixtures:
        loaded = orjson.loads(path.read_bytes())
        for sent in loaded if isinstance(loaded, list) else [loaded]:
            check_preparation(source, sent, stored, authority)


def check_preparation(
    source: ModuleType, sent: dict[str, Any], stored: datetime, authority: dict[str, Any]
) -> None:
    without_id = {k: v for k, v in sent.items() if k not in ("id", "timestamp")}
    for statement in (sent, without_id):
        ours, theirs = prepare.incoming(statement), source.incoming(statement)
        if "id" not in statement:  # a fresh uuid4 each: compare under one id
            theirs = source.with_id(theirs, ours.statement_id)
        assert (ours.statement, ours.content_hash) == (theirs.statement, theirs.content_hash)
        for version in ("1.0.3", "2.0.0"):
            mine = prepare.stored_statement(ours, stored, authority, version)
            assert mine == source.stored_statement(theirs, stored, authority, version)
            text = orjson.dumps(mine).decode()
            row = prepare.index_row(ours, mine, stored, text)
            assert row == source.index_row(theirs, mine, stored, text)
