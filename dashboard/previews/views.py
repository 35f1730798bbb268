"""The preview page, one preview, its share link, history and field diffs."""

from __future__ import annotations

import zoneinfo
from functools import cache
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.core.htmx import render_polled
from dashboard.core.params import parse_id, text_param
from dashboard.core.roles import perm

from . import rendering, selectors, services, sharing
from .forms import PreviewForm, add_input_errors
from .models import PreviewRequest
from .public_views import public_links_context
from .services import VisitorInputError


def _form_context(form: PreviewForm | None) -> dict:
    return {
        "form": form,
        "time_zones": _time_zones(),
    }


@cache
def _time_zones() -> list[str]:
    """IANA names offered in the time zone field (the same set zoneinfo checks)."""
    return sorted(zoneinfo.available_timezones())


def preview_context(preview: PreviewRequest, request: HttpRequest, *, also_labelled=()) -> dict:
    """What the result fragment needs; ``also_labelled`` are other previews on the same
    page whose ids need their names too (the latest previews, what was served)."""
    return {
        "preview": preview,
        "tree": rendering.content_tree(preview.result),
        "can_use": request.user.has_perm(perm("use_preview")),
        "id_labels": selectors.labels_for_previews([preview, *also_labelled]),
    }


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    can_use = request.user.has_perm(perm("use_preview"))
    initial = {}
    if request.GET.get("persona"):
        initial["persona"] = parse_id(request.GET["persona"])
    if request.GET.get("slot"):
        initial["slot_id"] = request.GET["slot"][:120]
    form = PreviewForm(initial=initial) if can_use else None
    recent = list(selectors.preview_history()[:8])
    return render(
        request,
        "previews/index.html",
        {
            **_form_context(form),
            "can_use": can_use,
            "has_accounts": selectors.preview_accounts().exists(),
            "recent": recent,
            "id_labels": selectors.labels_for_previews(recent),
        },
    )


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def preview_submit(request: HttpRequest) -> HttpResponse:
    """Validate, store and queue; answer the form plus a result fragment that polls."""
    form = PreviewForm(request.POST)
    preview = None
    if form.is_valid():
        try:
            preview = services.preview_create(
                account=form.cleaned_data["account"],
                slot_id=form.cleaned_data["slot_id"],
                visitor=form.visitor,
                version=form.cleaned_data["version"],
                locale=form.cleaned_data["locale"],
                include_schema=form.cleaned_data["include_schema"],
                preview_token=form.cleaned_data["preview_token"],
                actor=request.user,
            )
        except VisitorInputError as exc:
            add_input_errors(form, exc)
    if preview is not None and not request.htmx:
        return redirect("previews:detail", pk=preview.pk)
    context = {**_form_context(form), "can_use": True}
    recent = list(selectors.preview_history()[:8])
    if preview is not None:
        context.update(preview_context(preview, request, also_labelled=recent))
    context["recent"] = recent
    context.setdefault("id_labels", selectors.labels_for_previews(recent))
    if request.htmx:
        # 200 even for errors: htmx swaps only 2xx answers, and the errors are the answer.
        # A new preview also refreshes the "Latest previews" list (out of band).
        return render(
            request, "previews/index.html#submitted", {**context, "oob": preview is not None}
        )
    context["has_accounts"] = True
    return render(request, "previews/index.html", context, status=422)


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def preview_detail(request: HttpRequest, pk: int) -> HttpResponse:
    preview = get_object_or_404(
        PreviewRequest.objects.select_related("account", "persona", "rerun_of", "created_by"),
        pk=pk,
    )
    return render(request, "previews/detail.html", _detail_context(preview, request))


def _detail_context(preview: PreviewRequest, request: HttpRequest) -> dict:
    served = preview.rerun_of
    latest = preview.reruns.order_by("-created_at", "-id").first()
    return {
        **preview_context(preview, request, also_labelled=[served]),
        **public_links_context(preview, request),
        "served": served,
        "served_tree": rendering.content_tree(served.result) if served else None,
        "latest_rerun": latest,
    }


@require_GET
@vary_on_headers("HX-Request", "HX-Current-URL")
@permission_required(perm("view_previews"), raise_exception=True)
def preview_result(request: HttpRequest, pk: int) -> HttpResponse:
    preview = get_object_or_404(PreviewRequest.objects.select_related("account"), pk=pk)
    context = preview_context(preview, request)
    template = "previews/detail.html#result"
    if preview.is_done and _polled_from_index(request):
        # On the preview page, the finished result also refreshes "Latest previews".
        template = "previews/index.html#finished"
        recent = list(selectors.preview_history()[:8])
        context.update(
            recent=recent,
            oob=True,
            id_labels=selectors.labels_for_previews([preview, *recent]),
        )
    return render_polled(request, template, context, done=preview.is_done)


