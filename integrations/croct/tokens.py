"""Croct user tokens (``X-Token``): base64url JWTs, unsigned or ES256-signed.

providers/croct.md: user token. Header ``{"typ": "JWT", "alg": "none", "appId": ...}``,
claims ``{"iss": "croct.io", "aud": "croct.io", "iat": ..., "sub"?: ...}``; an unsigned
token ends with an empty signature segment (``header.payload.``).

Signed tokens are built as Croct's JavaScript SDK (``@croct/sdk`` 0.22, ``Token.signedWith``
and ``ApiKey``) builds them: the header gains ``kid`` (the hex SHA-256 of the API key id's
16 bytes) and ``alg: ES256``; the signature is ECDSA P-256/SHA-256 over
``header.payload`` in the raw r‖s form (WebCrypto's, and PyJWT's), base64url. The key is
the PKCS#8 private key after ``ES256;`` in the API key string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key

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


def _json(data: dict[str, Any]) -> bytes:
    # JSON.stringify's bytes: no spaces, non-ASCII left as UTF-8 (the SDK encodes UTF-8).
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _segment(data: dict[str, Any]) -> str:
    return b64url_encode(_json(data))


@dataclass(frozen=True)
class SigningKey:
    """The ``<key id>:ES256;<base64 PKCS#8>`` form of a Croct API key, parsed."""

    key_id: str
    private_key: ec.EllipticCurvePrivateKey

    @property
    def kid(self) -> str:
        return key_id_hash(self.key_id)


def key_id_hash(key_id: str) -> str:
    """The token's ``kid``: hex SHA-256 of the key id's bytes (the SDK's
    ``ApiKey.getIdentifierHash``: the UUID's 32 hex digits read as 16 bytes)."""
    return hashlib.sha256(bytes.fromhex(key_id.replace("-", ""))).hexdigest()


def signing_key(api_key: str) -> SigningKey | None:
    """The signing key an API key string carries, None for a bare key id.

    Raises ``ValueError`` when the part after ``:`` is not ``ES256;<PKCS#8 P-256 key>``.
    """
    key_id, sep, private = api_key.strip().partition(":")
    if not sep or not private:
        return None
    algorithm, _, encoded = private.partition(";")
    if algorithm != "ES256":
        raise ValueError(f"unsupported signing algorithm {algorithm!r}; Croct signs with ES256")
    try:
        key = load_der_private_key(base64.b64decode(encoded, validate=True), password=None)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("the signing key is not a base64 PKCS#8 private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("an ES256 signing key must be an EC P-256 private key")
    return SigningKey(key_id.strip(), key)


def _claims(subject: str | None, issued_at: int | None) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(time.time()) if issued_at is None else int(issued_at),
    }
    if subject is not None:
        claims["sub"] = subject
    return claims


def encode_unsigned_token(
    app_id: str, subject: str | None = None, *, issued_at: int | None = None
) -> str:
    """An ``alg: none`` token for ``subject`` (anonymous when None)."""
    header = {"typ": "JWT", "alg": "none", "appId": app_id}
    return f"{_segment(header)}.{_segment(_claims(subject, issued_at))}."


def encode_signed_token(
    app_id: str,
    key: SigningKey,
    subject: str | None = None,
    *,
    issued_at: int | None = None,
) -> str:
    """An ES256 token for ``subject``, signed as the SDK's ``Token.signedWith`` signs.

    Header keys keep the SDK's order (typ, alg, appId, kid) so the first two segments
    are byte-identical to the SDK's for the same inputs.
    """
    headers = {"typ": "JWT", "alg": "ES256", "appId": app_id, "kid": key.kid}
    return jwt.api_jws.encode(
        _json(_claims(subject, issued_at)),
        key.private_key,
        algorithm="ES256",
        headers=headers,
        sort_headers=False,
    )


def verify_signed_token(
    token: str, public_key: ec.EllipticCurvePublicKey, *, leeway: int = 60
) -> dict[str, Any]:
    """The claims of an ES256 token whose signature, issuer and audience check out.

    Raises ``ValueError`` naming what failed.
    """
    try:
        return jwt.decode(
            token,
            public_key,
            algorithms=["ES256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=leeway,
            options={"require": ["iat"]},
        )
    except jwt.PyJWTError as exc:
        raise ValueError(f"the token's signature or claims do not verify: {exc}") from None


def decode_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a well-formed token; raises ``ValueError`` otherwise.

    Checks the shape only: two or three segments (the SDK's ``Token.parse`` reads a
    token without its trailing dot as unsigned), JSON objects, a known ``alg``, an empty
    signature exactly when unsigned. Signatures are not verified.
    """
    if not isinstance(token, str):
        raise ValueError("the token is not a string")
    parts = token.split(".")
    if len(parts) == 2:
        parts.append("")
    if len(parts) != 3:
        raise ValueError("a token has two or three dot-separated segments")
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
