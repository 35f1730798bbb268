"""Hiding customers' contact details (emails, phones) from staff without
``see_contact_details`` — one rule for every page that shows them.

The profiles pages use it too (``dashboard/profiles/normalize.py``): a value is masked
when its key names a contact field (email, phone, mobile)
or when it is an email address. This module adds the same rule for raw text — call
bodies, URLs, problem details — which may be JSON, a query string, XML or prose.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dashboard.core.roles import perm

CONTACT_KEYS = frozenset({"email", "phone", "phones", "mobile"})

_EMAILISH = re.compile(r"[^@\s]+@[^@\s]+")
# In free text: an address, a "+"-prefixed phone number, or a contact element/field.
_EMAIL_IN_TEXT = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_IN_TEXT = re.compile(r"\+\d[\d\s().-]{5,}\d")
_CONTACT_ELEMENT = re.compile(
    r"<(?P<tag>[\w:.-]*(?:email|phone|mobile)[\w:.-]*)(?P<attrs>[^>]*)>(?P<value>[^<]*)</(?P=tag)>",
    re.IGNORECASE,
)


def may_see_contacts(user) -> bool:
    return bool(user and user.has_perm(perm("see_contact_details")))


def mask_email(value: str) -> str:
    local, sep, domain = str(value).partition("@")
    if not sep:
        return mask_text(value)
    return f"{local[:1]}•••@{domain}"


def mask_text(value: str) -> str:
    text = str(value)
    if len(text) <= 4:
        return "•" * len(text)
    return text[:3] + "•" * (len(text) - 5) + text[-2:]


def _is_contact_key(key: str) -> bool:
    leaf = str(key).rsplit(".", 1)[-1].lower()
    return leaf in CONTACT_KEYS or "email" in leaf or "phone" in leaf or "mobile" in leaf


def mask_value(key: str, value: Any) -> Any:
    """``value`` with contact details hidden when ``key`` names one (or holds an email)."""
    if isinstance(value, list):
        return [mask_value(key, v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(k, v) for k, v in value.items()}
    if value in (None, "") or isinstance(value, bool):
        return value
    if _is_contact_key(key):
        return mask_email(value) if "@" in str(value) else mask_text(value)
    if isinstance(value, str):
        if _EMAILISH.fullmatch(value):
            return mask_email(value)
        return mask_free_text(value)
    return value


def mask_free_text(text: str) -> str:
    """Emails, ``+`` phone numbers and contact elements (XML) in any text, masked."""
    text = _CONTACT_ELEMENT.sub(
        lambda m: f"<{m['tag']}{m['attrs']}>{mask_value(m['tag'], m['value'])}</{m['tag']}>",
        text,
    )
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_text(m.group()), text)


def mask_body(text: str) -> str:
    """A request or response body with contact details masked: JSON by key (then
    re-encoded), JSON Lines line by line, anything else as free text."""
    if not text:
        return text
    try:
        return json.dumps(mask_value("", json.loads(text)), ensure_ascii=False)
    except ValueError:
        pass
    lines = text.splitlines()
    if len(lines) > 1:
        try:
            return "\n".join(
                json.dumps(mask_value("", json.loads(line)), ensure_ascii=False) if line else line
                for line in lines
            )
        except ValueError:
            pass
    return mask_free_text(text)


def mask_url(url: str) -> str:
    """A URL whose query values (and path) carry no contact details."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_free_text(url)
    query = urlencode(
        [(k, mask_value(k, v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="@•",
    )
    return urlunsplit(parts._replace(path=mask_free_text(parts.path), query=query))


def mask_headers(headers: dict[str, Any]) -> dict[str, Any]:
    return {k: mask_value(k, v) for k, v in (headers or {}).items()}
