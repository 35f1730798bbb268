from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.commanders_act.payloads import (
    BATCH_OVERHEAD_BYTES,
    V1_CONTEXT_KEYS,
    convert_v1,
    convert_v1_to_v2,
    encoded_size,
    is_v1,
    normalize_event,
    pack_batches,
    pack_keyed_batches,
    validate_event,
)
from integrations.http import encode_json

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
RESERVED = {"properties", "context", "event_name", *V1_CONTEXT_KEYS}
# currency and items are validated in v2; random values there would fail validation.
keys = st.text(min_size=1, max_size=10).filter(
    lambda k: k not in RESERVED and k not in {"currency", "items"}
)


@st.composite
def v1_payloads(draw):
    properties = draw(st.dictionaries(keys, json_values, max_size=6))
    properties["user"] = draw(st.dictionaries(keys, json_values, max_size=3))
    payload = {"event_name": draw(st.text(min_size=1, max_size=20).filter(str.strip))}
    payload["properties"] = properties
    # Unknown root keys, distinct from the properties so nothing collides.
    extra = draw(
        st.dictionaries(keys.filter(lambda k: k not in properties), json_values, max_size=3)
    )
    payload.update(extra)
    if draw(st.booleans()):
        payload["event_id"] = draw(st.text(min_size=1, max_size=36).filter(str.strip))
    if draw(st.booleans()):
        payload["event_timestamp"] = draw(st.integers(min_value=0, max_value=2**45))
    for key in ("device", "app"):
        if draw(st.booleans()):
            payload[key] = draw(st.dictionaries(keys, json_values, max_size=3))
    if draw(st.booleans()):
        page = draw(
            st.dictionaries(
                keys.filter(lambda k: k not in {"url", "location"}), json_values, max_size=3
            )
        )
        page["location"] = draw(st.text(max_size=40))
        payload["page"] = page
    return payload


@given(v1_payloads())
def test_v1_conversion_loses_no_value(v1):
    """contract: Commanders Act / v1 to v2: all root metadata moves into context"""
    v2 = convert_v1_to_v2(v1)
    assert "properties" not in v2
    assert v2["event_name"] == v1["event_name"]
    for key, value in v1["properties"].items():
        assert v2[key] == value
    for key in V1_CONTEXT_KEYS:
        if key in v1 and key != "page":
            assert v2["context"][key] == v1[key]
    if "page" in v1:
        page = v2["context"]["page"]
        assert page["url"] == v1["page"]["location"]
        assert "location" not in page
        assert {k: v for k, v in page.items() if k != "url"} == {
            k: v for k, v in v1["page"].items() if k != "location"
        }
    # The doc: "All contextual meta-data were at the root, they are now inside a new
    # context object" — every other root key is contextual metadata.
    for key, value in v1.items():
        if key not in RESERVED:
            assert v2["context"][key] == value
            assert key not in v2 or key in v1["properties"]
    moved = dict(convert_v1(v1).moved)
    assert {k for k in v1 if k not in ("event_name", "properties")} <= set(moved)
    assert all(moved[f"properties.{k}"] == k for k in v1["properties"])


@given(v1_payloads())
def test_converted_events_are_v2_and_normalizing_twice_changes_nothing(v1):
    event, converted = normalize_event(v1)
    assert converted
    assert not is_v1(event)
    assert normalize_event(event) == (event, False)


@given(st.from_regex(r"\A[0-9]{1,15}\Z"))
def test_a_numeric_string_timestamp_becomes_that_integer(digits):
    event = {"event_name": "x", "user": {}, "context": {"event_timestamp": digits}}
    assert validate_event(event)["context"]["event_timestamp"] == int(digits)


sized_events = st.builds(
    lambda i, pad: {"event_name": "e", "n": i, "pad": pad},
    st.integers(min_value=0, max_value=10**6),
    st.text(max_size=300),
)


@settings(max_examples=200)
@given(st.lists(sized_events, max_size=60), st.integers(min_value=400, max_value=3000))
def test_packing_keeps_every_event_once_in_order_within_the_limit(events, limit):
    event_limit = limit // 3
    oversize = []
    batches = list(
        pack_keyed_batches(
            enumerate(events),
            on_oversize=lambda key, _event, _size: oversize.append(key),
            limit=limit,
            event_limit=event_limit,
        )
    )
    packed = [key for batch in batches for key, _ in batch]
    assert sorted(packed + oversize) == list(range(len(events)))
    assert packed == sorted(packed)
    assert all(encoded_size(events[key]) > event_limit for key in oversize)
    for number, batch in enumerate(batches):
        assert batch
        body = encode_json({"batch": [event for _, event in batch]})
        assert len(body) <= limit
        # Greedy: the next event would not have fitted in this batch.
        if number + 1 < len(batches):
            following = batches[number + 1][0][1]
            assert len(body) + 1 + encoded_size(following) > limit


@given(st.lists(sized_events, max_size=30))
def test_packing_at_the_real_limits_sends_small_events_in_one_body(events):
    batches = list(pack_batches(events))
    assert [e for b in batches for e in b] == events
    if events:
        assert len(batches) == 1
        assert (
            len(encode_json({"batch": batches[0]}))
            == BATCH_OVERHEAD_BYTES + sum(encoded_size(e) for e in events) + len(events) - 1
        )
