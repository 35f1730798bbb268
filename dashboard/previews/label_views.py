"""Labels: name an id in place ("name this"), and the page that lists every name."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from dashboard.accounts.models import ConnectedAccount
from dashboard.core.params import parse_id, text_param
from dashboard.core.roles import perm

from . import selectors, services
from .forms import LabelForm
from .models import Label, LabelKind
from .services import VisitorInputError
from .services.labels import is_labelable_id
from .templatetags.labels import badge_html, label_key


def _form_ref(key: str) -> str:
    # An id is free text (dots, colons): the form's HTML id is a digest of it.
    return "label-form-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _badge(account_id: int, kind: str, target_id: str, *, request, oob=False) -> str:
    label = Label.objects.filter(account_id=account_id, kind=kind, target_id=target_id).first()
    return badge_html(
        label=label,
        account_id=account_id,
        kind=kind,
        target_id=target_id,
        can_name=request.user.has_perm(perm("use_preview")),
        oob=oob,
    )


def _form_context(account_id: int, kind: str, target_id: str, *, name="", errors=()) -> dict:
    key = label_key(kind, target_id)
    return {
        "account_id": account_id,
        "kind": kind,
        "target_id": target_id,
        "key": key,
        "form_ref": _form_ref(key),
        "name": name,
        "errors": list(errors),
    }


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_previews"), raise_exception=True)
def label_fragment(request: HttpRequest) -> HttpResponse:
    """One id's badge, or (``edit=1``, for those who may name ids) its inline form."""
    account_id = parse_id(request.GET.get("account", ""))
    kind = request.GET.get("kind", "")
    target_id = text_param(request.GET.get("id"), 200)
    if not account_id or kind not in LabelKind.values or not is_labelable_id(target_id):
        raise Http404("No such id to name.")
    get_object_or_404(ConnectedAccount, pk=account_id)
    if request.GET.get("edit") and request.user.has_perm(perm("use_preview")):
        label = Label.objects.filter(account_id=account_id, kind=kind, target_id=target_id).first()
        context = _form_context(account_id, kind, target_id, name=label.name if label else "")
        return render(request, "previews/_label_form.html", context)
    return HttpResponse(_badge(account_id, kind, target_id, request=request))


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def label_save(request: HttpRequest) -> HttpResponse:
    """Save a name. As htmx: the sentence (into ``#label-status``) and, out of band,
    every badge of the id on the page; on bad input the form again, as typed, with the
    reason. Without htmx: back to where the form was, with the sentence."""
    form = LabelForm(request.POST)
    form.is_valid()
    data = {k: form.cleaned_data.get(k) or "" for k in ("kind", "target_id", "name")}
    # parse_id, not the form's integer: an id beyond any row is a 404, not an overflow.
    account = get_object_or_404(
        ConnectedAccount, pk=parse_id(str(request.POST.get("account", ""))) or 0
    )
    errors: list[str] = [
        f"{field}: {'; '.join(e)}" for field, e in form.errors.items() if field != "account"
    ]
    saved = None
    if not errors:
        try:
            saved = services.label_save(
                account=account,
                kind=data["kind"],
                target_id=data["target_id"],
                name=data["name"],
                actor=request.user,
            )
        except VisitorInputError as exc:
            errors = [
                message if field == "name" else f"{field.replace('_', ' ')}: {message}"
                for field, message in exc.errors.items()
            ]
    if not request.htmx:
        if saved:
            messages.success(request, saved.sentence)
        else:
            messages.error(request, "Not saved: " + "; ".join(errors))
        return redirect("previews:labels")
    if saved is None:
        context = _form_context(
            account.pk,
            data["kind"],
            data["target_id"],
            name=request.POST.get("name", "")[:200],
            errors=errors,
        )
        response = render(request, "previews/_label_form.html", context)
        # The form stays where it is, with what was typed and why it was refused.
        return reswap(retarget(response, f"#{context['form_ref']}"), "outerHTML")
    label = saved.label
    badge = _badge(account.pk, label.kind, label.target_id, request=request, oob=True)
    sentence = render_to_string(
        "previews/_label_status.html", {"sentence": saved.sentence}, request
    )
    return HttpResponse(sentence + badge)


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def label_list(request: HttpRequest) -> HttpResponse:
    account_id = parse_id(request.GET.get("account", ""))
    kind = request.GET.get("kind", "")
    kind = kind if kind in LabelKind.values else ""
    query = text_param(request.GET.get("q"), 120)
    return render(
        request,
        "previews/labels.html",
        {
            "labels": selectors.labels_page(account_id=account_id, kind=kind, query=query),
            "accounts": selectors.preview_accounts(),
            "account_id": account_id,
            "kind": kind,
            "kinds": LabelKind.choices,
            "query": query,
            "can_use": request.user.has_perm(perm("use_preview")),
        },
    )


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def label_delete(request: HttpRequest, pk: int) -> HttpResponse:
    label = get_object_or_404(Label, pk=pk)
    messages.success(request, services.label_remove(label=label, actor=request.user))
    return redirect("previews:labels")
