"""Black-box tests of ``aspects db serve`` with clickhouse-connect, the client of Superset and dbt.

One server subprocess (its own chDB data directory) serves the whole module; every test works
in its own database.
"""

from __future__ import annotations

import gzip
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import clickhouse_connect
import httpx
import lz4.frame
import orjson
import pytest
import zstandard
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.store.endpoint_server import ADMIN, READER, Server, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("endpoint"))
    yield running
    assert running.stop() == 0


def connect(server: Server, user: tuple[str, str] = ADMIN, **kwargs: object) -> Client:
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=server.port, username=user[0], password=user[1], **kwargs
    )


@pytest.fixture
def admin(server: Server) -> Iterator[Client]:
    client = connect(server)
    yield client
    client.close()


@pytest.fixture
def database(admin: Client) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin.command(f"CREATE DATABASE {name}")
    yield name
    admin.command(f"DROP DATABASE IF EXISTS {name}")


def make_table(admin: Client, database: str) -> str:
    admin.command(
        f"CREATE TABLE {database}.events (id UInt64, name String, at DateTime64(3, 'UTC'), "
        "score Nullable(Float64)) ENGINE = MergeTree ORDER BY id"
    )
    return f"{database}.events"


def raw(server: Server, user: tuple[str, str] = ADMIN, **kwargs: object) -> httpx.Response:
    return httpx.post(server.url + "/", auth=user, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_create_insert_100k_rows_and_select(admin: Client, database: str) -> None:
    table = make_table(admin, database)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    rows = [
        [i, f"name-{i % 97}", start + timedelta(seconds=i), None if i % 10 == 0 else i / 7]
        for i in range(100_000)
    ]
    summary = admin.insert(table, rows, column_names=["id", "name", "at", "score"])
    assert summary.written_rows == 100_000
    result = admin.query(
        f"SELECT count(), sum(id), countIf(score IS NULL), max(at), uniqExact(name) FROM {table}"
    )
    assert result.result_rows == [
        (
            100_000,
            sum(range(100_000)),
            10_000,
            (start + timedelta(seconds=99_999)).replace(tzinfo=UTC),
            97,
        )
    ] or result.result_rows == [
        (
            100_000,
            sum(range(100_000)),
            10_000,
            start.replace(tzinfo=None) + timedelta(seconds=99_999),
            97,
        )
    ]
    frame = admin.query_df(f"SELECT id, name FROM {table} WHERE id < 3 ORDER BY id")
    assert frame["name"].tolist() == ["name-0", "name-1", "name-2"]


def test_query_parameters_server_and_client_side(admin: Client, database: str) -> None:
    table = make_table(admin, database)
    admin.insert(
        table, [[1, "a'b\tc", datetime(2024, 1, 1, tzinfo=UTC), 0.5]], ["id", "name", "at", "score"]
    )
    server_side = admin.query(
        f"SELECT id FROM {table} WHERE name = {{n:String}} AND id = {{i:UInt64}}",
        parameters={"n": "a'b\tc", "i": 1},
    )
    assert server_side.result_rows == [(1,)]
    client_side = admin.query(f"SELECT name FROM {table} WHERE id = %(i)s", parameters={"i": 1})
    assert client_side.result_rows == [("a'b\tc",)]
    assert admin.query("SELECT {x:String}", parameters={"x": "nothing"}).result_rows == [
        ("nothing",)
    ]


def test_errors_have_clickhouse_shape(server: Server, admin: Client) -> None:
    with pytest.raises(DatabaseError) as unknown:
        admin.query("SELECT * FROM no_such_table_here")
    assert unknown.value.code == 60
    response = raw(server, params={"query": "SELECT * FROM no_such_table_here"})
    assert response.status_code == 404
    assert response.headers["X-ClickHouse-Exception-Code"] == "60"
    assert response.text.startswith("Code: 60. DB::Exception: ")
    assert "(UNKNOWN_TABLE)" in response.text
    syntax = raw(server, content=b"SELEC 1")
    assert syntax.status_code == 400
    assert syntax.headers["X-ClickHouse-Exception-Code"] == "62"


def test_bad_insert_data_is_rejected_whole(server: Server, admin: Client, database: str) -> None:
    table = make_table(admin, database)
    body = b'{"id": 1, "name": "ok", "at": "2024-01-01 00:00:00"}\n{"id": "x"}\n'
    response = raw(
        server, params={"query": f"INSERT INTO {table} FORMAT JSONEachRow"}, content=body
    )
    assert response.status_code in (400, 500)
    assert int(response.headers["X-ClickHouse-Exception-Code"]) > 0
    assert admin.command(f"SELECT count() FROM {table}") == 0


def test_read_only_user_reads_but_cannot_write(
    server: Server, admin: Client, database: str
) -> None:
    table = make_table(admin, database)
    admin.insert(
        table, [[1, "a", datetime(2024, 1, 1, tzinfo=UTC), None]], ["id", "name", "at", "score"]
    )
    reader = connect(server, READER)
    assert reader.query(f"SELECT count() FROM {table}").result_rows == [(1,)]
    refused = [
        f"INSERT INTO {table} (id) VALUES (2)",
        f"DROP TABLE {table}",
        f"CREATE TABLE {database}.other (a UInt8) ENGINE = Memory",
        f"ALTER TABLE {table} DELETE WHERE 1",
        "SET readonly = 0",
        "SELECT 1 SETTINGS readonly = 0",
        "SELECT * FROM file('/etc/hostname', 'LineAsString')",
    ]
    for sql in refused:
        with pytest.raises(DatabaseError) as error:
            reader.command(sql)
        assert error.value.code == 164, sql
    with pytest.raises(DatabaseError) as insert_error:
        reader.insert(
            table, [[2, "b", datetime(2024, 1, 1, tzinfo=UTC), None]], ["id", "name", "at", "score"]
        )
    assert insert_error.value.code == 164
    lifted = raw(server, READER, params={"query": "SELECT 1", "readonly": "0"})
    assert lifted.status_code == 403
    assert lifted.headers["X-ClickHouse-Exception-Code"] == "164"
    assert admin.command(f"SELECT count() FROM {table}") == 1


def test_admin_get_requests_are_read_only(server: Server) -> None:
    response = httpx.get(
        server.url + "/", params={"query": "CREATE DATABASE never_created"}, auth=ADMIN
    )
    assert response.headers["X-ClickHouse-Exception-Code"] == "164"
    assert httpx.get(server.url + "/", params={"query": "SELECT 7"}, auth=ADMIN).text == "7\n"


@pytest.mark.parametrize(
    "user", [("aspects", "wrong"), ("nobody", "admin-pw"), ("aspects_reader", "admin-pw"), ("", "")]
)
def test_wrong_credentials_are_refused(server: Server, user: tuple[str, str]) -> None:
    with pytest.raises(DatabaseError) as error:
        connect(server, user)
    assert error.value.code == 516
    response = raw(server, user, content=b"SELECT 1")
    assert response.status_code == 401
    assert response.headers["X-ClickHouse-Exception-Code"] == "516"
    assert "(AUTHENTICATION_FAILED)" in response.text


def test_credentials_in_headers_and_url(server: Server) -> None:
    by_header = httpx.post(
        server.url + "/",
        headers={"X-ClickHouse-User": ADMIN[0], "X-ClickHouse-Key": ADMIN[1]},
        content=b"SELECT 1",
    )
    assert by_header.text == "1\n"
    by_url = httpx.post(
        server.url + "/", params={"user": READER[0], "password": READER[1]}, content=b"SELECT 2"
    )
    assert by_url.text == "2\n"
    wrong_key = httpx.post(
        server.url + "/",
        headers={"X-ClickHouse-User": ADMIN[0], "X-ClickHouse-Key": "nope"},
        content=b"SELECT 1",
    )
    assert wrong_key.status_code == 401


def test_query_in_url_and_body_default_format_and_database(server: Server, database: str) -> None:
    joined = raw(
        server, params={"query": "SELECT number FROM numbers(3)"}, content=b"WHERE number > 0"
    )
    assert joined.text == "1\n2\n"
    as_json = raw(server, params={"default_format": "JSONEachRow"}, content=b"SELECT 1 AS one")
    assert orjson.loads(as_json.content) == {"one": 1}
    assert as_json.headers["X-ClickHouse-Format"] == "JSONEachRow"
    own_format = raw(
        server, params={"default_format": "JSONEachRow"}, content=b"SELECT 1 AS one FORMAT CSV"
    )
    assert own_format.text == "1\n"
    assert own_format.headers["X-ClickHouse-Format"] == "CSV"
    current = raw(server, params={"database": database}, content=b"SELECT currentDatabase()")
    assert current.text == f"{database}\n"
    # The pooled connection that ran it must not keep the database for the next request.
    assert raw(server, content=b"SELECT currentDatabase()").text == "default\n"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("lz4", lambda data: lz4.frame.compress(data)),
        ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
        ("gzip", gzip.compress),
    ],
)
def test_compressed_json_insert(
    server: Server, admin: Client, database: str, encoding: str, compress
) -> None:  # type: ignore[no-untyped-def]
    table = make_table(admin, database)
    lines = b"".join(
        orjson.dumps({"id": i, "name": f"n{i}", "at": "2024-01-01 00:00:00", "score": None}) + b"\n"
        for i in range(1000)
    )
    body = compress(b"INSERT INTO " + table.encode() + b" FORMAT JSONEachRow\n" + lines)
    response = raw(server, content=body, headers={"Content-Encoding": encoding})
    assert response.status_code == 200, response.text
    assert orjson.loads(response.headers["X-ClickHouse-Summary"])["written_rows"] == "1000"
    assert admin.command(f"SELECT sum(id) FROM {table}") == sum(range(1000))


