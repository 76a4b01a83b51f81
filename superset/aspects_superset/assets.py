"""Dashboards as files: our compact asset files -> Superset's import bundle.

The files under ``assets/`` say what matters (a dataset's SQL, columns and metrics; a chart's
type, metrics and grouping; a dashboard's rows and filters). This module expands them into the
YAML documents Superset's ``ImportAssetsCommand`` takes (the format of its own exports), with
UUIDs derived from names so that every import overwrites the same objects: importing is
idempotent and nothing is clicked together by hand.

Invariant checked here, not hoped for: every dataset has a ``course_key`` column (the row-level
security boundary) and an ``org`` column, and every chart reads a declared dataset.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

ASSETS_DIR = Path(__file__).with_name("assets")
NAMESPACE = uuid.UUID("6f1c2a8e-4b1d-5e7a-9c3f-0a5e7d2b8c41")
MASKED_PASSWORD = "XXXXXXXXXX"
DATABASE_FILE = "databases/aspects.yaml"
REQUIRED_COLUMNS = ("course_key", "org", "course_name")
# Native filters and the dataset column each one filters (by name, in every chart in scope).
FILTER_COLUMNS = {"org": "org", "course": "course_name", "learner": "learner"}


def asset_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


class AssetError(ValueError):
    """An asset file breaks a rule; the message names the file and the rule."""


@dataclass(frozen=True)
class Bundle:
    contents: dict[str, str]  # path in the bundle -> YAML text
    passwords: dict[str, str]
    dashboards: list[str]  # titles, in file order


def load_specs(directory: Path = ASSETS_DIR) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    datasets = yaml.safe_load((directory / "datasets.yaml").read_text())["datasets"]
    by_name = {spec["name"]: spec for spec in datasets}
    dashboards = [
        yaml.safe_load(path.read_text()) | {"file": path.name}
        for path in sorted((directory / "dashboards").glob("*.yaml"))
    ]
    return by_name, dashboards


def _masked(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    password = parts.password or ""
    if not password:
        return uri, ""
    netloc = parts.netloc.replace(f":{password}@", f":{MASKED_PASSWORD}@", 1)
    return urlunsplit(parts._replace(netloc=netloc)), password


def database_document(name: str, uri: str) -> tuple[dict[str, Any], str]:
    masked, password = _masked(uri)
    document = {
        "database_name": name,
        "sqlalchemy_uri": masked,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True},
        "uuid": asset_uuid("database", "aspects"),
        "version": "1.0.0",
    }
    return document, password


def dataset_document(spec: dict[str, Any], database: str) -> dict[str, Any]:
    columns = spec["columns"]
    names = {column["name"] for column in columns}
    for required in REQUIRED_COLUMNS:
        if required not in names:
            raise AssetError(f"dataset {spec['name']}: needs a {required} column")
    dttm = [column["name"] for column in columns if column.get("dttm")]
    return {
        "table_name": spec["name"],
        "main_dttm_col": spec.get("main_dttm") or (dttm[0] if dttm else None),
        "description": spec.get("description"),
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "catalog": None,
        "schema": database,
        "sql": spec["sql"].replace("{db}", database).strip(),
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": asset_uuid("dataset", spec["name"]),
        "metrics": [
            {
                "metric_name": metric["name"],
                "verbose_name": metric.get("label", metric["name"].replace("_", " ").title()),
                "metric_type": None,
                "expression": metric["expression"],
                "description": metric.get("description"),
                "d3format": metric.get("format"),
                "extra": {},
                "warning_text": None,
            }
            for metric in spec.get("metrics", [])
        ],
        "columns": [
            {
                "column_name": column["name"],
                "verbose_name": column.get("label"),
                "is_dttm": bool(column.get("dttm")),
                "is_active": True,
                "type": column["type"],
                "advanced_data_type": None,
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": column.get("description"),
                "python_date_format": None,
                "extra": {},
            }
            for column in columns
        ],
        "version": "1.0.0",
        "database_uuid": asset_uuid("database", "aspects"),
    }


def _time_filter(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    dttm = dataset.get("main_dttm") or next(
        (column["name"] for column in dataset["columns"] if column.get("dttm")), None
    )
    if dttm is None:
        return []
    return [
        {
            "clause": "WHERE",
            "comparator": "No filter",
            "expressionType": "SIMPLE",
            "operator": "TEMPORAL_RANGE",
            "subject": dttm,
        }
    ]


def chart_params(chart: dict[str, Any], dataset: dict[str, Any]) -> dict[str, Any]:
    """Form data of one chart, by viz type (the shapes Superset 6.1's own exports use)."""
    viz = chart["viz"]
    metric_names = {metric["name"] for metric in dataset.get("metrics", [])}
    column_names = {column["name"] for column in dataset["columns"]}
    metrics = chart.get("metrics") or ([chart["metric"]] if "metric" in chart else [])
    groupby = chart.get("groupby", [])
    for metric in metrics:
        if metric not in metric_names:
            raise AssetError(f"chart {chart['name']}: unknown metric {metric}")
    for column in [*groupby, *chart.get("columns", []), *filter(None, [chart.get("x_axis")])]:
        if column not in column_names:
            raise AssetError(f"chart {chart['name']}: unknown column {column}")
    adhoc_filters = _time_filter(dataset)
    if chart.get("where"):
        adhoc_filters.append(
            {"clause": "WHERE", "expressionType": "SQL", "sqlExpression": chart["where"]}
        )
    params: dict[str, Any] = {
        "viz_type": viz,
        "adhoc_filters": adhoc_filters,
        "row_limit": chart.get("row_limit", 10000),
        "color_scheme": "supersetColors",
        "extra_form_data": {},
        "dashboards": [],
    }
    if viz == "big_number_total":
        params.update(
            metric=metrics[0],
            subheader=chart.get("subheader", ""),
            y_axis_format="SMART_NUMBER",
            header_font_size=0.4,
            subheader_font_size=0.15,
        )
    elif viz in ("echarts_timeseries_line", "echarts_timeseries_bar"):
        params.update(
            x_axis=chart["x_axis"],
            time_grain_sqla=chart.get("time_grain", "P1D") if chart.get("temporal", True) else None,
            metrics=metrics,
            groupby=groupby,
            show_legend=True,
            legendOrientation="top",
            rich_tooltip=True,
            x_axis_sort_asc=True,
            truncate_metric=True,
            orientation=chart.get("orientation", "vertical"),
            stack="Stack" if chart.get("stack") else None,
            only_total=True,
            y_axis_format="SMART_NUMBER",
        )
        if not chart.get("temporal", True):
            params["x_axis_sort"] = metrics[0] if metrics else None
            params["x_axis_sort_asc"] = False
    elif viz == "pie":
        params.update(
            metric=metrics[0],
            groupby=groupby,
            show_legend=True,
            show_labels=True,
            label_type="key_percent",
            donut=True,
        )
    elif viz == "table":
        if chart.get("columns"):
            params.update(
                query_mode="raw",
                all_columns=chart["columns"],
                order_by_cols=[],
                server_pagination=False,
            )
        else:
            params.update(
                query_mode="aggregate",
                groupby=groupby,
                metrics=metrics,
                order_desc=True,
                timeseries_limit_metric=metrics[0] if metrics else None,
            )
        params.update(table_timestamp_format="smart_date", include_search=True, show_cell_bars=True)
    else:
        raise AssetError(f"chart {chart['name']}: viz type {viz} is not supported here")
    return params


def _native_filters(spec: dict[str, Any], datasets: dict[str, Any]) -> list[dict[str, Any]]:
    source = spec.get("filter_dataset")
    labels = {"org": "Organization", "course": "Course", "learner": "Learner", "date": "Date"}
    columns = FILTER_COLUMNS
    filters = []
    for kind in spec.get("filters", []):
        filter_id = "NATIVE_FILTER-" + asset_uuid("filter", f"{spec['title']}:{kind}")[:20]
        base: dict[str, Any] = {
            "id": filter_id,
            "name": labels[kind],
            "type": "NATIVE_FILTER",
            "description": "",
            "cascadeParentIds": [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        }
        if kind == "date":
            base.update(filterType="filter_time", targets=[{}], controlValues={})
        else:
            if source is None:
                raise AssetError(f"dashboard {spec['title']}: filters need filter_dataset")
            column = columns[kind]
            if column not in {c["name"] for c in datasets[source]["columns"]}:
                raise AssetError(f"dashboard {spec['title']}: {source} has no column {column}")
            base.update(
                filterType="filter_select",
                targets=[
                    {"column": {"name": column}, "datasetUuid": asset_uuid("dataset", source)}
                ],
                controlValues={
                    "multiSelect": True,
                    "enableEmptyFilter": False,
                    "defaultToFirstItem": False,
                    "inverseSelection": False,
                    "searchAllOptions": False,
                },
            )
        filters.append(base)
    return filters


def dashboard_documents(
    spec: dict[str, Any], datasets: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    title = spec["title"]
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}},
    }
    charts = []
    for row_number, row in enumerate(spec["rows"], start=1):
        row_id = f"ROW-{row_number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        if sum(chart.get("width", 4) for chart in row) > 12:
            raise AssetError(f"dashboard {title}: row {row_number} is wider than 12")
        for chart in row:
            dataset = datasets.get(chart["dataset"])
            if dataset is None:
                raise AssetError(f"chart {chart['name']}: unknown dataset {chart['dataset']}")
            names = {column["name"] for column in dataset["columns"]}
            for kind in spec.get("filters", []):
                column = FILTER_COLUMNS.get(kind)
                if column is not None and column not in names:
                    raise AssetError(
                        f"dashboard {title}: filter {kind} needs column {column} in "
                        f"{chart['dataset']} (chart {chart['name']})"
                    )
            chart_uuid = asset_uuid("chart", f"{title}:{chart['name']}")
            chart_id = f"CHART-{chart_uuid[:8]}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "width": chart.get("width", 4),
                    "height": chart.get("height", 50),
                    "chartId": 0,
                    "uuid": chart_uuid,
                    "sliceName": chart["name"],
                },
            }
            charts.append(
                {
                    "slice_name": chart["name"],
                    "description": chart.get("description"),
                    "certified_by": None,
                    "certification_details": None,
                    "viz_type": chart["viz"],
                    "params": chart_params(chart, dataset),
                    "query_context": None,
                    "cache_timeout": None,
                    "uuid": chart_uuid,
                    "version": "1.0.0",
                    "dataset_uuid": asset_uuid("dataset", chart["dataset"]),
                }
            )
    dashboard = {
        "dashboard_title": title,
        "description": spec.get("description"),
        "css": "",
        "slug": spec["slug"],
        "certified_by": "",
        "certification_details": "",
        "published": True,
        "uuid": asset_uuid("dashboard", spec["slug"]),
        "position": position,
        "metadata": {
            "native_filter_configuration": _native_filters(spec, datasets),
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "default_filters": "{}",
            "chart_configuration": {},
            "shared_label_colors": [],
        },
        "version": "1.0.0",
    }
    return dashboard, charts


def build_bundle(
    database_name: str,
    clickhouse_uri: str,
    clickhouse_database: str,
    directory: Path = ASSETS_DIR,
) -> Bundle:
    datasets, dashboards = load_specs(directory)
    contents: dict[str, str] = {
        "metadata.yaml": yaml.safe_dump(
            {"version": "1.0.0", "type": "assets", "timestamp": datetime.now(UTC).isoformat()}
        )
    }
    database, password = database_document(database_name, clickhouse_uri)
    contents[DATABASE_FILE] = yaml.safe_dump(database, sort_keys=False)
    for spec in datasets.values():
        document = dataset_document(spec, clickhouse_database)
        contents[f"datasets/aspects/{spec['name']}.yaml"] = yaml.safe_dump(document)
    titles = []
    for spec in dashboards:
        dashboard, charts = dashboard_documents(spec, datasets)
        titles.append(spec["title"])
        contents[f"dashboards/{spec['slug']}.yaml"] = yaml.safe_dump(dashboard)
        for chart in charts:
            contents[f"charts/{chart['uuid']}.yaml"] = yaml.safe_dump(chart)
    return Bundle(contents, {DATABASE_FILE: password} if password else {}, titles)
