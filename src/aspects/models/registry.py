"""The report models: named SQL files, listed, rendered and run with parameters.

Each report is ``sql/<name>.sql``: a header of ``-- key: value`` lines (``title``,
``description``, optional ``requires: pii`` and ``required: <parameters that may not be
empty>``), then one SELECT. ``${db}`` is the database;
``${report_<name>}`` inlines another report's SELECT (so a variant never repeats a definition);
values are ClickHouse server-side parameters ``{name:Type}``, never formatted into the text.
Every figure is defined in docs/reports.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.errors import AspectsError

_HEADER = re.compile(r"^--\s*(title|description|requires|required):\s*(.*?)\s*$")
_PARAMETER = re.compile(r"\{(\w+):([^}]+)\}")
_INCLUDE = re.compile(r"\$\{report_(\w+)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ReportError(AspectsError):
    """An unknown report, a bad parameter, or a report the settings do not allow."""


def default_parameters(now: dt.datetime | None = None) -> dict[str, Any]:
    """Values of the parameters a caller leaves out: all courses, all time, as of now."""
    return {
        "course_key": "",
        "org": "",
        "since": EPOCH,
        "until": (now or dt.datetime.now(dt.UTC)) + dt.timedelta(microseconds=1),
        "period": "day",
        "inactive_days": 14,
        "problem_id": "",
        "video_id": "",
    }


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    sql: str
    requires_pii: bool
    required: tuple[str, ...] = ()

    @property
    def parameters(self) -> dict[str, str]:
        """Parameter name -> ClickHouse type, including those of inlined reports."""
        found: dict[str, str] = {}
        for name, type_ in _PARAMETER.findall(render(self, "db")):
            found.setdefault(name, type_.strip())
        return found


@dataclass(frozen=True)
class ReportResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@cache
def reports() -> dict[str, Report]:
    """Every report shipped with the package, by name."""
    found: dict[str, Report] = {}
    for entry in resources.files("aspects.models.sql").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        name = entry.name.removesuffix(".sql")
        if not _NAME.match(name):
            raise RuntimeError(f"bad report file name: {entry.name}")
        found[name] = _parse(name, entry.read_text(encoding="utf-8"))
    return dict(sorted(found.items()))


def _parse(name: str, text: str) -> Report:
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            key, value = match[1], match[2]
            header[key] = f"{header[key]} {value}".strip() if key in header else value
    if "title" not in header or "description" not in header:
        raise RuntimeError(f"report {name} lacks a title or description header")
    return Report(
        name=name,
        title=header["title"],
        description=header["description"],
        sql=text,
        requires_pii=header.get("requires", "") == "pii",
        required=tuple(header.get("required", "").replace(",", " ").split()),
    )


def get_report(name: str) -> Report:
    try:
        return reports()[name]
    except KeyError:
        raise ReportError(f"no report named {name!r}; see `aspects reports list`") from None


def render(report: Report, database: str, _depth: int = 0) -> str:
    """The report's SELECT for this database, inlined reports expanded."""
    if _depth > 4:
        raise RuntimeError(f"report {report.name}: includes nest too deep")
    values = {"db": database}
    for included in set(_INCLUDE.findall(report.sql)):
        values[f"report_{included}"] = render(get_report(included), database, _depth + 1)
    lines = [line for line in report.sql.splitlines() if not line.lstrip().startswith("--")]
    return Template("\n".join(lines)).substitute(values).strip().rstrip(";")


def bind_parameters(report: Report, given: Mapping[str, Any]) -> dict[str, Any]:
    """The report's parameters: given values (strings are converted) over the defaults."""
    wanted = report.parameters
    unknown = sorted(set(given) - set(wanted))
    if unknown:
        raise ReportError(
            f"report {report.name} takes no parameter {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(wanted)) or 'none'}"
        )
    defaults = default_parameters()
    values: dict[str, Any] = {}
    for name, type_ in wanted.items():
        value = given.get(name, defaults.get(name))
        if value is None:
            raise ReportError(f"report {report.name} needs the parameter {name}")
        values[name] = _convert(name, type_, value)
        if name in report.required and values[name] == "":
            raise ReportError(f"report {report.name} needs the parameter {name}")
    return values


def _convert(name: str, type_: str, value: Any) -> Any:
    try:
        if type_.startswith("DateTime"):
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                value = dt.datetime(value.year, value.month, value.day)
            if not isinstance(value, dt.datetime):
                raise TypeError("not a date or time")
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        if type_.startswith(("UInt", "Int")):
            number = int(value)
            if type_.startswith("UInt") and number < 0:
                raise ValueError("must not be negative")
            return number
        if type_ == "String":
            return str(value)
    except (TypeError, ValueError) as error:
        raise ReportError(f"parameter {name}: {value!r} is not a valid {type_} ({error})") from None
    raise ReportError(f"parameter {name}: unsupported type {type_}")


