"""HTMX helpers every app shares (django-htmx does the rest: ``request.htmx``).

A polled fragment ends its polling with django-htmx's :class:`HttpResponseStopPolling`
(htmx's 286); no app spells the status itself.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseStopPolling

__all__ = ["HttpResponseStopPolling", "render_polled"]


def render_polled(
    request: HttpRequest, template: str, context: dict[str, Any], *, done: bool
) -> HttpResponse:
    """``template`` rendered for a polling trigger: once ``done`` (and asked by htmx),
    as a :class:`HttpResponseStopPolling` so the trigger stops; a plain 200 otherwise."""
    if done and request.htmx:
        return HttpResponseStopPolling(render_to_string(template, context, request))
    return render(request, template, context)
