"""The Alerts page (rules, destinations, history), an alert's delivery log, and the
"alerts for this" panel the error-group and account pages load."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.accounts.models import ConnectedAccount
from dashboard.alerts import selectors, services
from dashboard.alerts.forms import DestinationForm, RuleForm, SnoozeForm
from dashboard.alerts.models import Alert, AlertRule, Destination
from dashboard.alerts.rules import KINDS, describe
from dashboard.calls.models import ErrorGroup
from dashboard.core.params import parse_id
from dashboard.core.roles import perm

# Everyone reads the history (every role has view_errors); admins manage.
READ = perm("view_errors")
MANAGE = perm("manage_accounts")


def _destination_choices():
    return [(d.pk, d.display) for d in selectors.destination_list()]


def _filters(request: HttpRequest) -> selectors.HistoryFilters:
    return selectors.HistoryFilters(
        **{k: parse_id(request.GET.get(k, "")) for k in ("account", "group", "rule", "digest")}
    )


def _rule_rows(rules):
    return [
        {"rule": r, "kind": KINDS[r.kind], "summary": describe(r.kind, r.params)} for r in rules
    ]


@require_GET
@vary_on_headers("HX-Request")
@permission_required(READ, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    page = selectors.history_page(_filters(request), cursor=request.GET.get("cursor", ""))
    template = "alerts/index.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#history"
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, template, _page_context(request, page=page, query=query.urlencode()))


def _page_context(request, **extra) -> dict:
    can_manage = request.user.has_perm(MANAGE)
    context = {
        "section": "alerts",
        "can_manage": can_manage,
        "mail_backend": settings.EMAIL_BACKEND.rsplit(".", 2)[-2],
        "mail_file_path": getattr(settings, "EMAIL_FILE_PATH", ""),
        **extra,
    }
    if can_manage:
        context.update(
            rules=_rule_rows(selectors.rule_list()),
            destinations=selectors.destination_list(),
            rule_form=extra.get("rule_form")
            or RuleForm(destination_choices=_destination_choices()),
            destination_form=extra.get("destination_form") or DestinationForm(),
            kinds=list(KINDS.values()),
        )
    if "page" not in context:
        context["page"] = selectors.history_page(selectors.HistoryFilters())
    return context


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_add(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST, destination_choices=_destination_choices())
    if form.is_valid():
        destinations = list(Destination.objects.filter(pk__in=form.cleaned_data["destinations"]))
        try:
            rule = services.rule_add(
                kind=form.cleaned_data["kind"],
                destinations=destinations,
                params=form.params(),
                provider=form.cleaned_data["provider"],
                account=form.cleaned_data["account"],
                error_kind=form.cleaned_data["error_kind"],
                actor=request.user,
            )
        except services.AlertInputError as exc:
            for field, error in exc.errors.items():
                form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Rule {rule.pk} added: {KINDS[rule.kind].label}.")
            return redirect("alerts:index")
    return render(request, "alerts/index.html", _page_context(request, rule_form=form), status=422)


def _rule(pk: int) -> AlertRule:
    return get_object_or_404(AlertRule, pk=pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    services.rule_remove(rule=_rule(pk), actor=request.user)
    messages.success(request, f"Rule {pk} removed.")
    return redirect("alerts:index")


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_mute(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(pk)
    services.rule_set_muted(rule=rule, muted=not rule.muted, actor=request.user)
    messages.success(request, f"Rule {pk} {'muted' if rule.muted else 'unmuted'}.")
    return redirect(request.POST.get("next") if _safe_next(request) else "alerts:index")


def _safe_next(request: HttpRequest) -> bool:
    target = request.POST.get("next", "")
    return target.startswith("/") and not target.startswith("//")


def _until(request: HttpRequest):
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        return None, False
    hours = form.cleaned_data["hours"]
    return (timezone.now() + timedelta(hours=hours) if hours else None), True


@require_POST
@permission_required(MANAGE, raise_exception=True)
def rule_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _rule(pk)
    until, ok = _until(request)
    if not ok:
        messages.error(request, "Snooze for 0 to 720 hours.")
    else:
        services.rule_snooze(rule=rule, until=until, actor=request.user)
        messages.success(
            request,
            f"Rule {pk} snoozed until {until:%Y-%m-%d %H:%M}." if until else f"Rule {pk} awake.",
        )
    return redirect(request.POST.get("next") if _safe_next(request) else "alerts:index")


@require_POST
@permission_required(perm("manage_errors"), raise_exception=True)
def group_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(ErrorGroup, pk=pk)
    until, ok = _until(request)
    if not ok:
        messages.error(request, "Snooze for 0 to 720 hours.")
    else:
        services.group_snooze(group=group, until=until, actor=request.user)
        messages.success(
            request,
            "No alerts about this group until "
            + (f"{until:%Y-%m-%d %H:%M}." if until else "… it is awake again."),
        )
    return redirect("calls:group", pk=group.pk)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def destination_add(request: HttpRequest) -> HttpResponse:
    form = DestinationForm(request.POST)
    if form.is_valid():
        try:
            created = services.destination_create(
                target=form.cleaned_data["target"],
                label=form.cleaned_data["label"],
                actor=request.user,
            )
        except services.AlertInputError as exc:
            form.add_error("target", exc.errors["target"])
        else:
            # The signing secret is shown in this one answer and never again.
            return render(
                request,
                "alerts/index.html",
                _page_context(request, created=created, destination_form=DestinationForm()),
            )
    return render(
        request, "alerts/index.html", _page_context(request, destination_form=form), status=422
    )


@require_POST
@permission_required(MANAGE, raise_exception=True)
def destination_remove(request: HttpRequest, pk: int) -> HttpResponse:
    services.destination_remove(
        destination=get_object_or_404(Destination, pk=pk), actor=request.user
    )
    messages.success(request, "Destination removed.")
    return redirect("alerts:index")


@require_POST
@permission_required(MANAGE, raise_exception=True)
def destination_test(request: HttpRequest, pk: int) -> HttpResponse:
    destination = get_object_or_404(Destination, pk=pk)
    sentence = services.destination_test(destination=destination)
    if request.htmx:
        return render(
            request, "alerts/index.html#test-result", {"d": destination, "test_result": sentence}
        )
    messages.info(request, sentence)
    return redirect("alerts:index")


@require_GET
@permission_required(READ, raise_exception=True)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("rule", "account", "digest"), pk=pk)
    return render(
        request,
        "alerts/detail.html",
        {
            "section": "alerts",
            "alert": alert,
            "deliveries": alert.deliveries.select_related("destination").prefetch_related("tries"),
            "members": alert.members.order_by("id") if alert.is_digest else [],
        },
    )


@require_GET
@vary_on_headers("HX-Request")
@permission_required(READ, raise_exception=True)
def panel(request: HttpRequest) -> HttpResponse:
    """ "Alerts for this": for ``?group=`` or ``?account=``, the recent alerts, the
    rules that watch it, and snooze buttons (loaded into those pages by htmx)."""
    group_id, account_id = (
        parse_id(request.GET.get("group", "")),
        parse_id(request.GET.get("account", "")),
    )
    group = account = None
    if group_id:
        group = get_object_or_404(ErrorGroup, pk=group_id)
        rules = selectors.rules_for(group_provider=group.provider)
    elif account_id:
        account = get_object_or_404(ConnectedAccount, pk=account_id)
        rules = selectors.rules_for(account_id=account.pk)
    else:
        raise Http404("give ?group= or ?account=")
    page = selectors.history_page(
        selectors.HistoryFilters(group=group_id, account=account_id), page_size=10
    )
    template = "alerts/panel.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#panel"
    return render(
        request,
        template,
        {
            "section": "alerts",
            "group": group,
            "account": account,
            "rules": _rule_rows(rules),
            "alerts": page.rows,
            "snooze": selectors.group_snooze(group_id) if group_id else None,
            "can_manage": request.user.has_perm(MANAGE),
            "can_snooze_group": request.user.has_perm(perm("manage_errors")),
            "next": request.GET.get("next", "")
            if request.GET.get("next", "").startswith("/")
            else "",
        },
    )
