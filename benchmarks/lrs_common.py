"""What the LRS benchmarks share: a served LRS in a subprocess, a credential, load clients."""

from __future__ import annotations

import base64
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

ASPECTS = str(Path(sys.executable).parent / "aspects")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "ASPECTS_DATA_DIR": str(data_dir)}
    env.pop("ASPECTS_CONFIG", None)
    return env


def create_credential(data_dir: Path) -> tuple[str, str]:
    out = subprocess.run(
        [ASPECTS, "lrs", "credentials", "create", "--name", "bench", "--scope", "all", "--json"],
        env=environment(data_dir),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    document = orjson.loads(out)
    return document["key"], document["secret"]


def _own_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process, its threads and its living child processes
    (the LRS's receive workers) with theirs (Linux /proc)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            total += _own_cpu(current)
            pending += _children(current)
        except OSError:  # a child that ended meanwhile
            continue
    return total


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far per thread name of a process (threads of one name summed), its child
    processes (the LRS's receive workers) as one entry: where the server's time goes (event
    loop, worker threads, chDB's pools, the workers)."""
    totals: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    for child in _children(pid):
        try:
            totals["receive-workers"] = totals.get("receive-workers", 0.0) + cpu_seconds(child)
        except OSError:  # it ended meanwhile
            continue
    return totals


@contextmanager
def served(data_dir: Path, port: int, pids: list[int] | None = None) -> Iterator[str]:
    """``aspects lrs serve`` on ``port``; yields the xAPI base URL, stops it afterwards.
    ``pids`` (if given) receives the server's process id."""
    server = subprocess.Popen(
        [ASPECTS, "lrs", "serve", "--port", str(port)],
        env=environment(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if pids is not None:
        pids.append(server.pid)
    base = f"http://127.0.0.1:{port}/xAPI"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/xAPI/about")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("the LRS did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=60)


def headers(key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/json",
        "X-Experience-API-Version": "1.0.3",
    }


VERBS = ("completed", "attempted", "passed", "failed", "experienced")


def block_iri(activity: int) -> str:
    course = activity % 20
    return (
        f"https://lms.example.org/xblock/block-v1:Org+C{course}+2024+type@problem+block@{activity}"
    )


def course_iri(activity: int) -> str:
    return f"https://lms.example.org/course/course-v1:Org+C{activity % 20}+2024"


def make_statement(index: int, now: str) -> dict[str, Any]:
    """A realistic Open edX-like statement; ids and learners vary with ``index``."""
    learner = index % 5_000
    activity = index % 2_000
    return {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example.org", "name": f"learner-{learner}"},
        },
        "verb": {
            "id": f"http://adlnet.gov/expapi/verbs/{VERBS[index % 5]}",
            "display": {"en-US": "did"},
        },
        "object": {
            "objectType": "Activity",
            "id": block_iri(activity),
            "definition": {"name": {"en-US": f"problem {activity}"}},
        },
        "result": {"score": {"scaled": (index % 10) / 10}, "completion": True, "duration": "PT5M"},
        "context": {
            "registration": str(uuid.UUID(int=learner * 7 + 1)),
            "contextActivities": {
                "parent": [
                    {"id": f"https://lms.example.org/course/course-v1:Org+C{activity % 20}+2024"}
                ]
            },
        },
        "timestamp": now,
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)
