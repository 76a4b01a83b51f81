"""Attachments (multipart/mixed in and out) and signed statements (JWS) through the app."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from clickhouse_connect.driver.client import Client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import OctKey, RSAKey

from aspects.lrs.statements.multipart import parse_parts
from aspects.store.settings import StoreSettings
from tests.lrs import statements_helpers
from tests.lrs.statements_helpers import V2, credential, make_app, statement

SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"
BOUNDARY = "test-boundary-7f3a"

# The fixtures of the shared migrated database (see statements_helpers).
module_store = statements_helpers.module_store
lrs_store = statements_helpers.lrs_store


@pytest.fixture
def client(tmp_path: Path, lrs_store: tuple[Client, StoreSettings]) -> Iterator[TestClient]:
    app = make_app(tmp_path, *lrs_store)
    with TestClient(app) as test_client:
        test_client.headers.update({**credential(app, "all"), **V2})
        yield test_client


def attachment(
    content: bytes, usage: str = "http://example.org/usage/picture", kind: str = "image/png"
) -> dict[str, Any]:
    return {
        "usageType": usage,
        "display": {"en-US": "attachment"},
        "contentType": kind,
        "length": len(content),
        "sha2": hashlib.sha256(content).hexdigest(),
    }


def multipart(statements: Any, parts: list[tuple[str, bytes]], encoding: str = "binary") -> bytes:
    chunks = [
        f"--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n".encode(),
        orjson.dumps(statements),
        b"\r\n",
    ]
    for kind, content in parts:
        chunks.append(
            f"--{BOUNDARY}\r\nContent-Type: {kind}\r\nContent-Transfer-Encoding: {encoding}\r\n"
            f"X-Experience-API-Hash: {hashlib.sha256(content).hexdigest()}\r\n\r\n".encode()
        )
        chunks += [content, b"\r\n"]
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def post_multipart(client: TestClient, body: bytes) -> Any:
    return client.post(
        "/xAPI/statements",
        content=body,
        headers={"Content-Type": f"multipart/mixed; boundary={BOUNDARY}"},
    )


def test_attachment_round_trip(client: TestClient) -> None:
    content = bytes(range(256)) * 3 + b"\r\n--not-a-boundary\r\n"
    sent = statement(attachments=[attachment(content)])
    assert post_multipart(client, multipart(sent, [("image/png", content)])).status_code == 200
    got = client.get("/xAPI/statements", params={"statementId": sent["id"], "attachments": "true"})
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("multipart/mixed; boundary=")
    parts = parse_parts(got.content, got.headers["content-type"])
    assert orjson.loads(bytes(parts[0].body))["id"] == sent["id"]
    assert bytes(parts[1].body) == content
    assert parts[1].headers["x-experience-api-hash"] == hashlib.sha256(content).hexdigest()
    plain = client.get("/xAPI/statements", params={"statementId": sent["id"]})
    assert plain.headers["content-type"] == "application/json"


def test_attachment_rules(client: TestClient) -> None:
    content = b"payload"
    sent = statement(attachments=[attachment(content)])
    # Declared but not sent (and no fileUrl): 400; sent but not declared: 400.
    assert (
        client.post(
            "/xAPI/statements",
            content=orjson.dumps(sent),
            headers={"Content-Type": "application/json"},
        ).status_code
        == 400
    )
    assert (
        post_multipart(client, multipart(statement(), [("image/png", content)])).status_code == 400
    )
    assert (
        post_multipart(
            client, multipart(sent, [("image/png", content)], encoding="base64")
        ).status_code
        == 400
    )
    with_url = statement(
        attachments=[{**attachment(content), "fileUrl": "http://example.org/file"}]
    )
    assert (
        client.post(
            "/xAPI/statements",
            content=orjson.dumps(with_url),
            headers={"Content-Type": "application/json"},
        ).status_code
        == 200
    )
    form = client.post(
        "/xAPI/statements",
        content=orjson.dumps(with_url),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert form.status_code == 400


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed(
    sent: dict[str, Any], algorithm: str = "RS256", payload: Any = None, x5c: bool = False
) -> bytes:
    """A JWS of ``payload`` (default: the statement), optionally with a self-signed x5c chain."""
    pem = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    header: dict[str, Any] = {"alg": algorithm}
    if x5c:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(KEY.public_key())
            .serial_number(1)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(KEY, hashes.SHA256())
        )
        header["x5c"] = [
            base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
        ]
    body = orjson.dumps(payload if payload is not None else sent)
    registry = jws.JWSRegistry(algorithms=[algorithm, "HS256"])
    return jws.serialize_compact(header, body, RSAKey.import_key(pem), registry=registry).encode()


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_signed_statement_accepted(client: TestClient, algorithm: str) -> None:
    sent = statement()
    signature = signed(sent, algorithm)
    body = {**sent, "attachments": [attachment(signature, SIGNATURE, "application/octet-stream")]}
    assert (
        post_multipart(
            client, multipart(body, [("application/octet-stream", signature)])
        ).status_code
        == 200
    )


def test_signed_statement_rejections(client: TestClient) -> None:
    sent = statement()
    cases = [
        # HMAC instead of RSA:
        jws.serialize_compact(
            {"alg": "HS256"}, orjson.dumps(sent), OctKey.generate_key(256)
        ).encode(),
        signed(
            sent, payload={**sent, "verb": {"id": "http://example.org/other"}}
        ),  # payload differs
        b"not a jws",
    ]
    for signature in cases:
        body = {
            **sent,
            "attachments": [attachment(signature, SIGNATURE, "application/octet-stream")],
        }
        response = post_multipart(
            client, multipart(body, [("application/octet-stream", signature)])
        )
        assert response.status_code == 400, signature
    good = signed(sent)
    wrong_type = {**sent, "attachments": [attachment(good, SIGNATURE, "text/plain")]}
    assert post_multipart(client, multipart(wrong_type, [("text/plain", good)])).status_code == 400


def test_signature_with_x5c_is_verified(client: TestClient) -> None:
    sent = statement()
    good = signed(sent, x5c=True)
    body = {**sent, "attachments": [attachment(good, SIGNATURE, "application/octet-stream")]}
    assert (
        post_multipart(client, multipart(body, [("application/octet-stream", good)])).status_code
        == 200
    )
    head, payload, signature = good.split(b".")
    forged = b".".join(
        [head, payload, signature[:-6] + (b"AAAAAA" if signature[-6:] != b"AAAAAA" else b"BBBBBB")]
    )
    other = statement()
    body = {**other, "attachments": [attachment(forged, SIGNATURE, "application/octet-stream")]}
    # Payload of ``sent`` but body ``other``: rejected; and a broken signature over ``sent``:
    assert (
        post_multipart(client, multipart(body, [("application/octet-stream", forged)])).status_code
        == 400
    )
    again = {
        **sent,
        "id": sent["id"],
        "attachments": [attachment(forged, SIGNATURE, "application/octet-stream")],
    }
    response = post_multipart(client, multipart(again, [("application/octet-stream", forged)]))
    assert response.status_code == 400
    assert "x5c" in response.json()["message"]
