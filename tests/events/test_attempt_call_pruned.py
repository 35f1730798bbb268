"""An attempt outlives the call that carried it: the call log is pruned by whole days
(on PostgreSQL by dropping partitions, with no foreign key to clear the attempt's
``api_call``), and the event page still shows the attempt."""

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
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


def test_an_attempt_whose_call_was_pruned_still_shows(
    settings, client_for, support, ca_account, ca_sandbox
):
    settings.CALL_LOG_RETENTION_DAYS = 30
    event = event_queue(account=ca_account, payload=ca_event("page_view"), dispatch=False)
    events_dispatch()
    attempt = EventAttempt.objects.get(event=event)
    assert attempt.api_call_id is not None
    assert selectors.event_history(event)[0].call is not None
    ApiCall.objects.update(started_at=timezone.now() - timedelta(days=40))

    assert prune_calls() >= 1

    assert not ApiCall.objects.exists()
    assert EventAttempt.objects.filter(pk=attempt.pk).exists()
    assert [view.call for view in selectors.event_history(event)] == [None]
    response = client_for(support).get(reverse("events:detail", args=[event.pk]))
    assert response.status_code == 200
    assert 'data-outcome="delivered"' in response.content.decode()
