"""The call log (every provider call) and the error groups its failures fold into."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.calls import charts, group_selectors, pii, selectors, triage_views
from dashboard.calls.forms import GroupStateForm
from dashboard.calls.groups import GroupStateError, group_set_state
from dashboard.calls.models import ApiCall, ErrorGroup, GroupState, Outcome, ProblemClass
from dashboard.core.params import parse_id, text_param
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
        "operation": text_param(params.get("operation"), 80),
        "outcome": params.get("outcome", "") if params.get("outcome", "") in Outcome.values else "",
        "problem_kind": params.get("kind", "") if params.get("kind", "") in KIND_LABELS else "",
        "correlation_id": text_param(params.get("correlation"), 64),
        "group": parse_id(params.get("group", "")),
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
            "accounts": selectors.account_choices(),
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


def _group_filters_from(request: HttpRequest) -> tuple[group_selectors.GroupFilters, dict]:
    params = request.GET
    provider = params.get("provider", "")
    values = {
        "provider": provider if provider in dict(provider_choices()) else "",
        "account": parse_id(params.get("account", "")),
        "operation": text_param(params.get("operation"), 80),
        "state": params.get("state", "") if params.get("state", "") in GroupState.values else "",
        "problem_class": (
            params.get("class", "") if params.get("class", "") in ProblemClass.values else ""
        ),
        "sort": params.get("sort", "")
        if params.get("sort", "") in group_selectors.GROUP_SORTS
        else "last_seen",
    }
    period = params.get("period", "")
    values["period"] = (
        period if period in group_selectors.PERIOD_LABELS else group_selectors.DEFAULT_PERIOD
    )
    filters = group_selectors.GroupFilters(**{k: v for k, v in values.items() if k != "period"})
    return filters, values


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_errors"), raise_exception=True)
def error_list(request: HttpRequest) -> HttpResponse:
    """The error groups, by last seen or count, each with a sparkline of the period."""
    filters, values = _group_filters_from(request)
    triage_filters = triage_views.triage_filters_from(request)
    filters = dataclasses.replace(filters, triage=triage_filters)
    cursor = request.GET.get("cursor", "")
    page = group_selectors.group_page(filters, cursor=cursor)
    ids = [g.pk for g in page.rows]
    series = group_selectors.group_series(ids, values["period"])
    accounts = group_selectors.group_accounts(ids)
    rows = [
        {
            "group": g,
            "spark": charts.sparkline(series.get(g.pk, [])),
            "period_count": sum(n for _, n in series.get(g.pk, [])),
            "accounts": accounts.get(g.pk, []),
        }
        for g in page.rows
    ]
    template = "calls/errors.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#groups"
    query = request.GET.copy()
    query.pop("cursor", None)
    accounts_choices, operations_choices = group_selectors.group_filter_choices()
    return render(
        request,
        template,
        {
            "section": "errors",
            "rows": rows,
            "page": page,
            "filters": values,
            "query": query.urlencode(),
            # Live updates refresh the first page only; an older page stays still.
            "live": not cursor,
            "poll_seconds": settings.ERRORS_POLL_SECONDS,
            "accounts": accounts_choices,
            "providers": provider_choices(),
            "operations": operations_choices,
            "states": GroupState.choices,
            "classes": ProblemClass.choices,
            "sorts": group_selectors.GROUP_SORTS.items(),
            "periods": group_selectors.PERIOD_LABELS.items(),
            **triage_views.list_context(request, triage_filters),
        },
    )


@require_GET
@permission_required(perm("view_errors"), raise_exception=True)
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ErrorGroup, pk=pk)
    bucket = "day" if request.GET.get("bucket") == "day" else "hour"
    series = group_selectors.group_chart(group, bucket=bucket)
    occurrences = group_selectors.group_occurrences(group)
    facets = group_selectors.group_facets(group)
    pii.mask_group_page(occurrences=occurrences, facets=facets, user=request.user)
    return render(
        request,
        "calls/group.html",
        {
            "section": "errors",
            "group": group,
            "bucket": bucket,
            "chart": charts.bar_chart(series, daily=bucket == "day"),
            "chart_total": sum(n for _, n in series),
            "occurrences": occurrences,
            "facets": facets,
            "form": GroupStateForm(),
            "retention_days": settings.CALL_LOG_RETENTION_DAYS,
            **triage_views.group_context(request, group),
        },
    )


@require_POST
@permission_required(perm("manage_errors"), raise_exception=True)
def group_state(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve, ignore or reopen a group, with a note."""
    group = get_object_or_404(ErrorGroup, pk=pk)
    form = GroupStateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose resolve, ignore or reopen.")
        return redirect("calls:group", pk=group.pk)
    try:
        group = group_set_state(
            group=group,
            action=form.cleaned_data["action"],
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except GroupStateError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Group marked {group.get_state_display().lower()}.")
    return redirect("calls:group", pk=group.pk)


@require_GET
@permission_required(perm("view_errors"), raise_exception=True)
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = get_object_or_404(ApiCall.objects.select_related("account"), pk=pk)
    related = selectors.related_calls(call)
    call = pii.call_for_viewer(call, request.user)  # masked copy; never saved
    return render(request, "calls/detail.html", {"call": call, "related": related})
