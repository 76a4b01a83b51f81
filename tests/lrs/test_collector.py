"""The server's garbage-collector tuning (``aspects.lrs.collector``), in a child interpreter:
it changes process-wide state that the test process must keep."""

from __future__ import annotations

import subprocess
import sys

import orjson

from aspects.lrs.collector import THRESHOLDS

_CHILD = """
import gc, weakref, orjson
from aspects.lrs.collector import THRESHOLDS, tune_collector

class Node:
    pass

tune_collector()
frozen = gc.get_freeze_count()
# A cycle that becomes garbage: reference counting cannot free it, the collector must.
node = Node()
node.self = node
alive = weakref.ref(node)
del node
# What a busy server does: allocate containers that survive (pending rows).
kept = [[i] for i in range(THRESHOLDS[0] * 2)]
print(orjson.dumps({
    "thresholds": gc.get_threshold(),
    "frozen": frozen,
    "cycle_reclaimed": alive() is None,
}).decode())
"""


def test_tuning_freezes_the_startup_heap_and_still_reclaims_cycles() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True
    )
    result = orjson.loads(done.stdout)
    assert tuple(result["thresholds"]) == THRESHOLDS
    assert result["frozen"] > 1_000  # the interpreter's and the imported modules' objects
    assert result["cycle_reclaimed"] is True
