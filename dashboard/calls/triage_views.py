"""Triage pages of the error groups (issue #20): assign, snooze, bulk changes.

Assigning and snoozing need ``triage_errors`` (support staff and admins); resolving
and ignoring, in bulk too, need ``manage_errors`` as on the group page (admins).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.calls import triage
from dashboard.calls.groups import GroupStateError
from dashboard.calls.models import ErrorGroup
from dashboard.calls.triage_forms import AssignForm, BulkForm, SnoozeForm
from dashboard.core.params import text_param
from dashboard.core.roles import perm


def triage_filters_from(request: HttpRequest) -> triage.TriageFilters:
    params = request.GET
    assigned = params.get("assigned", "")
    snoozed = params.get("snoozed", "")
    return triage.TriageFilters(
        q=text_param(params.get("q"), triage.SEARCH_MAX_LENGTH),
        assigned=assigned if assigned in triage.ASSIGNED_CHOICES else "",
        user_id=request.user.pk,
        snoozed=snoozed if snoozed in triage.SNOOZED_CHOICES else "",
    )


def list_context(request: HttpRequest, filters: triage.TriageFilters) -> dict:
    """What the Errors page needs for search, the triage filters and the bulk form."""
    return {
        "triage": filters,
        "assigned_choices": triage.ASSIGNED_CHOICES.items(),
        "snoozed_choices": triage.SNOOZED_CHOICES.items(),
        "can_triage": request.user.has_perm(perm("triage_errors")),
        "can_manage": request.user.has_perm(perm("manage_errors")),
        "bulk_form": BulkForm(auto_id="bulk-%s"),
    }


def group_context(request: HttpRequest, group: ErrorGroup) -> dict:
    """What the group page needs for its Triage card."""
    return {
        "can_triage": request.user.has_perm(perm("triage_errors")),
        "assign_form": AssignForm(initial={"assignee": group.assignee_id}, auto_id="assign-%s"),
        "snooze_form": SnoozeForm(auto_id="snooze-%s"),
        "snoozed": triage.is_snoozed(group),
        "snooze_sentence": triage.snooze_sentence(group),
    }


@require_POST
@permission_required(perm("triage_errors"), raise_exception=True)
def group_assign(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ErrorGroup, pk=pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a staff member, or nobody.")
        return redirect("calls:group", pk=group.pk)
    assignee = form.cleaned_data["assignee"]
    group = triage.group_assign(group=group, assignee=assignee, actor=request.user)
    messages.success(
        request,
        f"Group assigned to {assignee.get_username()}." if assignee else "Group unassigned.",
    )
    return redirect("calls:group", pk=group.pk)


@require_POST
@permission_required(perm("triage_errors"), raise_exception=True)
def group_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ErrorGroup, pk=pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return redirect("calls:group", pk=group.pk)
    data = form.cleaned_data
    try:
        group = triage.group_snooze(
            group=group,
            actor=request.user,
            until=data["until"] if data["occurrences"] is None else None,
            occurrences=data["occurrences"],
            note=data["note"],
        )
    except GroupStateError as exc:
        messages.error(request, f"Not snoozed: {exc}.")
    else:
        messages.success(request, triage.snooze_sentence(group))
    return redirect("calls:group", pk=group.pk)


@require_POST
@permission_required(perm("triage_errors"), raise_exception=True)
def group_unsnooze(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ErrorGroup, pk=pk)
    triage.group_unsnooze(group=group, actor=request.user)
    messages.success(request, "Snooze ended: the group is back in the list.")
    return redirect("calls:group", pk=group.pk)


@require_POST
@permission_required(perm("triage_errors"), raise_exception=True)
def groups_bulk(request: HttpRequest) -> HttpResponse:
    """Resolve, ignore or assign the ticked groups; back to the same filtered list
    with one sentence saying what was done."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
        return _back_to_list(form.data.get("query", ""))
    data = form.cleaned_data
    if data["action"] != "assign" and not request.user.has_perm(perm("manage_errors")):
        raise PermissionDenied("resolving and ignoring need manage_errors")
    outcome = triage.groups_bulk(
        group_ids=data["groups"],
        action=data["action"],
        actor=request.user,
        assignee=data["assignee"],
    )
    messages.success(request, outcome.sentence)
    return _back_to_list(data["query"])


def _back_to_list(query: str) -> HttpResponse:
    # Parsed and re-encoded: whatever was posted, the redirect stays on this page.
    params = QueryDict(text_param(query, 2000).lstrip("?"), mutable=True)
    params.pop("cursor", None)
    encoded = params.urlencode()
    return redirect(reverse("calls:errors") + (f"?{encoded}" if encoded else ""))
