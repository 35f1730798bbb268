"""Replay: dry run, re-sending with the same bytes and key, progress, cancel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.events import dispatch
from dashboard.events import replay as replays
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import (
    AttemptOutcome,
    EventStatus,
    OutboundEvent,
    Replay,
    ReplayStatus,
)
from dashboard.events.outbox import event_queue
from integrations.sandbox import Fault
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures(
    ca_account, octy_account, octy_profile, ca_sandbox, django_capture_on_commit_callbacks
):
    """Four failed Commanders Act events (two of alice), one dead Octy event, one delivered."""
    ca_sandbox.faults.add(Fault(kind="status", status=400, count=4))
    failed = [
        event_queue(
            account=ca_account, payload=ca_event(user="alice" if i < 2 else "bob"), dispatch=False
        )
        for i in range(4)
    ]
    for event in failed:  # one request each, so the fault hits each
        events_dispatch(event_ids=[event.pk])
    dead = event_queue(
        account=octy_account,
        payload={"event_type": "signup", "profile_id": octy_profile},
        dispatch=False,
    )
    OutboundEvent.objects.filter(pk=dead.pk).update(status=EventStatus.DEAD)
    ok = event_queue(account=ca_account, payload=ca_event(user="alice"), dispatch=False)
    events_dispatch(event_ids=[ok.pk])
    assert OutboundEvent.objects.filter(status=EventStatus.FAILED).count() == 4
    return failed, dead, ok


def test_the_dry_run_counts_and_names_accounts_without_changing_anything(
    client_for, marketer, failures, ca_account, octy_account, ca_sandbox
):
    response = client_for(marketer).get(reverse("events:replay"))
    html = response.content.decode()
    assert 'data-testid="replay-count">5<' in html
    assert f"{ca_account.name}: 4" in html
    assert f"{octy_account.name}: 1" in html
    assert not Replay.objects.exists()
    assert OutboundEvent.objects.filter(status=EventStatus.FAILED).count() == 4
    # Filtered: only alice's failures.
    response = client_for(marketer).get(reverse("events:replay"), {"user": "alice"})
    assert 'data-testid="replay-count">2<' in response.content.decode()


def test_a_replay_resends_the_same_bytes_and_key_and_keeps_the_attempts(
    client_for, marketer, failures, ca_sandbox, django_capture_on_commit_callbacks
):
    failed, dead, ok = failures
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(marketer).post(reverse("events:replay"), {"user": "alice"})
    replay = Replay.objects.get()
    assert response["Location"] == f"/events/replay/{replay.pk}/"
    assert replay.total == 2
    assert len(callbacks) == 1
    replays.replay_run(replay_id=replay.pk)  # what the task does
    replay.refresh_from_db()
    assert replay.status == ReplayStatus.DONE
    assert replay.done == 2
    for event in failed[:2]:
        before_body = event.body
        event.refresh_from_db()
        assert event.status == EventStatus.DELIVERED
        assert event.body == before_body
        attempts = list(event.attempts.all())
        assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED, AttemptOutcome.DELIVERED]
        assert attempts[1].replay_id == replay.pk
        assert attempts[0].replay_id is None
        assert ca_sandbox.delivery_count(event.idempotency_key) == 1
    # bob's failures and the delivered event were not touched.
    assert {OutboundEvent.objects.get(pk=e.pk).status for e in failed[2:]} == {EventStatus.FAILED}
    assert ok.attempts.count() == 1


def test_a_cancelled_replay_stops_between_chunks(failures, marketer, ca_sandbox, monkeypatch):
    plan = replays.replay_plan(events=OutboundEvent.objects.filter(provider="commanders_act"))
    replay = replays.replay_start(plan=plan, filters={}, actor=marketer)
    real_dispatch = dispatch.events_dispatch

    def dispatch_then_cancel(**kwargs):
        report = real_dispatch(**kwargs)
        replays.replay_cancel(replay=replay)  # the user pressed Cancel after the first chunk
        return report

    monkeypatch.setattr(dispatch, "events_dispatch", dispatch_then_cancel)
    replays.replay_run(replay_id=replay.pk, chunk_size=1)
    replay.refresh_from_db()
    assert replay.status == ReplayStatus.CANCELLED
    assert replay.done == 1
    assert replay.total == 4
    assert (
        OutboundEvent.objects.filter(provider="commanders_act", status=EventStatus.FAILED).count()
        == 3
    )


def test_the_progress_fragment_polls_until_done_and_cancel_works(client_for, marketer, failures):
    plan = replays.replay_plan(events=OutboundEvent.objects.all())
    replay = replays.replay_start(plan=plan, filters={}, actor=marketer)
    client = client_for(marketer)
    url = reverse("events:replay_detail", args=[replay.pk])
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'max="5" value="0"' in fragment
    assert 'hx-trigger="every 1s"' in fragment
    assert 'data-testid="cancel-replay"' in fragment
    response = client.post(
        reverse("events:replay_cancel", args=[replay.pk]), HTTP_HX_REQUEST="true"
    )
    assert 'data-status="cancelled"' in response.content.decode()
    assert "every 1s" not in response.content.decode()
    replays.replay_run(replay_id=replay.pk)
    assert OutboundEvent.objects.filter(status=EventStatus.FAILED).count() == 4


def test_support_replays_one_customers_events_only(client_for, support, failures):
    client = client_for(support)
    assert client.post(reverse("events:replay")).status_code == 403
    response = client.post(reverse("events:replay"), {"user": "bob"})
    assert response.status_code == 302
    assert Replay.objects.get().total == 2


def test_a_delivered_event_is_never_replayed(failures, marketer):
    failed, dead, ok = failures
    plan = replays.replay_plan(events=OutboundEvent.objects.filter(pk=ok.pk))
    assert plan.total == 0
