"""Payload rules (providers/croct.md limits), with property tests."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.croct import payloads, tokens
from integrations.croct.payloads import PayloadError, validate_attributes

keys = st.one_of(st.text(min_size=1, max_size=50), st.integers(-1000, 1000))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)


def attribute_maps(depth: int = 5):
    """Valid maps: at most 30 entries per level and `depth` levels of maps."""
    if depth == 1:
        return st.dictionaries(keys, scalars, max_size=30)
    return st.dictionaries(keys, st.one_of(scalars, attribute_maps(depth - 1)), max_size=30)


def nest(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"next": value}
    return value


def unique_wire_keys(value) -> bool:
    if not isinstance(value, dict):
        return True
    wire = [k if isinstance(k, str) else str(k) for k in value]
    return len(wire) == len(set(wire)) and all(unique_wire_keys(v) for v in value.values())


@settings(max_examples=150, deadline=None)
@given(attribute_maps(3))
def test_maps_within_the_limits_are_accepted(attrs):
    if unique_wire_keys(attrs):
        assert validate_attributes(attrs) is attrs
        json.dumps(attrs)


@given(st.text(min_size=51, max_size=300), st.text(min_size=1, max_size=10))
def test_any_string_over_50_names_its_path_and_the_sdk_conflict(value, key):
    with pytest.raises(PayloadError) as caught:
        validate_attributes({"plan": {key: value}})
    assert caught.value.path == f"attributes.plan.{key}"
    assert "255" in str(caught.value)
    assert "50" in str(caught.value)


@given(st.integers(31, 60))
def test_more_than_30_entries_at_any_level_are_refused(count):
    with pytest.raises(PayloadError, match="at most 30"):
        validate_attributes({str(i): i for i in range(count)})
    with pytest.raises(PayloadError) as caught:
        validate_attributes({"inner": {str(i): i for i in range(count)}})
    assert caught.value.path == "attributes.inner"


def test_five_levels_are_allowed_and_six_refused():
    validate_attributes(nest(5))
    with pytest.raises(PayloadError) as caught:
        validate_attributes(nest(6))
    assert caught.value.path == "attributes.next.next.next.next.next"


def test_the_example_error_path():
    with pytest.raises(PayloadError) as caught:
        validate_attributes({"plan": {"tier": "t" * 51}})
    assert str(caught.value).startswith("attributes.plan.tier:")


@pytest.mark.parametrize(
    "attrs",
    [
        {"": 1},
        {"k" * 51: 1},
        {True: 1},
        {(1, 2): 1},
        {"x": math.nan},
        {"x": math.inf},
        {"x": object()},
        {1: "a", "1": "b"},
    ],
)
def test_bad_keys_and_values_are_refused(attrs):
    with pytest.raises(PayloadError):
        validate_attributes(attrs)


def test_lists_follow_the_map_rules_as_in_the_docs_example():
    validate_attributes({"cities": ["New York", "San Francisco"]})
    with pytest.raises(PayloadError) as caught:
        validate_attributes({"cities": ["x" * 51]})
    assert caught.value.path == "attributes.cities[0]"


def test_all_violations_are_collected():
    found = payloads.attribute_violations({"a": "x" * 51, "b": "y" * 60})
    assert [v.path for v in found] == ["attributes.a", "attributes.b"]


@given(st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,3})?\Z"))
def test_versions_in_major_or_major_minor_form_pass(version):
    assert payloads.validate_version(version) == version


@given(st.text().filter(lambda s: not payloads.VERSION_RE.match(s)))
def test_anything_else_is_not_a_version(version):
    with pytest.raises(PayloadError):
        payloads.validate_version(version)


@given(st.from_regex(r"\A[a-zA-Z]{2,3}([-_][a-zA-Z]{2,4})?\Z"))
def test_locales_are_sent_as_given(locale):
    assert payloads.validate_locale(locale) == locale


@pytest.mark.parametrize("zone", ["America/New_York", "America/Sao_Paulo", "UTC", "Europe/Lisbon"])
def test_iana_time_zones_pass(zone):
    assert payloads.validate_time_zone(zone) == zone


@pytest.mark.parametrize("zone", ["EST5", "Mars/Olympus", "america/new_york", "", "+03:00"])
def test_other_time_zones_fail(zone):
    if payloads.is_time_zone(zone):
        pytest.skip(f"{zone} is a legacy IANA name on this system")
    with pytest.raises(PayloadError):
        payloads.validate_time_zone(zone)


@given(st.from_regex(r"\A[a-z0-9][a-z0-9:_-]{1,98}[a-z0-9]\Z"))
def test_goal_ids_in_the_documented_shape_pass(goal_id):
    payload = {"type": "goalCompleted", "goalId": goal_id, "value": 0}
    assert payloads.prepare_track_payload(payload) == payload


@given(st.floats(max_value=-0.0001, allow_nan=False) | st.booleans())
def test_goal_values_must_be_non_negative_numbers(value):
    with pytest.raises(PayloadError) as caught:
        payloads.prepare_track_payload(
            {"type": "goalCompleted", "goalId": "signup", "value": value}
        )
    assert caught.value.path == "payload.value"


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=300)),
        max_size=10,
    )
)
def test_event_details_within_limits_pass(details):
    payload = {"type": "eventOccurred", "name": "played", "details": details}
    assert payloads.prepare_track_payload(payload) == payload


@given(st.text(min_size=1, max_size=40))
def test_the_sign_up_rename_keeps_the_id(user_id):
    payload = {"type": "userSignedUp", "userId": user_id}
    if not user_id.strip():
        with pytest.raises(PayloadError, match="externalUserId"):
            payloads.prepare_track_payload(payload)
        return
    prepared = payloads.prepare_track_payload(payload)
    assert prepared == {"type": "userSignedUp", "externalUserId": user_id}
    assert payload == {"type": "userSignedUp", "userId": user_id}  # not mutated


def test_the_rename_leaves_an_explicit_external_id_alone():
    prepared = payloads.prepare_track_payload(
        {"type": "userSignedUp", "userId": "a", "externalUserId": "b"}
    )
    assert prepared["externalUserId"] == "b"
    assert prepared["userId"] == "a"


@pytest.mark.parametrize(
    "kind",
    sorted(
        payloads.TRACK_EVENT_TYPES
        - {"goalCompleted", "eventOccurred", "pageOpened", "userSignedUp"}
    ),
)
def test_other_known_types_only_need_their_type(kind):
    assert payloads.prepare_track_payload({"type": kind}) == {"type": kind}


@given(st.one_of(st.none(), st.text(max_size=30)), st.integers(0, 2**31))
def test_user_tokens_round_trip(subject, issued_at):
    token = tokens.encode_unsigned_token(
        "5f0c2a56-3d1b-4a8e-9c47-2b6d8e1f9a30", subject, issued_at=issued_at
    )
    assert token.endswith(".")
    assert token.count(".") == 2
    assert "=" not in token
    header, claims = tokens.decode_token(token)
    assert header == {"typ": "JWT", "alg": "none", "appId": "5f0c2a56-3d1b-4a8e-9c47-2b6d8e1f9a30"}
    assert claims["iss"] == claims["aud"] == "croct.io"
    assert claims["iat"] == issued_at
    assert claims.get("sub") == subject


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "e30.e30",
        "e30.e30.",
        "eyJhbGciOiJub25lIn0.W10.",
        "eyJhbGciOiJub25lIn0.e30.sig",
    ],
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(ValueError, match="token"):
        tokens.decode_token(token)


def test_the_client_user_token_carries_the_app_id(client):
    header, claims = tokens.decode_token(client.user_token("user-0001", issued_at=5))
    assert header["appId"] == client.app_id
    assert claims == {
        "iss": "croct.io",
        "aud": "croct.io",
        "iat": 5,
        "sub": "user-0001",
    }
