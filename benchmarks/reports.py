"""Every report at scale: generate statements inside ClickHouse, then time each report.

    .venv/bin/python benchmarks/reports.py [--statements 10000000] [--runs 7] [--path DIR [--reuse]]

``--path DIR --reuse`` times the reports on a dataset generated earlier into DIR (by this script or
by benchmarks/reports_api.py or erasure.py), after applying any newer migrations: generate 10M
once (e.g. into /tmp/aspects-bench-10m), then every benchmark reuses it.

Statements are generated with ``INSERT ... SELECT`` from ``numbers()`` in the exact shape of
event-routing-backends' statements (same verbs, activity types, extensions, course in context
parents), so they go through the raw table's extraction and every materialized view as real
ones do. Mix (by weight): video 37% (played, paused, seeked, interacted, completed, terminated),
navigation 18%, problem checks 17% (whole problem and per question), completion 10%,
enrollment 3.5%, grades 4.3%, forum 5%, certificates 0.2%. 20 course runs in 5 orgs, 2,500
learners per course, 120 days; 1% of the statements stored twice and 1,000 voided. Each course
has the demo course's structure.

Prints the insert rate, then per report (course-level reports on one course, org- and
site-level ones as noted): p50 and p95 over ``--runs`` runs after one warm-up run, the median CPU
time of a run (the process's, so the engine's threads included: on a shared machine it tells
what a report costs better than wall time), and the load average.

operator_kpis: the cache of whole past days (aspects.models.rollup) is refreshed once after the
data is generated or reused (full, nothing changed, one day changed: printed), so the cases
read it warm, as under `aspects serve`; at the end both cases are timed again without it
("no cache": the live path of the same SQL).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from aspects.courses.olx import demo_course_path, read_olx
from aspects.courses.store import store_structure
from aspects.courses.structure import CourseStructure
from aspects.models import reports, run_report
from aspects.models.rollup import refresh
from aspects.store.client import open_client
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings

DATABASE = "bench"
COURSES = 20
LEARNERS_PER_COURSE = 2500
DAYS = 120
START_US = 1767225600000000  # 2026-01-01T00:00:00Z
LMS = "http://lms.example.org"
VIDEO = "https://w3id.org/xapi/video/"
DEMO_KEY = "course-v1:AspectsX+LA101+2026_T1"
BENCH_COURSE = "course-v1:Org2+C7+2026"


def course_key(number: int) -> str:
    return f"course-v1:Org{number % 5}+C{number}+2026"


def copy_structure(demo: CourseStructure, key: str) -> CourseStructure:
    old, new = DEMO_KEY.split(":", 1)[1], key.split(":", 1)[1]

    def swap(value: str) -> str:
        return value.replace(old, new)

    blocks = {
        swap(k): replace(b, usage_key=swap(k), children=tuple(swap(c) for c in b.children))
        for k, b in demo.blocks.items()
    }
    return CourseStructure(key, f"Course {key}", swap(demo.root), blocks)


def ids_of(demo: CourseStructure, *types: str) -> str:
    """A ClickHouse array of the demo course's ``type@T+block@ID`` of blocks of these types."""
    ids = [k.split("+", 3)[3] for k, b in demo.blocks.items() if b.block_type in types]
    return "[" + ", ".join(f"'{i}'" for i in ids) + "]"


