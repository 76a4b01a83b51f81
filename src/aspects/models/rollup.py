"""The operator_kpis cache: whole past days recomputed exactly, only when they changed.

operator_kpis over months re-reads one row per statement (seconds of CPU at 10M statements).
Its per-day figures cannot be summed at insert time exactly (a copy of a statement arrives in a
separate insert and must count once; a voiding arrives later), so :func:`refresh` recomputes
whole days from ``fact_activity`` with the report's own query into ``operator_kpis_daily``
(migration 0031), and the report takes a cached day only while nothing changed it since: no
insert for that day after the row's ``as_of`` (``activity_day_changes``, by insert time), the
same set of voided ids, no erasure after ``as_of``. Otherwise the report computes the day live,
so it is exact whether or not the refresher has run.

``as_of`` is the refresh's start minus ``margin``: an insert that began before ``as_of`` is
assumed committed when the refresh reads (inserts shorter than the margin; default 10 min).
``aspects serve`` runs a :class:`Refresher` thread; ``aspects reports refresh`` runs one pass.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.periodic import PeriodicTask

log = logging.getLogger(__name__)

DEFAULT_MARGIN = dt.timedelta(minutes=10)
# Days per query when recomputing: a month of 10M-statement data is ~2.5M rows of states.
_CHUNK_DAYS = 31
_COLUMNS = [
    "day",
    "statements",
    "courses",
    "orgs",
    "active_learners",
    "median_lag_s",
    "p95_lag_s",
    "as_of",
    "voided_mark",
]


@cache
def _sql(name: str) -> str:
    return resources.files("aspects.models.rollup_sql").joinpath(f"{name}.sql").read_text("utf-8")


def _render(name: str, database: str) -> str:
    lines = [line for line in _sql(name).splitlines() if not line.lstrip().startswith("--")]
    return Template("\n".join(lines)).substitute(db=database).strip()


@dataclass(frozen=True)
class RefreshResult:
    as_of: dt.datetime
    first_uncached: dt.date
    days_computed: int
    seconds: float


def refresh(
    client: Client, database: str, *, margin: dt.timedelta = DEFAULT_MARGIN
) -> RefreshResult:
    """Recompute the days whose cached figures are missing or stale; returns what it did."""
    started = time.monotonic()
    state = client.query(_render("state", database)).result_rows[0]
    now, voided_mark, erased_last, previous_first_uncached = state
    if now.tzinfo is None:  # the column's zone is UTC
        now = now.replace(tzinfo=dt.UTC)
    as_of = now - margin
    until_day = as_of.date()
    days: list[dt.date] = [
        row[0]
        for row in client.query(
            _render("stale_days", database),
            parameters={
                "until_day": until_day,
                "voided_mark": voided_mark,
                "erased_last": erased_last,
                "previous_first_uncached": previous_first_uncached,
            },
        ).result_rows
    ]
    for start in range(0, len(days), _CHUNK_DAYS):
        chunk = days[start : start + _CHUNK_DAYS]
        _write_days(client, database, chunk, as_of, voided_mark)
    seconds = time.monotonic() - started
    # Last: the record claims every day before until_day is cached (or marked changed).
    client.insert(
        f"{database}.operator_kpis_refreshes",
        [[as_of, until_day, voided_mark, len(days), seconds]],
        column_names=["as_of", "first_uncached", "voided_mark", "days_computed", "seconds"],
    )
    return RefreshResult(as_of, until_day, len(days), seconds)


def _write_days(
    client: Client, database: str, days: list[dt.date], as_of: dt.datetime, voided_mark: int
) -> None:
    computed = {
        row[0]: row
        for row in client.query(
            _render("compute_days", database), parameters={"days": days}
        ).result_rows
    }
    rows: list[list[Any]] = []
    for day in days:
        # A day whose rows are all voided, voiding or gone is cached as statements = 0.
        figures = computed.get(day, (day, 0, 0, 0, 0, 0.0, 0.0))
        rows.append([*figures, as_of, voided_mark])
    client.insert(f"{database}.operator_kpis_daily", rows, column_names=_COLUMNS)


class Refresher(PeriodicTask):
    """A daemon thread that runs :func:`refresh` now and every ``interval`` seconds."""

    def __init__(
        self,
        client: Client,
        database: str,
        interval: float,
        *,
        margin: dt.timedelta = DEFAULT_MARGIN,
    ) -> None:
        super().__init__(
            "aspects-operator-kpis-refresh",
            interval,
            what="operator_kpis cache refresh",
            log=log,
            join_timeout=60,
        )
        self._client = client
        self._database = database
        self._margin = margin

    @property
    def refreshes(self) -> int:
        return self.passes

    def run_once(self) -> None:
        done = refresh(self._client, self._database, margin=self._margin)
        if done.days_computed:
            log.info(
                "operator_kpis cache: %d days recomputed in %.1f s",
                done.days_computed,
                done.seconds,
            )
