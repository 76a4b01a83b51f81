"""Who is asking: the endpoint's two users, checked in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from aspects.store.endpoint.engine import ADMIN, READER
from aspects.store.endpoint.protocol import AUTHENTICATION_FAILED, EndpointError


def _digest(salt: bytes, value: str) -> bytes:
    return hmac.new(salt, value.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class Users:
    """The admin and read-only users. Only salted digests of the passwords are kept."""

    admin_user: str
    admin_digest: bytes
    reader_user: str
    reader_digest: bytes
    salt: bytes = field(repr=False)

    @classmethod
    def create(
        cls, admin_user: str, admin_password: str, reader_user: str, reader_password: str
    ) -> Users:
        salt = secrets.token_bytes(32)
        return cls(
            admin_user,
            _digest(salt, admin_password),
            reader_user,
            _digest(salt, reader_password),
            salt,
        )

    def role(self, user: str, password: str) -> str:
        """The role of valid credentials; ClickHouse's authentication error otherwise.

        Both users are always compared, so the time taken tells nothing about which part
        was wrong.
        """
        given = _digest(self.salt, password)
        name = user.encode("utf-8")
        admin = hmac.compare_digest(name, self.admin_user.encode("utf-8")) & hmac.compare_digest(
            given, self.admin_digest
        )
        reader = hmac.compare_digest(name, self.reader_user.encode("utf-8")) & hmac.compare_digest(
            given, self.reader_digest
        )
        if admin:
            return ADMIN
        if reader:
            return READER
        raise EndpointError(
            AUTHENTICATION_FAILED,
            f"{user}: Authentication failed: password is incorrect, or there is no user with "
            "such name",
        )


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> tuple[str, str]:
    """User and password from Basic auth, X-ClickHouse-User/Key headers or URL parameters."""
    user = headers.get("x-clickhouse-user")
    password = headers.get("x-clickhouse-key")
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise EndpointError(AUTHENTICATION_FAILED, "Malformed Basic authorization") from None
        basic_user, _, basic_password = decoded.partition(":")
        if user is not None and user != basic_user:
            raise EndpointError(
                AUTHENTICATION_FAILED, "Basic auth and X-ClickHouse-User name different users"
            )
        user, password = basic_user, basic_password
    if user is None:
        user = params.get("user")
    if password is None:
        password = params.get("password")
    return user or "default", password or ""
