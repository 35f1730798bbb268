"""An attempt outlives the call that carried it: the call log is pruned by whole days
(on PostgreSQL by dropping partitions; the attempt holds only the exchange id), and
the event page still shows the attempt and says where its call went."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.calls.models import ApiCall
from dashboard.calls.tasks import prune_calls
from dashboard.events import selectors
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import EventAttempt
from dashboard.events.outbox import event_queue
from tests.conftest import flush_call_log
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


def test_an_attempt_whose_call_was_pruned_still_shows(
    settings, client_for, support, ca_account, ca_sandbox
):
    settings.CALL_LOG_RETENTION_DAYS = 30
    event = event_queue(account=ca_account, payload=ca_event("page_view"), dispatch=False)
    events_dispatch()
    flush_call_log()
    attempt = EventAttempt.objects.get(event=event)
    assert attempt.exchange_id
    assert selectors.event_history(event)[0].call is not None
    ApiCall.objects.update(started_at=timezone.now() - timedelta(days=40))
    EventAttempt.objects.update(
        started_at=timezone.now() - timedelta(days=40),
        finished_at=timezone.now() - timedelta(days=40),
    )

    assert prune_calls() >= 1

    assert not ApiCall.objects.exists()
    assert EventAttempt.objects.filter(pk=attempt.pk).exists()
    assert [(view.call, view.call_pending) for view in selectors.event_history(event)] == [
        (None, False)
    ]
    response = client_for(support).get(reverse("events:detail", args=[event.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-outcome="delivered"' in html
    assert "no longer in the call log (calls are kept 30 days)" in html
    assert "still being written" not in html