def test_raw_insert_formats(admin: Client, database: str) -> None:
    table = make_table(admin, database)
    admin.raw_insert(
        table,
        ["id", "name", "at"],
        b'{"id": 1, "name": "json", "at": "2024-01-01 00:00:00"}\n',
        fmt="JSONEachRow",
    )
    row_binary = admin.raw_query("SELECT toUInt64(2) AS id, 'binary' AS name FORMAT RowBinary")
    admin.raw_insert(table, ["id", "name"], row_binary, fmt="RowBinary")
    native = admin.raw_query("SELECT toUInt64(3) AS id, 'native' AS name FORMAT Native")
    admin.raw_insert(table, ["id", "name"], native, fmt="Native")
    assert admin.query(f"SELECT id, name FROM {table} ORDER BY id").result_rows == [
        (1, "json"),
        (2, "binary"),
        (3, "native"),
    ]


def test_compressed_responses(server: Server, admin: Client) -> None:
    compressed = connect(server, compress=True)
    assert compressed.query("SELECT count() FROM numbers(100000)").result_rows == [(100_000,)]
    response = raw(
        server,
        params={"enable_http_compression": "1"},
        headers={"Accept-Encoding": "zstd"},
        content=b"SELECT number FROM numbers(1000)",
    )
    assert response.headers["Content-Encoding"] == "zstd"
    assert response.text.splitlines()[-1] == "999"  # httpx decoded it
    by_default = raw(server, headers={"Accept-Encoding": "gzip"}, content=b"SELECT 1")
    assert by_default.headers["Content-Encoding"] == "gzip"
    assert by_default.text == "1\n"
    plain = raw(
        server,
        params={"enable_http_compression": "0"},
        headers={"Accept-Encoding": "zstd"},
        content=b"SELECT 1",
    )
    assert "Content-Encoding" not in plain.headers


