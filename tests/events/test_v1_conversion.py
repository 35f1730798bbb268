"""Commanders Act v1 -> v2 as the outbox applies it (property tests)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.events.preparing import EventRefused, prepare
from integrations.commanders_act.payloads import EVENT_LIMIT_BYTES, V1_CONTEXT_KEYS, is_v1

# Keys the v2 rules check by their own shape (currency: ISO 4217, items: a list of
# items) are left out: a random value there is rightly refused, and this test is about
# conversion keeping values, not about those rules (tested in tests/integrations).
RULED_KEYS = {"currency", "items"}
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda k: (
        k not in {*V1_CONTEXT_KEYS, *RULED_KEYS, "properties", "context", "user", "event_name"}
    )
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.text(max_size=30),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def v1_events(draw):
    event = {
        "event_name": draw(st.sampled_from(["page_view", "search", "add_to_cart", "custom_thing"])),
        "user": {"id": draw(st.text(min_size=1, max_size=20))},
        "event_id": draw(st.uuids().map(str)),
        "properties": draw(st.dictionaries(keys, values, max_size=6)),
    }
    if draw(st.booleans()):
        event["page"] = {"location": draw(st.text(min_size=1, max_size=40)), "title": "t"}
    if draw(st.booleans()):
        event["device"] = {"lang": draw(st.sampled_from(["en", "fr"]))}
    return event


@settings(max_examples=150, deadline=None)
@given(v1_events())
def test_a_converted_v1_event_keeps_every_value_and_becomes_v2(v1):
    assert is_v1(v1)
    prepared = prepare("commanders_act", json.dumps(v1))
    sent = prepared.payload
    assert prepared.converted_from_v1
    assert not is_v1(sent)
    assert sent["event_name"] == v1["event_name"]
    assert sent["user"] == v1["user"]
    # Metadata moved into context; the v1 event_id stays the idempotency key.
    assert sent["context"]["event_id"] == v1["event_id"] == prepared.idempotency_key
    for key, value in v1["properties"].items():
        assert sent[key] == value
    if "page" in v1:
        assert sent["context"]["page"]["url"] == v1["page"]["location"]
        assert "location" not in sent["context"]["page"]
    if "device" in v1:
        assert sent["context"]["device"] == v1["device"]
    for key in V1_CONTEXT_KEYS:
        assert key not in sent
    assert "properties" not in sent
    # What is stored is what is sent: compact JSON, measured in bytes.
    assert prepared.size_bytes == len(prepared.body.encode("utf-8")) <= EVENT_LIMIT_BYTES


@settings(max_examples=100, deadline=None)
@given(v1_events())
def test_preparing_the_converted_event_again_changes_nothing(v1):
    once = prepare("commanders_act", v1)
    twice = prepare("commanders_act", once.payload)
    assert not twice.converted_from_v1
    assert twice.body == once.body


@settings(max_examples=60, deadline=None)
@given(v1_events(), keys, scalars, scalars)
def test_a_key_at_the_root_and_in_properties_keeps_both_apart(v1, key, a, b):
    """The doc moves *all* root-level contextual metadata into ``context`` and the
    properties to the root, so the same name in both places is no conflict: the root
    value lands in ``context``, the property at the event's root."""
    v1 = {**v1, key: a, "properties": {**v1["properties"], key: b}}
    sent = json.loads(prepare("commanders_act", v1).body)
    assert sent["context"][key] == a
    assert sent[key] == b


@settings(max_examples=30, deadline=None)
@given(v1_events(), st.text(min_size=1, max_size=20))
def test_a_user_at_the_root_and_in_properties_is_refused_not_guessed(v1, other_id):
    """``user`` stays at the root in v2, so two different users cannot both be kept."""
    if other_id == v1["user"]["id"]:
        return
    v1 = {**v1, "properties": {**v1["properties"], "user": {"id": other_id}}}
    with pytest.raises(EventRefused, match="user"):
        prepare("commanders_act", v1)
