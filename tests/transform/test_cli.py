"""``aspects transform``: real processes reading plain, gzip and stdin logs."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from aspects.transform.batch import Summary, transform_lines
from aspects.xapi.validation import validate_statement
from tests.transform.conftest import erb_transformer, event_files, load_json
from tests.transform.test_logline import as_logged


def log_text() -> str:
    """All fixtures as logged lines, plus an unknown event, bad JSON and a blank line."""
    lines = [as_logged(load_json(p), prefix=i % 2 == 0) for i, p in enumerate(event_files())]
    lines.insert(5, '{"event_type": "edx.bi.user.account.registered", "time": "2020-01-01"}')
    lines.insert(9, '{"event_type": "play_video", "event": {"id": "x"}')
    lines.append("")
    return "\n".join(lines) + "\n"


def run(
    args: list[str], tmp_path: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ASPECTS_DATA_DIR": str(tmp_path / "var")}
    env.pop("ASPECTS_CONFIG", None)
    code = "from aspects.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "transform", *args],
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_transform_lines_counts_everything() -> None:
    summary = Summary()
    statements = list(
        transform_lines(erb_transformer(), log_text().splitlines(), summary, source="t.log")
    )
    assert summary.events_read == 83
    assert summary.statements == len(statements) == 92
    assert dict(summary.skipped) == {"edx.bi.user.account.registered": 1}
    assert summary.rejected == 3  # bad JSON, anonymous user, problem without object id
    assert [r.line_number for r in summary.rejections] == [10, 46, 66]
    assert summary.rejections[0].reason.startswith("invalid JSON")


def test_cli_reads_gzip_and_plain_files_and_stdin(tmp_path: Path) -> None:
    plain = tmp_path / "tracking.log"
    plain.write_text(log_text())
    zipped = tmp_path / "tracking.log.1.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    rejects = tmp_path / "rejects.jsonl"

    result = run([str(plain), str(zipped), "--rejects", str(rejects)], tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    statements = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(statements) == 184
    for statement in statements:
        validate_statement(statement, "1.0.3")
    summary = result.stderr.decode()
    assert "events read: 166  statements written: 184  skipped: 2  rejected: 6" in summary
    assert "skipped 2 edx.bi.user.account.registered" in summary
    assert f"rejected {plain}:10: invalid JSON" in summary
    kept = [json.loads(line) for line in rejects.read_text().splitlines()]
    anonymous = 1 + next(
        i for i, line in enumerate(log_text().splitlines()) if '"user_id": null' in line
    )
    assert [(k["source"], k["line"]) for k in kept][:2] == [
        (str(plain), 10),
        (str(plain), anonymous),
    ]
    assert kept[0]["text"] == '{"event_type": "play_video", "event": {"id": "x"}'

    piped = run(["-"], tmp_path, stdin=gzip.compress(plain.read_bytes()))
    assert piped.returncode == 0
    assert piped.stdout == run([], tmp_path, stdin=plain.read_bytes()).stdout
    assert len(piped.stdout.splitlines()) == 92


def test_cli_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run([str(tmp_path / "nope.log")], tmp_path)
    assert result.returncode == 2
    assert "cannot read" in result.stderr.decode()


def test_cli_caliper_format(tmp_path: Path) -> None:
    plain = tmp_path / "tracking.log"
    plain.write_text(log_text())
    result = run([str(plain), "--format", "caliper"], tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events
    assert {e["@context"] for e in events} == {"http://purl.imsglobal.org/ctx/caliper/v1p2"}
    assert "skipped" in result.stderr.decode()


def test_build_info_says_which_build_runs(tmp_path: Path) -> None:
    from aspects.transform.native import PURE_ENV, build_state

    done = run(["--build-info"], tmp_path)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    state = build_state()
    expected = "compiled" if state.use_compiled else "python"
    assert str(info["build"]).startswith(expected)
    assert info["compilable_modules"] == len(state.modules)
    forced = subprocess.run(
        [sys.executable, "-c", "from aspects.cli import main; main()", "transform", "--build-info"],
        capture_output=True,
        env={**os.environ, PURE_ENV: "1", "ASPECTS_DATA_DIR": str(tmp_path / "var")},
        check=True,
        timeout=120,
    )
    assert json.loads(forced.stdout)["compiled_modules"] == 0
