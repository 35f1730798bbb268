"""Public share links (#20): the staff panel that creates, lists and revokes them, and
the page anyone holding one opens without a login.

The public page is the one preview URL ``LoginRequiredMiddleware`` lets through
(``login_not_required``). It shows the rendered result and the served ids only: no
account, persona, visitor identity, staff name or console navigation.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format
from django.views.decorators.http import require_GET, require_POST

from dashboard.core.roles import perm

from . import rendering, selectors, services, sharing
from .forms import PublicLinkForm
from .models import PreviewRequest, PublicShareLink, RunStatus

PANEL = "previews/_public_links.html"


def public_links_context(
    preview: PreviewRequest,
    request: HttpRequest,
    *,
    form: PublicLinkForm | None = None,
    sentence: str = "",
    error: str = "",
) -> dict:
    """What the "Public links" panel of a preview page shows."""
    links = list(selectors.public_links(preview))
    for link in links:
        token = sharing.public_token(link.pk)
        link.url = request.build_absolute_uri(reverse("previews:public", args=[token]))
    return {
        "preview": preview,
        "public_links": links,
        "public_form": form or PublicLinkForm(),
        "public_sentence": sentence,
        "public_error": error,
        "can_share_publicly": preview.status == RunStatus.DONE and bool(preview.result),
        # Publishing outside the company is a preview user's act; readers (support)
        # see the links and their opens, not the buttons.
        "can_publish": request.user.has_perm(perm("use_preview")),
    }


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def _answer(request: HttpRequest, preview: PreviewRequest, **panel) -> HttpResponse:
    """The re-rendered panel for htmx; without JavaScript, the preview page again, with
    the sentence as a message."""
    if request.htmx:
        # 200 even for a refusal: htmx swaps only 2xx answers, and the sentence is the answer.
        return render(request, PANEL, public_links_context(preview, request, **panel))
    if panel.get("error"):
        messages.error(request, panel["error"])
    elif panel.get("sentence"):
        messages.success(request, panel["sentence"])
    return redirect(reverse("previews:detail", args=[preview.pk]) + "#public-links")


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def public_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    preview = get_object_or_404(PreviewRequest.objects.select_related("account"), pk=pk)
    form = PublicLinkForm(request.POST)
    if not form.is_valid():
        return _answer(request, preview, form=form, error=form.errors["days"][0])
    try:
        link = services.public_link_create(
            preview=preview, days=form.cleaned_data["days"], actor=request.user
        )
    except services.PublicLinkRefused as exc:
        return _answer(request, preview, form=form, error=str(exc))
    return _answer(
        request,
        preview,
        sentence=(
            "Public link created; anyone with it can see this result until "
            f"{_when(link.expires_at)}. Copy it from the list below."
        ),
    )


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def public_link_revoke(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    preview = get_object_or_404(PreviewRequest.objects.select_related("account"), pk=pk)
    link = get_object_or_404(PublicShareLink, pk=link_pk, preview=preview)
    try:
        services.public_link_revoke(link=link, actor=request.user)
    except services.PublicLinkRefused as exc:
        return _answer(request, preview, error=str(exc))
    return _answer(
        request,
        preview,
        sentence="Public link revoked; whoever opens it now is told it was revoked.",
    )


# What each refusal says, and its status: a link we never signed is "not found"; one
# that existed but no longer opens is "gone".
REFUSALS = {
    "invalid": (
        404,
        "This link is not valid.",
        "It was changed or cut short: ask whoever sent it for the whole link.",
    ),
    "revoked": (
        410,
        "This link was revoked by the console's staff.",
        "Ask whoever sent it for a new link if you still need to see this result.",
    ),
    "expired": (
        410,
        "",
        "Ask whoever sent it for a new link if you still need to see this result.",
    ),
    "throttled": (
        429,
        "This link was opened too many times from your address in the last minute.",
        "Wait a minute, then reload the page.",
    ),
}


@require_GET
@login_not_required
def public_share(request: HttpRequest, token: str) -> HttpResponse:
    """The shared result, for anyone holding the link; every open is logged."""
    opening = services.public_link_open(token=token, request=request)
    if opening.state == "ok":
        preview = opening.link.preview
        # Named fields, not the row: the page cannot reach the account, the persona or
        # who asked, even by a later edit of the template.
        response = render(
            request,
            "previews/public_share.html",
            {
                "expires_at": opening.link.expires_at,
                "slot_id": preview.slot_id,
                "locale": preview.locale_label,
                "served_at": preview.finished_at or preview.created_at,
                "result": preview.result,
                "tree": rendering.content_tree(preview.result),
                # The names staff gave the served ids (#20 labels): only a name per id,
                # looked up here; the account itself never reaches the template.
                "names": selectors.label_names_for(preview),
                # served_id renders names only, with nothing to click (labels.py).
                "public_share": True,
            },
        )
    else:
        status, title, advice = REFUSALS[opening.state]
        if opening.state == "expired":
            title = f"This link expired on {_when(opening.link.expires_at)}."
        response = render(
            request,
            "previews/public_refused.html",
            {"title": title, "advice": advice, "state": opening.state},
            status=status,
        )
        if opening.state == "throttled":
            response["Retry-After"] = "60"
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    """Not indexed, not cached by anyone on the way, and no Referer to the content's
    links (the site's Referrer-Policy is ``same-origin``; this page gives none)."""
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    add_never_cache_headers(response)
    return response
