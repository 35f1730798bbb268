"""Rotating an account's provider key without downtime (Stripe-style rolling keys).

    add (pending) -> verify (task) -> promote: new active, old previous
                                   `-> failed (old key untouched) -> retry | discard
    previous --(overlap window ends, periodic task)--> revoked, ciphertext wiped
    active <-(rollback, within the window)- previous; the rolled-back key is revoked

Every step locks the account row first (``select_for_update``) and then re-reads the
credentials, so two admins, or an admin and the verify task, acting on one account run
one after the other and the second sees what the first did. The database constraints
(one active, one pending per account) are the backstop. Each step is written inside an
:func:`~dashboard.accounts.audit.audit_action`, so the audit trail says who or which
task did it. Secrets travel only inside this process: tasks get ids.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from dashboard.accounts.audit import audit_action, audit_record
from dashboard.accounts.models import (
    AccountCheck,
    CheckStatus,
    ConnectedAccount,
    Credential,
    CredentialState,
    Health,
)
from dashboard.accounts.services import (
    AccountInputError,
    account_check_request,
    account_check_run,
    credential_build,
    secret_fingerprint,
)
from dashboard.core.queueing import enqueue_on_commit
from integrations.provider import SettingsError

VERIFY_TASK = "task accounts.verify_credential"
REVOKE_TASK = "task accounts.revoke_expired_credentials"


class RotationError(Exception):
    """A rotation step that cannot happen now; the message is written for the admin."""


class RotationConflict(RotationError):
    """Someone else changed this account's keys first (another rotation, a discard)."""


class ConfirmationRequired(RotationError):
    """The provider cannot verify keys: promotion needs the admin's explicit confirmation."""


def _lock_account(account_id: int) -> ConnectedAccount:
    return ConnectedAccount.objects.select_for_update().get(pk=account_id)


@contextlib.contextmanager
def _account_locked(account_id: int, action: str, *, actor=None, by: str = ""):
    """A transaction holding the account's row lock, its writes audited as ``action``.

    A database that reports a lock it could not wait out (SQLite's busy timeout, its
    shared-cache "table is locked") means another change to the same account is being
    saved: the admin is told so instead of getting an error page."""
    try:
        with transaction.atomic(), audit_action(action, actor=actor, by=by):
            yield _lock_account(account_id)
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        raise RotationConflict(
            "Another change to this account's keys is being saved right now; "
            "reload the page and try again."
        ) from None


def _describe(credential: Credential) -> str:
    who = f" by {credential.created_by.get_username()}" if credential.created_by else ""
    when = timezone.localtime(credential.created_at).strftime("%Y-%m-%d %H:%M")
    return f"key {credential.fingerprint} (added{who} at {when})"


def credential_add(
    *,
    account: ConnectedAccount,
    secrets: dict[str, str],
    overlap_hours: int | None = None,
    actor=None,
    by: str = "",
    enqueue: bool = True,
) -> Credential:
    """Store a new key for ``account`` as ``pending`` and queue its verification.

    Raises :class:`AccountInputError` for secrets the provider rejects by shape or an
    overlap out of range, :class:`RotationConflict` when another rotation of the
    account is already pending. Providers that cannot verify keep the key pending until
    an admin confirms (:func:`credential_promote`). With ``enqueue=False`` the
    verification check is created but not queued (the command runs it in-process).
    """
    provider_class = account.provider_class
    try:
        cleaned = provider_class.clean_secrets(secrets)
    except SettingsError as exc:
        raise AccountInputError({f"secret:{k}": v for k, v in exc.errors.items()}) from None
    hours = django_settings.CREDENTIAL_OVERLAP_HOURS if overlap_hours is None else overlap_hours
    if not 0 <= hours <= django_settings.CREDENTIAL_MAX_OVERLAP_HOURS:
        raise AccountInputError(
            {
                "overlap_hours": (
                    f"must be between 0 and {django_settings.CREDENTIAL_MAX_OVERLAP_HOURS} hours"
                )
            }
        )
    fingerprint = secret_fingerprint(cleaned)
    with _account_locked(account.pk, "add_key", actor=actor, by=by) as account:
        if account.credentials.filter(
            state=CredentialState.ACTIVE, fingerprint=fingerprint
        ).exists():
            raise AccountInputError({"secrets": "this is the key already in use"})
        pending = account.credentials.filter(state=CredentialState.PENDING).first()
        if pending is not None:
            raise RotationConflict(
                f"Another rotation of {account.name} is in progress: {_describe(pending)}. "
                "Wait for it to finish or discard it, then try again."
            )
        credential = credential_build(
            account=account, secrets=cleaned, state=CredentialState.PENDING, actor=actor
        )
        credential.overlap_hours = hours
        try:
            with transaction.atomic():
                credential.save()
        except IntegrityError:
            raise RotationConflict(
                f"Another rotation of {account.name} started at the same moment; "
                "reload the page to see it."
            ) from None
        if provider_class.can_verify():
            _request_verification(credential, actor=actor, enqueue=enqueue)
    return credential


