"""The whole-chunk native path of the line converter (``FastTransformer.chunk``) gives the same
rows, counts, skips and dead letters as the line-by-line paths.

Row order differs (the Python path's statements come after the native ones), which the tables
do not see: rows are compared as sorted lists of (id, JSON, actor). Tests of the converter's own
logic (splicing, derived columns, failures) use a Python stand-in of ``chunk`` so that they run
without the native build; the others use the real module and are skipped when it is not built
(failed under ``ASPECTS_EXPECT_COMPILED=1``, as ``make test`` sets).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import orjson
import pytest

from aspects.ingest.convert import (
    ChunkAnswer,
    Converted,
    DeriveColumns,
    LineConverter,
    join,
)
from aspects.ingest.files import Chunk, split_lines
from aspects.ingest.synthetic import synthetic_lines
from aspects.ingest.transformer import ConverterSpec, build_converter, converter_spec
from aspects.settings import Settings
from aspects.store.statements import DERIVED_STREAMS, PackedStatements, StatementPacker
from aspects.transform import MalformedEvent, MalformedLine, Transformer, parse_line
from tests.ingest.conftest import SECRET

Row = tuple[bytes, bytes, str]

# An event nobody transforms (skipped by name on both paths).
UNKNOWN = (
    b'{"event_type": "some.event.nobody.transforms", "time": "2026-01-01T00:00:00+00:00", '
    b'"event": {}, "context": {"user_id": 5, "course_id": "course-v1:A+B+C"}}'
)
GARBAGE = b'{"name": "problem_check", "time": '  # cut: a dead letter


def rows_of(converted: Converted) -> list[Row]:
    """Every statement of every part as (id in Native layout, JSON, actor), sorted."""
    rows: list[Row] = []
    for part in converted.parts:
        ids = [part.ids[at : at + 16] for at in range(0, len(part.ids), 16)]
        rows += zip(ids, part.texts_each(), part.actors, strict=True)
    return sorted(rows)


def assert_same(chunked: Converted, other: Converted) -> None:
    assert rows_of(chunked) == rows_of(other)
    assert (chunked.start, chunked.end, chunked.events, chunked.skipped) == (
        other.start,
        other.end,
        other.events,
        other.skipped,
    )
    assert chunked.rejected == other.rejected  # offsets, reasons, cut lines, lengths
    assert chunked.labels == other.labels == []


def unhandled_but_valid(line: bytes) -> bytes:
    """``line`` with a member the native parser refuses (a float underflowing to 0.0) and
    orjson reads: the native transformer leaves it, the Python path transforms it."""
    return b'{"x": 1e-400, ' + line.lstrip()[1:]


def long_line(line: bytes, size: int) -> bytes:
    """``line`` with a session id of ``size`` characters (its statements carry it)."""
    return re.sub(rb'"session": ?"[^"]*"', b'"session":"' + b"q" * size + b'"', line)


def lines_of(templates: list[str], count: int, seed: int = 11) -> list[bytes]:
    lines = synthetic_lines(templates, count, seed=seed, per_second=20, malformed_every=40)
    return [line.rstrip(b"\n") for line in lines]


def session_line(templates: list[str]) -> bytes:
    for line in lines_of(templates, 400, seed=3):
        if re.search(rb'"session": ?"[0-9a-f]+"', line) and b"grades.problem" in line:
            return line
    raise AssertionError("no line with a session among the samples")


def chunks(templates: list[str]) -> dict[str, Chunk]:
    """The cases of the brief: separators, blank lines, long statements, lines the native
    transformer leaves first, in the middle and last, malformed lines."""
    lines = lines_of(templates, 300)
    odd = [unhandled_but_valid(line) for line in lines[:3]]
    with_session = session_line(templates)
    long_lines = [long_line(with_session, size) for size in (100, 200, 16_500, 40_000)]
    mixed = [odd[0], *lines[:100], odd[1], UNKNOWN, GARBAGE, *long_lines, *lines[100:200]]
    mixed.append(odd[2])
    return {
        "newlines": Chunk(0, b"\n".join(mixed) + b"\n"),
        "crlf": Chunk(1234, b"\r\n".join(mixed) + b"\r\n"),
        "blank lines": Chunk(
            7, b"\n\n  \t\n".join(mixed[:40]) + b"\n \x0b\x0c\r\n\n" + b"\n".join(mixed[40:])
        ),
        "no final newline": Chunk(99, b"\n".join(mixed)),
        "only blank": Chunk(5, b"\n \n\t\r\n\x0c\n"),
        "empty": Chunk(0, b""),
        "one unhandled line": Chunk(0, odd[0]),
        "native only": Chunk(0, b"\n".join(lines[200:]) + b"\n"),
    }


def native_spec(settings: Settings) -> ConverterSpec:
    spec = converter_spec(settings)
    if not build_converter(spec).native:
        if os.environ.get("ASPECTS_EXPECT_COMPILED") == "1":
            pytest.fail("the native transformer is not built (make compile)")
        pytest.skip("the native transformer is not built here")
    return spec


def test_the_native_chunk_gives_what_the_other_paths_give(
    settings: Settings, templates: list[str]
) -> None:
    spec = native_spec(settings)
    chunked = build_converter(spec)
    by_rows = build_converter(replace(spec, native_chunk=False))
    python = build_converter(replace(spec, native=False))
    derive = chunked._derive
    cases = chunks(templates)
    for name, chunk in cases.items():
        result = chunked.convert(chunk)
        assert_same(result, python.convert(chunk))
        assert_same(result, by_rows.convert(chunk))
        for part in result.parts:  # derived columns, when given, are those of the texts
            if part.derived is not None:
                assert derive is not None
                assert part.derived == tuple(derive(part.texts) or ()), name
    whole = chunked.convert(cases["newlines"])
    texts = [text for _, text, _ in rows_of(whole)]
    assert min(len(text) for text in texts) > 127
    assert sum(len(text) > 16_383 for text in texts) >= 2
    assert len(whole.rejected) >= 5
    # The native and the Python path's statements, sure of all: one part with its columns.
    assert [part.derived is not None for part in whole.parts] == [True]
    assert whole.skipped >= 1
    assert chunked.convert(cases["only blank"]).events == 0


def test_without_derived_columns(settings: Settings, templates: list[str]) -> None:
    """``native_derive=False``: the same rows, none with derived columns (ClickHouse then
    computes them), for the benchmark's comparison of both ways."""
    spec = native_spec(settings)
    plain = build_converter(replace(spec, native_derive=False))
    with_columns = build_converter(spec)
    for name, chunk in chunks(templates).items():
        result = plain.convert(chunk)
        assert_same(result, with_columns.convert(chunk))
        assert [part.derived for part in result.parts] == [None] * len(result.parts), name


