"""The project's demo generator writes tracking.log lines as the LMS does: all of them transform."""

from __future__ import annotations

import json
from pathlib import Path

from aspects.demo.generate import DemoConfig, write_logs
from aspects.demo.site import demo_course, demo_structures
from aspects.transform import StaticCourseNames, Transformer
from aspects.transform.batch import Summary, open_log, transform_lines
from aspects.transform.settings import TransformSettings
from aspects.xapi.validation import validate_statement


def test_generated_site_logs_transform_without_rejections(tmp_path: Path) -> None:
    courses = [demo_course(structure) for structure in demo_structures()]
    count, files = write_logs(DemoConfig(learners=8, weeks=1), courses, tmp_path)
    transformer = Transformer(
        TransformSettings(),
        secret="s",
        course_names=StaticCourseNames({c.course_key: c.display_name for c in courses}),
    )
    summary = Summary()
    statements = []
    for path in files:
        with open_log(str(path)) as lines:
            statements += list(transform_lines(transformer, lines, summary, source=str(path)))
    assert summary.events_read == count > 0
    assert summary.rejected == 0, summary.rejections[:3]
    assert summary.statements == len(statements) >= count - sum(summary.skipped.values())
    for statement in statements:
        validate_statement(statement, "1.0.3")
    names = {c.display_name for c in courses}
    assert any(
        parent["definition"].get("name", {}).get("en-US") in names
        for s in statements
        for parent in s["context"].get("contextActivities", {}).get("parent", [])
    )
    text = json.dumps(statements)
    assert '"username"' not in text
    assert "learner0" not in text  # the demo's usernames
