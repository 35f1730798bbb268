"""Slot content laid out for people: a tree that follows the slot schema when there is
one, and field-by-field diffs between two answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

COMPONENT_KEY = "_component"
MAX_DEPTH = 12


@dataclass
class Node:
    """One field of the content: ``kind`` is text, link, number, boolean, null, list or
    structure; lists and structures have ``children``."""

    label: str
    path: str
    kind: str
    value: Any = None
    children: list[Node] = field(default_factory=list)


def _is_link(value: str) -> bool:
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _kind_of(value: Any, schema_type: str | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "link" if _is_link(value) else "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "structure"
    return schema_type or "text"


def _definition(node: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    """A schema type node, following a ``reference`` into ``definitions`` once."""
    if not isinstance(node, dict):
        return {}
    if node.get("type") == "reference" and isinstance(node.get("id"), str):
        target = definitions.get(node["id"])
        return target if isinstance(target, dict) else {}
    return node


def _ordered_keys(value: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    attributes = schema.get("attributes") if isinstance(schema.get("attributes"), dict) else {}

    keys = [k for k in value if k != COMPONENT_KEY]

    # Schema positions first; fields the schema does not name keep the answer's order.
    def position(key: str) -> tuple[int, int]:
        attr = attributes.get(key)
        if isinstance(attr, dict) and isinstance(attr.get("position"), int):
            return (0, attr["position"])
        return (1, keys.index(key))

    return sorted(keys, key=position)


def build_tree(
    value: Any,
    schema: dict[str, Any] | None = None,
    *,
    label: str = "",
    path: str = "",
    definitions: dict[str, Any] | None = None,
    depth: int = 0,
) -> Node:
    """The readable tree of ``value``. ``schema`` is a type node (``{"type": "structure",
    "attributes": {name: {"position", "type"}}}``); without one the shape is inferred."""
    definitions = definitions or {}
    schema = _definition(schema, definitions)
    kind = _kind_of(value, schema.get("type"))
    node = Node(label=label, path=path, kind=kind, value=value)
    if depth >= MAX_DEPTH:
        node.kind, node.value = "text", json.dumps(value, ensure_ascii=False)[:500]
        return node
    if kind == "structure":
        attributes = schema.get("attributes") if isinstance(schema.get("attributes"), dict) else {}
        for key in _ordered_keys(value, schema):
            attr = attributes.get(key)
            child_schema = attr.get("type") if isinstance(attr, dict) else None
            node.children.append(
                build_tree(
                    value[key],
                    child_schema,
                    label=key,
                    path=f"{path}.{key}" if path else key,
                    definitions=definitions,
                    depth=depth + 1,
                )
            )
        node.value = None
    elif kind == "list":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else None
        for index, item in enumerate(value):
            node.children.append(
                build_tree(
                    item,
                    items,
                    label=f"#{index + 1}",
                    path=f"{path}[{index}]",
                    definitions=definitions,
                    depth=depth + 1,
                )
            )
        node.value = None
    return node


def content_tree(result: dict[str, Any] | None) -> Node | None:
    """The tree of a stored preview result (schema from ``metadata.schema`` if asked)."""
    if not result or not isinstance(result.get("content"), dict):
        return None
    schema = result.get("schema") if isinstance(result.get("schema"), dict) else {}
    definitions = schema.get("definitions")
    return build_tree(
        result["content"],
        schema.get("root"),
        definitions=definitions if isinstance(definitions, dict) else {},
    )


HEADLINE_KEYS = ("title", "heading", "headline", "message", "name")


def headline(result: dict[str, Any] | None) -> str:
    """The line a grid cell shows: the content's title-like text, else its first text."""
    content = (result or {}).get("content")
    if not isinstance(content, dict):
        return ""
    for key in HEADLINE_KEYS:
        if isinstance(content.get(key), str):
            return content[key]
    return next((v for k, v in content.items() if k != COMPONENT_KEY and isinstance(v, str)), "")


# --- diffs ----------------------------------------------------------------------------------
def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """``{"cta.label": "Start", "products[0].name": …}``: every leaf by its path."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{path}[{index}]"))
        return out
    return {path or "(root)": value}


def comparable(result: dict[str, Any] | None) -> dict[str, Any]:
    """What a marketer compares: the content plus where it came from."""
    if not result:
        return {}
    return {
        "content": result.get("content"),
        "source": result.get("source"),
        "experience": result.get("experience_id"),
        "variant": result.get("variant_id"),
    }


@dataclass(frozen=True)
class DiffRow:
    path: str
    left: Any
    right: Any
    change: str  # same, changed, added (only right), removed (only left)

    @property
    def left_text(self) -> str:
        return _show(self.left) if self.change != "added" else ""

    @property
    def right_text(self) -> str:
        return _show(self.right) if self.change != "removed" else ""


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


_MISSING = object()


def diff(left: dict[str, Any] | None, right: dict[str, Any] | None) -> list[DiffRow]:
    """Field-by-field rows for two stored results (content, source, experience, variant)."""
    a, b = flatten(comparable(left)), flatten(comparable(right))
    rows = []
    for path in list(a) + [p for p in b if p not in a]:
        va, vb = a.get(path, _MISSING), b.get(path, _MISSING)
        if va is _MISSING:
            rows.append(DiffRow(path, None, vb, "added"))
        elif vb is _MISSING:
            rows.append(DiffRow(path, va, None, "removed"))
        else:
            rows.append(DiffRow(path, va, vb, "same" if va == vb else "changed"))
    return rows


def differs(left: dict[str, Any] | None, right: dict[str, Any] | None) -> bool:
    return comparable(left) != comparable(right)