def kinds(demo: CourseStructure) -> list[tuple[str, float, str, str, str, str]]:
    """(name, weight, verb, object JSON, result JSON or '', extra context JSON) as SQL."""
    videos, problems = ids_of(demo, "video"), ids_of(demo, "problem")
    sequentials = ids_of(demo, "sequential")
    completables = ids_of(demo, "html", "video", "problem")

    def block(ids: str) -> str:
        pick = f"arrayElement({ids}, 1 + r % length({ids}))"
        return f"concat('{LMS}/xblock/block-v1:', body, '+', {pick})"

    def activity(object_id: str, activity_type: str) -> str:
        return (
            f"""concat('{{"objectType":"Activity","id":"', {object_id}, """
            f"""'","definition":{{"type":"{activity_type}"}}}}')"""
        )

    video_object = activity(block(videos), f"{VIDEO}activity-type/video")
    length = ',"extensions":{"' + VIDEO + 'extensions/length":180.0}'
    time_result = (
        f"""concat('{{"extensions":{{"{VIDEO}extensions/time":', """
        f"""toString(r % 180), '}}}}')"""
    )
    course_object = (
        f"""concat('{{"objectType":"Activity","id":"{LMS}/course/course-v1:', body, '",'"""
        f""", '"definition":{{"type":"http://adlnet.gov/expapi/activities/course",'"""
        f""", '"extensions":{{"https://w3id.org/xapi/acrossx/extensions/type":"', """
        f"""arrayElement(['audit', 'verified', 'honor'], 1 + r % 3), '"}}}}}}')"""
    )
    problem_object = activity(
        block(problems), "http://adlnet.gov/expapi/activities/cmi.interaction"
    )
    problem_result = (
        """concat('{"score":{"min":0,"max":1,"raw":', toString(r % 3 = 0), ',"scaled":', """
        """toString(r % 3 = 0), '},"success":', if(r % 3 = 0, 'true', 'false'), """
        """',"response":"', arrayElement(['choice_0', 'choice_1', 'choice_2'], 1 + r % 3), '"}')"""
    )
    question_object = activity(
        f"concat({block(problems)}, '_2_1')",
        "http://adlnet.gov/expapi/activities/cmi.interaction",
    )
    question_result = (
        """concat('{"success":', if(r % 2 = 0, 'true', 'false'), ',"response":"', """
        """arrayElement(['blue', 'red', 'a chair'], 1 + r % 3), '"}')"""
    )
    score = (
        """concat('{"score":{"min":0,"max":1,"raw":', toString(round((r % 101) / 100, 2)), """
        """',"scaled":', toString(round((r % 101) / 100, 2)), '}}')"""
    )
    course_activity = activity(
        f"concat('{LMS}/course/course-v1:', body)", "http://adlnet.gov/expapi/activities/course"
    )
    forum = activity(
        f"concat('{LMS}/api/discussion/v1/', if(r % 3 = 0, 'threads/', 'comments/'), "
        "toString(r % 5000))",
        "http://id.tincanapi.com/activitytype/discussion",
    )
    resource = "http://id.tincanapi.com/activitytype/resource"
    return [
        ("video played", 14, f"{VIDEO}verbs/played", video_object, time_result, length),
        ("video paused", 12, f"{VIDEO}verbs/paused", video_object, time_result, length),
        (
            "video seeked",
            3,
            f"{VIDEO}verbs/seeked",
            video_object,
            f"""concat('{{"extensions":{{"{VIDEO}extensions/time-from":', toString(r % 180), """
            f"""',"{VIDEO}extensions/time-to":', toString((r + 40) % 180), '}}}}')""",
            length,
        ),
        (
            "video captions",
            2,
            "http://adlnet.gov/expapi/verbs/interacted",
            video_object,
            f"""concat('{{"extensions":{{"{VIDEO}extensions/cc-enabled":', """
            f"""if(r % 2 = 0, 'true', 'false'), ',"{VIDEO}extensions/time":1.0}}}}')""",
            length,
        ),
        (
            "video completed",
            2,
            "http://adlnet.gov/expapi/verbs/completed",
            video_object,
            time_result,
            length,
        ),
        (
            "video stopped",
            4,
            "http://adlnet.gov/expapi/verbs/terminated",
            video_object,
            time_result,
            length,
        ),
        (
            "navigation",
            18,
            "https://w3id.org/xapi/dod-isd/verbs/navigated",
            activity(block(sequentials), resource),
            "",
            "",
        ),
        (
            "problem check",
            14,
            "https://w3id.org/xapi/acrossx/verbs/evaluated",
            problem_object,
            problem_result,
            "",
        ),
        (
            "question",
            3,
            "https://w3id.org/xapi/acrossx/verbs/evaluated",
            question_object,
            question_result,
            "",
        ),
        (
            "completion",
            10,
            "http://adlnet.gov/expapi/verbs/progressed",
            activity(block(completables), resource),
            """'{"completion":true,"extensions":{"https://w3id.org/xapi/cmi5/result/extensions/progress":100.0}}'""",
            "",
        ),
        (
            "enrollment",
            3,
            "http://adlnet.gov/expapi/verbs/registered",
            course_object,
            "",
            "",
        ),
        ("unenrollment", 0.5, "http://id.tincanapi.com/verb/unregistered", course_object, "", ""),
        ("course grade", 1.5, "http://id.tincanapi.com/verb/earned", course_activity, score, ""),
        (
            "subsection grade",
            2,
            "http://id.tincanapi.com/verb/earned",
            activity(block(sequentials), resource),
            score,
            "",
        ),
        ("passed", 0.5, "http://adlnet.gov/expapi/verbs/passed", course_activity, "", ""),
        ("failed", 0.3, "http://adlnet.gov/expapi/verbs/failed", course_activity, "", ""),
        ("forum post", 1, "https://w3id.org/xapi/acrossx/verbs/posted", forum, "", ""),
        ("forum view", 3, "http://id.tincanapi.com/verb/viewed", forum, "", ""),
        ("forum vote", 1, "https://w3id.org/xapi/openedx/verb/voted", forum, "", ""),
        (
            "certificate",
            0.2,
            "http://id.tincanapi.com/verb/earned",
            activity(
                f"concat('{LMS}/certificates/', toString(r % 100000))",
                "https://www.opigno.org/en/certificate",
            ),
            "",
            "",
        ),
    ]


