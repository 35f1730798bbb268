"""The call log: every provider call, and the failed ones on their own page."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.accounts.selectors import account_list
from dashboard.calls import selectors
from dashboard.calls.models import ApiCall, Outcome
from dashboard.core.params import parse_id
from dashboard.core.roles import perm
from integrations.errors import KIND_LABELS
from integrations.registry import provider_choices


def _filters_from(request: HttpRequest, **forced) -> tuple[selectors.CallFilters, dict]:
    params = request.GET
    values = {
        "account": parse_id(params.get("account", "")),
        "provider": params.get("provider", "")
        if params.get("provider", "") in dict(provider_choices())
        else "",
        "operation": params.get("operation", "")[:80],
        "outcome": params.get("outcome", "") if params.get("outcome", "") in Outcome.values else "",
        "problem_kind": params.get("kind", "") if params.get("kind", "") in KIND_LABELS else "",
        "correlation_id": params.get("correlation", "")[:64],
    }
    values.update(forced)
    return selectors.CallFilters(**values), values


def _call_list(request: HttpRequest, *, title: str, template_extra: dict, **forced) -> HttpResponse:
    filters, values = _filters_from(request, **forced)
    page = selectors.call_page(filters, cursor=request.GET.get("cursor", ""))
    template = "calls/list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows"
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        template,
        {
            "title": title,
            "page": page,
            "filters": values,
            "query": query.urlencode(),
            "accounts": account_list(),
            "providers": provider_choices(),
            "operations": selectors.operations(),
            "outcomes": Outcome.choices,
            "kinds": sorted(KIND_LABELS.items(), key=lambda kv: kv[1]),
            **template_extra,
        },
    )


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_errors"), raise_exception=True)
def call_list(request: HttpRequest) -> HttpResponse:
    return _call_list(request, title="API calls", template_extra={"section": "calls"})


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_errors"), raise_exception=True)
def error_list(request: HttpRequest) -> HttpResponse:
    return _call_list(
        request,
        title="Failed API calls",
        template_extra={"section": "errors"},
        outcome=Outcome.FAILED,
    )


@require_GET
@permission_required(perm("view_errors"), raise_exception=True)
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = get_object_or_404(ApiCall.objects.select_related("account"), pk=pk)
    return render(
        request, "calls/detail.html", {"call": call, "related": selectors.related_calls(call)}
    )
