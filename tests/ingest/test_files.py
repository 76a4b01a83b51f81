"""Finding rotated logs in time order, identifying files, reading whole lines."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from aspects.ingest.files import (
    Chunk,
    discover,
    identify,
    open_binary,
    read_chunks,
    rotated_siblings,
    split_lines,
)


def _touch(path: Path, text: str, mtime: float) -> None:
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_discover_orders_rotated_logs_oldest_first(tmp_path: Path) -> None:
    names = [
        ("tracking.log", 900),
        ("tracking.log.1", 800),
        ("tracking.log.2.gz", 700),
        ("tracking.log.10.gz", 100),
        ("other.log-20240103.gz", 30),
        ("other.log-20240101.gz", 10),
        ("other.log-20240102", 20),
        (".hidden", 5),
    ]
    for name, mtime in names:
        _touch(tmp_path / name, f'{{"n": "{name}"}}\n', mtime)
    order = [path.name for path in discover([tmp_path])]
    assert order == [
        "other.log-20240101.gz",
        "other.log-20240102",
        "other.log-20240103.gz",
        "tracking.log.10.gz",
        "tracking.log.2.gz",
        "tracking.log.1",
        "tracking.log",
    ]
    assert [p.name for p in rotated_siblings(tmp_path / "tracking.log")] == order[3:6]


def test_discover_refuses_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        discover([tmp_path / "nope"])


def test_identity_follows_content_across_compression(tmp_path: Path) -> None:
    plain = tmp_path / "tracking.log.1"
    plain.write_bytes(b'{"a": 1}\n{"a": 2}\n')
    compressed = tmp_path / "tracking.log.1.gz"
    compressed.write_bytes(gzip.compress(plain.read_bytes()))
    first, second = identify(plain), identify(compressed)
    assert first is not None
    assert second is not None
    assert first.fingerprint == second.fingerprint
    assert first.inode != second.inode
    other = tmp_path / "tracking.log"
    other.write_bytes(b'{"a": 3}\n')
    third = identify(other)
    assert third is not None
    assert third.fingerprint != first.fingerprint


def test_identity_waits_for_a_complete_first_line(tmp_path: Path) -> None:
    path = tmp_path / "tracking.log"
    path.write_bytes(b'{"a": ')
    assert identify(path) is None
    path.write_bytes(b'{"a": 1}\n')
    assert identify(path) is not None


@pytest.mark.parametrize("name", ["tracking.log", "tracking.log.gz"])
def test_read_chunks_gives_whole_lines_with_offsets(tmp_path: Path, name: str) -> None:
    lines = [f'{{"n": {i}, "pad": "{"x" * (i % 50)}"}}'.encode() for i in range(3000)]
    data = b"\n".join(lines) + b"\n" + b'{"partial": '
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with open_binary(path) as handle:
        chunks = list(read_chunks(handle, 0, final=False, chunk_bytes=4096))
    assert all(chunk.data.endswith(b"\n") for chunk in chunks)
    seen = [(offset, line) for chunk in chunks for offset, line in split_lines(chunk)]
    assert [line for _, line in seen] == lines
    for offset, line in seen[::97]:
        assert data[offset : offset + len(line)] == line
    # From an offset, and with the unterminated last line once the file is final:
    start = seen[1000][0]
    with open_binary(path) as handle:
        rest = list(read_chunks(handle, start, final=True, chunk_bytes=4096))
    tail = [line for chunk in rest for _, line in split_lines(chunk)]
    assert tail == [*lines[1000:], b'{"partial": ']


def test_split_lines_skips_blank_lines() -> None:
    assert list(split_lines(Chunk(10, b"a\n\n  \nbc\n"))) == [(10, b"a"), (16, b"bc")]
