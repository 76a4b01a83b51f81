"""Every statement we produce is valid xAPI 1.0.3, by the validator the LRS uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from aspects.transform import MalformedEvent, Transformer, parse_line
from aspects.xapi.validation import StatementInvalid, validate_statement
from tests.transform.conftest import event_files, load_json
from tests.transform.test_fixtures import ALIASES
from tests.transform.test_logline import as_logged

# ERB's own expected output for these is not valid xAPI 1.0.3; erb_strict reproduces it.
ERB_INVALID = {
    "edx.grades.problem.submitted.weighted_possible_0",  # score max == min
    "edx.grades.problem.submitted.weighted_possible_null",
    "edx.grades.subsection.grade_calculated.weighted_possible_0",
    "problem_check(server).max_grade_0",
    "problem_check(browser).required.only.data",  # no object id
    "problem_check(server).list_answers",  # GroupActivity
    "problem_check(server,multiple_questions,correct)",
    "problem_check(server,multiple_questions,incorrect)",
    "problem_check(server,multiple_questions,partial_correct)",
    *(
        f"edx.special_exam.{k}.attempt.{a}"
        for k in ("timed", "practice", "proctored")
        for a in ("created", "submitted")
    ),  # attempt code as activity id
}
REFUSED = {"edx.ui.lms.link_clicked(anonymous_user)", "problem_check(browser).required.only.data"}


NEWER_NAME = {older: alias for alias, older in ALIASES.items()}


def _events(path: Path) -> list[dict[str, object]]:
    """The fixture, the same event as a logged line, and under its newer name if it has one."""
    event = load_json(path)
    events = [event, parse_line(as_logged(event, prefix=True))]
    if path.stem in NEWER_NAME:
        events.append({**event, "name": NEWER_NAME[path.stem]})
    return events


@pytest.mark.parametrize("path", event_files(), ids=lambda p: p.stem)
def test_every_statement_is_valid_xapi_1_0_3(path: Path, default: Transformer) -> None:
    for event in _events(path):
        try:
            statements = default.transform(event)
        except MalformedEvent:
            assert path.stem in REFUSED
            continue
        assert statements
        for statement in statements:
            validate_statement(statement, "1.0.3")


def test_strict_mode_reproduces_exactly_erbs_invalid_statements(strict: Transformer) -> None:
    invalid = set()
    for path in event_files():
        try:
            statements = strict.transform(load_json(path))
        except MalformedEvent:
            continue
        for statement in statements:
            try:
                validate_statement(statement, "1.0.3")
            except StatementInvalid:
                invalid.add(path.stem)
    assert invalid == ERB_INVALID
