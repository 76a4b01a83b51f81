"""The endpoint's pure request rules: how a request splits into SQL, data, settings, users."""

from __future__ import annotations

import base64
import gzip

import lz4.frame
import pytest
import zstandard

from aspects.store.endpoint.auth import Users, credentials
from aspects.store.endpoint.engine import ADMIN, READER
from aspects.store.endpoint.protocol import (
    EndpointError,
    build_request,
    decode_body,
    encode_body,
    error_body,
    http_status,
    split_params,
)


def test_url_params_split_into_transport_settings_and_query_parameters() -> None:
    transport, settings, params = split_params(
        {
            "query": "SELECT 1",
            "database": "d",
            "max_threads": "2",
            "param_x": "v",
            "session_id": "s",
        }
    )
    assert transport == {"query": "SELECT 1", "database": "d", "session_id": "s"}
    assert settings == {"max_threads": "2"}
    assert params == {"x": "v"}
    with pytest.raises(EndpointError):
        split_params({"bad name; DROP": "1"})


def test_binary_insert_data_after_the_statement_stays_untouched() -> None:
    data = b"\x0a\x00\xff\xfe binary"  # starts with a newline byte, as a 10-column Native block
    request = build_request({}, b"INSERT INTO t (a, b) FORMAT Native\n" + data)
    assert request.sql == "INSERT INTO t (a, b)"
    assert request.data_format == "Native"
    assert request.data == data


def test_insert_statement_in_url_and_data_in_body() -> None:
    request = build_request({"query": "INSERT INTO t FORMAT JSONEachRow"}, b'{"a": 1}\n')
    assert (request.sql, request.data, request.data_format) == (
        "INSERT INTO t",
        b'{"a": 1}\n',
        "JSONEachRow",
    )


def test_query_is_url_query_followed_by_body() -> None:
    request = build_request({"query": "SELECT 1", "default_format": "JSON"}, b"UNION ALL SELECT 2")
    assert request.sql == "SELECT 1\nUNION ALL SELECT 2"
    assert request.data is None
    assert request.result_format == "JSON"
    assert build_request({}, b"SELECT 1 FORMAT CSV;").result_format == "CSV"
    values = build_request({}, b"INSERT INTO t VALUES (1)")
    assert values.data is None
    assert values.sql == "INSERT INTO t VALUES (1)"


def test_bad_requests_are_errors_with_codes() -> None:
    with pytest.raises(EndpointError) as empty:
        build_request({}, b"")
    assert http_status(empty.value.code) == 400
    with pytest.raises(EndpointError) as framing:
        build_request({"compress": "1"}, b"SELECT 1")
    assert framing.value.code == 1
    with pytest.raises(EndpointError):
        build_request({}, b"SELECT '\xff'")


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("lz4", lz4.frame.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("gzip", gzip.compress),
        (None, lambda data: data),
    ],
)
def test_request_bodies_are_decompressed(encoding: str | None, compress) -> None:  # type: ignore[no-untyped-def]
    data = b"SELECT 1 " * 1000
    assert decode_body(compress(data), encoding) == data


def test_corrupt_or_unknown_encodings_are_errors() -> None:
    with pytest.raises(EndpointError):
        decode_body(b"not lz4", "lz4")
    with pytest.raises(EndpointError):
        decode_body(b"x", "compress")


def test_responses_use_the_first_accepted_encoding() -> None:
    data = b"1\n" * 1000
    body, encoding = encode_body(data, "zstd, gzip")
    assert encoding == "zstd"
    assert zstandard.ZstdDecompressor().decompressobj().decompress(body) == data
    assert encode_body(data, "br") == (data, None)


def test_error_body_in_clickhouse_shape() -> None:
    own = error_body(516, "x: Authentication failed", "26.9")
    assert (
        own == "Code: 516. DB::Exception: x: Authentication failed. (AUTHENTICATION_FAILED)"
        " (version 26.9)\n"
    )
    engine = "Code: 60. DB::Exception: Unknown table. (UNKNOWN_TABLE)"
    assert error_body(60, engine, "26.9") == engine + " (version 26.9)\n"
    assert http_status(60) == 404
    assert http_status(164) == 403
    assert http_status(516) == 401
    assert http_status(241) == 500


def test_users_and_credentials() -> None:
    users = Users.create("admin", "secret-a", "reader", "secret-r")
    assert users.role("admin", "secret-a") == ADMIN
    assert users.role("reader", "secret-r") == READER
    for user, password in [("admin", "secret-r"), ("reader", "secret-a"), ("default", "")]:
        with pytest.raises(EndpointError) as error:
            users.role(user, password)
        assert error.value.code == 516
    assert b"secret-a" not in repr(users).encode()
    basic = "Basic " + base64.b64encode(b"admin:pa:ss").decode()
    assert credentials({"authorization": basic}, {}) == ("admin", "pa:ss")
    assert credentials({"x-clickhouse-user": "u", "x-clickhouse-key": "k"}, {}) == ("u", "k")
    assert credentials({}, {"user": "u", "password": "p"}) == ("u", "p")
    assert credentials({}, {}) == ("default", "")
    with pytest.raises(EndpointError):
        credentials({"authorization": "Basic !!!"}, {})


def test_accepted_connections_have_nagle_disabled() -> None:
    import socket

    from aspects.store.endpoint.server import listening_socket

    server = listening_socket("127.0.0.1", 0)
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        for sock in (accepted, client, server):
            sock.close()