def test_the_native_chunk_answers_as_rows_line_by_line(
    settings: Settings, templates: list[str]
) -> None:
    """The answer of ``FastTransformer.chunk`` itself: the rows of each handled line packed in
    line order, the lines it leaves where ``rows`` says None, the counts."""
    spec = native_spec(settings)
    from aspects.transform.fast import open_fast

    fast: Any = open_fast(settings.transform, secret=SECRET)
    assert fast is not None
    for name, chunk in chunks(templates).items():
        ids, texts, actors, events, skipped, unhandled, _, rejected = fast.chunk(chunk.data)
        packer = StatementPacker()
        left: list[tuple[int, int]] = []
        lines = skips = 0
        refused = {(begin, end) for begin, end, _ in rejected}
        for offset, line in split_lines(chunk):
            lines += 1
            answer = fast.rows(line)
            begin = offset - chunk.start
            if (begin, begin + len(line)) in refused:
                assert answer is None  # rows leaves it to the Python path
            elif answer is None:
                left.append((begin, begin + len(line)))
            elif isinstance(answer, str) or not answer:
                skips += 1
            else:
                packer.add_rows(answer)
        expected = packer.build()
        assert (ids, texts, actors) == (expected.ids, expected.texts, expected.actors), name
        assert (events, skipped, unhandled) == (lines, skips, left), name
    mixed = chunks(templates)["newlines"].data
    left = fast.chunk(mixed)[5]
    assert len(left) >= 5  # the unhandled-but-valid lines, first, middle and last; garbage
    assert left[0][0] == 0
    assert left[-1][1] == len(mixed) - 1
    # browser problem_checks that do not identify their problem: rejected natively, with the
    # Python reason (the converter's dead letters are those of the Python path: tested above)
    assert len(fast.chunk(mixed)[7]) >= 2
    assert build_converter(spec).convert(Chunk(0, mixed)).count > 150