def _request_verification(credential: Credential, *, actor, enqueue: bool) -> AccountCheck:
    check = AccountCheck.objects.create(
        account_id=credential.account_id, credential=credential, requested_by=actor
    )
    if enqueue:
        # With the broker down the key stays pending; the accounts.checks sweeper
        # sends its verification once the broker is back.
        enqueue_on_commit("accounts.verify_credential", check.pk)
    return check


def latest_verification(credential: Credential) -> AccountCheck | None:
    return credential.checks.order_by("-pk").first()


def credential_verify_run(
    *, check_id: int, by: str = VERIFY_TASK, resume: bool = False
) -> Credential:
    """Run a pending key's verification check and act on it: promote when it passed,
    mark the key ``failed`` (the old key stays active) when it did not.

    Idempotent: a key that is no longer pending (discarded, already handled) is
    returned unchanged, and a check another attempt is running is left to it (see
    :func:`account_check_run` for ``resume``).
    """
    check = AccountCheck.objects.select_related("credential").get(pk=check_id)
    if check.credential.state != CredentialState.PENDING:
        # Discarded (and wiped) before the task ran: nothing left to verify.
        AccountCheck.objects.filter(
            pk=check.pk, status__in=[CheckStatus.PENDING, CheckStatus.RUNNING]
        ).update(
            status=CheckStatus.FAILED,
            finished_at=timezone.now(),
            problem={
                "kind": "configuration",
                "title": "Key no longer pending",
                "detail": f"The key was {check.credential.get_state_display().lower()} "
                "before its verification ran.",
            },
        )
        return check.credential
    check = account_check_run(check_id=check_id, resume=resume)
    return credential_verification_apply(check=check, by=by)


def credential_verification_apply(*, check: AccountCheck, by: str = VERIFY_TASK) -> Credential:
    with _account_locked(check.account_id, "verify", by=by) as account:
        credential = Credential.objects.get(pk=check.credential_id)
        if credential.state != CredentialState.PENDING or not check.is_done:
            return credential
        if check.status == CheckStatus.OK:
            audit_record(credential, changes={"verification": ["pending", "passed"]})
            with audit_action("promote"):
                _promote(account, credential, verified=True)
        else:
            with audit_action("verify_failed"):
                credential.state = CredentialState.FAILED
                credential.problem = check.problem or {
                    "kind": "configuration",
                    "title": "Verification did not pass",
                    "detail": str(check.summary.get("reason", "")),
                }
                credential.save(update_fields=["state", "problem"])
    return credential


def _wipe(credential: Credential, *, now) -> None:
    credential.state = CredentialState.REVOKED
    credential.ciphertext = ""
    credential.revoked_at = now
    credential.save(update_fields=["state", "ciphertext", "revoked_at"])


def _promote(account: ConnectedAccount, credential: Credential, *, verified: bool) -> None:
    """The swap itself; the caller holds the account lock inside a transaction."""
    now = timezone.now()
    # One key at a time in its overlap window: a key still there from an earlier
    # rotation is revoked now rather than kept alive twice as long.
    for stale in account.credentials.filter(state=CredentialState.PREVIOUS):
        with audit_action("revoke"):
            _wipe(stale, now=now)
    # The old key steps down before the new one steps up: never two active keys.
    old = account.credentials.filter(state=CredentialState.ACTIVE).first()
    if old is not None:
        old.state = CredentialState.PREVIOUS
        old.previous_until = now + timedelta(hours=credential.overlap_hours)
        old.save(update_fields=["state", "previous_until"])
        if credential.overlap_hours == 0:
            with audit_action("revoke"):
                _wipe(old, now=now)
    credential.state = CredentialState.ACTIVE
    credential.activated_at = now
    credential.problem = None
    credential.save(update_fields=["state", "activated_at", "problem"])
    ConnectedAccount.objects.filter(pk=account.pk).update(
        health=Health.HEALTHY if verified else Health.UNVERIFIABLE,
        last_checked_at=now if verified else account.last_checked_at,
    )


