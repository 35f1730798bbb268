"""Reading Altcraft requests for the emulator: body, token, answer format, params.

The helpers raise :class:`~integrations.altcraft.sandbox_data.ApiError` the way the
platform would answer (``parse_body`` raises ``ValueError`` for an unreadable body).
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.wrappers import Request

from integrations.altcraft import xmlcodec
from integrations.altcraft.sandbox_data import ApiError, ProfileDatabase

MATCHINGS = ("email", "phone", "profile_id", "custom", "email_phone")
SYSTEM_FIELDS = frozenset(f"_{n}" for n in xmlcodec.SYSTEM_FIELD_NAMES)
_XML_TOKEN = re.compile(rb"<token>([^<]*)</token>")


def parse_body(raw: bytes, mimetype: str) -> dict[str, Any]:
    if not raw.strip():
        raise ValueError("empty body")
    if "xml" in mimetype:
        return xmlcodec.decode(raw)
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    if not isinstance(value, dict):
        raise ValueError("the body must be an object")
    return value


def loose_body(request: Request) -> dict[str, Any]:
    try:
        return parse_body(request.get_data(cache=True), request.mimetype)
    except ValueError:
        match = _XML_TOKEN.search(request.get_data(cache=True))
        return {"token": match.group(1).decode(errors="replace")} if match else {}


def token_of(request: Request, body: dict[str, Any]) -> str:
    token = body.get("token")
    if isinstance(token, str) and token:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("token", "")


def response_format(request: Request, body: Any) -> str:
    # providers/altcraft.md: response format from a `format` parameter or the headers.
    fmt = body.get("format") if isinstance(body, dict) else None
    fmt = fmt or request.args.get("format")
    if fmt in ("json", "xml"):
        return fmt
    accept = request.headers.get("Accept", "").lower()
    wants_xml = "application/xml" in accept or "text/xml" in accept
    wants_json = "application/json" in accept
    if wants_xml != wants_json:
        return "xml" if wants_xml else "json"
    if wants_xml:
        best = request.accept_mimetypes.best_match(["application/json", "application/xml"])
        return "xml" if best == "application/xml" else "json"
    return "xml" if "xml" in request.mimetype else "json"


def int_param(body: dict[str, Any], name: str, required: bool = False) -> int | None:
    value = body.get(name)
    if value in (None, ""):
        if required:
            raise ApiError(450, f"Request validation error: {name} is required")
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(450, f"Request validation error: {name} must be a number")
    return value


def criteria(body: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """``matching`` and the (field, value) pairs a profile must have."""
    matching = body.get("matching") or "email"
    if matching not in MATCHINGS:
        raise ApiError(450, f"Request validation error: unknown matching {matching!r}")
    if matching == "custom":
        # (name of the request parameter, profile field, value)
        wanted = [("field_value", str(body.get("field_name") or ""), body.get("field_value"))]
        if not body.get("field_name"):
            raise ApiError(450, "Request validation error: field_name is required")
    elif matching == "email_phone":
        wanted = [("email", "email", body.get("email")), ("phone", "phone", body.get("phone"))]
    else:
        wanted = [(matching, matching, body.get(matching))]
    for param, _, value in wanted:
        if value in (None, "") or isinstance(value, dict | list):
            raise ApiError(450, f"Request validation error: {param} is required")
    pairs = [(field, value) for _, field, value in wanted]
    return matching, [(field, str(value)) for field, value in pairs]


def find_matches(db: ProfileDatabase, matching: str, pairs: list[tuple[str, str]]) -> list[str]:
    found: set[str] | None = None
    for field, value in pairs:
        ids = set(db.find(field, value))
        found = ids if found is None else found & ids
    return sorted(found or ())


def find_one(db: ProfileDatabase, matching: str, pairs: list[tuple[str, str]]) -> str:
    ids = find_matches(db, matching, pairs)
    if not ids:
        raise ApiError(404, "Profile not found")
    if len(ids) > 1:
        raise ApiError(435, "Ambiguous search, there are several objects with given attributes")
    return ids[0]


def identity_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The fields a new profile gets from the identifier it was looked up by."""
    fields: dict[str, Any] = {}
    if body.get("email"):
        fields["email"] = body["email"]
    if body.get("phone"):
        fields["phones"] = [body["phone"]]
    if body.get("matching") == "custom" and body.get("field_name"):
        fields[str(body["field_name"])] = body.get("field_value")
    return fields


def clean_data(data: Any) -> dict[str, Any]:
    if data in (None, ""):
        return {}
    if not isinstance(data, dict):
        raise ApiError(450, "Request validation error: data must be an object")
    for key in data:
        if key.startswith("_") and key not in SYSTEM_FIELDS:
            raise ApiError(450, f"Request validation error: unknown system field {key}")
    if "phones" in data and not isinstance(data["phones"], list):
        raise ApiError(450, "Request validation error: phones must be an array")
    return data
