"""Checks nobody clicked: the scheduled synthetic check, and the sweeper that re-sends
checks whose task message never left (the broker was down).

Both only queue work; :func:`dashboard.accounts.services.account_check_run` runs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from dashboard.accounts.models import AccountCheck, CheckStatus, ConnectedAccount, CredentialState
from dashboard.accounts.services import account_check_request
from dashboard.core.queueing import resend_batch, send_now, waiting_since
from integrations.registry import UnknownProvider, get_provider


def account_checks_queue_synthetic(*, now: datetime | None = None) -> list[int]:
    """Queue a verify check for every enabled account whose provider can verify and
    that has no check in flight; returns the queued check ids (the scheduled
    synthetic check the Overview shows)."""
    now = now or timezone.now()
    # A check still pending or running (a slow provider, a busy worker) is not doubled.
    in_flight = set(
        AccountCheck.objects.filter(
            status__in=(CheckStatus.PENDING, CheckStatus.RUNNING),
            requested_at__gte=now - timedelta(seconds=2 * settings.SYNTHETIC_CHECK_SECONDS),
        ).values_list("account_id", flat=True)
    )
    queued = []
    for account in ConnectedAccount.objects.filter(is_enabled=True).order_by("pk"):
        if account.pk in in_flight:
            continue
        try:
            verifiable = get_provider(account.provider).can_verify()
        except UnknownProvider:
            continue
        if verifiable:
            queued.append(account_check_request(account=account).pk)
    return queued


def account_checks_resend_waiting() -> int:
    """Re-send the task of every check still ``pending`` (never started) after
    ``QUEUE_RESEND_AFTER_SECONDS``; the number of tasks sent. Registered as the
    ``accounts.checks`` sweeper (see apps.py and dashboard/core/queueing.py).

    A check of a key that is not in use (pending, failed or revoked: a rotation's
    verification) goes to ``accounts.verify_credential``, which promotes or fails the
    key, or closes the check when the key was discarded meanwhile; any other check
    to ``accounts.run_check``. Both are idempotent, so a check whose first message
    arrives after all runs once."""
    waiting = (
        AccountCheck.objects.filter(status=CheckStatus.PENDING, requested_at__lte=waiting_since())
        .order_by("requested_at", "pk")
        .values_list("pk", "credential_id", "credential__state")[: resend_batch()]
    )
    sent = 0
    for pk, credential_id, credential_state in waiting:
        in_use = credential_id is None or credential_state in (
            CredentialState.ACTIVE,
            CredentialState.PREVIOUS,
        )
        sent += send_now("accounts.run_check" if in_use else "accounts.verify_credential", pk)
    return sent
