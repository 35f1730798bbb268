"""Events, event types, items, segments and verify against the sandbox."""

from __future__ import annotations

from datetime import datetime

import pytest

from integrations import errors
from integrations.octy import PROVIDER
from integrations.octy.client import OctyClient
from integrations.octy.payloads import EventTypeDefinition, ItemSpec, OctyEvent, PayloadError
from integrations.octy.results import FailedItem, event_outcomes


@pytest.fixture
def ada(client):
    return client.get_profiles(["cust-00001"])[0].profile_id


def test_it_creates_one_event(client, ada, sandbox):
    created = client.create_event(
        OctyEvent("page_view", ada, {"url": "/pricing"}, created_at=datetime(2024, 5, 1, 9, 30))
    )
    assert created.event_id.startswith("event_")
    assert created.created_at == "2024-05-01 09:30:00"
    assert sandbox.app.stats()["events_created"] == 1


def test_it_raises_when_octy_refuses_the_single_event(client):
    with pytest.raises(errors.InvalidRequest) as caught:
        client.create_event(OctyEvent("signup", "profile_nobody"))
    assert "Profile not found" in caught.value.problem.detail


def test_it_tells_a_dispatcher_which_events_of_a_batch_failed(client, ada):
    events = [
        OctyEvent("page_view", ada, {"url": "/a"}),
        OctyEvent("undefined_type", ada),
        OctyEvent("charged", ada, {"payment_method": "card", "item_id": "item-0001"}),
        OctyEvent("page_view", "profile_nobody", {"url": "/a"}),
        OctyEvent("page_view", ada, {"url": "/a"}),
    ]
    result = client.create_events(events)
    assert [o.status for o in result.outcomes] == [
        "created",
        "failed",
        "created",
        "failed",
        "created",
    ]
    assert [f.index for f in result.failed] == [1, 3]
    assert "not been defined" in result.outcomes[1].error_message
    event_ids = [o.event_id for o in result.outcomes if o.status == "created"]
    assert len(set(event_ids)) == 3
    assert [e.event_id for e in result.succeeded] == event_ids


def test_it_raises_with_indexed_failures_when_no_event_was_created(client):
    events = [OctyEvent("signup", "profile_nobody"), OctyEvent("page_view", "profile_x")]
    with pytest.raises(errors.InvalidRequest) as caught:
        client.create_events(events)
    details = caught.value.problem.details
    assert [d["index"] for d in details] == [0, 1]
    assert [d["event_type"] for d in details] == ["signup", "page_view"]


def test_it_maps_generic_identifier_failures_by_event_type(make_client, sandbox, ada):
    sandbox.app.legacy_failure_shape = True
    try:
        result = make_client().create_events(
            [OctyEvent("signup", ada), OctyEvent("not_defined", ada)]
        )
    finally:
        sandbox.app.legacy_failure_shape = False
    assert [o.status for o in result.outcomes] == ["created", "failed"]


def test_it_marks_events_it_cannot_account_for_as_unknown():
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""
    bodies = [{"event_type": "a", "profile_id": "p"}, {"event_type": "b", "profile_id": "p"}]
    unmapped = FailedItem(identifier=None, error_message="boom", raw={}, index=None)
    created = [{"event_id": "e1", "event_type": "b", "profile_id": "p"}]
    outcomes = event_outcomes(bodies, created, [unmapped])
    assert [(o.status, o.event_id) for o in outcomes] == [("unknown", None), ("created", "e1")]
    # An event that cannot be accounted for waits for a person; it is never resent.
    assert (outcomes[0].hold_for_person, outcomes[1].hold_for_person) == (True, False)
    assert "check in Octy" in outcomes[0].advice


def test_it_pairs_created_events_by_order_when_octy_reshapes_them():
    bodies = [{"event_type": "a", "profile_id": "p"}, {"event_type": "b", "profile_id": "p"}]
    created = [{"event_id": "e1"}, {"event_id": "e2"}]
    assert [o.event_id for o in event_outcomes(bodies, created, [])] == ["e1", "e2"]


def test_it_refuses_a_charged_event_without_payment_method_before_sending(client, exchanges, ada):
    exchanges.clear()
    with pytest.raises(PayloadError, match="payment_method"):
        client.create_events([OctyEvent("charged", ada, {"item_id": "item-0001"})])
    assert exchanges == []


def test_it_lists_creates_and_deletes_event_types(client):
    """contract: Octy / event type definitions (paginated)"""
    page = client.event_types()
    names = {e["event_type"] for e in page.entries}
    assert {"charged", "page_view", "signup"} <= names
    result = client.create_event_types(
        [EventTypeDefinition("trial_started", ("plan",)), EventTypeDefinition("signup")]
    )
    assert [e["event_type"] for e in result.succeeded] == ["trial_started"]
    assert [(f.identifier, f.index) for f in result.failed] == [("signup", 1)]
    new_id = result.succeeded[0]["event_type_id"]
    deleted = client.delete_event_types([new_id, "event_type_missing"])
    assert deleted.succeeded == [new_id]
    assert deleted.failed[0].index == 1


def test_it_writes_items_with_partial_failures(client):
    new = ItemSpec("item-new", "books", "New book", "Short description", 1299)
    result = client.create_items([new, ItemSpec("item-0001", "books", "Dup", "Dup", 1)])
    assert [i["item_id"] for i in result.succeeded] == ["item-new"]
    assert [(f.identifier, f.index) for f in result.failed] == [("item-0001", 1)]
    updated = client.update_items([ItemSpec("item-new", "books", "New book", "Cheaper", 999)])
    assert updated.succeeded[0]["item_price"] == 999
    with pytest.raises(errors.InvalidRequest):
        client.update_items([ItemSpec("item-none", "books", "x", "x", 1)])
    assert client.delete_items(["item-new"]).succeeded == ["item-new"]


def test_it_pages_items_and_ends_at_the_exhausted_cursor(client):
    """contract: Octy / item listing (paginated)"""
    first = client.items()
    assert len(first.entries) == 20
    assert first.total == 20
    assert client.items(first.next_cursor).entries == []


def test_it_lists_seeded_segments(client):
    """contract: Octy / segment definitions (paginated)"""
    names = {s["segment_name"] for s in client.segments().entries}
    assert {"high-value", "at-risk"} <= names


def test_it_verifies_a_credential_with_the_event_type_count(client):
    assert PROVIDER.verify(client) == {"event_types": 4}


def test_it_fails_verify_for_a_rejected_key(make_client):
    bad = make_client({"public_key": "pk_demo", "secret_key": "sk_0000dead"})
    assert isinstance(bad, OctyClient)
    with pytest.raises(errors.AuthError) as caught:
        PROVIDER.verify(bad)
    assert caught.value.problem.status == 401
    assert "Invalid public_key or secret_key provided" in caught.value.problem.detail