# --- the converter's own logic, with a Python stand-in of the native chunk --------------------


def fake_derive(texts: bytes) -> list[bytes] | None:
    """A stand-in for ``derive_columns``: streams made per statement (so that a stream of two
    parts is their streams one after the other), not sure of statements with "q" * 100."""
    items = list(PackedStatements(b"", texts, []).texts_each())
    if any(b"q" * 100 in text for text in items):
        return None
    first = b"".join(len(text).to_bytes(8, "little") for text in items)  # 8 bytes a row
    rest = [b"".join(text[:index] for text in items) for index in range(1, DERIVED_STREAMS)]
    return [first, *rest]


def python_chunk(
    settings: Settings,
    leave: Callable[[bytes], bool],
    derive: DeriveColumns | None,
    reject: bool = False,
) -> Callable[[bytes], ChunkAnswer]:
    """``FastTransformer.chunk`` made of the Python path: it leaves the lines ``leave`` says and
    those that do not parse or transform (``reject``: it rejects those that do not transform,
    with their reasons), and derives with ``derive``."""
    transformer = Transformer(settings.transform, secret=SECRET)

    def chunk(data: bytes) -> ChunkAnswer:
        packer = StatementPacker()
        events = skipped = 0
        unhandled: list[tuple[int, int]] = []
        rejected: list[tuple[int, int, str]] = []
        for offset, line in split_lines(Chunk(0, data)):
            events += 1
            if leave(line):
                unhandled.append((offset, offset + len(line)))
                continue
            try:
                event = parse_line(line)
                produced = transformer.transform(event)
            except MalformedEvent as error:
                if reject:
                    rejected.append((offset, offset + len(line), error.reason))
                else:
                    unhandled.append((offset, offset + len(line)))
                continue
            except MalformedLine:
                unhandled.append((offset, offset + len(line)))
                continue
            if not produced:
                skipped += 1
            packer.add_rows(
                [
                    (uuid.UUID(s["id"]).bytes, orjson.dumps(s), s["actor"]["account"]["name"])
                    for s in produced
                ]
            )
        packed = packer.build()
        derived = derive(packed.texts) if derive is not None else None
        return (
            packed.ids,
            packed.texts,
            packed.actors,
            events,
            skipped,
            unhandled,
            derived,
            rejected,
        )

    return chunk


def converter(
    settings: Settings,
    native: Callable[[bytes], ChunkAnswer] | None,
    derive: DeriveColumns | None = fake_derive,
) -> LineConverter:
    transformer = Transformer(settings.transform, secret=SECRET)
    return LineConverter(
        parse_line, transformer.transform, 1000, labels=False, chunk=native, derive=derive
    )


def test_lines_left_to_the_python_path_are_appended(
    settings: Settings, templates: list[str]
) -> None:
    python = converter(settings, None)
    assert not python.native
    for leave in (
        lambda line: False,
        lambda line: b"video" in line,
        lambda line: b"problem" in line,
        lambda line: True,
    ):
        for reject in (False, True):
            chunked = converter(settings, python_chunk(settings, leave, fake_derive, reject))
            assert chunked.native
            for name, chunk in chunks(templates).items():
                result = chunked.convert(chunk)
                assert_same(result, python.convert(chunk))
                for part in result.parts:
                    if part.derived is not None:
                        assert part.derived == tuple(fake_derive(part.texts) or ()), name


