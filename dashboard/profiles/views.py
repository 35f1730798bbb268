"""Customer look-up, one profile, browsing, the cache, sync and export jobs, access log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling, reswap, retarget

from dashboard.accounts.models import ConnectedAccount
from dashboard.core.params import text_param
from dashboard.core.roles import perm
from dashboard.profiles import exports, jobs, selectors, services, sync, work
from dashboard.profiles.cache import cache_search
from dashboard.profiles.forms import (
    AttributeForm,
    BrowseFilterForm,
    CacheSearchForm,
    ExportForm,
    LookupForm,
)
from dashboard.profiles.models import (
    AccessAction,
    ExportJob,
    LookupRequest,
    LookupResult,
    ProfileWork,
    SyncJob,
    WorkKind,
    WorkStatus,
)
from dashboard.profiles.query import adapter_for
from integrations.provider import Capability


def _poll_response(request: HttpRequest, response: HttpResponse, done: bool) -> HttpResponse:
    """``response``, or the same fragment telling htmx to stop polling once done."""
    if not (done and request.htmx):
        return response
    stop = HttpResponseStopPolling(response.content, content_type=response["Content-Type"])
    if response.has_header("Vary"):
        stop["Vary"] = response["Vary"]
    return stop


def _filter_form(account: ConnectedAccount, data=None) -> BrowseFilterForm:
    adapter = adapter_for(account)
    return BrowseFilterForm(data, filter_fields=adapter.filter_fields if adapter else ())


# --- look-up ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required(perm("lookup_profiles"), raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        lookup = services.lookup_start(query=form.cleaned_data["q"], actor=request.user)
        return redirect("profiles:lookup", pk=lookup.pk)
    return render(
        request,
        "profiles/index.html",
        {
            "form": form,
            "recent": selectors.recent_lookups(user=request.user),
            "can_see_contacts": selectors.can_see_contacts(request.user),
            "browse_accounts": [
                a
                for a in services.lookup_accounts()
                if a.provider_class.can(Capability.PROFILE_BROWSE)
            ],
        },
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def lookup_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lookup = get_object_or_404(LookupRequest, pk=pk)
    if lookup.requested_by_id != request.user.pk and not request.htmx:
        # Someone else's look-up shows their customer to this user: a profile view
        # (#15 item 13). Once per page, not per poll of its results.
        services.access_record(user=request.user, action=AccessAction.VIEW, subject=lookup.query)
    context = selectors.lookup_view(lookup=lookup, user=request.user)
    context["form"] = LookupForm(initial={"q": context["query_shown"]})
    template = "profiles/lookup.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return _poll_response(request, response, context["done"])


@require_POST
@permission_required(perm("lookup_profiles"), raise_exception=True)
def lookup_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask one account again after its card failed; the results poll again."""
    result = get_object_or_404(LookupResult.objects.select_related("request"), pk=pk)
    services.lookup_result_retry(result=result)
    lookup = result.request
    if not request.htmx:
        return redirect("profiles:lookup", pk=lookup.pk)
    context = selectors.lookup_view(lookup=lookup, user=request.user)
    return render(request, "profiles/lookup.html#results", context)


# --- one profile --------------------------------------------------------------------
#
# Every provider call these pages need runs as a task on a ProfileWork row
# (dashboard/profiles/work.py); the views write the row and render what it holds,
# polling until the answer arrives. A view never opens a provider connection.

# Panels an action that fetched the profile again re-renders out of band.
PROFILE_PANELS = ("head", "facts", "attributes", "calls")


