"""Held events: an Octy write answered 500 may or may not have been applied (Octy keeps
no duplicate check), so the event waits for a person who replays or discards it."""

from __future__ import annotations

import html as html_lib

import pytest
import requests
from django.urls import reverse

from dashboard.events import replay as replays
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import AttemptOutcome, EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from dashboard.events.selectors import EventFilters, filtered_events

pytestmark = pytest.mark.django_db

HELD_SENTENCE = (
    "Octy may or may not have recorded this event (it answered 500 after the write and "
    "keeps no duplicate check): check in Octy, then replay or discard."
)


def fail_next_write(sandbox) -> None:
    """The Octy sandbox applies the next write, then answers it 500."""
    running = sandbox["octy"]
    requests.post(f"{running.url}/_sandbox/fail_after_write", json={"count": 1}, timeout=5)


@pytest.fixture
def held(octy_account, octy_profile, sandbox, fast_retries):
    fail_next_write(sandbox)
    event = event_queue(
        account=octy_account,
        payload={"event_type": "signup", "profile_id": octy_profile},
        dispatch=False,
    )
    report = events_dispatch(event_ids=[event.pk])
    event.refresh_from_db()
    assert report.held == 1
    return event


def test_an_ambiguous_500_holds_the_event_and_it_is_not_retried(held, sandbox):
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""
    assert held.status == EventStatus.HELD
    assert held.is_final
    assert held.is_failure
    assert held.problem["kind"] == "ambiguous"
    assert [a.outcome for a in held.attempts.all()] == [AttemptOutcome.HELD]
    # The write was applied once; the dispatcher never sends a held event again.
    assert sandbox["octy"].app.stats()["events_created"] == 1
    OutboundEvent.objects.filter(pk=held.pk).update(next_attempt_at=None)
    assert events_dispatch().claimed == 0
    held.refresh_from_db()
    assert held.total_attempts == 1
    assert sandbox["octy"].app.stats()["events_created"] == 1


def test_a_held_event_shows_why_and_offers_replay_and_discard(client_for, marketer, held):
    response = client_for(marketer).get(reverse("events:detail", args=[held.pk]))
    page = html_lib.unescape(response.content.decode())
    assert f'data-testid="held-note">{HELD_SENTENCE}<' in page
    assert 'data-testid="replay-event">Replay<' in page
    assert 'data-testid="discard-event"' in page
    assert "Held: check at the provider" in page
    # Not "permanent": the problem box says why it is not resent.
    assert "Unknown: the provider may have applied it" in page
    assert "Permanent: retrying" not in page


def test_the_failed_view_and_the_status_filter_include_held_events(client_for, marketer, held):
    client = client_for(marketer)
    failed_view = client.get(reverse("events:failures")).content.decode()
    assert f'data-id="{held.pk}" data-status="held"' in failed_view
    listing = client.get(reverse("events:index"), {"status": "held"}).content.decode()
    assert '<option value="held" selected>' in listing
    assert f'data-id="{held.pk}"' in listing
    assert list(filtered_events(EventFilters(failures_only=True))) == [held]


def test_replaying_a_held_event_delivers_it_once(client_for, marketer, held, sandbox):
    response = client_for(marketer).post(reverse("events:replay"), {"event": held.pk})
    assert response.status_code == 302
    replay_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    replays.replay_run(replay_id=replay_id)  # what the task does
    held.refresh_from_db()
    assert held.status == EventStatus.DELIVERED
    assert [a.outcome for a in held.attempts.all()] == [
        AttemptOutcome.HELD,
        AttemptOutcome.DELIVERED,
    ]
    # Once by the first (ambiguous) send, once by the replay: no more.
    assert sandbox["octy"].app.stats()["events_created"] == 2
    assert events_dispatch().claimed == 0


def test_discarding_a_held_event_ends_it_with_who_and_when(client_for, marketer, held, sandbox):
    client = client_for(marketer)
    response = client.post(reverse("events:discard", args=[held.pk]))
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == EventStatus.DISCARDED
    assert held.is_final
    assert not held.is_failure
    assert held.discarded_by == marketer
    assert held.discarded_at is not None
    page = client.get(reverse("events:detail", args=[held.pk])).content.decode()
    assert 'data-testid="discarded"' in page
    assert f"by {marketer.username}" in page
    assert 'data-testid="discard-event"' not in page
    assert 'data-testid="replay-event"' not in page
    assert replays.replay_plan(events=OutboundEvent.objects.filter(pk=held.pk)).total == 0
    assert sandbox["octy"].app.stats()["events_created"] == 1


def test_only_a_held_event_can_be_discarded(client_for, marketer, octy_account, octy_profile):
    event = event_queue(
        account=octy_account,
        payload={"event_type": "signup", "profile_id": octy_profile},
        dispatch=False,
    )
    events_dispatch(event_ids=[event.pk])
    with pytest.raises(replays.NotHeld):
        replays.event_discard(event=event, actor=marketer)
    client_for(marketer).post(reverse("events:discard", args=[event.pk]))
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED


def test_whoever_may_replay_it_may_discard_it_and_nobody_else(client_for, support, held):
    from tests.conftest import make_user

    response = client_for(make_user(None, "nobody")).post(reverse("events:discard", args=[held.pk]))
    assert response.status_code == 403
    held.refresh_from_db()
    assert held.status == EventStatus.HELD
    # Support replays a customer's events from their page, so it may settle this one.
    client_for(support).post(reverse("events:discard", args=[held.pk]))
    held.refresh_from_db()
    assert (held.status, held.discarded_by) == (EventStatus.DISCARDED, support)
