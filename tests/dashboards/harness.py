"""The pieces of a real dashboards deployment, started for tests.

- the embedded database behind ``aspects db serve`` (its own process and data directory: chDB
  allows one per process), migrated and seeded over HTTP as the admin user;
- the test LMS (tests.lms.server);
- Superset from ``.venv-superset``, bootstrapped by ``aspects.dashboards.superset.init`` and
  served by gunicorn exactly as ``aspects dashboards serve`` does.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import clickhouse_connect
import httpx
import orjson
from clickhouse_connect.driver.client import Client

from aspects.settings import Settings, load_settings
from aspects.store.migrate import migrate
from aspects.store.settings import StoreSettings
from tests.lms.fixtures import CLIENT_ID, CLIENT_SECRET, COURSE_A, COURSE_B, COURSE_C
from tests.lms.server import LMSCourse, RunningLMS, default_blocks, free_port

REPO = Path(__file__).resolve().parents[2]
ADMIN = ("aspects", "admin-pw")
READER = ("aspects_reader", "reader-pw")
DATABASE = "aspects"
COURSE_NAMES = {COURSE_A: "Chemistry 101", COURSE_B: "Physics 201", COURSE_C: "Biology 110"}
# Learners per course; learner 0 of each course enrolled a month ago and did nothing since (the
# at-risk case), the others were active this week: 7 statements each (see learner_statements).
LEARNERS_PER_COURSE = {COURSE_A: 4, COURSE_B: 3, COURSE_C: 2}
STATEMENTS_PER_COURSE = {key: 1 + 7 * (n - 1) for key, n in LEARNERS_PER_COURSE.items()}
LMS_ROOT = "http://lms.example"
DASHBOARD_SLUGS = [
    "activity",
    "course-overview",
    "engagement",
    "problem-performance",
    "video-engagement",
    "individual-learner",
    "at-risk-learners",
    "course-comparison",
    "operator-health",
]


@dataclass
class Endpoint:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    def client(self, user: tuple[str, str] = ADMIN) -> Client:
        return clickhouse_connect.get_client(
            host="127.0.0.1", port=self.port, username=user[0], password=user[1]
        )

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_process(process)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-4000:]}")


def start_endpoint(data_dir: Path) -> Endpoint:
    port = free_port()
    env = {
        **os.environ,
        "ASPECTS_DATA_DIR": str(data_dir),
        "ASPECTS_STORE__ADMIN_USER": ADMIN[0],
        "ASPECTS_STORE__ADMIN_PASSWORD": ADMIN[1],
        "ASPECTS_STORE__READONLY_USER": READER[0],
        "ASPECTS_STORE__READONLY_PASSWORD": READER[1],
    }
    env.pop("ASPECTS_CONFIG", None)
    log = data_dir / "endpoint.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "aspects"), "db", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    _wait(f"http://127.0.0.1:{port}/ping", process, log, 60)
    return Endpoint(process, port, data_dir)


def _block(course_key: str, kind: str, name: str) -> str:
    return course_key.replace("course-v1:", "block-v1:") + f"+type@{kind}+block@{name}"


def learner_id(course_key: str, learner: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{course_key}/learner{learner}"))


def learner_statements(course_key: str, learner: int, now: dt.datetime) -> list[dict[str, object]]:
    """xAPI statements of the shapes the report models read (registered, navigated, video
    played/paused, evaluated problem, course grade earned, progressed)."""
    actor = {
        "objectType": "Agent",
        "account": {"homePage": LMS_ROOT, "name": learner_id(course_key, learner)},
    }
    course_object = {
        "id": f"{LMS_ROOT}/course/{course_key}",
        "objectType": "Activity",
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/course",
            "extensions": {"https://w3id.org/xapi/acrossx/extensions/type": "audit"},
        },
    }
    video = f"{LMS_ROOT}/xblock/{_block(course_key, 'video', 'video1')}"
    video_type = "https://w3id.org/xapi/video/activity-type/video"
    problem = f"{LMS_ROOT}/xblock/{_block(course_key, 'problem', 'problem1')}"
    sequential = f"{LMS_ROOT}/xblock/{_block(course_key, 'sequential', 'seq1')}"
    unit = f"{LMS_ROOT}/xblock/{_block(course_key, 'vertical', 'vert1')}"
    correct = learner % 2 == 1
    shapes: list[tuple[str, dict[str, object], dict[str, object], dict[str, object]]] = [
        ("http://adlnet.gov/expapi/verbs/registered", course_object, {}, {}),
    ]
    if learner > 0:
        shapes += [
            (
                "https://w3id.org/xapi/dod-isd/verbs/navigated",
                {
                    "id": sequential,
                    "objectType": "Activity",
                    "definition": {"type": "http://adlnet.gov/expapi/activities/lesson"},
                },
                {},
                {},
            ),
            (
                "https://w3id.org/xapi/video/verbs/played",
                {"id": video, "objectType": "Activity", "definition": {"type": video_type}},
                {"extensions": {"https://w3id.org/xapi/video/extensions/time": 0.0}},
                {"extensions": {"https://w3id.org/xapi/video/extensions/length": 120.0}},
            ),
            (
                "https://w3id.org/xapi/video/verbs/paused",
                {"id": video, "objectType": "Activity", "definition": {"type": video_type}},
                {"extensions": {"https://w3id.org/xapi/video/extensions/time": 30.0 * learner}},
                {"extensions": {"https://w3id.org/xapi/video/extensions/length": 120.0}},
            ),
            (
                "https://w3id.org/xapi/acrossx/verbs/evaluated",
                {
                    "id": problem,
                    "objectType": "Activity",
                    "definition": {
                        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                        "interactionType": "choice",
                    },
                },
                {
                    "success": correct,
                    "response": "b" if correct else "a",
                    "score": {
                        "scaled": 1.0 if correct else 0.0,
                        "raw": 1 if correct else 0,
                        "max": 1,
                    },
                },
                {},
            ),
            (
                "http://id.tincanapi.com/verb/earned",
                {
                    **course_object,
                    "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
                },
                {"score": {"scaled": 0.25 * learner, "raw": learner, "max": 4}},
                {},
            ),
            (
                "http://adlnet.gov/expapi/verbs/progressed",
                {
                    "id": unit,
                    "objectType": "Activity",
                    "definition": {"type": "http://adlnet.gov/expapi/activities/module"},
                },
                {
                    "completion": True,
                    "extensions": {"https://w3id.org/xapi/cmi5/result/extensions/progress": 100},
                },
                {},
            ),
        ]
    statements = []
    for index, (verb, obj, result, context) in enumerate(shapes):
        when = now - (
            dt.timedelta(days=30)
            if learner == 0
            else dt.timedelta(days=learner, minutes=60 - index)
        )
        data: dict[str, object] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{course_key}/{learner}/{index}")),
            "actor": actor,
            "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[-1]}},
            "object": obj,
            "timestamp": when.isoformat(),
            "version": "1.0.3",
            "context": {
                **context,
                "contextActivities": {
                    "parent": [{"id": f"{LMS_ROOT}/course/{course_key}", "objectType": "Activity"}]
                },
            },
        }
        if result:
            data["result"] = result
        statements.append(data)
    return statements


def seed(client: Client) -> None:
    """Migrate the store; course structure as the test LMS serves it; statements of every kind."""
    from aspects.courses.lms import structure_from_blocks
    from aspects.courses.store import store_structure

    migrate(client, StoreSettings(database=DATABASE))
    for key, name in COURSE_NAMES.items():
        structure = structure_from_blocks(key, default_blocks(LMSCourse(key, name)))
        store_structure(client, DATABASE, structure, "lms")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = []
    for course_key, learners in LEARNERS_PER_COURSE.items():
        for learner in range(learners):
            for data in learner_statements(course_key, learner, now):
                rows.append([uuid.UUID(str(data["id"])), orjson.dumps(data).decode(), now, "test"])
    client.insert(
        f"{DATABASE}.xapi_statements",
        rows,
        column_names=["statement_id", "statement", "stored_time", "source"],
    )


LOCAL_ADMIN = ("admin", "local-admin-pw")
# Small, so that the lockout test waits seconds, not minutes (but longer than three browser
# sign-ins take on a loaded machine: the count starts again that long after a failure).
LOGIN_MAX_FAILURES = 3
LOGIN_LOCKOUT = 12


def superset_settings(
    data_dir: Path,
    endpoint: Endpoint,
    lms: RunningLMS | None,
    port: int,
    metadata_url: str | None = None,
) -> Settings:
    """A deployment's settings: SSO against ``lms`` (None: no SSO, password sign-in only),
    metadata in SQLite under ``data_dir`` unless ``metadata_url`` is given."""
    sso = (
        {
            "lms_url": lms.url,
            "lms_client_id": CLIENT_ID,
            "lms_client_secret": CLIENT_SECRET,
            "lms_jwks_url": lms.jwks_url,
        }
        if lms is not None
        else {}
    )
    return load_settings(
        data_dir=data_dir,
        store={
            "database": DATABASE,
            "endpoint_port": endpoint.port,
            "admin_user": ADMIN[0],
            "admin_password": ADMIN[1],
            "readonly_user": READER[0],
            "readonly_password": READER[1],
        },
        dashboards={
            "port": port,
            "workers": 1,
            "venv": REPO / ".venv-superset",
            "admin_username": LOCAL_ADMIN[0],
            "admin_password": LOCAL_ADMIN[1],
            # fixed, so that a reused metadata database can decrypt what it stored
            "secret_key": "test-only-superset-secret-key-0123456789",
            "metadata_url": metadata_url,
            "login_max_failures": LOGIN_MAX_FAILURES,
            "login_lockout": LOGIN_LOCKOUT,
            **sso,
            "course_roles_ttl": 3,
        },
    )


def wait_for_superset(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    _wait(f"{url}/health", process, log, 180)
