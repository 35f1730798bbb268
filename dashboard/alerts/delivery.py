"""Delivering one alert to one destination: claim, send, record, retry or give up.

A delivery is claimed with a conditional UPDATE that moves ``next_attempt_at`` one
lease ahead: a second worker (a redelivered message, the sweeper, a retry racing its
own original) finds it not due and does nothing. If a worker dies mid-send the lease
runs out and the sweeper sends again: at least once, never twice while the lease
holds; webhook receivers get the same ``X-Switchyard-Delivery`` id to drop a repeat.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from dashboard.alerts import transport
from dashboard.alerts.models import (
    Alert,
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
)
from dashboard.alerts.services import destination_signing_secret, destination_target
from dashboard.core.queueing import enqueue_on_commit, resend_batch, send_now, waiting_since

logger = logging.getLogger(__name__)
DUE_STATES = (DeliveryState.PENDING, DeliveryState.FAILED)


def backoff_seconds(attempts: int) -> float:
    """Wait before try ``attempts + 1``: doubling from the base, capped."""
    base = settings.ALERTS_RETRY_BASE_SECONDS
    return min(settings.ALERTS_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1))


def absolute(link: str) -> str:
    return settings.CONSOLE_BASE_URL.rstrip("/") + link


def message_for(alert: Alert) -> transport.Message:
    """What is sent: the sentence, the console link, and for a digest its members'
    sentences. Only what the alert row holds: no secret, no customer data."""
    members = (
        list(alert.members.order_by("id").values_list("sentence", "link"))
        if alert.is_digest
        else []
    )
    lines = [alert.sentence, absolute(alert.link)]
    lines += [f"- {sentence} {absolute(link)}" for sentence, link in members]
    lines += ["", "Alert history: " + absolute(reverse("alerts:index"))]
    payload = {
        "alert_id": alert.pk,
        "rule_id": alert.rule_id,
        "kind": alert.rule.kind,
        "sentence": alert.sentence,
        "link": absolute(alert.link),
        "account_id": alert.account_id,
        "account": alert.account.name if alert.account else None,
        "provider": alert.provider,
        "created_at": alert.created_at.isoformat(),
        "digest": [{"sentence": s, "link": absolute(link)} for s, link in members],
    }
    subject = "[Switchyard] " + (
        alert.sentence if len(alert.sentence) <= 120 else alert.sentence[:117] + "…"
    )
    return transport.Message(subject=subject, body="\n".join(lines), payload=payload)


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    lease = timedelta(seconds=settings.ALERTS_DELIVERY_LEASE_SECONDS)
    # Another worker got there first when this updates nothing (or it is done).
    return bool(
        Delivery.objects.filter(
            pk=delivery_id, state__in=DUE_STATES, next_attempt_at__lte=now
        ).update(next_attempt_at=now + lease, attempts=F("attempts") + 1, updated_at=now)
    )


INTERRUPTED_ANSWER = (
    "no outcome recorded: the worker stopped during this try, so the destination may "
    "have received it; the next try carries the same X-Switchyard-Delivery id"
)


def _record_interrupted(delivery: Delivery) -> None:
    """Tries claimed by a worker that died before recording them (the claim counted
    them; no row says how they ended) go into the history as interrupted."""
    recorded = set(delivery.tries.values_list("number", flat=True))
    DeliveryAttempt.objects.bulk_create(
        [
            DeliveryAttempt(
                delivery=delivery,
                number=number,
                outcome=AttemptOutcome.INTERRUPTED,
                answer=INTERRUPTED_ANSWER,
            )
            for number in range(1, delivery.attempts)
            if number not in recorded
        ],
        ignore_conflicts=True,
    )


def delivery_attempt(*, delivery_id: int) -> Delivery | None:
    """One try at delivery ``delivery_id``; None when it was not ours to try."""
    from dashboard.alerts.tasks import deliver_alert

    if not _claim(delivery_id):
        return None
    delivery = Delivery.objects.select_related("alert__rule", "alert__account", "destination").get(
        pk=delivery_id
    )
    _record_interrupted(delivery)
    destination = delivery.destination
    outcome = transport.send(
        destination_target(destination),
        message_for(delivery.alert),
        signing_secret=destination_signing_secret(destination),
        delivery_id=delivery.pk,
    )
    now = timezone.now()
    delivery.last_answer = outcome.answer[:500]
    retry_at = None
    if outcome.ok:
        delivery.state, delivery.sent_at = DeliveryState.SENT, now
        result = AttemptOutcome.SENT
    elif not outcome.retryable or delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS:
        delivery.state = DeliveryState.GIVEN_UP
        result = AttemptOutcome.GIVEN_UP
    else:
        delay = backoff_seconds(delivery.attempts)
        retry_at = now + timedelta(seconds=delay)
        delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, retry_at
        result = AttemptOutcome.RETRYING
    with transaction.atomic():
        delivery.save(
            update_fields=["state", "sent_at", "last_answer", "next_attempt_at", "updated_at"]
        )
        # update_or_create: a try that outlived its lease may find its number already
        # marked interrupted by the worker that took over; its real outcome wins.
        DeliveryAttempt.objects.update_or_create(
            delivery=delivery,
            number=delivery.attempts,
            defaults={
                "outcome": result,
                "answer": delivery.last_answer,
                "retry_at": retry_at,
                "finished_at": now,
            },
        )
        if retry_at is not None:
            # Sent once the new state is stored: the retry finds it due, not in flight.
            enqueue_on_commit(deliver_alert, delivery.pk, countdown=delay)
    logger.info("alert_delivery", extra={"delivery": delivery.pk, "state": delivery.state})
    return delivery


def deliveries_enqueue(deliveries: list[Delivery]) -> None:
    from dashboard.alerts.tasks import deliver_alert

    for delivery in deliveries:
        enqueue_on_commit(deliver_alert, delivery.pk)


def deliveries_resend_waiting() -> int:
    """Sweeper: re-send deliveries due for a while (broker was down, worker died)."""
    from dashboard.alerts.tasks import deliver_alert

    due = Delivery.objects.filter(state__in=DUE_STATES, next_attempt_at__lte=waiting_since())
    return sum(
        send_now(deliver_alert, pk)
        for pk in due.order_by("next_attempt_at").values_list("pk", flat=True)[: resend_batch()]
    )


def deliveries_send_due_now(*, limit: int = 100) -> list[Delivery]:
    """Try every due delivery in this process (the ``run_alerts`` command)."""
    ids = list(
        Delivery.objects.filter(state__in=DUE_STATES, next_attempt_at__lte=timezone.now())
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    return [d for d in (delivery_attempt(delivery_id=pk) for pk in ids) if d is not None]
