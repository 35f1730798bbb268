"""Asking for a dispatcher: once per transaction, and never failing the caller."""

from __future__ import annotations

from django.db import transaction

from dashboard.events.models import OutboundEvent
from dashboard.events.outbox import event_queue
from tests.events.conftest import ca_event


def test_a_transaction_queueing_many_events_asks_for_one_dispatcher(
    ca_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for _ in range(5):
            event_queue(account=ca_account, payload=ca_event())

    assert OutboundEvent.objects.filter(status="queued").count() == 5
    assert len(callbacks) == 1


def test_a_rolled_back_transaction_does_not_stop_the_next_one_asking(
    ca_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                event_queue(account=ca_account, payload=ca_event())
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        with transaction.atomic():
            event_queue(account=ca_account, payload=ca_event())

    assert len(callbacks) == 1
    assert OutboundEvent.objects.count() == 1
