"""The backfill's reading and worker processes: chunks, what workers import, their malloc."""

from __future__ import annotations

import gzip
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from aspects.ingest.files import Chunk, open_binary, read_chunks, split_lines
from aspects.ingest.transformer import ConverterSpec, convert_in_worker, init_worker
from aspects.settings import Settings


def test_a_worker_converts_without_importing_the_store_or_the_ingest_state() -> None:
    """A spawned worker imports the module of the function it runs: the converter's, which must
    not pull in the ingest state (sqlalchemy) or the backfill's sink (~1 s of CPU per worker)."""
    settings = Settings(transform={"secret": "test-secret"})
    spec = ConverterSpec(settings.transform, "test-secret", 1000, labels=False)
    line = b'{"name": "not an event we know", "event_type": "x", "time": "2026-01-01T00:00:00"}'
    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=init_worker, initargs=(spec,)
    ) as pool:
        converted = pool.submit(convert_in_worker, Chunk(10, line + b"\nnot json\n")).result()
        # eval is a builtin: running it imports nothing more in the worker
        loaded = pool.submit(eval, "sorted(__import__('sys').modules)").result()
    assert converted.events == 2
    assert [offset for offset, *_ in converted.rejected] == [10 + len(line) + 1]
    assert "aspects.ingest.transformer" in loaded
    assert not {"sqlalchemy", "aspects.ingest.state", "aspects.ingest.backfill"} & set(loaded)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_workers_keep_freed_memory_on_glibc() -> None:
    """mallopt accepts both settings (run in a child: it changes the whole process)."""
    code = "from aspects.ingest.transformer import keep_freed_memory; print(keep_freed_memory())"
    answer = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    libc = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout
    assert answer == ("True" if "GLIBC" in libc.upper() or "GNU" in libc else "False")


@pytest.mark.parametrize("name", ["tracking.log", "tracking.log.gz"])
@pytest.mark.parametrize("final", [True, False])
def test_chunks_end_at_line_ends_for_lines_longer_than_a_chunk(
    tmp_path: Path, name: str, final: bool
) -> None:
    """Lines longer than a read, lines ending exactly at a read's end, and the file's last line
    without its newline (a line once the file is final, else left for a later read)."""
    size = 64
    lines = [b"x" * 63, b"y" * 200, b"z" * 10, b"w" * (size - 11 - 1), b"v" * 129, b"u"]
    data = b"\n".join(lines) + b"\n" + b"partial"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with open_binary(path) as handle:
        chunks = list(read_chunks(handle, 0, final=final, chunk_bytes=size))
    assert b"".join(chunk.data for chunk in chunks) == (data if final else data[: -len(b"partial")])
    assert [chunk.start for chunk in chunks] == [
        sum(len(chunk.data) for chunk in chunks[:index]) for index in range(len(chunks))
    ]
    assert all(chunk.data.endswith(b"\n") for chunk in chunks[: len(chunks) - final])
    seen = [line for chunk in chunks for _, line in split_lines(chunk)]
    assert seen == ([*lines, b"partial"] if final else lines)
    with open_binary(path) as handle:  # from a line's offset on
        rest = list(read_chunks(handle, 64, final=True, chunk_bytes=size))
    assert [line for chunk in rest for _, line in split_lines(chunk)] == [*lines[1:], b"partial"]
