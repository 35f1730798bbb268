"""Key rotation pages: add a key, follow its verification, promote, retry, discard,
roll back. Admins only (``manage_accounts``); the account page calls
:func:`rotation_context` so other roles never get key metadata."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.accounts import rotation, selectors
from dashboard.accounts.forms import RotationForm
from dashboard.accounts.models import ConnectedAccount, Credential, CredentialState
from dashboard.accounts.services import AccountInputError
from dashboard.core.htmx import render_polled
from dashboard.core.roles import perm


def rotation_context(*, account: ConnectedAccount, user) -> dict:
    """What the account page shows about keys; empty for anyone but admins."""
    if not user.has_perm(perm("manage_accounts")):
        return {"can_manage": False, "credentials": []}
    credentials = selectors.credentials_for(account=account, user=user)
    # The panels come from the same read as the table: two reads could straddle the
    # worker's promotion and show a "pending" row with no panel polling for it.
    in_progress = [
        row["credential"]
        for row in credentials
        if row["credential"].state in selectors.IN_PROGRESS_STATES
    ]
    return {
        "can_manage": True,
        "credentials": credentials,
        "in_progress": [_status_context(account, c) for c in in_progress],
        "errors_since_rotation": selectors.errors_since_rotation(account),
    }


def _status_context(account: ConnectedAccount, credential: Credential) -> dict:
    return {
        "account": account,
        "provider": account.provider_class,
        "credential": credential,
        "verification": rotation.latest_verification(credential),
    }


def _credential(pk: int, credential_pk: int) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related("account", "created_by"), pk=credential_pk, account_id=pk
    )


@require_http_methods(["GET", "POST"])
@permission_required(perm("manage_accounts"), raise_exception=True)
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    provider_class = account.provider_class
    form = RotationForm(
        request.POST if request.method == "POST" else None, provider_class=provider_class
    )
    if request.method == "POST" and form.is_valid():
        try:
            credential = rotation.credential_add(
                account=account,
                secrets=form.secrets_data(),
                overlap_hours=form.cleaned_data["overlap_hours"],
                actor=request.user,
            )
        except AccountInputError as exc:
            form.add_service_errors(exc)
        except rotation.RotationConflict as exc:
            form.add_error(None, str(exc))
            return render(
                request,
                "accounts/rotate.html",
                {"form": form, "account": account, "provider": provider_class},
                status=409,
            )
        else:
            if provider_class.can_verify():
                # No "verifying" message: the worker may settle the key before the page
                # renders. The panel says it is verifying; the outcome is said once, by
                # whichever sees it first (the page or its poll): announce_if_settled.
                request.session[ANNOUNCE_KEY] = credential.pk
            else:
                messages.warning(
                    request,
                    f"New key {credential.fingerprint} added. {provider_class.label} cannot "
                    "verify keys: confirm below to promote it.",
                )
            return redirect("accounts:detail", pk=account.pk)
    return render(
        request,
        "accounts/rotate.html",
        {"form": form, "account": account, "provider": provider_class},
        status=422 if request.method == "POST" else 200,
    )


@require_GET
@permission_required(perm("manage_accounts"), raise_exception=True)
def rotation_status(request: HttpRequest, pk: int, credential_pk: int) -> HttpResponse:
    """The rotation panel of one key; polled while its verification runs."""
    credential = _credential(pk, credential_pk)
    verifying = credential.state == CredentialState.PENDING and (
        credential.account.provider_class.can_verify()
    )
    response = render_polled(
        request,
        "accounts/detail.html#rotation",
        _status_context(credential.account, credential),
        done=not verifying,
    )
    if request.htmx and not verifying and credential.state in _SETTLED:
        # The verification ended: one sentence says how, and the page reloads so the
        # credentials table and the panel show the same state (#16 defect 2).
        announce_if_settled(request, [credential])
        response["HX-Refresh"] = "true"
    return response


_SETTLED = (CredentialState.ACTIVE, CredentialState.FAILED)
# The key this session added and has not yet been told the outcome of.
ANNOUNCE_KEY = "rotation_to_announce"


def announce_if_settled(request: HttpRequest, credentials) -> None:
    """Say once how the verification of the key this session added ended, if one of
    ``credentials`` (as the page read them) is that key and it has settled."""
    waiting = request.session.get(ANNOUNCE_KEY)
    if waiting is None:
        return
    for credential in credentials:
        if credential.pk == waiting and credential.state in _SETTLED:
            del request.session[ANNOUNCE_KEY]
            level, sentence = verification_sentence(credential)
            messages.add_message(request, level, sentence)
            return


def verification_sentence(credential: Credential) -> tuple[int, str]:
    """The message for a key whose verification has ended, in the words the table uses."""
    account = credential.account
    if credential.state == CredentialState.FAILED:
        problem = credential.problem or {}
        reason = problem.get("title") or "the provider refused it"
        return messages.ERROR, (
            f"Key {credential.fingerprint}: {CredentialState.FAILED.label.lower()} ({reason}). "
            "The current key is still active: retry the verification or discard the new key."
        )
    previous = (
        account.credentials.filter(state=CredentialState.PREVIOUS)
        .order_by("-previous_until")
        .first()
    )
    sentence = f"Key {credential.fingerprint} passed verification and is now active."
    if previous is not None and previous.previous_until:
        until = timezone.localtime(previous.previous_until).strftime("%Y-%m-%d %H:%M")
        sentence += (
            f" The previous key {previous.fingerprint} keeps working until {until}; "
            "roll back before then if anything breaks."
        )
    return messages.SUCCESS, sentence


def _back(account_pk: int) -> HttpResponse:
    return redirect("accounts:detail", pk=account_pk)


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def promote(request: HttpRequest, pk: int, credential_pk: int) -> HttpResponse:
    credential = _credential(pk, credential_pk)
    try:
        rotation.credential_promote(
            credential=credential,
            actor=request.user,
            confirmed=request.POST.get("confirm") == "on",
        )
    except rotation.RotationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Key {credential.fingerprint} is now active; the previous key keeps working "
            f"for {credential.overlap_hours} h.",
        )
    return _back(pk)


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def retry(request: HttpRequest, pk: int, credential_pk: int) -> HttpResponse:
    credential = _credential(pk, credential_pk)
    try:
        rotation.credential_retry(credential=credential, actor=request.user)
    except rotation.RotationError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Verifying key {credential.fingerprint} again.")
    return _back(pk)


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def discard(request: HttpRequest, pk: int, credential_pk: int) -> HttpResponse:
    credential = _credential(pk, credential_pk)
    try:
        rotation.credential_discard(credential=credential, actor=request.user)
    except rotation.RotationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Discarded key {credential.fingerprint}.")
    return _back(pk)


@require_POST
@permission_required(perm("manage_accounts"), raise_exception=True)
def rollback(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=pk)
    try:
        restored = rotation.credential_rollback(account=account, actor=request.user)
    except rotation.RotationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Rolled back: key {restored.fingerprint} is active again; the newer key is revoked.",
        )
    return _back(pk)