def _profile_context(request, account, profile_id: str, *, work=None) -> dict:
    """What the profile page's panels show, from the cache (masked as needed)."""
    cached = selectors.cached_profile(account_id=account.pk, profile_id=profile_id)
    profile = cached.data if cached else None
    shown = selectors.profile_for_display(profile, user=request.user) if profile else None
    keys = selectors.customer_keys(profile, account=account) if profile else []
    return {
        "account": account,
        "profile_id": profile_id,
        "profile": shown,
        "cached": cached,
        "stale": selectors.is_stale(cached.fetched_at) if cached else False,
        "calls": selectors.calls_for_customer(keys),
        # The call log is written by a background thread: until the action's calls
        # are in it, the calls panel keeps asking.
        "calls_awaited": work is not None and not selectors.calls_recorded(work),
        "calls_work": work,
        "customer_keys": keys,
        "can_edit": request.user.has_perm(perm("edit_profiles"))
        and account.provider_class.can(Capability.PROFILE_WRITE),
        "attribute_form": AttributeForm(),
    }


def _named_profile(profile_id: str) -> str:
    """``profile_id`` as the work row stores it; an id no provider issues (a NUL, which
    PostgreSQL refuses in text, or longer than any id) names no profile: 404."""
    if (
        "\x00" in profile_id
        or len(profile_id) > ProfileWork._meta.get_field("profile_id").max_length
    ):
        raise Http404("No such profile")
    return profile_id


def _not_called(exc: services.ProfileInputError) -> dict:
    # A disabled account (or one without a key) is not called: say so.
    return {"kind": "configuration", "title": "Not called", "detail": exc.message}


def _render_parts(request, template: str, main: str, oob: tuple[str, ...], context) -> HttpResponse:
    """The ``main`` partial, then each of ``oob`` marked for an out-of-band swap: every
    panel the action changed is re-rendered by its response."""
    html = render_to_string(f"{template}#{main}", context, request=request)
    for part in oob:
        html += render_to_string(f"{template}#{part}", {**context, "oob": True}, request=request)
    return HttpResponse(html)


def _profile_work(request, pk: int, kind: str) -> ProfileWork:
    return get_object_or_404(ProfileWork.objects.select_related("account"), pk=pk, kind=kind)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_detail(request: HttpRequest, account_pk: int, profile_id: str) -> HttpResponse:
    profile_id = _named_profile(profile_id)
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    context = _profile_context(request, account, profile_id)
    if context["cached"] is None:
        try:
            context["arriving"] = work.profile_fetch_start(
                account=account, profile_id=profile_id, actor=request.user
            )
        except services.ProfileInputError as exc:
            if not account.provider_class.can(Capability.PROFILE_LOOKUP):
                raise Http404("This account holds no profiles") from None
            context["problem"] = _not_called(exc)
    # After a form post without JavaScript: the action's row, still arriving or done.
    shown = text_param(request.GET.get("work"), 20)
    if shown.isdigit():
        context["status_work"] = ProfileWork.objects.filter(
            pk=int(shown), account=account, profile_id=profile_id
        ).first()
    services.access_record(
        user=request.user, action=AccessAction.VIEW, subject=profile_id, account=account
    )
    return render(request, "profiles/profile.html", context)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_arrival(request: HttpRequest, pk: int) -> HttpResponse:
    """The profile body while a first fetch is on its way, then the profile."""
    row = _profile_work(request, pk, WorkKind.FETCH)
    context = _profile_context(request, row.account, row.profile_id, work=row)
    if not row.is_done:
        context["arriving"] = row
    context["status_work"] = row if row.is_done and not context["profile"] else None
    response = render(request, "profiles/profile.html#body", context)
    return _poll_response(request, response, row.is_done)