def insert_kind(
    client: Client, first: int, count: int, verb: str, obj: str, result: str, context: str
) -> None:
    result_part = f"""',"result":', {result}, """ if result else ""
    client.command(
        f"""
        INSERT INTO {DATABASE}.xapi_statements (statement_id, statement, stored_time, source)
        SELECT statement_id, statement, stored_time, 'bench'
        FROM
        (
            SELECT
                generateUUIDv4(number) AS statement_id,
                number % {COURSES} AS c,
                concat('Org', toString(c % 5), '+C', toString(c), '+2026') AS body,
                toString(reinterpretAsUUID(MD5(toString(
                    c * 1000000 + cityHash64(number, 1) % {LEARNERS_PER_COURSE})))) AS actor,
                fromUnixTimestamp64Micro(toInt64({START_US} +
                    cityHash64(number, 2) % {DAYS * 86400 * 1_000_000}), 'UTC') AS ts,
                ts + toIntervalMillisecond(200 + cityHash64(number, 3) % 5000) AS stored_time,
                cityHash64(number, 4) AS r,
                concat(
                    '{{"id":"', toString(statement_id), '",',
                    '"actor":{{"objectType":"Agent","account":{{"homePage":"{LMS}","name":"',
                    actor, '"}}}},',
                    '"verb":{{"id":"{verb}","display":{{"en":"{verb.rsplit("/", 1)[-1]}"}}}},',
                    '"object":', {obj}, {result_part}
                    ',"context":{{"contextActivities":{{"parent":[{{"id":"{LMS}/course/course-v1:',
                    body, '","objectType":"Activity","definition":{{"type":',
                    '"http://adlnet.gov/expapi/activities/course"}}}}]}}{context}}},',
                    '"timestamp":"', formatDateTime(ts, '%Y-%m-%dT%H:%i:%S.%f+00:00'), '",',
                    '"version":"1.0.3"}}'
                ) AS statement
            FROM numbers({first}, {count})
        )
        """,
        settings={"max_insert_block_size": 200_000},
    )