def test_derived_columns_of_the_two_parts(settings: Settings, templates: list[str]) -> None:
    lines = lines_of(templates, 200)
    unsure = long_line(session_line(templates), 100)  # fake_derive is not sure of it
    video = [line for line in lines if b"video" in line]
    assert len(video) >= 5
    python = converter(settings, None)

    def left(line: bytes) -> bool:  # what the stand-in leaves to the Python path
        return b"video" in line or line.startswith(b'{"x"')

    def convert(lines: list[bytes], derive: DeriveColumns | None = fake_derive) -> Converted:
        chunked = converter(settings, python_chunk(settings, left, fake_derive), derive)
        result = chunked.convert(Chunk(0, b"\n".join(lines)))
        assert_same(result, python.convert(Chunk(0, b"\n".join(lines))))
        return result

    def columns(part: PackedStatements) -> tuple[bytes, ...]:
        return tuple(fake_derive(part.texts) or ())

    # Both parts sure: one part, each column the streams of both one after the other.
    both = convert(lines)
    assert both.extra.count == 0 < both.statements.count
    assert both.statements.derived == columns(both.statements)
    # The Python part not sure: two parts, the native one keeps its columns.
    python_unsure = convert([*lines, b'{"x": 1, ' + unsure[1:]])
    assert python_unsure.statements.derived == columns(python_unsure.statements)
    assert python_unsure.extra.count
    assert python_unsure.extra.derived is None
    # The native part not sure: one part without columns.
    native_unsure = convert([unsure, *lines])
    assert native_unsure.extra.count == 0
    assert native_unsure.statements.derived is None
    # Only lines left to the Python path: their part, with its columns.
    only_python = convert(video)
    assert only_python.statements.derived == columns(only_python.statements)

    # No derive function, or one that fails: no columns for the Python part.
    def broken(texts: bytes) -> Sequence[bytes] | None:
        raise RuntimeError("derive failure")

    for derive in (None, broken):
        result = convert(lines, derive)
        assert result.extra.count
        assert result.extra.derived is None
        assert result.statements.derived is not None


def test_a_failing_native_chunk_goes_line_by_line(settings: Settings, templates: list[str]) -> None:
    python = converter(settings, None)
    good = python_chunk(settings, lambda line: b"video" in line, fake_derive)

    def raising(data: bytes) -> ChunkAnswer:
        raise RuntimeError("native failure")

    def misaligned(data: bytes) -> ChunkAnswer:
        ids, *rest = good(data)
        return (ids[:-1], *rest)  # type: ignore[return-value]

    def wrong_shape(data: bytes) -> ChunkAnswer:
        return good(data)[:5]  # type: ignore[return-value]

    for native in (raising, misaligned, wrong_shape):
        for chunk in chunks(templates).values():
            assert_same(converter(settings, native).convert(chunk), python.convert(chunk))

    def short_derived(data: bytes) -> ChunkAnswer:  # columns that do not fit: left out
        *rest, derived, rejected = good(data)
        assert derived is not None
        return (*rest, [derived[0][:-8], *derived[1:]], rejected)  # type: ignore[return-value]

    chunk = chunks(templates)["native only"]
    result = converter(settings, short_derived).convert(chunk)
    assert_same(result, python.convert(chunk))
    assert result.statements.count
    assert result.statements.derived is None
    assert converter(settings, good).convert(chunk).statements.derived is not None


def test_join() -> None:
    one = PackedStatements(b"a" * 16, b"\x01x", ["u"], (b"1", b"AB"))
    two = PackedStatements(b"b" * 32, b"\x01y\x01z", ["v", "w"], (b"23", b"CDEF"))
    assert join(one, two) == PackedStatements(
        b"a" * 16 + b"b" * 32, b"\x01x\x01y\x01z", ["u", "v", "w"], (b"123", b"ABCDEF")
    )
    assert join(one, replace(two, derived=None)).derived is None
    assert join(replace(one, derived=None), two).derived is None
