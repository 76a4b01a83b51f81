"""Superset on a PostgreSQL metadata database, and password sign-in on a site without SSO.

A throwaway PostgreSQL cluster (tests/lrs/postgres.py: initdb on a free loopback port, as an
unprivileged user when the tests run as root) holds Superset's metadata; ``aspects dashboards
init`` bootstraps it (twice: the second run must change nothing), gunicorn serves it, and
headless Chromium signs in as the local admin with its password through Superset's own sign-in
page (no LMS configured) and opens a dashboard whose charts read the seeded store.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser

from aspects.dashboards.superset import init, start
from aspects.settings import Settings
from tests.dashboards.browser import (
    chart_data,
    dataset_id,
    local_login,
    me,
    open_dashboard,
    password_login,
)
from tests.dashboards.harness import (
    DASHBOARD_SLUGS,
    LOCAL_ADMIN,
    STATEMENTS_PER_COURSE,
    Endpoint,
    stop_process,
    superset_settings,
    wait_for_superset,
)
from tests.lrs.postgres import Cluster, _bin_dir, postgres_cluster  # noqa: F401 (fixture)
from tests.support import free_port


@dataclass
class PostgresDeployment:
    url: str
    settings: Settings
    metadata_dsn: str  # for psycopg, to look into the metadata database
    process: subprocess.Popen[bytes]


def _dsn(cluster: Cluster, sqlalchemy_url: str) -> str:
    database = sqlalchemy_url.rsplit("/", 1)[-1]
    return f"host=127.0.0.1 port={cluster.port} user=aspects dbname={database}"


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The shared throwaway cluster; skipped only when PostgreSQL is not installed at all
    (`make test` installs it): any other reason it cannot start is a failure here."""
    if _bin_dir() is None:
        pytest.skip("PostgreSQL binaries not found (Debian: apt-get install -y postgresql)")
    try:
        found: Cluster = request.getfixturevalue("postgres_cluster")
    except pytest.skip.Exception as skipped:
        pytest.fail(f"PostgreSQL is installed but the test cluster did not start: {skipped}")
    return found


@pytest.fixture(scope="module")
def pg_deployment(
    tmp_path_factory: pytest.TempPathFactory, endpoint: Endpoint, cluster: Cluster
) -> Iterator[PostgresDeployment]:
    metadata_url = cluster.create_database()
    port = free_port()
    data_dir = tmp_path_factory.mktemp("superset-postgres")
    settings = superset_settings(data_dir, endpoint, None, port, metadata_url=metadata_url)
    init(settings)
    log = data_dir / "gunicorn.log"
    process = start(settings, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_superset(url, process, log)
        yield PostgresDeployment(url, settings, _dsn(cluster, metadata_url), process)
    finally:
        stop_process(process)


def _metadata(deployment: PostgresDeployment) -> tuple[list[str], list[str], int]:
    with psycopg.connect(deployment.metadata_dsn) as connection:
        slugs = [row[0] for row in connection.execute("SELECT slug FROM dashboards")]
        users = [row[0] for row in connection.execute("SELECT username FROM ab_user")]
        (charts,) = connection.execute("SELECT count(*) FROM slices").fetchone() or (0,)
    return sorted(s for s in slugs if s), users, int(charts)


def test_init_bootstraps_superset_into_postgresql_idempotently(
    pg_deployment: PostgresDeployment,
) -> None:
    slugs, users, charts = _metadata(pg_deployment)
    assert slugs == sorted(DASHBOARD_SLUGS)
    assert users == [LOCAL_ADMIN[0]]
    assert charts > len(DASHBOARD_SLUGS)
    result = init(pg_deployment.settings)  # again: stamps skip schema and roles
    assert result.venv.installed is False
    assert _metadata(pg_deployment) == (slugs, users, charts)


def test_admin_signs_in_with_password_without_sso_and_sees_data(
    pg_deployment: PostgresDeployment, browser: Browser, artifacts: Path
) -> None:
    page = password_login(browser, pg_deployment.url, "not-the-admin", LOCAL_ADMIN[1])
    try:
        assert me(page, pg_deployment.url) is None
    finally:
        page.context.close()
    page = password_login(browser, pg_deployment.url, *LOCAL_ADMIN)
    try:
        user = me(page, pg_deployment.url)
        assert user is not None
        assert user["username"] == LOCAL_ADMIN[0]
        counts = open_dashboard(
            page, pg_deployment.url, "course-overview", artifacts / "postgres-course-overview.png"
        )
        assert counts["charts"] > 0
        assert counts["errors"] == 0, counts
        assert counts["rendered"] == counts["charts"], counts
        dataset = dataset_id(page, pg_deployment.url, "xapi_activity")
        status, body = chart_data(page, pg_deployment.url, dataset, ["course_key"], ["statements"])
        assert status == 200, body
        seen = {row["course_key"]: row["statements"] for row in body["result"][0]["data"]}
        assert seen == STATEMENTS_PER_COURSE  # the admin sees every course
    finally:
        page.context.close()


def test_local_form_works_without_sso_too(
    pg_deployment: PostgresDeployment, browser: Browser
) -> None:
    context, page, status = local_login(browser, pg_deployment.url, *LOCAL_ADMIN)
    try:
        assert status == 200
        user = me(page, pg_deployment.url)
        assert user is not None
        assert user["username"] == LOCAL_ADMIN[0]
    finally:
        context.close()