def generate(client: Client, total: int, demo: CourseStructure) -> float:
    table = kinds(demo)
    weights = sum(weight for _, weight, *_ in table)
    first = 0
    started = time.monotonic()
    for name, weight, verb, obj, result, context in table:
        count = int(total * weight / weights)
        chunk = 2_000_000
        for offset in range(0, count, chunk):
            insert_kind(
                client, first + offset, min(chunk, count - offset), verb, obj, result, context
            )
        first += count
        print(f"  {name:<17} {count:>10,}", file=sys.stderr)
    # 1% stored twice, 1,000 voided.
    client.command(
        f"INSERT INTO {DATABASE}.xapi_statements (statement_id, statement, stored_time, source) "
        f"SELECT statement_id, statement, stored_time, source FROM {DATABASE}.xapi_statements "
        f"WHERE cityHash64(statement_id) % 100 = 0"
    )
    client.command(
        f"""
        INSERT INTO {DATABASE}.xapi_statements (statement_id, statement, stored_time, source)
        SELECT generateUUIDv4(statement_id) AS id,
               concat('{{"id":"', toString(id), '","actor":{{"objectType":"Agent","account":',
                      '{{"homePage":"{LMS}","name":"admin"}}}},"verb":{{"id":',
                      '"http://adlnet.gov/expapi/verbs/voided"}},"object":{{"objectType":',
                      '"StatementRef","id":"', toString(statement_id), '"}},"timestamp":"',
                      '2026-05-01T00:00:00+00:00","version":"1.0.3"}}'),
               now64(6), 'bench'
        FROM {DATABASE}.xapi_statements WHERE cityHash64(statement_id) % 10000 = 7 LIMIT 1000
        """
    )
    return time.monotonic() - started


def cases() -> list[tuple[str, dict[str, Any]]]:
    course = {"course_key": BENCH_COURSE}
    month = {"since": "2026-03-01", "until": "2026-04-01"}
    as_of = {"until": "2026-05-01"}
    return [
        ("enrollments_current", course),
        ("enrollments_current", {"org": "Org2"}),
        ("enrollments_over_time", course),
        ("active_learners", course),
        ("active_learners", {**course, "period": "week"}),
        ("active_learners", {"org": "Org2", "period": "month"}),
        ("active_learners", {**month}),
        ("engagement_by_subsection", course),
        ("problem_performance", course),
        ("problem_responses", course),
        ("video_engagement", course),
        ("video_heatmap", course),
        ("video_watched_segments", {**course, **month}),
        ("grades_summary", course),
        ("grades_summary", {}),
        ("grades_distribution", course),
        ("subsection_scores", course),
        ("completion", course),
        ("completion", {}),
        ("forum_participation", course),
        ("forum_participation", {}),
        ("learner_summary", {**course, **as_of}),
        ("at_risk_learners", {**course, **as_of}),
        ("operator_kpis", month),
        ("operator_kpis", {}),
    ]


def _cpu_ms(started: float) -> float:
    return (time.process_time() - started) * 1000


def refresh_kpis_cache(client: Client) -> None:
    """The operator_kpis cache as `aspects serve` keeps it: a full refresh from empty, a refresh
    with nothing changed, and one after a copy of one row of a past day (an incremental refresh
    of that day). Margin 0: every insert here is finished. The cases below read the warm cache."""
    client.command(f"TRUNCATE TABLE {DATABASE}.operator_kpis_daily")
    client.command(f"TRUNCATE TABLE {DATABASE}.operator_kpis_refreshes")
    for what in ("full", "nothing changed", "one day changed"):
        if what == "one day changed":
            # A copy collapses under FINAL (no figure changes) but marks its day changed; the
            # partition is merged again so the live timings below see the same parts.
            client.command(
                f"INSERT INTO {DATABASE}.fact_activity SELECT * FROM {DATABASE}.fact_activity "
                "WHERE emission_time >= '2026-03-15' AND emission_time < '2026-03-16' LIMIT 1"
            )
        started, cpu = time.perf_counter(), time.process_time()
        done = refresh(client, DATABASE, margin=dt.timedelta(0))
        print(
            f"operator_kpis cache refresh ({what}): {done.days_computed} days, "
            f"{(time.perf_counter() - started) * 1000:.0f} ms wall, {_cpu_ms(cpu):.0f} ms CPU, "
            f"load {os.getloadavg()[0]:.1f}"
        )
    client.command(f"OPTIMIZE TABLE {DATABASE}.fact_activity PARTITION 202603 FINAL")


