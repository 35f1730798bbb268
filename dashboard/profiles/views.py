"""Customer look-up, one profile, browsing, the cache, sync and export jobs, access log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from dashboard.accounts.models import ConnectedAccount
from dashboard.core.params import text_param
from dashboard.core.roles import perm
from dashboard.profiles import exports, jobs, selectors, services, sync
from dashboard.profiles.cache import cache_search
from dashboard.profiles.forms import (
    AttributeForm,
    BrowseFilterForm,
    CacheSearchForm,
    ExportForm,
    LookupForm,
)
from dashboard.profiles.models import AccessAction, ExportJob, LookupRequest, SyncJob
from dashboard.profiles.query import adapter_for
from integrations.errors import ProviderError
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


# --- one profile --------------------------------------------------------------------


def _profile_context(request, account, profile: dict | None, cached=None) -> dict:
    shown = selectors.profile_for_display(profile, user=request.user) if profile else None
    keys = selectors.customer_keys(profile, account=account) if profile else []
    return {
        "account": account,
        "profile": shown,
        "cached": cached,
        "stale": selectors.is_stale(cached.fetched_at) if cached else False,
        "calls": selectors.calls_for_customer(keys),
        "customer_keys": keys,
        "can_edit": request.user.has_perm(perm("edit_profiles"))
        and account.provider_class.can(Capability.PROFILE_WRITE),
        "attribute_form": AttributeForm(),
    }


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_detail(request: HttpRequest, account_pk: int, profile_id: str) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    cached = selectors.cached_profile(account_id=account.pk, profile_id=profile_id)
    problem = None
    profile = cached.data if cached else None
    if cached is None:
        try:
            profile = services.profile_fetch(account=account, profile_id=profile_id)
        except ProviderError as exc:
            problem = exc.problem.to_dict()
        except services.ProfileInputError as exc:
            if not account.provider_class.can(Capability.PROFILE_LOOKUP):
                raise Http404("This account holds no profiles") from None
            # A disabled account (or one without a key) is not called: say so.
            problem = {"kind": "configuration", "title": "Not called", "detail": exc.message}
        cached = selectors.cached_profile(account_id=account.pk, profile_id=profile_id)
    if profile is None and problem is None:
        raise Http404("No such profile")
    services.access_record(
        user=request.user, action=AccessAction.VIEW, subject=profile_id, account=account
    )
    context = _profile_context(request, account, profile, cached)
    context["problem"] = problem
    context["profile_id"] = profile_id
    return render(request, "profiles/profile.html", context)


@require_POST
@permission_required(perm("lookup_profiles"), raise_exception=True)
def profile_refresh(request: HttpRequest, account_pk: int, profile_id: str) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    try:
        profile = services.profile_fetch(account=account, profile_id=profile_id)
    except ProviderError as exc:
        messages.error(request, f"Refresh failed: {exc.problem}")
    except services.ProfileInputError as exc:
        messages.error(request, f"Refresh failed: {exc.message}")
    else:
        if profile is None:
            messages.warning(request, f"{account.name} no longer has this profile.")
        else:
            messages.success(request, "Refreshed from the provider.")
    return redirect("profiles:profile", account_pk=account.pk, profile_id=profile_id)


@require_POST
@permission_required(perm("edit_profiles"), raise_exception=True)
def profile_edit(request: HttpRequest, account_pk: int, profile_id: str) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    form = AttributeForm(request.POST)
    outcome, problem = None, None
    if form.is_valid():
        try:
            outcome = services.profile_set_attribute(
                account=account,
                profile_id=profile_id,
                name=form.cleaned_data["name"],
                value=form.cleaned_data["value"],
                actor=request.user,
            )
        except services.ProfileInputError as exc:
            form.add_error("value" if exc.field != "name" else "name", exc.message)
        except ProviderError as exc:
            problem = exc.problem.to_dict()
    context = {"account": account, "profile_id": profile_id, "attribute_form": form}
    context.update({"outcome": outcome, "edit_problem": problem})
    ok = outcome is not None and outcome["ok"]
    if request.htmx:
        return render(request, "profiles/profile.html#edit", context, status=200 if ok else 422)
    if ok:
        messages.success(request, f"Saved {form.cleaned_data['name']}.")
        return redirect("profiles:profile", account_pk=account.pk, profile_id=profile_id)
    cached = selectors.cached_profile(account_id=account.pk, profile_id=profile_id)
    full = _profile_context(request, account, cached.data if cached else None, cached)
    full.update(context)
    return render(request, "profiles/profile.html", full, status=422)


# --- browse and cache ---------------------------------------------------------------


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def browse(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    if not account.provider_class.can(Capability.PROFILE_BROWSE):
        raise Http404("This account's profiles cannot be listed")
    form = _filter_form(account, request.GET or None)
    cursor = text_param(request.GET.get("cursor"), 4000)
    page, problem = None, None
    filters = form.filters() if form.is_valid() else {}
    if form.is_bound and not form.is_valid():
        filters = None
    if filters is not None:
        try:
            page = services.browse_page(account=account, cursor=cursor, filters=filters)
        except ProviderError as exc:
            problem = exc.problem.to_dict()
        except services.ProfileInputError as exc:
            if exc.field == "account" or not form.is_bound:
                # Not about a filter (a disabled account, say): a sentence, not a field.
                problem = {"kind": "configuration", "title": "Not called", "detail": exc.message}
            else:
                form.add_error(None, exc.message)
    rows = page["profiles"] if page else []
    if not selectors.can_see_contacts(request.user):
        rows = [selectors.profile_for_display(p, user=request.user) for p in rows]
    query = request.GET.copy()
    if page and page["next_cursor"]:
        query["cursor"] = page["next_cursor"]
    return render(
        request,
        "profiles/browse.html",
        {
            "account": account,
            "form": form,
            "rows": rows,
            "page": page,
            "problem": problem,
            "next_query": query.urlencode() if page and page["next_cursor"] else "",
            "jobs": selectors.sync_jobs(account_id=account.pk, limit=5),
            "can_sync": request.user.has_perm(perm("edit_profiles")),
        },
    )


@require_GET
@permission_required(perm("lookup_profiles"), raise_exception=True)
def cache_list(request: HttpRequest) -> HttpResponse:
    form = CacheSearchForm(request.GET or None)
    rows = []
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
    response = render(request, template, {"form": form, "items": items})
    response["Vary"] = "HX-Request"
    return response


# --- sync jobs ----------------------------------------------------------------------


@require_POST
@permission_required(perm("edit_profiles"), raise_exception=True)
def sync_start(request: HttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_pk)
    form = _filter_form(account, request.POST)
    filters = form.filters() if form.is_valid() else {}
    try:
        job = sync.sync_start(account=account, filters=filters, actor=request.user)
    except jobs.JobInputError as exc:
        messages.error(request, f"Cannot sync: {exc}")
        return redirect("profiles:browse", account_pk=account.pk)
    if request.htmx:
        return render(request, "profiles/browse.html#job", {"job": job})
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
