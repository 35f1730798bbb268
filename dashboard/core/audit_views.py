"""The audit trail: who changed which account or credential, and how."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.core.params import parse_id
from dashboard.core.roles import perm

PAGE_SIZE = 50


@require_GET
@permission_required(perm("view_audit"), raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-id")
    before = parse_id(request.GET.get("before", ""))
    if before:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: PAGE_SIZE + 1])
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render(request, "core/audit_list.html", {"entries": rows[:PAGE_SIZE], "older": older})
