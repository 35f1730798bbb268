import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.altcraft import payloads
from integrations.altcraft.payloads import BatchItem, PayloadError
from integrations.http import encode_json

emails = st.from_regex(r"\A[a-z0-9._+-]{1,12}@[a-z0-9-]{1,10}\.[a-z]{2,6}\Z")
phones = st.from_regex(r"\A\+[0-9]{6,15}\Z")
profile_ids = st.from_regex(r"\A[0-9a-f]{24}\Z")
custom_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_]{0,20}\Z")
system_names = st.sampled_from(sorted(payloads.SYSTEM_FIELDS))
values = st.one_of(st.text(max_size=10), st.integers(), st.booleans(), st.none())


@given(emails)
def test_it_accepts_well_formed_emails(email):
    assert payloads.identifier_fields("email", email) == {"email": email}


@given(st.text(max_size=30).filter(lambda s: "@" not in s or " " in s or "." not in s))
def test_it_refuses_email_identifiers_that_are_not_addresses(text):
    with pytest.raises(PayloadError) as caught:
        payloads.identifier_fields("email", text)
    assert caught.value.field in ("email", "identifier")


@given(phones)
def test_it_accepts_e164_phones(phone):
    assert payloads.identifier_fields("phone", phone) == {"phone": phone}


@given(
    st.one_of(
        st.from_regex(r"\A[0-9]{6,15}\Z"),  # no plus
        st.from_regex(r"\A\+[0-9]{0,5}\Z"),  # too short
        st.from_regex(r"\A\+[0-9]{16,20}\Z"),  # too long
        st.from_regex(r"\A\+[0-9]{3}[ ()-][0-9]{4}\Z"),  # formatting characters
    )
)
def test_it_refuses_phones_that_are_not_plus_and_digits(phone):
    with pytest.raises(PayloadError, match="phone"):
        payloads.identifier_fields("phone", phone)


@given(profile_ids)
def test_it_accepts_24_hex_profile_ids(pid):
    assert payloads.identifier_fields("profile_id", pid) == {"profile_id": pid}


@given(st.text(max_size=30).filter(lambda s: not payloads.PROFILE_ID_RE.match(s)))
def test_it_refuses_profile_ids_that_are_not_24_hex(text):
    with pytest.raises(PayloadError) as caught:
        payloads.identifier_fields("profile_id", text)
    assert caught.value.field in ("profile_id", "identifier")


@given(st.dictionaries(st.one_of(system_names, custom_names), values, max_size=6))
def test_it_keeps_known_system_fields_and_custom_fields_as_given(data):
    assert payloads.clean_data(data) == data


@given(st.from_regex(r"\A_[a-z]{1,10}\Z").filter(lambda k: k not in payloads.SYSTEM_FIELDS))
def test_it_names_an_unknown_system_field(key):
    with pytest.raises(PayloadError) as caught:
        payloads.clean_data({key: "x"})
    assert caught.value.field == f"data.{key}"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"phones": "+447700900999"}, "data.phones"),
        ({"phones": ["+447700900999", "07700"]}, "data.phones[1]"),
        ({"email": "not-an-email"}, "data.email"),
        ({"9lives": 1}, "data.9lives"),
        ({"has space": 1}, "data.has space"),
        ({"x": object()}, "data.x"),
        ({"x": {"y": [object()]}}, "data.x.y[0]"),
    ],
)
def test_it_names_the_offending_data_field(data, field):
    with pytest.raises(PayloadError) as caught:
        payloads.clean_data(data)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"matching": "nickname", "identifier": "x"}, "matching"),
        ({"matching": "email", "identifier": ""}, "identifier"),
        ({"matching": "email", "identifier": None}, "identifier"),
        ({"matching": "custom", "identifier": "x"}, "field_name"),
        ({"matching": "custom", "identifier": "x", "field_name": "_nope"}, "field_name"),
        ({"matching": "custom", "identifier": {"field_name": "customer_id"}}, "field_value"),
        ({"matching": "email_phone", "identifier": "ada@example.com"}, "identifier"),
        ({"matching": "email_phone", "identifier": {"email": "ada@example.com"}}, "phone"),
    ],
)
def test_it_names_the_offending_identifier_part(kwargs, field):
    with pytest.raises(PayloadError) as caught:
        payloads.identifier_fields(**kwargs)
    assert caught.value.field == field


def test_it_builds_custom_and_email_phone_identifiers():
    assert payloads.identifier_fields("custom", "cust-00001", field_name="customer_id") == {
        "field_name": "customer_id",
        "field_value": "cust-00001",
    }
    both = {"phone": "+447700900999", "email": "ada@example.com"}
    assert payloads.identifier_fields("email_phone", both) == {
        "email": "ada@example.com",
        "phone": "+447700900999",
    }


@pytest.mark.parametrize("db_id", [0, -1, "x", 1.5, True, None, ""])
def test_it_refuses_a_db_id_that_is_not_a_positive_whole_number(db_id):
    with pytest.raises(PayloadError) as caught:
        payloads.get_body(
            db_id=db_id, resource_id=None, matching="email", identifier="a@b.co", field_name=None
        )
    assert caught.value.field == "db_id"


def test_it_keeps_the_doc_example_key_order():
    body = payloads.write_body(
        db_id="1",
        resource_id=1,
        matching="email",
        identifier="example@example.com",
        data={"_status": 0, "_fname": "Jim", "phones": ["+79000000000"]},
        skip_triggers=True,
    )
    assert list(body) == ["db_id", "resource_id", "matching", "email", "data", "skip_triggers"]
    assert body["db_id"] == 1


@given(
    st.lists(
        st.tuples(emails, st.dictionaries(custom_names, st.text(max_size=5), max_size=3)),
        min_size=1,
        max_size=5,
    )
)
def test_it_builds_byte_identical_batch_bodies_for_the_same_items(rows):
    def build():
        items = [BatchItem("email", email, data) for email, data in rows]
        return encode_json(payloads.batch_body(db_id=1, resource_id=None, items=items))

    assert build() == build()


def test_it_names_the_batch_entry_that_is_wrong():
    items = [BatchItem("email", "ada@example.com"), {"matching": "phone", "identifier": "123"}]
    with pytest.raises(PayloadError) as caught:
        payloads.batch_body(db_id=1, resource_id=None, items=items)
    assert caught.value.field == "items[1].phone"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "at least one"),
        ("abc", "list of objects"),
        ([BatchItem("email", "a@b.co")] * (payloads.MAX_BATCH + 1), "at most"),
        ([42], "BatchItem or a mapping"),
        ([{"matching": "email"}], "needs 'matching' and 'identifier'"),
    ],
)
def test_it_refuses_batches_it_cannot_send(items, message):
    with pytest.raises(PayloadError, match=message):
        payloads.batch_body(db_id=1, resource_id=None, items=items)


def test_update_batches_need_data_for_every_object():
    with pytest.raises(PayloadError) as caught:
        payloads.batch_body(
            db_id=1, resource_id=None, items=[BatchItem("email", "a@b.co")], data_required=True
        )
    assert caught.value.field == "items[0].data"


@pytest.mark.parametrize(("limit", "ok"), [(1, True), (1000, True), (0, False), (1001, False)])
def test_it_bounds_the_list_limit(limit, ok):
    build = lambda: payloads.list_body(db_id=1, resource_id=None, from_id=None, limit=limit)  # noqa: E731
    if ok:
        assert build()["limit"] == limit
    else:
        with pytest.raises(PayloadError, match="limit"):
            build()
