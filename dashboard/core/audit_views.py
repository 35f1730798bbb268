"""The audit trail: who changed which account or credential, and how."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.core.audit_selectors import audit_page
from dashboard.core.params import parse_id
from dashboard.core.roles import perm

PAGE_SIZE = 50


@require_GET
@permission_required(perm("view_audit"), raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    page = audit_page(before=parse_id(request.GET.get("before", "")), page_size=PAGE_SIZE)
    return render(request, "core/audit_list.html", {"entries": page.entries, "older": page.older})