@require_POST
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_refresh(request: HttpRequest, account_pk: int, profile_id: str) -> HttpResponse:
    profile_id = _named_profile(profile_id)
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    try:
        row = work.profile_fetch_start(account=account, profile_id=profile_id, actor=request.user)
    except services.ProfileInputError as exc:
        if not account.provider_class.can(Capability.PROFILE_LOOKUP):
            raise Http404("This account holds no profiles") from None
        if not request.htmx:
            return redirect("profiles:profile", account_pk=account.pk, profile_id=profile_id)
        context = {"account": account, "profile_id": profile_id, "problem": _not_called(exc)}
        return render(request, "profiles/profile.html#status", context)
    if not request.htmx:
        url = reverse("profiles:profile", args=[account.pk, profile_id])
        return redirect(f"{url}?work={row.pk}")
    context = {"account": account, "profile_id": profile_id, "status_work": row}
    return render(request, "profiles/profile.html#status", context)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_status(request: HttpRequest, pk: int) -> HttpResponse:
    """A refresh (or a save without JavaScript) arriving; once done, with every panel
    the fresh profile changed."""
    row = get_object_or_404(ProfileWork.objects.select_related("account"), pk=pk)
    context = _profile_context(request, row.account, row.profile_id, work=row)
    context["status_work"] = row
    if not row.is_done:
        return render(request, "profiles/profile.html#status", context)
    response = _render_parts(request, "profiles/profile.html", "status", PROFILE_PANELS, context)
    return _poll_response(request, response, True)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_calls(request: HttpRequest, pk: int) -> HttpResponse:
    """The "API calls for this customer" panel, asked again until the call log holds
    the calls of the action ``pk``."""
    row = get_object_or_404(ProfileWork.objects.select_related("account"), pk=pk)
    context = _profile_context(request, row.account, row.profile_id, work=row)
    response = render(request, "profiles/profile.html#calls", context)
    return _poll_response(request, response, not context["calls_awaited"])


def _edit_form(row: ProfileWork) -> AttributeForm:
    """The form as the person sent it, with what the provider refused beside its field."""
    form = AttributeForm({"name": row.attribute, "value": row.value})
    form.is_valid()
    for field, message in (row.field_errors or {}).items():
        form.add_error(None if field == "__all__" else field, message)
    return form


@require_POST
@permission_required(perm("edit_profiles"), raise_exception=True)
def profile_edit(request: HttpRequest, account_pk: int, profile_id: str) -> HttpResponse:
    profile_id = _named_profile(profile_id)
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    form = AttributeForm(request.POST)
    row = None
    if form.is_valid():
        try:
            row = work.profile_edit_start(
                account=account,
                profile_id=profile_id,
                name=form.cleaned_data["name"],
                value=form.cleaned_data["value"],
                actor=request.user,
            )
        except services.ProfileInputError as exc:
            form.add_error(None, exc.message)
    if row is not None and not request.htmx:
        url = reverse("profiles:profile", args=[account.pk, profile_id])
        return redirect(f"{url}?work={row.pk}")
    context = {"account": account, "profile_id": profile_id, "attribute_form": form}
    context["edit_work"] = row
    if request.htmx:
        # 200 even when the form is refused: htmx swaps only 2xx answers, and the
        # person must see the sentence beside the field.
        return render(request, "profiles/profile.html#edit", context)
    full = _profile_context(request, account, profile_id)
    full.update(context)
    return render(request, "profiles/profile.html", full, status=422)


@require_GET
@permission_required(perm("edit_profiles"), raise_exception=True)
def profile_edit_result(request: HttpRequest, pk: int) -> HttpResponse:
    """A save arriving; once done, the form (kept when refused) and every panel the
    fresh profile changed."""
    row = _profile_work(request, pk, WorkKind.EDIT)
    context = _profile_context(request, row.account, row.profile_id, work=row)
    context["edit_work"] = row
    if not row.is_done:
        context["attribute_form"] = _edit_form(row)
        return render(request, "profiles/profile.html#edit", context)
    saved = row.status == WorkStatus.DONE and row.outcome and row.outcome.get("ok")
    # A saved value leaves an empty form for the next one; anything else keeps it.
    context["attribute_form"] = AttributeForm() if saved else _edit_form(row)
    panels = PROFILE_PANELS if row.outcome and row.outcome.get("refreshed") else ("calls",)
    response = _render_parts(request, "profiles/profile.html", "edit", panels, context)
    return _poll_response(request, response, True)


# --- browse and cache ---------------------------------------------------------------