def run_report(
    client: Client,
    database: str,
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    pii_enabled: bool = False,
) -> ReportResult:
    """Run one report; reports that show PII refuse to run unless PII is enabled."""
    report = _runnable(name, pii_enabled)
    values = bind_parameters(report, parameters or {})
    result = client.query(render(report, database), parameters=values)
    return ReportResult(list(result.column_names), [tuple(row) for row in result.result_rows])


def _runnable(name: str, pii_enabled: bool) -> Report:
    report = get_report(name)
    if report.requires_pii and not pii_enabled:
        raise ReportError(
            f"report {name} shows learners' names and emails: enable courses.pii first "
            "(without it, use the pseudonymous report at_risk_learners)"
        )
    return report


@dataclass(frozen=True)
class ReportPage:
    """Rows ``offset`` to ``offset + len(rows)`` of a report, and how many rows it has in all."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: int


# A name no report uses (test_paging checks the report files): the row count column.
_TOTAL_COLUMN = "aspects_page_total_rows"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PAGE_LIMIT = " LIMIT {aspects_page_limit:UInt64} OFFSET {aspects_page_offset:UInt64}"


def _top_level_words(sql: str) -> list[tuple[int, str]]:
    """(position, upper-cased word) of every keyword-like word outside parentheses, strings,
    quoted names and comments."""
    words: list[tuple[int, str]] = []
    depth, index, size = 0, 0, len(sql)
    while index < size:
        char = sql[index]
        if char in "'\"`":
            end = index + 1
            while end < size and sql[end] != char:
                end += 2 if sql[end] == "\\" else 1
            index = end + 1
        elif sql.startswith("--", index):
            newline = sql.find("\n", index)
            index = size if newline < 0 else newline
        elif sql.startswith("/*", index):
            close = sql.find("*/", index + 2)
            index = size if close < 0 else close + 2
        elif char == "(":
            depth, index = depth + 1, index + 1
        elif char == ")":
            depth, index = depth - 1, index + 1
        elif char.isalpha() or char == "_":
            match = _WORD.match(sql, index)
            assert match is not None
            if depth == 0:
                words.append((index, match[0].upper()))
            index = match.end()
        else:
            index += 1
    return words


def paged_sql(sql: str) -> str | None:
    """The report's SELECT with its row count as a first column and a page's LIMIT, or None
    when its shape is not the one this handles (then the caller pages the whole result).

    The count is a window over the outermost SELECT, ``count() OVER ()``, so that SELECT's own
    ORDER BY still orders the rows: a window in an outer query over the report as a subquery
    does not keep the subquery's order (measured: video_heatmap came back reordered). Shapes
    handled: one outermost SELECT (no UNION, INTERSECT or EXCEPT at the top, no DISTINCT, whose
    window would count rows before duplicates go) ending with its ORDER BY (no LIMIT, SETTINGS
    or FORMAT after it). Every shipped report has that shape (tests/api/test_paging.py).
    """
    words = _top_level_words(sql)
    selects = [position for position, word in words if word == "SELECT"]
    if not selects:
        return None
    last = selects[-1]
    tail = [word for position, word in words if position > last]
    if {"UNION", "INTERSECT", "EXCEPT", "LIMIT", "SETTINGS", "FORMAT", "OFFSET"} & set(tail):
        return None
    if tail[:1] == ["DISTINCT"] or "ORDER" not in tail or _unions(words):
        return None
    insert = last + len("SELECT")
    return f"{sql[:insert]} count() OVER () AS {_TOTAL_COLUMN},{sql[insert:]}{_PAGE_LIMIT}"


def _unions(words: list[tuple[int, str]]) -> bool:
    return any(word in ("UNION", "INTERSECT", "EXCEPT") for _, word in words)


def run_report_page(
    client: Client,
    database: str,
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    offset: int,
    limit: int,
    pii_enabled: bool = False,
) -> ReportPage:
    """One page of a report, paged by ClickHouse: only the page's rows come back and are
    converted (docs/api.md, Performance), with the report's row count beside them (paged_sql).
    A page past the end has no row to carry the count (nor, on chDB, the column names), so the
    whole report is then run again (only on that rare request). Reports paged_sql cannot page
    are run whole and paged here.
    """
    if offset < 0 or limit < 1:
        raise ReportError("a page needs offset >= 0 and limit >= 1")
    report = _runnable(name, pii_enabled)
    values = bind_parameters(report, parameters or {})
    sql = render(report, database)
    paged = paged_sql(sql)
    if paged is not None:
        bounds = {"aspects_page_limit": limit, "aspects_page_offset": offset}
        result = client.query(paged, parameters={**values, **bounds})
        page = result.result_rows
        if page or offset == 0:
            # An empty result may come without column names (chDB), as run_report's does.
            columns = [column for column in result.column_names if column != _TOTAL_COLUMN]
            total = int(page[0][0]) if page else 0
            return ReportPage(columns, [tuple(row[1:]) for row in page], total)
    result = client.query(sql, parameters=values)
    rows = [tuple(row) for row in result.result_rows]
    return ReportPage(list(result.column_names), rows[offset : offset + limit], len(rows))
