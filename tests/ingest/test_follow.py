"""The live follower: rotation by rename and by copytruncate, restart from checkpoints."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from clickhouse_connect.driver.client import Client

from aspects.ingest.follow import Stream
from aspects.ingest.live import run_live
from aspects.ingest.sink import Sink
from aspects.ingest.state import IngestState
from aspects.ingest.synthetic import synthetic_lines
from aspects.ingest.transformer import build_converter, converter_spec
from aspects.settings import Settings
from tests.ingest.conftest import expected, stored_counts


def _lines(templates: list[str], count: int, seed: int) -> list[bytes]:
    return list(synthetic_lines(templates, count, seed=seed))


def _poll_all(
    stream: Stream, sink: Sink, settings: Settings, client: Client, state: IngestState
) -> None:
    """Poll until nothing new, storing each batch (as run_live does)."""
    idle = 0
    while idle < 3:
        read = stream.poll(sink, 10_000)
        idle = idle + 1 if read == 0 else 0
        if sink.dirty:
            sink.detach().store(client, settings.store.database, state)


def _copytruncate(log: Path, unread: list[bytes], after: list[bytes]) -> None:
    """Append lines the follower has not read, rotate by copytruncate, then write new lines."""
    with log.open("ab") as handle:  # written, but not read before the rotation
        handle.writelines(unread)
    shutil.copyfile(log, log.parent / f"{log.name}.1")
    with log.open("r+b") as handle:  # copytruncate: same inode, emptied
        handle.truncate(0)
    with log.open("ab") as handle:
        handle.writelines(after)


def _assert_stored_once(client: Client, settings: Settings, lines: list[bytes]) -> None:
    wanted, _ = expected(settings, lines)
    final, distinct, _raw = stored_counts(client, settings.store.database)
    assert final == distinct == len(wanted)
    ids = client.query(
        f"SELECT DISTINCT toString(statement_id) FROM {settings.store.database}.xapi_statements"
    )
    assert {row[0] for row in ids.result_rows} == wanted


def test_rename_rotation_drains_the_old_file_then_follows_the_new(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    log = tmp_path / "tracking.log"
    first, late, second = (
        _lines(templates, 200, 1),
        _lines(templates, 50, 2),
        _lines(templates, 80, 3),
    )
    writer = log.open("ab")
    writer.writelines(first)
    writer.flush()
    stream = Stream(log, state, build_converter(converter_spec(settings)))
    sink = Sink()
    _poll_all(stream, sink, settings, store, state)

    log.rename(tmp_path / "tracking.log.1")
    log.write_bytes(b"")  # logrotate's `create`: the writer has not switched yet
    writer.writelines(late)  # ...and still writes to the renamed file
    writer.flush()
    _poll_all(stream, sink, settings, store, state)
    writer.close()
    with log.open("ab") as new:  # the writer reopens the path
        new.writelines(second)
    _poll_all(stream, sink, settings, store, state)
    stream.close()
    _assert_stored_once(store, settings, first + late + second)
    renamed = state.position(stream_identity(tmp_path / "tracking.log.1"))
    assert renamed is not None
    assert renamed.complete


def stream_identity(path: Path) -> str:
    from aspects.ingest.files import identify

    identity = identify(path)
    assert identity is not None
    return identity.fingerprint


def test_copytruncate_reads_the_unread_rest_from_the_copy(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    log = tmp_path / "tracking.log"
    first, unread, after = (
        _lines(templates, 150, 4),
        _lines(templates, 60, 5),
        _lines(templates, 70, 6),
    )
    log.write_bytes(b"".join(first))
    stream = Stream(log, state, build_converter(converter_spec(settings)))
    sink = Sink()
    _poll_all(stream, sink, settings, store, state)
    _copytruncate(log, unread, after)
    _poll_all(stream, sink, settings, store, state)
    stream.close()
    _assert_stored_once(store, settings, first + unread + after)


def test_copytruncate_noticed_even_when_the_new_file_outgrew_our_offset(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    """A follower stalled (a slow INSERT) while the log was copied, truncated and written past
    the old offset: the size alone no longer shows the truncation, the first line does."""
    log = tmp_path / "tracking.log"
    first, unread, after = (
        _lines(templates, 20, 14),
        _lines(templates, 10, 15),
        _lines(templates, 300, 16),
    )
    log.write_bytes(b"".join(first))
    stream = Stream(log, state, build_converter(converter_spec(settings)))
    sink = Sink()
    _poll_all(stream, sink, settings, store, state)
    _copytruncate(log, unread, after)
    assert log.stat().st_size > sum(map(len, first + unread))
    _poll_all(stream, sink, settings, store, state)
    stream.close()
    _assert_stored_once(store, settings, first + unread + after)
    assert state.counters()["rejected"] == expected(settings, first + unread + after)[1]


def test_restart_resumes_from_the_checkpoint_even_after_rotations(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    """Stopped, the log is rotated twice (once compressed); the restarted stream reads the rest
    of the old file from its checkpoint, the rotated file in between, then the live one."""
    import gzip

    log = tmp_path / "tracking.log"
    parts = [_lines(templates, 100, seed) for seed in (7, 8, 9, 10)]
    log.write_bytes(b"".join(parts[0]))
    converter = build_converter(converter_spec(settings))
    stream = Stream(log, state, converter)
    sink = Sink()
    _poll_all(stream, sink, settings, store, state)
    stream.close()
    with log.open("ab") as handle:
        handle.writelines(parts[1])
    rotated = tmp_path / "tracking.log.2.gz"
    rotated.write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    (tmp_path / "tracking.log.1").write_bytes(b"".join(parts[2]))
    log.write_bytes(b"".join(parts[3]))

    restarted = Stream(log, state, converter)
    _poll_all(restarted, sink, settings, store, state)
    restarted.close()
    everything = [line for part in parts for line in part]
    _assert_stored_once(store, settings, everything)
    final, _, raw = stored_counts(store, settings.store.database)
    assert raw == final  # nothing was read twice


def test_run_live_flushes_within_the_interval_and_stops_cleanly(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    log = tmp_path / "tracking.log"
    lines = _lines(templates, 300, 11)
    log.write_bytes(b"".join(lines[:100]))
    stop = threading.Event()
    flushed: list[int] = []
    thread = threading.Thread(
        target=run_live,
        args=(settings, store, stop),
        kwargs={"paths": [log], "on_flush": lambda f: flushed.append(f.events)},
    )
    thread.start()
    try:
        for start in (100, 200):
            with log.open("ab") as handle:
                handle.writelines(lines[start : start + 100])
            time.sleep(0.05)
        wanted, _ = expected(settings, lines)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if stored_counts(store, settings.store.database)[1] == len(wanted):
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert sum(flushed) == len(lines)
    _assert_stored_once(store, settings, lines)


def test_a_line_longer_than_one_read_is_not_stuck(
    tmp_path: Path, settings: Settings, store: Client, state: IngestState, templates: list[str]
) -> None:
    log = tmp_path / "tracking.log"
    before, after = _lines(templates, 20, 12), _lines(templates, 20, 13)
    huge = b'{"name": "' + b"x" * 3_000_000 + b"\n"  # not JSON: a dead letter
    log.write_bytes(b"".join(before))
    stream = Stream(log, state, build_converter(converter_spec(settings)))
    sink = Sink()
    _poll_all(stream, sink, settings, store, state)
    with log.open("ab") as handle:
        handle.write(huge)
        handle.writelines(after)
    _poll_all(stream, sink, settings, store, state)
    stream.close()
    _assert_stored_once(store, settings, before + after)
    letters = [
        letter for letter in state.dead_letters(limit=100) if letter.line_bytes == len(huge) - 1
    ]
    assert len(letters) == 1
    assert len(letters[0].line) == settings.ingest.dead_letter_max_bytes
