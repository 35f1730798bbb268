"""Altcraft's XML body format, both ways (providers/altcraft.md: XML form).

Wire shape: root ``<xml>``; one element per key; a key's leading underscore is
dropped in the element name (``_fname`` -> ``<fname>``); lists carry
``array="true"`` and hold one ``<item>`` per entry; responses come back under the
same root (``<xml><error>0</error>…</xml>``).

:func:`encode` is deterministic (key order as given, no pretty-printing), so a retry
of the same logical write sends byte-identical bytes (providers/altcraft.md:
deduplication).

Limits, all inherent to the format rather than to this code:
- Scalar types do not survive: every scalar travels as text. :func:`decode` turns
  text back into ``int`` only for elements that are numeric by definition
  (:data:`NUMERIC_ELEMENTS`, e.g. ``error``) and into ``bool`` only for
  :data:`BOOLEAN_ELEMENTS`; anything else comes back as ``str`` (a zip code
  ``"01234"`` must stay a string). ``True``/``False`` encode as ``true``/``false``.
- The dropped underscore is restored only for known system field names
  (:data:`SYSTEM_FIELD_NAMES`) directly inside profile containers
  (:data:`PROFILE_CONTAINERS`: ``data``, ``profile``, ``profiles`` items, ``fields``).
  A custom field named like a system field (``city`` beside ``_city``) cannot be told
  apart; :func:`encode` refuses a dict whose keys collide after the drop.
- ``None``, ``""`` and ``{}`` all encode as an empty element and decode as ``""``.
- Keys must be XML names once the underscore is dropped; text must be XML 1.0
  characters (no NUL or other C0 controls besides tab, newline, carriage return).
- Repeated child elements without ``array="true"`` decode as a list (tolerance for
  hand-written XML); array items may use any element name.
- DOCTYPE declarations are refused before and during parsing: no entity expansion,
  no external entities.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - only parses after the DOCTYPE guards below
from typing import Any

from integrations.depth import MAX_DEPTH

ROOT = "xml"
ITEM = "item"

# Known Altcraft system fields, without their underscore (providers/altcraft.md lists
# _fname, _lname, _bdate, _sex, _status, _tz, _city, _country, _region, "…"; the rest
# are [guess] and live here so the list changes in one place).
SYSTEM_FIELD_NAMES = frozenset(
    {
        "fname",
        "lname",
        "mname",
        "bdate",
        "sex",
        "status",
        "tz",
        "city",
        "country",
        "region",
        "lang",
        "postcode",
    }
)
PROFILE_CONTAINERS = frozenset({"data", "profile", "profiles", "fields"})
NUMERIC_ELEMENTS = frozenset(
    {"error", "db_id", "resource_id", "limit", "count", "total", "candidates", "_status"}
)
BOOLEAN_ELEMENTS = frozenset({"skip_triggers", "detect_geo"})

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
# Characters XML 1.0 cannot carry at all.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


class XmlCodecError(ValueError):
    """The value cannot be written as, or the bytes are not, Altcraft XML."""


# --- encode -------------------------------------------------------------------


def encode(payload: dict[str, Any]) -> bytes:
    """``payload`` as ``<xml>…</xml>`` UTF-8 bytes; raises :class:`XmlCodecError`."""
    if not isinstance(payload, dict):
        raise XmlCodecError("the XML root must be built from a dict")
    parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?><xml>']
    _encode_children(payload, parts, "")
    parts.append("</xml>")
    return "".join(parts).encode("utf-8")


def element_name(key: Any) -> str:
    """The element name for a dict key: its one leading underscore dropped."""
    if not isinstance(key, str):
        raise XmlCodecError(f"key {key!r} is not a string")
    name = key[1:] if key.startswith("_") else key
    if not _NAME.match(name):
        raise XmlCodecError(f"key {key!r} cannot be an XML element name")
    return name


def _encode_children(mapping: dict[str, Any], parts: list[str], path: str) -> None:
    seen: dict[str, str] = {}
    for key, value in mapping.items():
        name = element_name(key)
        if name in seen:
            raise XmlCodecError(
                f"keys {seen[name]!r} and {key!r} at {path or 'the root'} both become <{name}>"
            )
        seen[name] = key
        _encode_value(name, value, parts, f"{path}.{key}" if path else key)


def _encode_value(name: str, value: Any, parts: list[str], path: str) -> None:
    if isinstance(value, dict):
        if not value:
            parts.append(f"<{name}/>")
            return
        parts.append(f"<{name}>")
        _encode_children(value, parts, path)
        parts.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append(f'<{name} array="true"/>')
            return
        parts.append(f'<{name} array="true">')
        for index, item in enumerate(value):
            _encode_value(ITEM, item, parts, f"{path}[{index}]")
        parts.append(f"</{name}>")
    elif value is None or value == "":
        parts.append(f"<{name}/>")
    else:
        parts.append(f"<{name}>{_text(value, path)}</{name}>")


def _text(value: Any, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise XmlCodecError(f"{path}: {type(value).__name__} cannot be written as XML")
    if _BAD_CHARS.search(value):
        raise XmlCodecError(f"{path}: holds a character XML 1.0 cannot carry")
    return value.translate(_ESCAPES)


# --- decode -------------------------------------------------------------------


class _NoDoctypeBuilder(ET.TreeBuilder):
    """Fails the parse as soon as a DOCTYPE starts (the C parser calls this hook)."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise XmlCodecError("DOCTYPE declarations are not accepted")


def decode(body: bytes | str) -> dict[str, Any]:
    """The dict an ``<xml>…</xml>`` body holds; raises :class:`XmlCodecError`."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not raw.strip():
        raise XmlCodecError("empty body")
    # A DOCTYPE is how entity bombs and external entities get in; Altcraft never
    # sends one, so refusing it costs nothing.
    if _DOCTYPE.search(raw):
        raise XmlCodecError("DOCTYPE declarations are not accepted")
    # S314: the DOCTYPE refusal above and in _NoDoctypeBuilder is what defusedxml adds.
    parser = ET.XMLParser(target=_NoDoctypeBuilder())  # noqa: S314
    try:
        parser.feed(raw)
        root = parser.close()
    except ET.ParseError as exc:
        raise XmlCodecError(f"not well-formed XML: {exc}") from None
    if root.tag != ROOT:
        raise XmlCodecError(f"root element is <{root.tag}>, expected <{ROOT}>")
    # expat parses any depth; the recursive decoding below would not (RecursionError).
    if _element_depth(root) > MAX_DEPTH:
        raise XmlCodecError(f"elements nested more than {MAX_DEPTH} levels deep")
    value = _decode_element(root, restore=False)
    return value if isinstance(value, dict) else {}


def _element_depth(root: ET.Element) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in element)
    return deepest


def _decode_element(element: ET.Element, *, restore: bool) -> Any:
    children = list(element)
    if element.get("array") == "true":
        return [_decode_element(child, restore=restore) for child in children]
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        key = child.tag
        if restore and key in SYSTEM_FIELD_NAMES:
            key = f"_{key}"
        value = _decode_element(child, restore=key in PROFILE_CONTAINERS)
        if isinstance(value, str):
            value = _coerce(key, value)
        if key in result:
            previous = result[key]
            result[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[key] = value
    return result


def _coerce(key: str, text: str) -> Any:
    if key in NUMERIC_ELEMENTS and _INT.match(text.strip()):
        return int(text.strip())
    if key in BOOLEAN_ELEMENTS and text.strip() in ("true", "false", "1", "0"):
        return text.strip() in ("true", "1")
    return text
