"""The line converter labels statements for the forwarding filters only when something is
forwarded, and packs the native transformer's rows when it has one; everything else it produces
is the same either way. (The whole-chunk native path: test_convert_chunk.py.)"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import replace

import orjson
import pytest

from aspects.ingest.convert import Converted, LineConverter, event_name, event_org
from aspects.ingest.files import Chunk
from aspects.ingest.synthetic import synthetic_lines
from aspects.ingest.transformer import build_converter, converter_spec
from aspects.settings import Settings
from aspects.transform import MalformedEvent, MalformedLine, Transformer, parse_line
from tests.ingest.conftest import SECRET

FastAnswer = list[tuple[bytes, bytes, str]] | str | None


def _chunk(templates: list[str], count: int) -> Chunk:
    lines = synthetic_lines(templates, count, seed=5, per_second=20, malformed_every=50)
    data = b"".join(lines)
    return Chunk(0, data)


def test_labels_only_when_forwarding_and_nothing_else_changes(
    settings: Settings, templates: list[str]
) -> None:
    values = settings.model_dump()
    values["ingest"]["forward"] = [{"name": "remote", "url": "http://127.0.0.1:9/xAPI"}]
    forwarding = Settings.model_validate(values)
    assert forwarding.ingest.forward
    chunk = _chunk(templates, 400)
    plain = build_converter(converter_spec(settings)).convert(chunk)
    labelled = build_converter(converter_spec(forwarding)).convert(chunk)

    assert plain.labels == []
    # The same statements (the native path may add their derived columns: test_convert_chunk.py)
    assert replace(plain.statements, derived=None) == labelled.statements
    assert plain.statements.count > 300
    assert (plain.events, plain.skipped, plain.rejected) == (
        labelled.events,
        labelled.skipped,
        labelled.rejected,
    )
    assert plain.events == 400

    # With forwarding, each statement carries its event's name and organisation.
    transformer = Transformer(settings.transform, secret=SECRET)
    expected: list[tuple[str, str]] = []
    rejected = 0
    for line in chunk.data.splitlines():
        try:
            event = parse_line(line)
            produced = transformer.transform(event)
        except (MalformedLine, MalformedEvent):
            rejected += 1
            continue
        expected.extend([(event_name(event), event_org(event))] * len(produced))
    assert list(labelled.each_label()) == expected
    assert len(expected) == labelled.statements.count
    assert len(plain.rejected) == rejected >= 8  # every 50th line is cut in half


UNHANDLED = (
    b'{"event_type": "some.event.nobody.transforms", "time": "2026-01-01T00:00:00+00:00", '
    b'"event": {}, "context": {"user_id": 5, "course_id": "course-v1:A+B+C"}}\n'
)


def _mixed_chunk(templates: list[str], count: int) -> Chunk:
    """Realistic lines (every 50th cut in half) and, every 9th, an event nobody transforms."""
    lines = synthetic_lines(templates, count, seed=7, per_second=20, malformed_every=50)
    return Chunk(
        0, b"".join(UNHANDLED if index % 9 == 4 else line for index, line in enumerate(lines))
    )


def _python_rows(settings: Settings, every: int) -> Callable[[bytes], FastAnswer]:
    """A stand-in for the native transformer's ``rows`` made of the Python path (the native
    module may not be built here): it answers like ``FastTransformer.rows`` and leaves every
    ``every``-th line, and every line it cannot parse, to the caller (None)."""
    transformer = Transformer(settings.transform, secret=SECRET)
    seen = 0

    def rows(line: bytes) -> FastAnswer:
        nonlocal seen
        seen += 1
        if seen % every == 0:
            return None
        try:
            event = parse_line(line)
            produced = transformer.transform(event)
        except (MalformedLine, MalformedEvent):
            return None
        if not produced:
            return event_name(event)
        return [
            (uuid.UUID(s["id"]).bytes, orjson.dumps(s), s["actor"]["account"]["name"])
            for s in produced
        ]

    return rows


def _same(one: Converted, other: Converted) -> None:
    """Same statements (derived columns aside: test_convert_chunk.py), counts and dead letters."""
    assert replace(one.statements, derived=None) == replace(other.statements, derived=None)
    assert one.extra.count == other.extra.count == 0
    assert (one.events, one.skipped, one.rejected, one.labels) == (
        other.events,
        other.skipped,
        other.rejected,
        other.labels,
    )


def test_rows_of_a_native_transformer_are_packed_like_the_python_path(
    settings: Settings, templates: list[str]
) -> None:
    chunk = _mixed_chunk(templates, 600)
    spec = replace(converter_spec(settings), native=False)
    plain = build_converter(spec).convert(chunk)
    assert plain.statements.count > 400
    assert plain.skipped >= 60
    assert len(plain.rejected) >= 10
    transformer = Transformer(settings.transform, secret=SECRET)
    for every in (1, 2, 7, 10_000):  # 1: the Python path for every line
        converter = LineConverter(
            parse_line,
            transformer.transform,
            spec.max_line,
            labels=False,
            fast=_python_rows(settings, every),
        )
        assert converter.native
        _same(converter.convert(chunk), plain)


def test_a_failing_native_answer_falls_back_to_the_python_path(
    settings: Settings, templates: list[str]
) -> None:
    chunk = _mixed_chunk(templates, 200)
    spec = replace(converter_spec(settings), native=False)
    plain = build_converter(spec).convert(chunk)
    transformer = Transformer(settings.transform, secret=SECRET)
    good = _python_rows(settings, 10_000)
    calls = 0

    def broken(line: bytes) -> FastAnswer:
        nonlocal calls
        calls += 1
        answer = good(line)
        if calls % 5 == 0:
            raise RuntimeError("native failure")
        if calls % 7 == 0 and isinstance(answer, list) and answer:
            return [(answer[0][0][:15], answer[0][1], answer[0][2]), *answer[1:]]
        return answer

    converter = LineConverter(
        parse_line, transformer.transform, spec.max_line, labels=False, fast=broken
    )
    _same(converter.convert(chunk), plain)


def test_labelled_lines_take_the_python_path(settings: Settings) -> None:
    transformer = Transformer(settings.transform, secret=SECRET)

    def never(line: bytes) -> FastAnswer:
        raise AssertionError("not to be called when labelling")

    converter = LineConverter(parse_line, transformer.transform, 100, labels=True, fast=never)
    assert not converter.native


def test_the_native_transformer_when_built_gives_the_same_rows(
    settings: Settings, templates: list[str]
) -> None:
    """The real native module (aspects.transform.fast), when this machine has it built; with
    ASPECTS_EXPECT_COMPILED=1 (make test) its absence fails."""
    spec = converter_spec(settings)
    native = build_converter(spec)
    if not native.native:
        if os.environ.get("ASPECTS_EXPECT_COMPILED") == "1":
            pytest.fail("the native transformer is not built (make compile)")
        pytest.skip("the native transformer is not built here")
    chunk = _mixed_chunk(templates, 2000)
    python = build_converter(replace(spec, native=False)).convert(chunk)
    _same(native.convert(chunk), python)
    _same(build_converter(replace(spec, native_chunk=False)).convert(chunk), python)
