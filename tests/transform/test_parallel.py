"""Chunks of log lines transformed in worker processes give what one process gives, in order."""

from __future__ import annotations

import orjson

from aspects.transform.parallel import TransformPool, WorkerSpec, transform_chunk
from aspects.transform.settings import TransformSettings
from tests.transform.conftest import event_files, load_json
from tests.transform.test_logline import as_logged


def _log() -> list[bytes]:
    lines = [
        as_logged(load_json(path), prefix=i % 2 == 0).encode()
        for i, path in enumerate(event_files())
    ]
    lines.insert(5, b'{"name": "problem_check", "broken": ')  # invalid JSON
    lines.insert(9, b'{"name": "edx.bi.user.account.registered", "time": "2024-01-01"}')
    lines.insert(12, b"")  # blank: not an event
    return lines


def test_workers_give_the_rows_counts_and_rejections_of_one_process() -> None:
    spec = WorkerSpec(
        TransformSettings(), "secret", course_names={"course-v1:edX+DemoX+Demo_Course": "Demo"}
    )
    lines = _log()
    whole = transform_chunk(spec.build(), lines, "tracking.log")
    assert len(whole.rows) > 80
    assert any(reason.startswith("invalid JSON") for _, reason, _ in whole.rejected)
    assert whole.skipped == {"edx.bi.user.account.registered": 1}

    size = 7
    chunks = [(lines[i : i + size], "tracking.log", i + 1) for i in range(0, len(lines), size)]
    with TransformPool(spec, workers=2) as pool:
        results = list(pool.map(chunks))

    assert [r.first_line for r in results] == [first for _, _, first in chunks]
    assert [row for r in results for row in r.rows] == whole.rows
    assert [rej for r in results for rej in r.rejected] == whole.rejected
    assert sum(r.events_read for r in results) == whole.events_read == len(lines) - 1
    skipped: dict[str, int] = {}
    for r in results:
        for name, count in r.skipped.items():
            skipped[name] = skipped.get(name, 0) + count
    assert skipped == whole.skipped
    # rows are ready to insert: the id is the statement's, the text its JSON
    statement_id, text = whole.rows[0]
    assert orjson.loads(text)["id"] == statement_id
    # the rejected line keeps its number in the whole log
    (invalid,) = [rej for rej in whole.rejected if rej[1].startswith("invalid JSON")]
    assert invalid[0] == 6
    assert invalid[2] == lines[5].decode()