def test_sessions_keep_state_and_requests_without_do_not(server: Server) -> None:
    session = {"session_id": uuid.uuid4().hex}
    assert raw(server, params=session, content=b"SET max_threads = 1").status_code == 200
    assert (
        raw(server, params=session, content=b"CREATE TEMPORARY TABLE tmp (a UInt8)").status_code
        == 200
    )
    assert raw(server, params=session, content=b"INSERT INTO tmp VALUES (5)").status_code == 200
    assert raw(server, params=session, content=b"SELECT a FROM tmp").text == "5\n"
    setting = b"SELECT value FROM system.settings WHERE name = 'max_threads'"
    assert raw(server, params=session, content=setting).text == "1\n"
    for _ in range(3):  # whichever pooled connection answers, the session's SET is not there
        assert raw(server, content=setting).text != "1\n"
    assert raw(server, params={"max_threads": "1"}, content=setting).text == "1\n"
    assert raw(server, content=b"SET max_threads = 1").status_code == 200
    for _ in range(3):
        assert raw(server, content=setting).text != "1\n"


def test_settings_as_url_parameters(server: Server, admin: Client) -> None:
    limited = raw(
        server,
        params={"max_result_rows": "5", "result_overflow_mode": "throw"},
        content=b"SELECT number FROM numbers(10)",
    )
    assert limited.status_code >= 400
    assert (
        admin.query("SELECT number FROM numbers(10)", settings={"max_threads": 1}).row_count == 10
    )
    bad = raw(server, params={"no_such_setting_x": "1"}, content=b"SELECT 1")
    assert bad.headers["X-ClickHouse-Exception-Code"] == "115"


