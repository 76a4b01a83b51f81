"""Signed statements (xAPI 1.0.3 §2.6, 2.0 §4.2.7): the JWS signature attachment is checked.

The signature is a JWS (compact serialization) whose payload is the statement as it was before
the signature attachment was added; its algorithm must be RS256/RS384/RS512. When the JWS header
carries the signer's certificate chain (``x5c``) the signature itself is verified with it; the
LRS does not judge trust in the signer (the specification leaves that to the reader).
"""

from __future__ import annotations

import base64
import re
from typing import Any

import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from aspects.lrs.statements.prepare import normalize
from aspects.xapi.validation import StatementInvalid

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
ALGORITHMS = ("RS256", "RS384", "RS512")
# Properties the LRS (or the signing process itself) adds after signing.
_IGNORED = ("attachments", "authority", "stored", "version")


_SECONDS = re.compile(r"(\d+)[.,](\d+)S$")


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


def check_signature(statement: dict[str, Any], signature: bytes, path: str) -> None:
    """Raise :class:`StatementInvalid` unless ``signature`` is a valid JWS of ``statement``."""
    try:
        token = signature.decode("ascii").strip()
        header = jwt.get_unverified_header(token)
        decoded = jwt.api_jws.PyJWS().decode_complete(token, options={"verify_signature": False})
    except (UnicodeDecodeError, jwt.InvalidTokenError) as error:
        raise StatementInvalid(path, f"signature is not a valid JWS: {error}") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise StatementInvalid(
            path, f"JWS algorithm must be RS256, RS384 or RS512, not {algorithm!r}"
        )
    try:
        payload = orjson.loads(decoded["payload"])
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
            certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
            key = certificate.public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("the x5c certificate does not hold an RSA key")
            jwt.api_jws.PyJWS().decode_complete(token, key=key, algorithms=[algorithm])
        except (ValueError, TypeError, jwt.InvalidTokenError) as error:
            raise StatementInvalid(
                path, f"JWS signature does not verify with x5c: {error}"
            ) from None
