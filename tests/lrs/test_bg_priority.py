"""`aspects lrs serve` gives chDB's merge threads a lower priority (a higher nice value) than
the threads that answer requests: only threads with those names change."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from aspects.lrs.serve import lower_priority

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's"
)


def _named_thread(name: str, started: threading.Event, stop: threading.Event) -> None:
    # Name this OS thread as chDB names its own (Python's thread names stay in Python).
    Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text(name)
    started.set()
    stop.wait()


def _start(name: str, stop: threading.Event) -> threading.Thread:
    started = threading.Event()
    thread = threading.Thread(target=_named_thread, args=(name, started, stop), daemon=True)
    thread.start()
    assert started.wait(10)
    return thread


def test_only_threads_with_the_given_names_get_the_nice_value() -> None:
    stop = threading.Event()
    # A name of our own: chDB's real merge threads may exist in this process (other tests).
    merge = _start("TestMergeNice", stop)
    other = _start("QueryPipeline", stop)
    try:
        assert merge.native_id is not None
        assert other.native_id is not None
        before = os.getpriority(os.PRIO_PROCESS, other.native_id)
        wanted = min(before + 5, 19)
        assert lower_priority(["TestMergeNice"], wanted) == 1
        assert os.getpriority(os.PRIO_PROCESS, merge.native_id) == wanted
        assert os.getpriority(os.PRIO_PROCESS, other.native_id) == before
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
        # Already at that value: nothing more to change on the next pass.
        assert lower_priority(["TestMergeNice"], wanted) == 0
    finally:
        stop.set()
        merge.join(10)
        other.join(10)
