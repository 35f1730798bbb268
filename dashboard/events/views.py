"""Events: the composer, the live inspector, an event's detail, and replay."""

from __future__ import annotations

import json
from datetime import datetime, time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.accounts.selectors import account_list
from dashboard.core.params import parse_id, text_param
from dashboard.core.roles import perm
from dashboard.events import outbox, pacing, selectors
from dashboard.events import replay as replays
from dashboard.events.forms import ComposeForm, PaceForm, track_accounts
from dashboard.events.models import EventStatus, OutboundEvent, Replay
from dashboard.events.preparing import (
    EventRefused,
    adapter_for,
    event_providers,
    event_types_for,
    templates_for,
)
from integrations.http import POOL_MAXSIZE
from integrations.registry import provider_choices


# --- filters -------------------------------------------------------------------------
def _date(value: str, *, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    # ``until`` names the last day included.
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def _filters_from(request: HttpRequest, **forced) -> tuple[selectors.EventFilters, dict]:
    params = request.GET if request.method == "GET" else request.POST
    status = params.get("status", "")
    provider = params.get("provider", "")
    values = {
        "account": parse_id(params.get("account", "")),
        "provider": provider if provider in dict(provider_choices()) else "",
        "event_type": text_param(params.get("type"), 100),
        "status": status if status in EventStatus.values else "",
        "user_id": text_param(params.get("user"), 200),
        "since": _date(params.get("since", "")),
        "until": _date(params.get("until", ""), end=True),
        "text": text_param(params.get("q"), 200),
    }
    values.update(forced)
    return selectors.EventFilters(**values), values


def _query(request: HttpRequest, *drop: str) -> str:
    query = request.GET.copy()
    for name in ("cursor", "after", "paused", "section", *drop):
        query.pop(name, None)
    return query.urlencode()


def _list_context(request: HttpRequest, filters, values, *, section: str) -> dict:
    return {
        "section": section,
        "filters": values,
        "raw": request.GET,
        "query": _query(request),
        "accounts": account_list(),
        "providers": provider_choices(),
        "statuses": EventStatus.choices,
        "event_types": selectors.event_types(),
        "can_send": request.user.has_perm(perm("send_events")),
        "can_replay": _may_replay(request.user, filters),
        "provider_notes": [
            p.events.inspector_note for p in event_providers() if p.events.inspector_note
        ],
    }


def _delivered_labels() -> dict[str, str]:
    """provider key -> how its delivered events are named, where its adapter says a
    2xx proves less than delivery."""
    return {p.key: p.events.delivered_label for p in event_providers() if p.events.delivered_label}


def _labelled(rows: list[dict]) -> list[dict]:
    """``rows`` with a ``status_label`` where the provider names delivery otherwise."""
    labels = _delivered_labels()
    for row in rows:
        if row["status"] == EventStatus.DELIVERED and row["provider"] in labels:
            row["status_label"] = labels[row["provider"]]
    return rows


def _may_replay(user, filters: selectors.EventFilters | None = None) -> bool:
    """Marketers and admins replay anything; support replays a customer's events
    (a filter on one user id)."""
    if user.has_perm(perm("send_events")):
        return True
    return bool(
        user.has_perm(perm("replay_customer_events")) and filters is not None and filters.user_id
    )


# --- inspector -----------------------------------------------------------------------
@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_events"), raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    return _event_list(request, section="all")


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_events"), raise_exception=True)
def failures(request: HttpRequest) -> HttpResponse:
    return _event_list(request, section="failures", failures_only=True)


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_events"), raise_exception=True)
def for_customer(request: HttpRequest) -> HttpResponse:
    """The events sent for one customer, as a panel other pages load (the profile page
    asks for it by URL, so profiles never imports events). ``?key=`` repeats for each
    of the customer's ids at the providers."""
    keys = [text_param(value, 200) for value in request.GET.getlist("key")[:20]]
    events = selectors.events_for_user([k for k in keys if k])
    return render(request, "events/for_customer.html", {"events": events})


def _event_list(request: HttpRequest, *, section: str, **forced) -> HttpResponse:
    filters, values = _filters_from(request, **forced)
    page = selectors.event_page(filters, cursor=request.GET.get("cursor", ""))
    _labelled(page.rows)
    template = "events/list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    context = _list_context(request, filters, values, section=section)
    context.update({"page": page, "live": not request.GET.get("cursor")})
    return render(request, template, context)


@require_GET
@permission_required(perm("view_events"), raise_exception=True)
def live(request: HttpRequest) -> HttpResponse:
    """The live stream's poll: new rows (Live) or how many arrived (Paused)."""
    failures_only = request.GET.get("section") == "failures"
    filters, _ = _filters_from(request, failures_only=failures_only)
    after = parse_id(request.GET.get("after", "")) or 0
    paused = request.GET.get("paused") == "1"
    context = {"query": _query(request), "section": request.GET.get("section", "all")}
    if paused:
        context.update({"after": after, "waiting": selectors.count_after(filters, after_id=after)})
    else:
        rows = _labelled(selectors.events_after(filters, after_id=after))
        context.update({"rows": rows, "after": max([after, *(r["id"] for r in rows)])})
        # Rows the page shows as queued/sending come back when their status changed.
        pending = [parse_id(v) for v in request.GET.get("pending", "").split(",")[:200]]
        context["changed"] = _labelled(selectors.settled_events([pk for pk in pending if pk]))
    return render(request, "events/list.html#live", context)


# --- detail --------------------------------------------------------------------------
@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_events"), raise_exception=True)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(OutboundEvent.objects.select_related("account"), pk=pk)
    template = "events/detail.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#state"
    return render(request, template, _detail_context(request, event))


def _detail_context(request: HttpRequest, event: OutboundEvent) -> dict:
    adapter = adapter_for(event.provider)
    may_settle = request.user.has_perm(perm("send_events")) or request.user.has_perm(
        perm("replay_customer_events")
    )
    history = selectors.event_history(event)
    return {
        "event": event,
        "pretty": json.dumps(event.payload, indent=2, ensure_ascii=False),
        "history": history,
        # The state panel keeps polling until every attempt's call is in the log.
        "calls_pending": any(row.call_pending for row in history),
        "retention_days": settings.CALL_LOG_RETENTION_DAYS,
        "converted_format": adapter.converted_format if adapter else "",
        "converted_note": adapter.converted_note if adapter else "",
        "delivered_label": (adapter.delivered_label if adapter else "") or "Delivered",
        "delivered_note": adapter.delivered_note if adapter else "",
        "held_note": adapter.held_note if adapter else "",
        "same_user": selectors.events_for_user([event.user_id], exclude=event.pk, limit=20),
        "can_replay": event.is_failure and may_settle,
        "can_discard": event.is_held and may_settle,
    }


@require_POST
@permission_required(perm("view_events"), raise_exception=True)
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Settle a held event without resending it (someone checked at the provider)."""
    event = get_object_or_404(OutboundEvent, pk=pk)
    if not (
        request.user.has_perm(perm("send_events"))
        or request.user.has_perm(perm("replay_customer_events"))
    ):
        raise PermissionDenied
    try:
        replays.event_discard(event=event, actor=request.user)
    except replays.NotHeld:
        messages.error(request, "Only a held event can be discarded; this one is not held.")
    else:
        messages.success(request, f"Discarded event {event.pk}: it will not be sent.")
    return redirect("events:detail", pk=pk)


# --- composer ------------------------------------------------------------------------
def _initial_payload(account, template_name: str) -> str:
    template = templates_for(account.provider).get(template_name) if account else None
    return json.dumps(template, indent=2) if template else ""


@require_http_methods(["GET", "POST"])
@permission_required(perm("send_events"), raise_exception=True)
def compose(request: HttpRequest) -> HttpResponse:
    accounts = list(track_accounts())
    chosen = None
    if request.method == "GET":
        chosen = next(
            (a for a in accounts if a.pk == parse_id(request.GET.get("account", ""))), None
        )
        chosen = chosen or (accounts[0] if accounts else None)
        template_name = request.GET.get("template", "")
        form = ComposeForm(
            initial={
                "account": chosen,
                "event_type": template_name
                if chosen and template_name in templates_for(chosen.provider)
                else "",
                "payload": _initial_payload(chosen, template_name),
            }
        )
        return _compose_page(request, form, chosen)
    if request.POST.get("action") == "switch":
        return _compose_switched(request, accounts)
    form = ComposeForm(request.POST)
    result = None
    if form.is_valid():
        chosen = form.cleaned_data["account"]
        action = request.POST.get("action", "send")
        try:
            if action == "validate":
                result = outbox.event_prepare(
                    account=chosen,
                    payload=form.cleaned_data["payload"],
                    event_type=form.cleaned_data["event_type"],
                    options=form.options(),
                )
            else:
                with transaction.atomic():
                    event = outbox.event_queue(
                        account=chosen,
                        payload=form.cleaned_data["payload"],
                        event_type=form.cleaned_data["event_type"],
                        options=form.options(),
                        actor=request.user,
                    )
                messages.success(request, f"Queued {event.event_type} for {chosen.name}.")
                return redirect("events:detail", pk=event.pk)
        except EventRefused as exc:
            result = exc
            _attach_option_errors(form, exc)
    if request.htmx:
        return render(
            request,
            "events/compose.html#check",
            {"result": result, "form": form, **_provider_context(chosen)},
        )
    return _compose_page(
        request,
        form,
        chosen,
        result=result,
        status=200 if result is not None and not isinstance(result, EventRefused) else 422,
    )


def _compose_switched(request: HttpRequest, accounts: list) -> HttpResponse:
    """Another account picked: the page for it, with what was typed kept (#16 defect 10).

    Nothing is validated yet (the user has not asked to); provider options the new
    account also has keep their values.
    """
    chosen = next(
        (a for a in accounts if a.pk == parse_id(request.POST.get("account", ""))), None
    ) or (accounts[0] if accounts else None)
    typed = {key: request.POST.get(key, "") for key in request.POST if key != "action"}
    form = ComposeForm(initial={**typed, "account": chosen})
    return _compose_page(request, form, chosen)


def _attach_option_errors(form: ComposeForm, refused: EventRefused) -> None:
    """A refusal about a provider's own field (``url: ...``) shows at that field too."""
    for error in refused.errors:
        name, _, message = error.partition(": ")
        if name in form.option_names and message:
            form.add_error(name, message)


def _provider_context(chosen) -> dict:
    adapter = adapter_for(chosen.provider) if chosen else None
    return {"converted_note": adapter.converted_note if adapter else ""}


def _or_list(labels: list[str]) -> str:
    return " or ".join(filter(None, [", ".join(labels[:-1]), *labels[-1:]]))


def _compose_page(request, form, chosen, *, result=None, status=200) -> HttpResponse:
    return render(
        request,
        "events/compose.html",
        {
            "form": form,
            "chosen": chosen,
            "templates": sorted(templates_for(chosen.provider)) if chosen else [],
            "type_choices": event_types_for(chosen.provider) if chosen else [],
            "option_fields": form.option_fields(chosen),
            "accounts": track_accounts(),
            "event_providers": _or_list([p.label for p in event_providers()]),
            "result": result,
            **_provider_context(chosen),
        },
        status=status,
    )


# --- replay --------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@permission_required(perm("view_events"), raise_exception=True)
def replay(request: HttpRequest) -> HttpResponse:
    """Dry run (GET with ``dry=1``) then start (POST) a replay of failed/dead events."""
    filters, values = _filters_from(request, failures_only=True)
    params = request.GET if request.method == "GET" else request.POST
    event_id = parse_id(params.get("event", ""))
    if event_id:
        # One event, from its page: whoever may replay a customer's events may replay it.
        if not (
            request.user.has_perm(perm("send_events"))
            or request.user.has_perm(perm("replay_customer_events"))
        ):
            raise PermissionDenied
        events = OutboundEvent.objects.filter(pk=event_id)
    elif _may_replay(request.user, filters):
        events = selectors.filtered_events(filters)
    else:
        raise PermissionDenied
    plan = replays.replay_plan(events=events)
    if request.method == "POST":
        stored = {**filters.as_dict(), "event": event_id}
        started = replays.replay_start(plan=plan, filters=stored, actor=request.user)
        return redirect("events:replay_detail", pk=started.pk)
    context = _list_context(request, filters, values, section="replay")
    context.update(
        {"plan": plan, "event_id": event_id, "dry": True, "replays": selectors.recent_replays()}
    )
    return render(request, "events/replay.html", context)


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_events"), raise_exception=True)
def replay_detail(request: HttpRequest, pk: int) -> HttpResponse:
    replay_row = get_object_or_404(Replay, pk=pk)
    template = "events/replay_detail.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#progress"
    return render(
        request,
        template,
        {
            "replay": replay_row,
            "items": _replay_items(replay_row),
            "can_cancel": _may_replay(
                request.user,
                selectors.EventFilters(user_id=replay_row.filters.get("user_id") or ""),
            )
            or request.user == replay_row.requested_by,
        },
    )


def _replay_items(replay_row: Replay):
    return replay_row.items.select_related("event", "event__account").order_by("id")[:200]


@require_POST
@permission_required(perm("view_events"), raise_exception=True)
def replay_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    replay_row = get_object_or_404(Replay, pk=pk)
    if not (request.user.has_perm(perm("send_events")) or request.user == replay_row.requested_by):
        raise PermissionDenied
    replays.replay_cancel(replay=replay_row)
    if request.htmx:
        return render(
            request,
            "events/replay_detail.html#progress",
            {"replay": replay_row, "can_cancel": True, "items": _replay_items(replay_row)},
        )
    return redirect("events:replay_detail", pk=pk)


# --- delivery pace -------------------------------------------------------------------
def _pace_row_context(request: HttpRequest, row, form=None) -> dict:
    may_edit = request.user.has_perm(perm("manage_accounts"))
    if may_edit and form is None:
        rate = row.own_rate
        per_minute = rate is not None and pacing.is_per_minute(rate)
        form = PaceForm(
            prefix=f"pace-{row.account.pk}",
            max_concurrency=POOL_MAXSIZE,
            initial={
                "rate": None if rate is None else round(rate * 60 if per_minute else rate, 4),
                "per": "minute" if per_minute else "second",
                "concurrency": row.own_concurrency,
            },
        )
    return {
        "row": row,
        "form": form,
        "may_edit": may_edit,
        "rate_text": pacing.describe_rate(row.pace.rate),
        "default_text": pacing.describe_rate(row.default.rate),
    }


@require_GET
@permission_required(perm("view_events"), raise_exception=True)
def pace(request: HttpRequest) -> HttpResponse:
    """How fast each account's events go out, and (admins) each account's own pace."""
    return render(request, "events/pace.html", _pace_page_context(request))


def _pace_page_context(request: HttpRequest) -> dict:
    context = _list_context(request, None, {}, section="pace")
    rows = pacing.account_paces(list(track_accounts()))
    context["rows"] = [_pace_row_context(request, row) for row in rows]
    return context


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def pace_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Save (or, ``action=reset``, drop) an account's own pace. As htmx: the row again
    and the sentence; refused input comes back in the row as typed, with the reason."""
    account = get_object_or_404(track_accounts(), pk=pk)
    form = PaceForm(request.POST, prefix=f"pace-{account.pk}", max_concurrency=POOL_MAXSIZE)
    sentence, refused = "", False
    if request.POST.get("action") == "reset":
        sentence = pacing.pace_change(
            account=account, requests_per_second=None, concurrency=None, actor=request.user
        )
        form = None
    elif form.is_valid():
        sentence = pacing.pace_change(
            account=account,
            requests_per_second=form.requests_per_second(),
            concurrency=form.cleaned_data.get("concurrency"),
            actor=request.user,
        )
        form = None
    else:
        refused = True
        sentence = f"{account.name}'s pace was not changed: correct the fields marked below."
    if not request.htmx and not refused:
        messages.success(request, sentence)
        return redirect("events:pace")
    [row] = pacing.account_paces([account])
    edited = {**_pace_row_context(request, row, form), "sentence": sentence, "refused": refused}
    if request.htmx:
        # 200 even when refused: htmx swaps only 2xx, and the row must come back as typed.
        return render(request, "events/pace.html#row", edited)
    context = _pace_page_context(request)
    context["rows"] = [edited if r["row"].account.pk == pk else r for r in context["rows"]]
    context["sentence"], context["refused"] = sentence, refused
    return render(request, "events/pace.html", context, status=422)
