"""Connecting accounts, checking them, and building their provider clients.

Past the ~400-line hint on purpose: input cleaning, the base-URL move rule and
``provider_client`` (the one place deciding whether an account may be called) share
the same account invariants and read best together; checks live here for the same
reason.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dashboard.accounts.audit import audit_action
from dashboard.accounts.encryption import decrypt_secrets, encrypt_secrets
from dashboard.accounts.models import (
    AccountCheck,
    CheckStatus,
    ConnectedAccount,
    Credential,
    CredentialState,
    Health,
)
from dashboard.calls.context import call_context
from dashboard.calls.services import record_exchange
from dashboard.core.queueing import claim, enqueue_on_commit
from integrations import netguard
from integrations.errors import ProviderError
from integrations.provider import SettingsError
from integrations.registry import UnknownProvider, get_provider

# A check is claimed at most this many times (its task's retries and redeliveries
# included): one that keeps dying outside ProviderError is failed, not retried forever.
MAX_CHECK_ATTEMPTS = 5


class AccountInputError(ValueError):
    """Input that cannot be saved; ``errors`` maps field names to messages.

    Field names: ``provider``, ``name``, ``base_url``, ``setting:<name>``,
    ``secret:<name>``.
    """

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NoActiveCredential(Exception):
    """The account cannot be called now: it has no usable key (or, the subclass below,
    it is disabled). Callers show the message and call nothing."""


class AccountDisabled(NoActiveCredential):
    """A disabled account is never called, whatever asks (#15 finding 7)."""


@dataclass(frozen=True)
class CleanAccount:
    provider: str
    name: str
    base_url: str
    settings: dict[str, Any]
    secrets: dict[str, str] | None


def account_clean(
    *,
    provider: str,
    name: str,
    base_url: str,
    settings: dict[str, Any],
    secrets: dict[str, str] | None,
    instance: ConnectedAccount | None = None,
) -> CleanAccount:
    """Validate everything an account needs; raises :class:`AccountInputError`."""
    errors: dict[str, str] = {}
    try:
        provider_class = get_provider(provider)
    except UnknownProvider:
        raise AccountInputError({"provider": f"unknown provider {provider!r}"}) from None
    name = (name or "").strip()
    if not name:
        errors["name"] = "is required"
    elif len(name) > 100:
        errors["name"] = "must be at most 100 characters"
    else:
        taken = ConnectedAccount.objects.filter(name=name)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            errors["name"] = f"an account named {name!r} already exists"
    base_url = (base_url or "").strip() or provider_class.default_base_url
    if not base_url:
        errors["base_url"] = (
            f"is required for {provider_class.label} ({provider_class.base_url_help})"
        )
    else:
        try:
            base_url = provider_class.clean_base_url(base_url)
            netguard.check_url(base_url)
        except ValueError as exc:  # UnsafeAddress is one too
            errors["base_url"] = str(exc)
    cleaned_settings: dict[str, Any] = {}
    try:
        cleaned_settings = provider_class.clean_settings(settings or {})
    except SettingsError as exc:
        errors.update({f"setting:{k}": v for k, v in exc.errors.items()})
    cleaned_secrets = None
    if secrets is not None:
        try:
            cleaned_secrets = provider_class.clean_secrets(secrets)
        except SettingsError as exc:
            errors.update({f"secret:{k}": v for k, v in exc.errors.items()})
    if errors:
        raise AccountInputError(errors)
    return CleanAccount(provider, name, base_url, cleaned_settings, cleaned_secrets)


def secret_fingerprint(secrets: dict[str, str]) -> str:
    """A stable, non-reversible id for a set of secrets (shown and logged instead of them)."""
    canonical = "\n".join(f"{k}={secrets[k]}" for k in sorted(secrets))
    digest = hmac.new(django_settings.SECRET_KEY.encode(), canonical.encode(), hashlib.sha256)
    return "fp_" + digest.hexdigest()[:16]


def secret_hints(secrets: dict[str, str]) -> dict[str, str]:
    return {name: value[-4:] for name, value in secrets.items()}


def credential_build(
    *, account: ConnectedAccount, secrets: dict[str, str], state: str, actor=None
) -> Credential:
    return Credential(
        account=account,
        state=state,
        ciphertext=encrypt_secrets(secrets),
        fingerprint=secret_fingerprint(secrets),
        hints=secret_hints(secrets),
        created_by=actor,
        activated_at=timezone.now() if state == CredentialState.ACTIVE else None,
    )


@transaction.atomic
def account_connect(
    *,
    provider: str,
    name: str,
    base_url: str = "",
    settings: dict[str, Any] | None = None,
    secrets: dict[str, str],
    actor=None,
    verify: bool = False,
    is_demo: bool = False,
    by: str = "",
) -> ConnectedAccount:
    """Store a new account with its first credential (active).

    Raises :class:`AccountInputError` and saves nothing on bad input. With ``verify``
    a check is queued (after commit) to prove the credential.
    """
    clean = account_clean(
        provider=provider, name=name, base_url=base_url, settings=settings or {}, secrets=secrets
    )
    with audit_action("connect", actor=actor, by=by):
        account = _account_create(clean, actor=actor, is_demo=is_demo)
    if verify:
        account_check_request(account=account, actor=actor)
    return account


def _account_create(clean: CleanAccount, *, actor, is_demo: bool) -> ConnectedAccount:
    try:
        with transaction.atomic():
            account = ConnectedAccount.objects.create(
                provider=clean.provider,
                name=clean.name,
                base_url=clean.base_url,
                settings=clean.settings,
                created_by=actor,
                is_demo=is_demo,
                health=(
                    Health.UNKNOWN
                    if get_provider(clean.provider).can_verify()
                    else Health.UNVERIFIABLE
                ),
            )
    except IntegrityError:
        # Lost a race with another connect of the same name.
        raise AccountInputError(
            {"name": f"an account named {clean.name!r} already exists"}
        ) from None
    credential_build(
        account=account, secrets=clean.secrets, state=CredentialState.ACTIVE, actor=actor
    ).save()
    return account


@transaction.atomic
def account_update(
    *,
    account: ConnectedAccount,
    name: str,
    base_url: str,
    settings: dict[str, Any],
    secrets: dict[str, str] | None = None,
    actor=None,
) -> ConnectedAccount:
    """Change the account's name, base URL and settings; never its key.

    A new base URL is where the stored key will be sent, so it takes the key typed
    again (``secrets``), matching the active credential (#15 finding 9: otherwise a
    write-only key could be read by pointing the account at another host). Raises
    :class:`AccountInputError` and saves nothing.
    """
    typed = {k: v for k, v in (secrets or {}).items() if v}
    clean = account_clean(
        provider=account.provider,
        name=name,
        base_url=base_url,
        settings=settings,
        secrets=typed or None,
        instance=account,
    )
    moved = clean.base_url != account.base_url
    if moved:
        _require_the_current_key(account, clean.secrets)
    account.name = clean.name
    account.base_url = clean.base_url
    account.settings = clean.settings
    with audit_action("move" if moved else "edit", actor=actor):
        account.save(update_fields=["name", "base_url", "settings", "updated_at"])
    return account


def _require_the_current_key(account: ConnectedAccount, typed: dict[str, str] | None) -> None:
    if not typed:
        raise AccountInputError(
            {
                "base_url": "changing the base URL needs the account's current key typed again "
                "below: the stored key is never sent to a new address unseen"
            }
        )
    credential = account.credentials.filter(state=CredentialState.ACTIVE).first()
    if credential is None or secret_fingerprint(typed) != credential.fingerprint:
        raise AccountInputError(
            {
                f"secret:{name}": "is not the key this account uses now; to change the key, "
                "rotate it (Keys → Add a key)"
                for name in typed
            }
        )


def account_set_enabled(*, account: ConnectedAccount, enabled: bool, actor=None) -> None:
    account.is_enabled = enabled
    with audit_action("enable" if enabled else "disable", actor=actor):
        account.save(update_fields=["is_enabled", "updated_at"])


def account_check_request(
    *, account: ConnectedAccount, actor=None, credential: Credential | None = None
) -> AccountCheck:
    """Queue a verify call for the account (its active credential, or ``credential``).

    The task is sent after commit; with the broker down the check stays ``pending``
    (the page shows it so) and the ``accounts.checks`` sweeper sends it later
    (scheduled_checks.py)."""
    check = AccountCheck.objects.create(account=account, credential=credential, requested_by=actor)
    # By name: tasks import this module, never the reverse (core/queueing.py).
    enqueue_on_commit("accounts.run_check", check.pk)
    return check


def active_credential(account: ConnectedAccount) -> Credential:
    credential = account.credentials.filter(state=CredentialState.ACTIVE).first()
    if credential is None:
        raise NoActiveCredential(f"{account.name} has no active credential")
    return credential


def provider_client(
    account: ConnectedAccount,
    *,
    credential: Credential | None = None,
    for_check: bool = False,
    **session_options: Any,
):
    """A client for ``account`` using ``credential`` or, looked up now, the active one.

    The one place that decides whether an account may be called: a disabled account
    raises :class:`AccountDisabled` (a :class:`NoActiveCredential`) for every feature;
    only an admin's explicit check (``for_check``: "Test connection", a rotation's
    verification) still reaches it, so a key can be proven before the account is
    enabled. Every exchange the client makes is recorded as an ApiCall with the
    credential's fingerprint.
    """
    if not account.is_enabled and not for_check:
        raise AccountDisabled(
            f"{account.name} is disabled: enable it to call {account.provider_label}"
        )
    credential = credential or active_credential(account)
    provider_class = account.provider_class
    session_options.setdefault("connect_timeout", django_settings.PROVIDER_CONNECT_TIMEOUT)
    session_options.setdefault("read_timeout", django_settings.PROVIDER_READ_TIMEOUT)
    return provider_class.build_client(
        base_url=account.base_url,
        settings=account.settings,
        secrets=decrypt_secrets(credential.ciphertext),
        hook=partial(
            record_exchange, account_id=account.pk, credential_fingerprint=credential.fingerprint
        ),
        **session_options,
    )


def account_check_run(*, check_id: int, resume: bool = False) -> AccountCheck:
    """Run one queued check: the provider's verify call with the chosen credential.

    Idempotent: a check that already finished is returned as it is, and so is one
    already ``running`` (a second message for it, e.g. re-sent by the sweeper, does
    nothing twice) unless ``resume``: the task passes that when its own earlier
    attempt stopped half-way (a retry after a database error, a message redelivered
    because its worker died). The outcome is written in one transaction, so a run
    that stops half-way leaves the check ``running`` and the account as it was.
    """
    # Claimed with one conditional UPDATE: a second message for a check already running
    # finds nothing to take, unless it is this task's own retry (``resume``).
    takeable = [CheckStatus.PENDING, *([CheckStatus.RUNNING] if resume else [])]
    rows = AccountCheck.objects.filter(pk=check_id, status__in=takeable)
    claimed = claim(
        rows.filter(attempts__lt=MAX_CHECK_ATTEMPTS),
        status=CheckStatus.RUNNING,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        # Out of attempts (a check that keeps killing its worker): given up, not re-run.
        rows.filter(attempts__gte=MAX_CHECK_ATTEMPTS).update(
            status=CheckStatus.FAILED,
            finished_at=timezone.now(),
            problem={
                "kind": "unknown",
                "title": "Gave up",
                "detail": f"The check did not finish after {MAX_CHECK_ATTEMPTS} attempts.",
            },
        )
        return AccountCheck.objects.select_related("account").get(pk=check_id)
    check = AccountCheck.objects.select_related("account", "credential").get(pk=check_id)
    account = check.account
    provider_class = account.provider_class
    started = time.perf_counter()
    if not provider_class.can_verify():
        return _finish_check(
            check,
            CheckStatus.UNSUPPORTED,
            summary={"reason": provider_class.verify_unsupported_reason},
            health=Health.UNVERIFIABLE,
        )
    try:
        credential = check.credential or active_credential(account)
    except NoActiveCredential as exc:
        return _finish_check(
            check,
            CheckStatus.FAILED,
            problem={"kind": "configuration", "title": "No active credential", "detail": str(exc)},
            health=Health.FAILING,
        )
    if check.credential_id is None:
        check.credential = credential
    with call_context(subject_type="account_check", subject_id=check.pk):
        try:
            summary = provider_class.verify(
                provider_client(account, credential=credential, for_check=True)
            )
        except ProviderError as exc:
            return _finish_check(
                check,
                CheckStatus.FAILED,
                problem=exc.problem.to_dict(),
                latency_ms=(time.perf_counter() - started) * 1000,
                health=Health.FAILING,
            )
    return _finish_check(
        check,
        CheckStatus.OK,
        summary=summary or {},
        latency_ms=(time.perf_counter() - started) * 1000,
        health=Health.HEALTHY,
    )


def _finish_check(
    check: AccountCheck,
    status: str,
    *,
    health: str,
    summary: dict | None = None,
    problem: dict | None = None,
    latency_ms: float | None = None,
) -> AccountCheck:
    now = timezone.now()
    # All or nothing: a database that goes away half-way leaves the check running and
    # the account's health as it was (the task retries), never a finished check with
    # stale health or the reverse.
    check.status = status
    check.summary = summary or {}
    check.problem = problem
    check.latency_ms = latency_ms
    check.finished_at = now
    with transaction.atomic():
        fields = ["status", "summary", "problem", "latency_ms", "finished_at", "credential"]
        check.save(update_fields=fields)
        # Only a check of the account's active credential speaks for the account's health.
        credential = check.credential
        if credential is None or credential.state == CredentialState.ACTIVE:
            _record_health(check.account_id, health=health, now=now)
        if credential is not None and status == CheckStatus.OK:
            Credential.objects.filter(pk=credential.pk).update(verified_at=now)
    return check


def _record_health(account_id: int, *, health: str, now) -> None:
    ConnectedAccount.objects.filter(pk=account_id).update(health=health, last_checked_at=now)
