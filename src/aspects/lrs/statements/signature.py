"""Signed statements (xAPI 1.0.3 §2.6, 2.0 §4.2.7): the JWS signature attachment is checked.

The signature is a JWS (compact serialization) whose payload is the statement as it was before
the signature attachment was added; its algorithm must be RS256/RS384/RS512. When the JWS header
carries the signer's certificate chain (``x5c``) the signature itself is verified with it (the
first certificate's key); the LRS does not judge trust in the signer, which the specification
leaves to the reader. JWS handling is joserfc's.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from aspects.lrs.statements.prepare import normalize
from aspects.xapi.validation import StatementInvalid

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
ALGORITHMS = ("RS256", "RS384", "RS512")
# Properties the LRS (or the signing process itself) adds after signing.
_IGNORED = ("attachments", "authority", "stored", "version")
_SECONDS = re.compile(r"(\d+)[.,](\d+)S$")


class _Registry(jws.JWSRegistry):
    """joserfc's limits, raised for xAPI: an x5c chain or a statement exceeds the defaults."""

    max_header_length = 64 * 1024
    max_payload_length = 16 * 1024 * 1024


def _truncate_duration(duration: str) -> str:
    """Seconds cut to hundredths: xAPI compares durations at 0.01 s precision."""
    return _SECONDS.sub(lambda m: f"{m[1]}.{(m[2] + '00')[:2]}S", duration)


def _comparable(statement: dict[str, Any], keep_id: bool) -> dict[str, Any]:
    result = {
        key: value
        for key, value in normalize(statement).items()
        if key not in _IGNORED and (keep_id or key != "id")
    }
    if "id" in result:
        result["id"] = str(result["id"]).lower()
    outcome = result.get("result")
    if isinstance(outcome, dict) and isinstance(outcome.get("duration"), str):
        result["result"] = {**outcome, "duration": _truncate_duration(outcome["duration"])}
    return result


def _certificate_key(chain: Any) -> RSAKey:
    certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("the x5c certificate does not hold an RSA key")
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return RSAKey.import_key(pem)


def check_signature(statement: dict[str, Any], signature: bytes, path: str) -> None:
    """Raise :class:`StatementInvalid` unless ``signature`` is a valid JWS of ``statement``."""
    try:
        compact = jws.extract_compact(signature.strip(), registry=_Registry())
    except (JoseError, ValueError) as error:
        raise StatementInvalid(path, f"signature is not a valid JWS: {error}") from None
    header = compact.protected
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise StatementInvalid(
            path, f"JWS algorithm must be RS256, RS384 or RS512, not {algorithm!r}"
        )
    try:
        payload = orjson.loads(compact.payload)
    except orjson.JSONDecodeError:
        raise StatementInvalid(path, "JWS payload is not a JSON statement") from None
    if not isinstance(payload, dict):
        raise StatementInvalid(path, "JWS payload is not a JSON statement")
    keep_id = "id" in payload
    if _comparable(payload, keep_id) != _comparable(statement, keep_id):
        raise StatementInvalid(path, "JWS payload does not match the statement")
    chain = header.get("x5c")
    if chain:
        try:
            jws.deserialize_compact(
                signature.strip(),
                _certificate_key(chain),
                registry=_Registry(algorithms=[algorithm]),
            )
        except (JoseError, ValueError, TypeError, IndexError) as error:
            raise StatementInvalid(
                path, f"JWS signature does not verify with x5c: {error}"
            ) from None
