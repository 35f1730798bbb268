"""Migration events.0004: an attempt that held a call id before the exchange id existed
keeps its link to that call (both get the legacy id ``call-<id>``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("events", "0003_held_and_discarded_events"), ("calls", "0004_partition_by_time")]
AFTER = [("events", "0004_attempt_exchange_id"), ("calls", "0005_apicall_exchange_id")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest_schema():
    """The test walks the schema back to 0003; every later test needs the whole schema
    (later migrations, e.g. events 0005, are unapplied on the way back)."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_an_attempt_linked_by_call_id_keeps_its_call(demo_account, back_to_latest_schema):
    account = demo_account("commanders_act")
    old = _migrate(BEFORE)
    try:
        ApiCall = old.get_model("calls", "ApiCall")
        OutboundEvent = old.get_model("events", "OutboundEvent")
        EventAttempt = old.get_model("events", "EventAttempt")
        now = timezone.now()
        call, unrelated = (
            ApiCall.objects.create(
                account_id=account.pk,
                provider="commanders_act",
                operation=operation,
                method="POST",
                url="http://127.0.0.1:9/events",
                started_at=now,
                duration_ms=1.0,
                outcome="ok",
            )
            for operation in ("commanders_act.batch", "commanders_act.event")
        )
        events = [
            OutboundEvent.objects.create(
                account_id=account.pk,
                provider="commanders_act",
                event_type="page_view",
                idempotency_key=f"key-{i}",
                body="{}",
                size_bytes=2,
                created_at=now,
                updated_at=now,
            )
            for i in range(3)
        ]
        # Two events carried by one batch call, one attempt that never knew its call.
        for event, call_id in zip(events, (call.pk, call.pk, None), strict=True):
            EventAttempt.objects.create(
                event=event,
                number=1,
                started_at=now,
                finished_at=now,
                outcome="delivered",
                api_call_id=call_id,
            )
    finally:
        new = _migrate(AFTER)

    ApiCall = new.get_model("calls", "ApiCall")
    EventAttempt = new.get_model("events", "EventAttempt")
    linked = f"call-{call.pk}"
    assert ApiCall.objects.get(pk=call.pk).exchange_id == linked
    assert ApiCall.objects.get(pk=unrelated.pk).exchange_id == ""
    assert [EventAttempt.objects.get(event_id=e.pk).exchange_id for e in events] == [
        linked,
        linked,
        "",
    ]
