"""Small template helpers shared by every page."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from integrations import errors

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


@register.filter
def ago(moment) -> str:
    """ "just now" under a minute, else "5 minutes ago" (timesince's "0 minutes" read as
    a bug to people), with the exact time on hover."""
    if not moment:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        words = "just now"
    else:
        words = f"{timesince(moment, depth=1)} ago"
    exact = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, words)


@register.filter
def problem_heading(problem: dict | None) -> errors.Heading | None:
    """The title, HTTP status and provider code of a stored problem (a dict with
    ``title``, ``kind``, ``status``, ``provider_code``), each once
    (integrations.errors.heading)."""
    if not problem:
        return None
    return errors.heading(
        title=problem.get("title", ""),
        kind=problem.get("kind", ""),
        status=problem.get("status"),
        code=problem.get("provider_code", ""),
    )


@register.filter
def call_heading(call: dict) -> errors.Heading | None:
    """The same heading for a call-log row (a dict of the call's list columns); None
    for a call that succeeded."""
    if not call or not call.get("problem_kind"):
        return None
    return errors.heading(
        title=call.get("problem_title", ""),
        kind=call["problem_kind"],
        status=call.get("status"),
        code=call.get("problem_code", ""),
    )
