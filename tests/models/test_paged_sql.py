"""paged_sql: the row count goes into the report's outermost SELECT (whose ORDER BY then still
orders the page), and shapes it cannot page that way are refused (the caller pages in Python)."""

from __future__ import annotations

from aspects.models.registry import paged_sql, render, reports

COUNT = "count() OVER () AS aspects_page_total_rows,"
LIMIT = " LIMIT {aspects_page_limit:UInt64} OFFSET {aspects_page_offset:UInt64}"


def test_every_shipped_report_is_paged_in_sql() -> None:
    for name, report in reports().items():
        sql = render(report, "db")
        paged = paged_sql(sql)
        assert paged is not None, name
        assert paged.endswith(LIMIT)
        assert paged.count(COUNT) == 1
        assert "aspects_page_total_rows" not in sql


def test_the_count_goes_into_the_outermost_select_only() -> None:
    sql = (
        "WITH a AS (SELECT x FROM t ORDER BY x), (SELECT count() FROM a) AS n\n"
        "SELECT x, 'SELECT ( UNION' AS s, `ORDER` -- SELECT DISTINCT ) UNION\n"
        "FROM a /* SELECT ( */ ORDER BY x"
    )
    paged = paged_sql(sql)
    assert paged == (
        "WITH a AS (SELECT x FROM t ORDER BY x), (SELECT count() FROM a) AS n\n"
        f"SELECT {COUNT} x, 'SELECT ( UNION' AS s, `ORDER` -- SELECT DISTINCT ) UNION\n"
        f"FROM a /* SELECT ( */ ORDER BY x{LIMIT}"
    )


def test_shapes_it_cannot_page_are_refused() -> None:
    refused = [
        "SELECT x FROM t",  # no ORDER BY: no defined order to page
        "SELECT DISTINCT x FROM t ORDER BY x",  # the window would count duplicates
        "SELECT x FROM t UNION ALL SELECT x FROM u ORDER BY x",
        "SELECT x FROM t ORDER BY x LIMIT 10",
        "SELECT x FROM t ORDER BY x SETTINGS max_threads = 1",
        "SELECT x FROM t ORDER BY x FORMAT JSON",
        "INSERT INTO t VALUES (1)",
    ]
    for sql in refused:
        assert paged_sql(sql) is None, sql
    assert paged_sql("SELECT x FROM (SELECT DISTINCT x FROM t UNION ALL SELECT 1) ORDER BY x")
