"""The Overview page."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.core.roles import perm
from dashboard.overview.selectors import overview_for


@require_GET
@permission_required(perm("view_overview"), raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "overview/overview.html", overview_for(user=request.user))
