"""Small template helpers shared by every page."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.filter
def safe_href(url: str) -> str:
    """``url`` when it is http(s), else "" — provider-supplied links never run script."""
    if not isinstance(url, str):
        return ""
    return url if urlsplit(url.strip()).scheme in ("http", "https") else ""


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for a dict, or a JSON string re-indented; other text unchanged."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
