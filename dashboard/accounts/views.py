"""Connected accounts: list, connect, edit, enable/disable, test."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts import selectors, services
from dashboard.accounts.forms import AccountForm
from dashboard.accounts.models import AccountCheck, ConnectedAccount
from dashboard.accounts.rotation_views import announce_if_settled, rotation_context
from dashboard.core.htmx import render_polled
from dashboard.core.roles import perm
from integrations.registry import UnknownProvider, all_providers, get_provider


@require_GET
@permission_required(perm("view_accounts"), raise_exception=True)
def account_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/list.html",
        {"rows": selectors.accounts_overview(user=request.user)},
    )


@require_GET
@permission_required(perm("manage_accounts"), raise_exception=True)
def account_connect_choose(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/choose_provider.html", {"providers": all_providers()})


def _mounted_sandbox_url(request: HttpRequest, provider_class) -> str:
    """Where this console serves the provider's sandbox, as the browser reaches it
    ("" when sandboxes are off): the address to type for a demo account."""
    if not settings.SANDBOX_ENABLED or not provider_class.sandbox_module:
        return ""
    return request.build_absolute_uri(reverse("sandbox_root", args=[provider_class.key]))


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_accounts"), raise_exception=True)
def account_connect(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        provider_class = get_provider(provider)
    except UnknownProvider:
        raise Http404("Unknown provider") from None
    form = AccountForm(
        request.POST if request.method == "POST" else None,
        provider_class=provider_class,
        with_secrets=True,
        sandbox_url=_mounted_sandbox_url(request, provider_class),
        initial={"base_url": provider_class.default_base_url},
    )
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_connect(
                provider=provider_class.key,
                name=form.cleaned_data["name"],
                base_url=form.cleaned_data["base_url"],
                settings=form.settings_data(),
                secrets=form.secrets_data(),
                actor=request.user,
                verify=request.POST.get("verify") == "on",
            )
        except services.AccountInputError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Connected {account.name}.")
            return redirect("accounts:detail", pk=account.pk)
    return render(
        request,
        "accounts/form.html",
        {"form": form, "provider": provider_class, "mode": "connect"},
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@permission_required(perm("view_accounts"), raise_exception=True)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    keys = rotation_context(account=account, user=request.user)
    # A key added by this session may have settled before this page: say how, once.
    announce_if_settled(request, [row["credential"] for row in keys["credentials"]])
    return render(
        request,
        "accounts/detail.html",
        {
            "account": account,
            "provider": account.provider_class,
            "checks": selectors.recent_checks(account=account),
            **keys,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_accounts"), raise_exception=True)
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    provider_class = account.provider_class
    initial = {"name": account.name, "base_url": account.base_url}
    initial.update({f"setting_{k}": v for k, v in account.settings.items()})
    form = AccountForm(
        request.POST if request.method == "POST" else None,
        provider_class=provider_class,
        with_secrets=True,
        secrets_optional=True,
        sandbox_url=_mounted_sandbox_url(request, provider_class),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(
                account=account,
                name=form.cleaned_data["name"],
                base_url=form.cleaned_data["base_url"],
                settings=form.settings_data(),
                secrets=form.secrets_data(),
                actor=request.user,
            )
        except services.AccountInputError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved {account.name}.")
            return redirect("accounts:detail", pk=account.pk)
    return render(
        request,
        "accounts/form.html",
        {"form": form, "provider": provider_class, "mode": "edit", "account": account},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def account_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    services.account_set_enabled(
        account=account, enabled=not account.is_enabled, actor=request.user
    )
    state = "enabled" if account.is_enabled else "disabled"
    messages.success(request, f"{account.name} is now {state}.")
    return redirect("accounts:detail", pk=account.pk)


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def account_test(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    check = services.account_check_request(account=account, actor=request.user)
    if request.htmx:
        return render(request, "accounts/detail.html#check", {"check": check, "account": account})
    messages.info(request, "Test queued; the result appears below when it finishes.")
    return redirect("accounts:detail", pk=account.pk)


@require_GET
@permission_required(perm("view_accounts"), raise_exception=True)
def account_check(request: HttpRequest, pk: int, check_pk: int) -> HttpResponse:
    check = get_object_or_404(
        AccountCheck.objects.select_related("account"), pk=check_pk, account_id=pk
    )
    return render_polled(
        request,
        "accounts/detail.html#check",
        # oob: the finished check also refreshes the health badge in the page header
        # and the Recent checks list (which it is now part of).
        {
            "check": check,
            "account": check.account,
            "oob": bool(request.htmx),
            "checks": selectors.recent_checks(account=check.account) if check.is_done else [],
        },
        done=check.is_done,
    )
