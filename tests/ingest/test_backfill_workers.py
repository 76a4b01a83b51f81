"""The backfill's worker processes: what they import and how their malloc is set."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from aspects.ingest.files import Chunk
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