def time_kpis_live(client: Client, runs: int) -> None:
    """operator_kpis without its cache (emptied: every day live), then the cache
    restored by a (full) refresh."""
    client.command(f"TRUNCATE TABLE {DATABASE}.operator_kpis_daily")
    client.command(f"TRUNCATE TABLE {DATABASE}.operator_kpis_refreshes")
    for name, params in cases():
        if name != "operator_kpis":
            continue
        run_report(client, DATABASE, name, params)  # warm-up
        timings, cpu = [], []
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = run_report(client, DATABASE, name, params)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append(_cpu_ms(cpu_started))
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        shown = ", ".join(f"{k}={v}" for k, v in params.items()) + " (no cache)"
        print(
            f"{name:<26} {shown[:44]:<44} {len(result.rows):>6} "
            f"{statistics.median(timings):>8.0f} {p95:>8.0f} {statistics.median(cpu):>7.0f} "
            f"{os.getloadavg()[0]:>5.1f}"
        )
    refresh(client, DATABASE, margin=dt.timedelta(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--statements", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--path", "--data-dir", type=Path, default=None, help="chDB directory (default: temp)"
    )
    parser.add_argument("--reuse", action="store_true", help="Keep the data already in --path.")
    args = parser.parse_args()
    path = args.path or Path(tempfile.mkdtemp(prefix="aspects-bench-"))
    settings = StoreSettings(path=path, database=DATABASE)
    client = open_client(settings, path)
    demo = read_olx(demo_course_path())
    if not args.reuse:
        client.command(f"DROP DATABASE IF EXISTS {DATABASE}")
        migrate(client, settings)
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for number in range(COURSES):
            store_structure(client, DATABASE, copy_structure(demo, course_key(number)), "olx", when)
        print(f"generating {args.statements:,} statements in {path}", file=sys.stderr)
        seconds = generate(client, args.statements, demo)
        print(f"insert: {args.statements / seconds:,.0f} statements/s ({seconds:.0f} s)")
        client.command(f"OPTIMIZE TABLE {DATABASE}.xapi_statements FINAL")
        # fact_activity is read with FINAL, like the raw table by operator_kpis: the same merged
        # state for both (a migration's backfill writes it in key order, so --reuse matches).
        client.command(f"OPTIMIZE TABLE {DATABASE}.fact_activity FINAL")
    else:
        migrate(client, settings)  # newer report tables and views on an older dataset
    refresh_kpis_cache(client)
    rows = client.command(f"SELECT count() FROM {DATABASE}.xapi_statements")
    print(f"raw rows: {int(str(rows)):,}; one course: {BENCH_COURSE}")
    # The machine is shared: the load and the time of a trivial query tell how far the figures
    # below are from an idle machine's.
    floor = []
    for _ in range(args.runs):
        started = time.perf_counter()
        client.query(f"SELECT count() FROM {DATABASE}.courses")
        floor.append((time.perf_counter() - started) * 1000)
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
        f"trivial query p50 {statistics.median(floor):.0f} ms"
    )
    print(
        f"{'report':<26} {'parameters':<44} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'cpu ms':>7} {'load':>5}"
    )
    known = set(reports())
    for name, params in cases():
        assert name in known, name
        run_report(client, DATABASE, name, params, pii_enabled=True)  # warm-up
        timings, cpu = [], []
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = run_report(client, DATABASE, name, params, pii_enabled=True)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        shown = ", ".join(f"{k}={v}" for k, v in params.items()).replace("course_key=", "")
        print(
            f"{name:<26} {shown[:44]:<44} {len(result.rows):>6} "
            f"{statistics.median(timings):>8.0f} {p95:>8.0f} {statistics.median(cpu):>7.0f} "
            f"{os.getloadavg()[0]:>5.1f}"
        )
    time_kpis_live(client, args.runs)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
