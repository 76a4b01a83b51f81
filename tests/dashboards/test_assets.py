"""The dashboard asset files: rules, and every dataset's SQL against the real store.

The asset builder (superset/aspects_superset/assets.py) needs only PyYAML, so it is imported
here from the checkout without Superset; the SQL runs through ``aspects db serve`` as the
read-only user, exactly as Superset sends it (a virtual dataset is a subquery).
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest
import yaml

from tests.dashboards.harness import (
    DATABASE,
    READER,
    REPO,
    STATEMENTS_PER_COURSE,
    Endpoint,
)
from tests.lms.fixtures import COURSE_A

sys.path.insert(0, str(REPO / "superset"))

from aspects_superset import assets

ISSUE_DASHBOARDS = {
    "course-overview",
    "engagement",
    "problem-performance",
    "video-engagement",
    "individual-learner",
    "at-risk-learners",
    "course-comparison",
    "operator-health",
}


@pytest.fixture(scope="module")
def specs() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return assets.load_specs()


def test_bundle_has_every_dashboard_of_the_issue_with_stable_ids() -> None:
    uri = "clickhousedb+connect://reader:secret@127.0.0.1:8123/aspects"
    first = assets.build_bundle("Aspects ClickHouse", uri, "aspects")
    again = assets.build_bundle("Aspects ClickHouse", uri, "aspects")
    slugs = {
        path.split("/")[1][: -len(".yaml")] for path in first.contents if "dashboards/" in path
    }
    assert slugs >= ISSUE_DASHBOARDS
    assert {k for k in first.contents if k != "metadata.yaml"} == {
        k for k in again.contents if k != "metadata.yaml"
    }
    database = yaml.safe_load(first.contents[assets.DATABASE_FILE])
    assert "secret" not in database["sqlalchemy_uri"]
    assert first.passwords == {assets.DATABASE_FILE: "secret"}


def test_every_dashboard_has_org_course_and_date_filters(
    specs: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    datasets, dashboards = specs
    for spec in dashboards:
        dashboard, charts = assets.dashboard_documents(spec, datasets)
        kinds = {f["name"] for f in dashboard["metadata"]["native_filter_configuration"]}
        assert {"Organization", "Course"} <= kinds, spec["title"]
        assert charts, spec["title"]


def test_a_dataset_without_course_key_is_refused(
    specs: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    datasets, _ = specs
    broken = copy.deepcopy(datasets["xapi_activity"])
    broken["columns"] = [c for c in broken["columns"] if c["name"] != "course_key"]
    with pytest.raises(assets.AssetError, match="course_key"):
        assets.dataset_document(broken, "aspects")


def test_a_chart_with_an_unknown_metric_is_refused(
    specs: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    datasets, dashboards = specs
    spec = copy.deepcopy(dashboards[0])
    spec["rows"][0][0]["metric"] = "no_such_metric"
    with pytest.raises(assets.AssetError, match="no_such_metric"):
        assets.dashboard_documents(spec, datasets)


def test_every_dataset_runs_on_the_store_with_its_declared_columns_and_metrics(
    endpoint: Endpoint, specs: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    datasets, _ = specs
    reader = endpoint.client(READER)
    for name, spec in datasets.items():
        document = assets.dataset_document(spec, DATABASE)
        result = reader.query(f"SELECT * FROM ({document['sql']}) AS virtual_table LIMIT 1000")
        declared = [column["column_name"] for column in document["columns"]]
        assert sorted(result.column_names) == sorted(declared), name
        assert result.row_count > 0, f"{name}: no rows from the seeded store"
        metrics = ", ".join(m["expression"] for m in document["metrics"])
        grouped = reader.query(
            f"SELECT course_key, {metrics} FROM ({document['sql']}) AS virtual_table "
            "GROUP BY course_key ORDER BY course_key"
        )
        assert grouped.row_count >= 1, name


def test_activity_counts_match_what_was_stored(endpoint: Endpoint) -> None:
    datasets, _ = assets.load_specs()
    document = assets.dataset_document(datasets["xapi_activity"], DATABASE)
    rows = (
        endpoint.client(READER)
        .query(f"SELECT course_key, count() FROM ({document['sql']}) GROUP BY course_key")
        .result_rows
    )
    assert dict(rows) == STATEMENTS_PER_COURSE
    assert COURSE_A in dict(rows)
