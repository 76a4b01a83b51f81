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
from tests.lms.server import RunningLMS, free_port

REPO = Path(__file__).resolve().parents[2]
ADMIN = ("aspects", "admin-pw")
READER = ("aspects_reader", "reader-pw")
DATABASE = "aspects"
COURSE_NAMES = {COURSE_A: "Chemistry 101", COURSE_B: "Physics 201", COURSE_C: "Biology 110"}
# Statements seeded per course: distinct, so a count tells whose rows a user saw.
STATEMENTS_PER_COURSE = {COURSE_A: 30, COURSE_B: 20, COURSE_C: 10}
VERBS = [
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://id.tincanapi.com/verb/viewed",
    "http://adlnet.gov/expapi/verbs/completed",
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


def statement(course_key: str, learner: int, index: int, when: dt.datetime) -> dict[str, object]:
    block = course_key.replace("course-v1:", "block-v1:") + f"+type@problem+block@p{index % 3}"
    verb = VERBS[index % len(VERBS)]
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{course_key}/{learner}/{index}")),
        "actor": {
            "objectType": "Agent",
            "account": {
                "homePage": "http://lms.example",
                "name": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"learner{learner}")),
            },
        },
        "verb": {"id": verb, "display": {"en": verb.rsplit("/", 1)[-1]}},
        "object": {
            "id": f"http://lms.example/xblock/{block}",
            "objectType": "Activity",
            "definition": {"type": "http://adlnet.gov/expapi/activities/question"},
        },
        "result": {"score": {"scaled": (index % 5) / 4, "raw": index % 5, "max": 4}},
        "timestamp": when.isoformat(),
        "version": "1.0.3",
    }


def seed(client: Client) -> None:
    """Migrate the store and insert statements and course names for three courses."""
    migrate(client, StoreSettings(database=DATABASE))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows = []
    for course_key, count in STATEMENTS_PER_COURSE.items():
        for index in range(count):
            when = now - dt.timedelta(days=index % 7, hours=index)
            data = statement(course_key, index % 4, index, when)
            rows.append([uuid.UUID(str(data["id"])), orjson.dumps(data).decode(), now, "test"])
    client.insert(
        f"{DATABASE}.xapi_statements",
        rows,
        column_names=["statement_id", "statement", "stored_time", "source"],
    )
    client.insert(
        f"{DATABASE}.courses",
        [
            [key, key.split(":")[1].split("+")[0], name, 6, "test", now]
            for key, name in COURSE_NAMES.items()
        ],
        column_names=["course_key", "org", "display_name", "block_count", "source", "imported_at"],
    )


def superset_settings(data_dir: Path, endpoint: Endpoint, lms: RunningLMS, port: int) -> Settings:
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
            "admin_password": "local-admin-pw",
            "lms_url": lms.url,
            "lms_client_id": CLIENT_ID,
            "lms_client_secret": CLIENT_SECRET,
            "lms_jwks_url": lms.jwks_url,
            "course_roles_ttl": 3,
        },
    )


def wait_for_superset(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    _wait(f"{url}/health", process, log, 180)
