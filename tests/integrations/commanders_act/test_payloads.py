import pytest

from integrations.commanders_act.payloads import (
    BATCH_LIMIT_BYTES,
    BATCH_OVERHEAD_BYTES,
    EVENT_LIMIT_BYTES,
    PayloadError,
    convert_v1,
    convert_v1_to_v2,
    encoded_size,
    event_warnings,
    fill_defaults,
    is_v1,
    normalize_event,
    pack_batches,
    pack_encoded_requests,
    pack_keyed_batches,
    validate_event,
)
from integrations.http import encode_json
from tests.integrations.commanders_act.samples import make_event, sized_event

PURCHASE = make_event(
    event_name="purchase",
    id="ORD-1",
    revenue=42.5,
    value=42.5,
    currency="EUR",
    items=[{"id": "SKU1", "quantity": 1, "price": 42.5}],
    type="online",
    payment_method="card",
    status="paid",
)


def test_it_accepts_the_documented_purchase_example():
    assert validate_event(PURCHASE) == PURCHASE


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"event_name": ""}, "event_name"),
        ({"event_name": 3}, "event_name"),
        ({"user": "12345"}, "user"),
        ({"context": []}, "context"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"items": {"id": "SKU1"}}, "items"),
        ({"items": ["SKU1"]}, "items[0]"),
        ({"revenue": "42.5"}, "revenue"),
        ({"id": True}, "id"),
        ({"extra": {"score": float("nan")}}, "extra.score"),
        ({"extra": [1, {"when": object()}]}, "extra[1].when"),
    ],
)
def test_it_names_the_offending_field(change, path):
    with pytest.raises(PayloadError) as caught:
        validate_event({**PURCHASE, **change})
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}:")


@pytest.mark.parametrize("missing", ["event_name", "user", "context"])
def test_it_requires_the_three_v2_fields(missing):
    """contract: Commanders Act / body requires event_name, user, context"""
    event = make_event()
    del event[missing]
    with pytest.raises(PayloadError, match=f"^{missing}: "):
        validate_event(event)


@pytest.mark.parametrize("missing", ["id", "revenue", "value", "currency", "items"])
def test_it_requires_what_a_purchase_needs(missing):
    """contract: Commanders Act / standard purchase event fields"""
    event = dict(PURCHASE)
    del event[missing]
    with pytest.raises(PayloadError, match=f"^{missing}: .*purchase"):
        validate_event(event)


def test_it_turns_a_numeric_string_timestamp_into_an_integer():
    # providers/commanders-act.md: one public example sends it as a string [conflict].
    event = make_event()
    event["context"]["event_timestamp"] = "1639044446636"
    cleaned = validate_event(event)
    assert cleaned["context"]["event_timestamp"] == 1639044446636
    assert event["context"]["event_timestamp"] == "1639044446636"  # input untouched


@pytest.mark.parametrize(
    "value", [1639044446636.5, "1639044446636.0", "soon", "١٢٣", True, -5, None]
)
def test_it_refuses_a_timestamp_that_is_not_integer_milliseconds(value):
    """contract: Commanders Act / event_timestamp in epoch milliseconds"""
    event = make_event()
    event["context"]["event_timestamp"] = value
    with pytest.raises(PayloadError, match=r"^context\.event_timestamp: "):
        validate_event(event)


@pytest.mark.parametrize("value", [12, "", None])
def test_it_refuses_an_event_id_that_is_not_a_string(value):
    event = make_event()
    event["context"]["event_id"] = value
    with pytest.raises(PayloadError, match=r"^context\.event_id: "):
        validate_event(event)


def test_it_refuses_a_v1_payload_instead_of_sending_it():
    with pytest.raises(PayloadError, match="v1"):
        validate_event({"event_name": "x", "properties": {"user": {}}})


def test_an_event_of_exactly_32_kb_passes_and_one_byte_more_does_not():
    """contract: Commanders Act / 32 KB per request (32,000 bytes)"""
    assert validate_event(sized_event(32_000))
    with pytest.raises(PayloadError, match="is 32,001 bytes.*over 32,000 bytes"):
        validate_event(sized_event(32_001))