def _browse_context(request, account: ConnectedAccount, row: ProfileWork | None) -> dict:
    """One listing page as its row holds it (masked as needed), with the links on."""
    outcome = row.outcome if row is not None and row.status == WorkStatus.DONE else None
    rows = (outcome or {}).get("profiles") or []
    if not selectors.can_see_contacts(request.user):
        rows = [selectors.profile_for_display(p, user=request.user) for p in rows]
    query = request.GET.copy()
    query.pop("cursor", None)
    first_query = query.urlencode()
    next_cursor = (outcome or {}).get("next_cursor") or ""
    if next_cursor:
        query["cursor"] = next_cursor
    return {
        "account": account,
        "browse_work": row,
        "rows": rows,
        "page": {"cursor": row.cursor} if outcome is not None else None,
        "problem": row.problem if row is not None else None,
        "first_query": first_query,
        "next_query": query.urlencode() if next_cursor else "",
        "poll_query": request.GET.urlencode(),
    }


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def browse(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    if not account.provider_class.can(Capability.PROFILE_BROWSE):
        raise Http404("This account's profiles cannot be listed")
    form = _filter_form(account, request.GET or None)
    cursor = text_param(request.GET.get("cursor"), 4000)
    row, problem = None, None
    if not form.is_bound or form.is_valid():
        try:
            row = work.browse_start(
                account=account,
                cursor=cursor,
                filters=form.filters() if form.is_bound else {},
                actor=request.user,
            )
        except services.ProfileInputError as exc:
            if exc.field == "account" or not form.is_bound:
                # Not about a filter (a disabled account, say): a sentence, not a field.
                problem = _not_called(exc)
            else:
                form.add_error(None, exc.message)
    context = _browse_context(request, account, row)
    context.update(
        {
            "form": form,
            "problem": problem or context["problem"],
            "jobs": selectors.sync_jobs(account_id=account.pk, limit=5),
            "can_sync": request.user.has_perm(perm("edit_profiles")),
        }
    )
    return render(request, "profiles/browse.html", context)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def browse_result(request: HttpRequest, pk: int) -> HttpResponse:
    """One listing page arriving (the browse page's query string rides along, so the
    next-page link keeps its filters)."""
    row = _profile_work(request, pk, WorkKind.BROWSE)
    context = _browse_context(request, row.account, row)
    response = render(request, "profiles/browse.html#page", context)
    return _poll_response(request, response, row.is_done)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def cache_list(request: HttpRequest) -> HttpResponse:
    # Unbound (the page as first opened) is the empty query over all accounts: the
    # newest cached profiles, not "nothing matches".
    form = CacheSearchForm(request.GET or {"q": ""})
    rows, text, account = [], "", None
    if form.is_valid():
        text = form.cleaned_data.get("q") or ""
        account = form.cleaned_data.get("account")
        rows = list(cache_search(text=text, account_id=account.pk if account else None))
        if text:
            services.access_record(
                user=request.user, action=AccessAction.CACHE_SEARCH, subject=text
            )
    items = [
        {"row": r, "profile": selectors.profile_for_display(r.data, user=request.user)}
        for r in rows
    ]
    template = "profiles/cache.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows"
    context = {
        "form": form,
        "items": items,
        "text": text,
        "searched_account": account,
        "cached_total": selectors.cached_total(account_id=account.pk if account else None),
    }
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


# --- sync jobs ----------------------------------------------------------------------


@require_POST
@permission_required(perm("edit_profiles"), raise_exception=True)
def sync_start(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    form = _filter_form(account, request.POST)
    try:
        if not form.is_valid():
            # A filter refused must not quietly become a sync of every profile.
            said = "; ".join(f"{name}: {' '.join(e)}" for name, e in form.errors.items())
            raise jobs.JobInputError("filters", said)
        job = sync.sync_start(account=account, filters=form.filters(), actor=request.user)
    except jobs.JobInputError as exc:
        if request.htmx:
            # Said where the job would have appeared; a flash message would wait for
            # the next full page and greet the person after a later success.
            context = {"account": account, "sync_refused": exc.message}
            response = render(request, "profiles/browse.html#sync_refused", context)
            return reswap(retarget(response, "#sync-refused"), "outerHTML")
        messages.error(request, f"Cannot sync: {exc.message}")
        return redirect("profiles:browse", account_pk=account.pk)
    if request.htmx:
        # The job, and (out of band) an empty slot where an earlier refusal was said.
        html = render_to_string("profiles/browse.html#job", {"job": job}, request=request)
        html += render_to_string("profiles/browse.html#sync_refused", {"oob": True})
        return HttpResponse(html)
    return redirect("profiles:browse", account_pk=account.pk)


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def sync_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(SyncJob.objects.select_related("account"), pk=pk)
    response = render(request, "profiles/browse.html#job", {"job": job})
    return _poll_response(request, response, job.is_done)


@require_POST
@permission_required(perm("edit_profiles"), raise_exception=True)
def sync_control(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    job = get_object_or_404(SyncJob.objects.select_related("account"), pk=pk)
    if action == "cancel":
        job = sync.sync_cancel(job=job)
    elif action == "resume":
        job = sync.sync_resume(job=job)
    else:
        raise Http404("Unknown action")
    if request.htmx:
        return render(request, "profiles/browse.html#job", {"job": job})
    return redirect("profiles:browse", account_pk=job.account_id)


# --- exports ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required(perm("export_data"), raise_exception=True)
def export_list(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = exports.export_start(
                account=data["account"],
                kind=data["kind"],
                start_ms=form.to_ms(data.get("start")),
                end_ms=form.to_ms(data["end"]),
                event_types=form.event_type_list(),
                incremental=data.get("incremental") or False,
                actor=request.user,
            )
        except jobs.JobInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            services.access_record(
                user=request.user,
                action=AccessAction.EXPORT,
                subject=f"{job.account.provider} {job.kind} export {job.pk}",
                account=job.account,
            )
            return redirect("profiles:exports")
    return render(
        request,
        "profiles/exports.html",
        {"form": form, "jobs": selectors.export_jobs()},
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@permission_required(perm("export_data"), raise_exception=True)
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ExportJob.objects.select_related("account"), pk=pk)
    response = render(request, "profiles/exports.html#job", {"job": job})
    return _poll_response(request, response, job.is_done)


@require_POST
@permission_required(perm("export_data"), raise_exception=True)
def export_control(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    job = get_object_or_404(ExportJob.objects.select_related("account"), pk=pk)
    if action == "cancel":
        job = exports.export_cancel(job=job)
    elif action == "resume":
        job = exports.export_resume(job=job)
    else:
        raise Http404("Unknown action")
    if request.htmx:
        return render(request, "profiles/exports.html#job", {"job": job})
    return redirect("profiles:exports")


@require_GET
@permission_required(perm("export_data"), raise_exception=True)
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ExportJob.objects.select_related("account"), pk=pk)
    path = exports.export_path(job)
    # A running job may be in the middle of writing a page: download once it stopped.
    if not job.file_name or not job.is_done or not path.exists():
        raise Http404("The export file is not there")
    services.access_record(
        user=request.user,
        action=AccessAction.DOWNLOAD,
        subject=f"{job.account.provider} {job.kind} export {job.pk}",
        account=job.account,
    )
    handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    return FileResponse(
        handle, as_attachment=True, filename=job.file_name, content_type="application/x-ndjson"
    )


# --- access log ---------------------------------------------------------------------


@require_GET
@permission_required(perm("view_audit"), raise_exception=True)
def access_list(request: HttpRequest) -> HttpResponse:
    subject = text_param(request.GET.get("subject"), 300)
    return render(
        request,
        "profiles/access.html",
        {"entries": selectors.access_log(subject=subject), "subject": subject},
    )
