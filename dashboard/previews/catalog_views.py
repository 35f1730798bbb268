"""The slot catalog: browse and search an account's slots, the search the preview and
grid forms ask as the user types, and staff entries (add, edit, remove)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.core.params import parse_id, text_param
from dashboard.core.roles import perm

from . import selectors, services
from .forms import CatalogSlotForm, add_input_errors
from .models import CatalogSlot
from .services import VisitorInputError
from .services.catalog import split_list


def _account_id(request: HttpRequest) -> int | None:
    """The account asked for, else the first that can preview (None without one)."""
    accounts = selectors.preview_accounts()
    wanted = parse_id(request.GET.get("account", ""))
    if wanted and accounts.filter(pk=wanted).exists():
        return wanted
    first = accounts.first()
    return first.pk if first else None


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_previews"), raise_exception=True)
def catalog(request: HttpRequest) -> HttpResponse:
    """One account's catalog, in slot id order, a keyset page at a time; as htmx (the
    search box), only the rows."""
    account_id = _account_id(request)
    query = text_param(request.GET.get("q"), selectors.MAX_SEARCH_LENGTH)
    after = text_param(request.GET.get("after"), 120)
    page = (
        selectors.catalog_page(account_id=account_id, after=after, query=query)
        if account_id
        else selectors.CatalogPage([], "")
    )
    can_use = request.user.has_perm(perm("use_preview"))
    context = {
        "page": page,
        "account_id": account_id,
        "accounts": selectors.preview_accounts(),
        "query": query,
        "after": after,
        "can_use": can_use,
        "form": CatalogSlotForm(initial={"account": account_id}) if can_use else None,
    }
    template = "previews/catalog.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#rows"
    return render(request, template, context)


@require_GET
@vary_on_headers("HX-Request")
@permission_required(perm("view_previews"), raise_exception=True)
def catalog_search(request: HttpRequest) -> HttpResponse:
    """Suggestions for a slot id field (``slot_id`` or ``q``) in one account's catalog:
    a short list the user picks from (at most CATALOG_SEARCH_LIMIT)."""
    query = text_param(
        request.GET.get("slot_id", request.GET.get("q")), selectors.MAX_SEARCH_LENGTH
    )
    account_id = parse_id(request.GET.get("account", ""))
    slots = selectors.catalog_search(account_id=account_id, query=query)
    return render(
        request,
        "previews/catalog_search.html",
        {"slots": slots, "query": query, "account_id": account_id},
    )


@require_http_methods(["GET", "POST"])
@permission_required(perm("use_preview"), raise_exception=True)
def catalog_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add a slot (no ``pk``) or edit one; saved, back to the catalog with a sentence."""
    slot = get_object_or_404(CatalogSlot.objects.select_related("account"), pk=pk) if pk else None
    initial = {"account": parse_id(request.GET.get("account", ""))}
    if slot is not None:
        initial = {
            "account": slot.account_id,
            "slot_id": slot.slot_id,
            "description": slot.description,
            "versions": ", ".join(slot.versions or []),
            "locales": ", ".join(slot.locales or []),
        }
    form = CatalogSlotForm(request.POST if request.method == "POST" else None, initial=initial)
    if slot is not None:
        form.fields["account"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.catalog_slot_save(
                account=form.cleaned_data["account"],
                slot_id=form.cleaned_data["slot_id"],
                description=form.cleaned_data["description"],
                versions=split_list(form.cleaned_data["versions"]),
                locales=split_list(form.cleaned_data["locales"]),
                slot=slot,
                actor=request.user,
            )
        except VisitorInputError as exc:
            add_input_errors(form, exc)
        else:
            verb = "Added" if slot is None else "Saved"
            messages.success(
                request,
                f"{verb} {saved.slot_id} in {saved.account.name}'s catalog; the preview and "
                "grid forms offer it now.",
            )
            return redirect(f"{reverse('previews:catalog')}?account={saved.account_id}")
    return render(
        request,
        "previews/catalog_form.html",
        {"form": form, "slot": slot},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def catalog_delete(request: HttpRequest, pk: int) -> HttpResponse:
    slot = get_object_or_404(CatalogSlot.objects.select_related("account"), pk=pk)
    account_id = slot.account_id
    services.catalog_slot_remove(slot=slot, actor=request.user)
    messages.success(
        request,
        f"Removed {slot.slot_id} from the catalog; its previews stay, and the next preview "
        "of it adds it back.",
    )
    return redirect(f"{reverse('previews:catalog')}?account={account_id}")