def credential_promote(
    *, credential: Credential, actor=None, by: str = "", confirmed: bool = False
) -> Credential:
    """Promote a pending key by hand: only for providers that cannot verify keys, and
    only with ``confirmed`` (raises :class:`ConfirmationRequired`). Raises
    :class:`RotationConflict` when the key is no longer pending."""
    with _account_locked(credential.account_id, "promote", actor=actor, by=by) as account:
        credential = Credential.objects.get(pk=credential.pk)
        if credential.state != CredentialState.PENDING:
            raise RotationConflict(
                f"Key {credential.fingerprint} is {credential.get_state_display().lower()} "
                "now, not pending: someone else acted on this rotation first."
            )
        provider_class = account.provider_class
        if provider_class.can_verify():
            raise RotationError(
                f"{provider_class.label} keys are promoted when their verification passes."
            )
        if not confirmed:
            raise ConfirmationRequired(
                f"{provider_class.verify_unsupported_reason} Confirm that you tested the "
                "new key to promote it."
            )
        _promote(account, credential, verified=False)
    return credential


def credential_retry(*, credential: Credential, actor=None, by: str = "") -> Credential:
    """Verify a ``failed`` key again (it becomes ``pending``)."""
    with _account_locked(credential.account_id, "retry", actor=actor, by=by) as account:
        credential = Credential.objects.get(pk=credential.pk)
        if credential.state != CredentialState.FAILED:
            raise RotationConflict(
                f"Key {credential.fingerprint} is {credential.get_state_display().lower()} "
                "now; only a key whose verification failed can be retried."
            )
        pending = account.credentials.filter(state=CredentialState.PENDING).first()
        if pending is not None:
            raise RotationConflict(
                f"Another rotation of {account.name} is in progress: {_describe(pending)}."
            )
        credential.state = CredentialState.PENDING
        credential.problem = None
        credential.save(update_fields=["state", "problem"])
        if account.provider_class.can_verify():
            _request_verification(credential, actor=actor, enqueue=True)
    return credential


def credential_discard(*, credential: Credential, actor=None, by: str = "") -> Credential:
    """Throw away a key that never became active (pending or failed); its ciphertext is
    wiped. A verification still running for it then changes nothing."""
    with _account_locked(credential.account_id, "discard", actor=actor, by=by):
        credential = Credential.objects.get(pk=credential.pk)
        if credential.state not in (CredentialState.PENDING, CredentialState.FAILED):
            raise RotationConflict(
                f"Key {credential.fingerprint} is {credential.get_state_display().lower()} "
                "now; only a pending or failed key can be discarded."
            )
        _wipe(credential, now=timezone.now())
    return credential


def credential_rollback(*, account: ConnectedAccount, actor=None, by: str = "") -> Credential:
    """Within the overlap window, make the previous key active again; the key that
    replaced it is revoked (wiped). Returns the restored key; raises
    :class:`RotationError` when there is nothing to roll back to."""
    with _account_locked(account.pk, "rollback", actor=actor, by=by) as account:
        now = timezone.now()
        previous = (
            account.credentials.filter(state=CredentialState.PREVIOUS, previous_until__gt=now)
            .order_by("-previous_until")
            .first()
        )
        if previous is None:
            raise RotationError(
                f"{account.name} has no previous key to roll back to: its overlap window "
                "ended or it was already rolled back."
            )
        current = account.credentials.filter(state=CredentialState.ACTIVE).first()
        if current is not None:
            _wipe(current, now=now)
        previous.state = CredentialState.ACTIVE
        previous.previous_until = None
        previous.activated_at = now
        previous.save(update_fields=["state", "previous_until", "activated_at"])
        if account.provider_class.can_verify():
            ConnectedAccount.objects.filter(pk=account.pk).update(health=Health.UNKNOWN)
            # Prove the restored key now rather than at the next scheduled check.
            account_check_request(account=account, actor=actor, credential=previous)
    return previous


def credentials_revoke_expired(*, by: str = REVOKE_TASK) -> int:
    """Revoke (and wipe) every previous key whose overlap window has ended; the count."""
    now = timezone.now()
    due = list(
        Credential.objects.filter(
            state=CredentialState.PREVIOUS, previous_until__lte=now
        ).values_list("pk", "account_id")
    )
    revoked = 0
    for pk, account_id in due:
        with _account_locked(account_id, "revoke", by=by):
            # Re-read under the lock: a rollback may have restored it meanwhile.
            credential = Credential.objects.filter(
                pk=pk, state=CredentialState.PREVIOUS, previous_until__lte=now
            ).first()
            if credential is None:
                continue
            _wipe(credential, now=now)
            revoked += 1
    return revoked
