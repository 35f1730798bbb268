"""Croct user tokens (``X-Token``): base64url JWTs, unsigned or ES256-signed.

providers/croct.md: user token. Header ``{"typ": "JWT", "alg": "none", "appId": ...}``,
claims ``{"iss": "croct.io", "aud": "croct.io", "iat": ..., "sub"?: ...}``; an unsigned
token ends with an empty signature segment (``header.payload.``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from typing import Any

ISSUER = "croct.io"
AUDIENCE = "croct.io"
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """Raises ``ValueError`` for anything that is not unpadded base64url."""
    if not _SEGMENT_RE.match(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def _segment(data: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(data, separators=(",", ":")).encode("utf-8"))


def encode_unsigned_token(
    app_id: str, subject: str | None = None, *, issued_at: int | None = None
) -> str:
    """An ``alg: none`` token for ``subject`` (anonymous when None)."""
    header = {"typ": "JWT", "alg": "none", "appId": app_id}
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(time.time()) if issued_at is None else int(issued_at),
    }
    if subject is not None:
        claims["sub"] = subject
    return f"{_segment(header)}.{_segment(claims)}."


def decode_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a well-formed token; raises ``ValueError`` otherwise.

    Checks the shape only: three segments, JSON objects, a known ``alg``, an empty
    signature exactly when unsigned. Signatures are not verified.
    """
    if not isinstance(token, str):
        raise ValueError("the token is not a string")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a token has three dot-separated segments")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the token's header or claims are not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("the token's header and claims must be JSON objects")
    alg = header.get("alg")
    if alg not in ("none", "ES256"):
        raise ValueError(f"unsupported token algorithm {alg!r}")
    if (alg == "none") != (parts[2] == ""):
        raise ValueError("an unsigned token has an empty signature, a signed one does not")
    if parts[2]:
        b64url_decode(parts[2])
    return header, claims
