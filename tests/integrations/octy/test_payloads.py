"""Octy's payload rules, checked before anything is sent (providers/octy.md: endpoints)."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.octy import payloads
from integrations.octy.payloads import (
    EventTypeDefinition,
    ItemSpec,
    NewProfile,
    OctyEvent,
    PayloadError,
    ProfileUpdate,
)

FORBIDDEN = ",\"'."
identifier_chars = st.characters(blacklist_characters=FORBIDDEN, blacklist_categories=("Cs",))
valid_identifiers = st.text(identifier_chars, min_size=1, max_size=60)
valid_event_types = st.text(
    st.characters(blacklist_characters=FORBIDDEN + " ", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=60,
)
values = st.one_of(st.text(min_size=1), st.integers(), st.booleans(), st.floats(allow_nan=False))
attribute_dicts = st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=5)


@given(valid_identifiers)
def test_it_accepts_every_customer_id_within_the_rules(customer_id):
    body = payloads.profile_body(NewProfile(customer_id))
    assert body["customer_id"] == customer_id


@given(
    st.text(identifier_chars, max_size=30),
    st.sampled_from(FORBIDDEN),
    st.text(identifier_chars, max_size=29),
)
def test_it_rejects_customer_ids_with_forbidden_characters(before, bad, after):
    with pytest.raises(PayloadError) as caught:
        payloads.profile_body(NewProfile(before + bad + after))
    assert caught.value.field == "profile.customer_id"


@given(st.text(identifier_chars, min_size=61, max_size=80))
def test_it_rejects_customer_ids_over_60_characters(customer_id):
    with pytest.raises(PayloadError, match="customer_id"):
        payloads.check_customer_id(customer_id)


def test_it_rejects_an_empty_customer_id():
    with pytest.raises(PayloadError, match="1 to 60"):
        payloads.check_customer_id("")


@given(attribute_dicts, attribute_dicts, st.booleans())
def test_it_keeps_valid_profile_dicts_unchanged(data, info, charged):
    body = payloads.profile_body(NewProfile("cust-1", data, info, charged))
    assert body == {
        "customer_id": "cust-1",
        "profile_data": data,
        "platform_info": info,
        "has_charged": charged,
    }


@given(attribute_dicts, st.text(min_size=1, max_size=10), st.sampled_from([None, "", [], {}]))
def test_it_rejects_null_or_empty_values_naming_the_key(data, key, empty):
    data = {**data, key: empty}
    with pytest.raises(PayloadError) as caught:
        payloads.profile_body(NewProfile("cust-1", profile_data=data))
    assert caught.value.field == f"profile.profile_data.{key}"


@given(valid_event_types)
def test_it_accepts_event_types_within_the_rules(event_type):
    body = payloads.event_body(OctyEvent(event_type, "profile_1"))
    assert body["event_type"] == event_type


@given(st.text(max_size=20), st.sampled_from(FORBIDDEN + " "), st.text(max_size=20))
def test_it_rejects_event_types_with_forbidden_characters_or_spaces(before, bad, after):
    with pytest.raises(PayloadError) as caught:
        payloads.event_body(OctyEvent(before + bad + after, "profile_1"))
    assert caught.value.field == "event.event_type"


@given(st.datetimes(min_value=datetime(1000, 1, 1)))
def test_it_formats_datetimes_as_octy_created_at_and_reads_them_back(when):
    text = payloads.format_created_at(when)
    assert datetime.strptime(text, payloads.CREATED_AT_FORMAT) == when.replace(microsecond=0)
    assert payloads.format_created_at(text) == text


@pytest.mark.parametrize(
    "value", ["2024-01-01T10:00:00", "2024-13-01 10:00:00", "2024-01-01", "yesterday", 5]
)
def test_it_rejects_created_at_in_other_formats(value):
    with pytest.raises(PayloadError, match="YYYY-MM-DD HH:MM:SS") as caught:
        payloads.event_body(OctyEvent("signup", "profile_1", created_at=value))
    assert caught.value.field == "event.created_at"


@pytest.mark.parametrize("missing", ["payment_method", "item_id"])
def test_it_requires_string_payment_method_and_item_id_on_charged(missing):
    properties = {"payment_method": "card", "item_id": "item-1"}
    properties[missing] = 42
    with pytest.raises(PayloadError) as caught:
        payloads.event_body(OctyEvent("charged", "profile_1", properties))
    assert caught.value.field == f"event.event_properties.{missing}"


@given(st.integers(min_value=501, max_value=600))
def test_it_rejects_batches_over_500(size):
    """contract: Octy / at most 500 objects per batch write"""
    events = [OctyEvent("signup", "profile_1")] * size
    with pytest.raises(PayloadError, match="1 to 500"):
        payloads.batch_body("events", events, payloads.event_body)


def test_it_names_the_position_of_a_bad_object_in_a_batch():
    events = [OctyEvent("signup", "profile_1"), OctyEvent("bad type", "profile_1")]
    with pytest.raises(PayloadError) as caught:
        payloads.batch_body("events", events, payloads.event_body)
    assert caught.value.field == "events[1].event_type"


def test_it_rejects_an_empty_batch():
    with pytest.raises(PayloadError, match="1 to 500"):
        payloads.id_batch_body("profiles", [])


@given(st.one_of(st.booleans(), st.floats(), st.text(max_size=5)))
def test_it_rejects_item_prices_that_are_not_integers(price):
    item = ItemSpec("item-1", "books", "A book", "A fine book", price)
    with pytest.raises(PayloadError) as caught:
        payloads.item_body(item)
    assert caught.value.field == "item.item_price"


@given(st.text(min_size=41, max_size=60))
def test_it_rejects_item_descriptions_over_40_characters(description):
    with pytest.raises(PayloadError, match="item_description"):
        payloads.item_body(ItemSpec("item-1", "books", "A book", description, 100))


@given(st.text(max_size=20).filter(lambda s: s not in payloads.STATUSES))
def test_it_rejects_unknown_statuses(status):
    with pytest.raises(PayloadError) as caught:
        payloads.profile_update_body(ProfileUpdate("profile_1", status=status))
    assert caught.value.field == "profile.status"


def test_it_sends_only_the_fields_an_update_sets():
    body = payloads.profile_update_body(ProfileUpdate("profile_1", status="churned"))
    assert body == {"profile_id": "profile_1", "status": "churned"}


@given(st.integers(0, 999), st.integers(0, 999))
def test_it_accepts_rfm_ranges_in_order_and_rejects_reversed_ones(a, b):
    low, high = sorted((a, b))
    assert payloads.profile_filters(rfm=f"{low}-{high}") == {"rfm": f"{low}-{high}"}
    if low != high:
        with pytest.raises(PayloadError, match="rfm"):
            payloads.profile_filters(rfm=f"{high}-{low}")


@pytest.mark.parametrize("rfm", ["1-", "a-b", "1_2", "1-2-3", " 1-2"])
def test_it_rejects_malformed_rfm_filters(rfm):
    with pytest.raises(PayloadError, match="rfm"):
        payloads.profile_filters(rfm=rfm)


@given(st.text(max_size=12).filter(lambda s: s not in payloads.CHURN_LABELS))
def test_it_rejects_unknown_churn_labels(label):
    with pytest.raises(PayloadError, match="churn_prob"):
        payloads.profile_filters(churn_prob=label)


@given(
    st.lists(
        st.text(min_size=1).filter(lambda s: "," not in s and s.strip()), max_size=100, min_size=1
    )
)
def test_it_accepts_1_to_100_lookup_ids(ids):
    assert payloads.check_ids(ids) == [i.strip() for i in ids]


def test_it_rejects_more_than_100_lookup_ids():
    with pytest.raises(PayloadError, match="1 to 100"):
        payloads.check_ids([f"cust-{i}" for i in range(101)])


def test_it_rejects_event_type_definitions_with_empty_property_names():
    with pytest.raises(PayloadError) as caught:
        payloads.event_type_body(EventTypeDefinition("signup", ("plan", "")))
    assert caught.value.field == "event_type.event_properties[1]"