def test_ping_and_root(server: Server) -> None:
    assert httpx.get(server.url + "/ping").text == "Ok.\n"
    assert httpx.get(server.url + "/").text == "Ok.\n"


def test_sixteen_concurrent_clients(server: Server, admin: Client, database: str) -> None:
    table = make_table(admin, database)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            client = connect(server)
            for batch in range(5):
                base = (worker * 5 + batch) * 1000
                rows = [
                    [base + i, f"w{worker}", datetime(2024, 1, 1, tzinfo=UTC), None]
                    for i in range(1000)
                ]
                client.insert(table, rows, column_names=["id", "name", "at", "score"])
                count = client.command(f"SELECT count() FROM {table} WHERE name = 'w{worker}'")
                assert count == (batch + 1) * 1000
            client.close()
        except BaseException as error:  # collected for the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    totals = admin.query(f"SELECT count(), uniqExact(id) FROM {table}").result_rows
    assert totals == [(16 * 5000, 16 * 5000)]


def test_sqlalchemy_dialect(server: Server, database: str) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(
        f"clickhousedb+connect://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{server.port}/{database}"
    )
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE s (a UInt32) ENGINE = Memory"))
        connection.execute(sqlalchemy.text("INSERT INTO s VALUES (1), (2), (3)"))
        total = connection.execute(sqlalchemy.text("SELECT sum(a) FROM s WHERE a > :m"), {"m": 1})
        assert total.scalar() == 5
        assert sqlalchemy.inspect(connection).get_table_names() == ["s"]
    engine.dispose()


SUPERSET_PYTHON = Path(__file__).resolve().parents[2] / ".venv-superset" / "bin" / "python"


@pytest.mark.skipif(not SUPERSET_PYTHON.exists(), reason="no .venv-superset (SQLAlchemy 1.4) here")
def test_sqlalchemy_14_as_superset_uses_it(server: Server, database: str) -> None:
    import subprocess

    script = (
        "import sqlalchemy as sa, sys\n"
        "assert sa.__version__.startswith('1.4'), sa.__version__\n"
        "e = sa.create_engine(sys.argv[1])\n"
        "with e.connect() as c:\n"
        "    sql = sa.text('SELECT sum(number) FROM numbers(10) WHERE number > :m')\n"
        "    print(c.execute(sql, {'m': 4}).scalar())\n"
    )
    url = f"clickhousedb+connect://{READER[0]}:{READER[1]}@127.0.0.1:{server.port}/{database}"
    out = subprocess.run(
        [str(SUPERSET_PYTHON), "-c", script, url], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "35"


def test_sigterm_shuts_down_cleanly_and_releases_the_database(tmp_path: Path) -> None:
    first = start_server(tmp_path)
    client = connect(first)
    client.command("CREATE TABLE default.kept (a UInt8) ENGINE = MergeTree ORDER BY a")
    client.command("INSERT INTO default.kept VALUES (42)")
    client.close()
    assert first.stop() == 0
    second = start_server(tmp_path)  # the data directory's lock was released
    try:
        assert connect(second).command("SELECT a FROM default.kept") == 42
    finally:
        assert second.stop() == 0


def test_a_session_belongs_to_its_user(server: Server) -> None:
    session = {"session_id": uuid.uuid4().hex}
    created = raw(server, params=session, content=b"CREATE TEMPORARY TABLE mine (a UInt8)")
    assert created.status_code == 200
    assert raw(server, params=session, content=b"EXISTS TEMPORARY TABLE mine").text == "1\n"
    other = raw(server, READER, params=session, content=b"EXISTS TEMPORARY TABLE mine")
    assert other.text == "0\n"


def test_form_encoded_query_and_parameters(server: Server) -> None:
    client = connect(server, form_encode_query_params=True)
    result = client.query("SELECT {x:String} AS x, {n:UInt8} + 1", parameters={"x": "form", "n": 1})
    assert result.result_rows == [("form", 2)]
    client.close()