def test_it_measures_size_in_utf8_bytes_not_characters():
    event = make_event(pad="é" * (EVENT_LIMIT_BYTES // 2))
    assert len(encode_json(event).decode()) < EVENT_LIMIT_BYTES < encoded_size(event)
    with pytest.raises(PayloadError):
        validate_event(event)


def test_warnings_name_missing_recommended_fields():
    """contract: Commanders Act / consistent_anonymous_id, event_id, event_timestamp recommended"""
    event = {"event_name": "purchase", "user": {}, "context": {"event_timestamp": 1639044446}}
    warnings = " ".join(event_warnings(event))
    for field in ("consistent_anonymous_id", "event_id", "seconds", "payment_method", "status"):
        assert field in warnings
    assert event_warnings(PURCHASE) == []


def test_fill_defaults_fills_only_what_is_missing():
    event = {"event_name": "x", "user": {}}
    filled = fill_defaults(event, now_ms=1700000000000, event_id="generated")
    assert filled["context"] == {"event_id": "generated", "event_timestamp": 1700000000000}
    assert "context" not in event
    given = make_event(event_id="mine")
    assert fill_defaults(given, now_ms=1, event_id="other") == given


def test_fill_defaults_makes_a_fresh_uuid_and_the_current_time():
    first = fill_defaults({"context": {}})["context"]
    second = fill_defaults({"context": {}})["context"]
    assert first["event_id"] != second["event_id"]
    assert first["event_timestamp"] > 1_600_000_000_000


V1 = {
    "event_name": "purchase",
    "event_id": "abc",
    "event_timestamp": 1639044446636,
    "properties": {"id": "ORD-1", "revenue": 10, "user": {"id": "42"}},
    "page": {"title": "Checkout", "location": "https://shop.example/checkout"},
    "device": {"ip": "192.0.2.1"},
    "app": {"name": "shop"},
    "integration": "legacy",
}


def test_it_converts_the_documented_v1_shape():
    """contract: Commanders Act / v1 to v2: properties move to the root
    contract: Commanders Act / v1 to v2: all root metadata moves into context
    contract: Commanders Act / v1 to v2: page.location becomes page.url"""
    assert is_v1(V1)
    conversion = convert_v1(V1)
    assert (
        conversion.event
        == convert_v1_to_v2(V1)
        == {
            "event_name": "purchase",
            "id": "ORD-1",
            "revenue": 10,
            "user": {"id": "42"},
            "context": {
                "event_id": "abc",
                "event_timestamp": 1639044446636,
                "page": {"title": "Checkout", "url": "https://shop.example/checkout"},
                "device": {"ip": "192.0.2.1"},
                "app": {"name": "shop"},
                # Not among the doc's five examples, but root metadata all the same.
                "integration": "legacy",
            },
        }
    )
    assert conversion.moved == (
        ("event_id", "context.event_id"),
        ("event_timestamp", "context.event_timestamp"),
        ("page.location", "context.page.url"),
        ("page", "context.page"),
        ("device", "context.device"),
        ("app", "context.app"),
        ("integration", "context.integration"),
        ("properties.id", "id"),
        ("properties.revenue", "revenue"),
        ("properties.user", "user"),
    )


def test_a_user_left_at_the_v1_root_stays_at_the_root():
    # Some old integrations put user beside properties; v2 keeps it at the root.
    event = convert_v1_to_v2({"event_name": "x", "user": {"id": "1"}, "event_id": "e"})
    assert event == {"event_name": "x", "user": {"id": "1"}, "context": {"event_id": "e"}}


def test_a_v2_event_is_not_v1_and_normalizes_unchanged():
    assert not is_v1(PURCHASE)
    assert normalize_event(PURCHASE) == (PURCHASE, False)


def test_normalize_event_converts_v1_and_validates_it():
    event, converted = normalize_event({"event_name": "x", "properties": {"user": {"id": "1"}}})
    assert converted
    assert event == {"event_name": "x", "user": {"id": "1"}, "context": {}}


def test_it_refuses_a_conversion_that_would_lose_a_value():
    """contract: Commanders Act / v1 to v2: page.location becomes page.url"""
    with pytest.raises(PayloadError, match=r"^properties\.context\.integration: conflicts"):
        convert_v1_to_v2({**V1, "properties": {"context": {"integration": "other"}}})
    with pytest.raises(PayloadError, match=r"^page\.location: conflicts"):
        convert_v1_to_v2({**V1, "page": {"location": "a", "url": "b"}})


def test_it_merges_a_context_found_inside_properties():
    v1 = {"event_name": "x", "event_id": "a", "properties": {"context": {"lang": "en"}}}
    assert convert_v1_to_v2(v1)["context"] == {"event_id": "a", "lang": "en"}


def test_packing_fills_batches_to_the_limit_in_order():
    events = [sized_event(20 * 1024, event_id=f"e{i}") for i in range(60)]
    batches = list(pack_batches(events))
    assert [e for b in batches for e in b] == events
    for batch in batches:
        assert len(encode_json({"batch": batch})) <= BATCH_LIMIT_BYTES
    # 24 events of 20 KB + commas + overhead fit in 500 KB, 25 do not.
    assert [len(b) for b in batches] == [24, 24, 12]


def test_a_batch_of_exactly_500_kb_is_packed_whole():
    size = (BATCH_LIMIT_BYTES - BATCH_OVERHEAD_BYTES - 19) // 20
    events = [sized_event(size, event_id=f"e{i}") for i in range(19)]
    rest = BATCH_LIMIT_BYTES - BATCH_OVERHEAD_BYTES - 19 - 19 * size
    events.append(sized_event(rest, event_id="last"))
    batches = list(pack_batches(events + [make_event()]))
    assert len(encode_json({"batch": batches[0]})) == BATCH_LIMIT_BYTES
    assert len(batches[0]) == 20


def test_packing_raises_on_an_oversize_event_without_a_callback():
    events = [make_event(), sized_event(EVENT_LIMIT_BYTES + 1, event_id="big")]
    with pytest.raises(PayloadError, match=r"events\[1\] \(event_id big\)"):
        list(pack_batches(events))


def test_packing_hands_oversize_events_to_the_callback_and_sends_the_rest():
    rejected = []
    pairs = [("a", make_event("a")), ("b", sized_event(40_000, "b")), ("c", make_event("c"))]
    batches = list(
        pack_keyed_batches(pairs, on_oversize=lambda key, _e, size: rejected.append((key, size)))
    )
    assert rejected == [("b", 40_000)]
    assert [[key for key, _ in batch] for batch in batches] == [["a", "c"]]


def test_packing_nothing_yields_no_batch():
    assert list(pack_batches([])) == []


def test_without_the_batch_beta_every_event_is_its_own_request():
    """contract: Commanders Act / batch endpoint is a closed beta"""
    bodies = [(i, encode_json(make_event(f"e{i}"))) for i in range(5)]
    assert list(pack_encoded_requests(bodies, batching=False)) == [[b] for b in bodies]
    assert list(pack_encoded_requests(bodies, batching=True)) == [bodies]
    with pytest.raises(PayloadError, match="32,001 bytes"):
        list(pack_encoded_requests([("big", b"x" * 32_001)], batching=False))


def test_the_packer_fills_a_batch_to_500000_bytes_and_no_more():
    """contract: Commanders Act / 500 KB per batch request (500,000 bytes)
    contract: Commanders Act / 32 KB per event in a batch (32,000 bytes)"""
    assert (BATCH_LIMIT_BYTES, EVENT_LIMIT_BYTES) == (500_000, 32_000)
    events = [sized_event(25_000, event_id=f"p{i}") for i in range(40)]
    for batch in pack_batches(events):
        assert len(encode_json({"batch": batch})) <= 500_000
    with pytest.raises(PayloadError, match="32,001 bytes"):
        list(pack_batches([sized_event(32_001)]))