def _polled_from_index(request: HttpRequest) -> bool:
    """Whether the polling page is the preview page (htmx names it in HX-Current-URL)."""
    current = request.htmx.current_url_abs_path if request.htmx else None
    return bool(current) and urlsplit(current).path == reverse("previews:index")


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def preview_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    preview = get_object_or_404(PreviewRequest.objects.select_related("account"), pk=pk)
    try:
        again = services.preview_rerun(preview=preview, actor=request.user)
    except VisitorInputError as exc:
        # The account was disabled (or lost its capability) since the first run.
        return render(
            request,
            "previews/detail.html",
            {**_detail_context(preview, request), "rerun_errors": exc.errors},
            status=422,
        )
    return redirect("previews:detail", pk=again.pk)


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def preview_share(request: HttpRequest, pk: int) -> HttpResponse:
    preview = get_object_or_404(PreviewRequest, pk=pk)
    token = sharing.share_token(preview.pk)
    context = {
        "preview": preview,
        "share_url": request.build_absolute_uri(reverse("previews:shared", args=[token])),
        "expires_at": timezone.now() + sharing.share_max_age(),
    }
    if request.htmx:
        return render(request, "previews/detail.html#share", context)
    return render(request, "previews/share.html", context)


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def preview_shared(request: HttpRequest, token: str) -> HttpResponse:
    try:
        preview_id = sharing.preview_id_from(token)
    except sharing.ShareLinkInvalid as exc:
        return render(
            request,
            "previews/share_invalid.html",
            {"message": str(exc), "expired": exc.expired},
            status=410 if exc.expired else 404,
        )
    preview = (
        PreviewRequest.objects.select_related("account", "persona", "created_by")
        .filter(pk=preview_id)
        .first()
    )
    if preview is None:
        raise Http404("The shared preview no longer exists.")
    return render(
        request, "previews/detail.html", {**_detail_context(preview, request), "shared": True}
    )


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def history(request: HttpRequest) -> HttpResponse:
    slot_id = text_param(request.GET.get("slot"), 120)
    persona_id = parse_id(request.GET.get("persona", ""))
    account_id = parse_id(request.GET.get("account", ""))
    rows = selectors.preview_history(slot_id=slot_id, persona_id=persona_id, account_id=account_id)
    page = list(rows[: selectors.HISTORY_PAGE_SIZE])
    return render(
        request,
        "previews/history.html",
        {
            "rows": page,
            "id_labels": selectors.labels_for_previews(page),
            "slot": slot_id,
            "persona_id": persona_id,
            "account_id": account_id,
            "slot_ids": selectors.known_slot_ids(),
            "personas": selectors.personas(),
            "accounts": selectors.preview_accounts(),
            "can_use": request.user.has_perm(perm("use_preview")),
        },
    )


def _diff_refused(request: HttpRequest, found: dict, ids: list) -> HttpResponse:
    """Back to the grid with what to do, or a page that says it (no bare 404)."""
    if any(i is not None and i not in found for i in ids):
        sentence = "One of the previews to compare no longer exists: pick another."
    else:
        sentence = "Tick two cells to compare them, or one cell to compare it with the baseline."
    grid_id = next((p.grid_id for p in found.values() if p.grid_id), None)
    grid_id = grid_id or parse_id(request.GET.get("grid", ""))
    if grid_id:
        messages.warning(request, sentence)
        return redirect("previews:grid", pk=grid_id)
    return render(request, "previews/diff.html", {"refused": sentence}, status=400)


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def preview_diff(request: HttpRequest) -> HttpResponse:
    """Two stored previews (grid cells or any two) compared field by field."""
    # ?a=&b= from links, or ticked ``pick`` boxes from the grid: one pick is compared
    # with the grid's baseline (#16 defect 7).
    raw = [request.GET.get("a", ""), request.GET.get("b", "")]
    if not all(raw):
        raw = request.GET.getlist("pick")[:2]
        baseline = request.GET.get("baseline", "")
        if len(raw) == 1 and baseline and baseline != raw[0]:
            raw = [baseline, raw[0]]
    ids = [parse_id(value) for value in raw]
    found = PreviewRequest.objects.select_related("account").in_bulk([i for i in ids if i])
    if len(ids) != 2 or not all(ids) or len(found) != len(set(ids)) or ids[0] == ids[1]:
        return _diff_refused(request, found, ids)
    left, right = found[ids[0]], found[ids[1]]
    rows = rendering.diff(left.result, right.result)
    return render(
        request,
        "previews/diff.html",
        {
            "left": left,
            "right": right,
            "rows": rows,
            "id_labels": selectors.labels_for_previews([left, right]),
            "changed": sum(1 for r in rows if r.change != "same"),
        },
    )
