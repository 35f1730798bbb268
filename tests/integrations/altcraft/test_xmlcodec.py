import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.altcraft import xmlcodec
from integrations.altcraft.xmlcodec import XmlCodecError, decode, encode

# Text XML 1.0 can carry (no C0 controls besides tab/newline/CR, no surrogates).
xml_text = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13))
        + "\ufffe\uffff",
    ),
    min_size=1,
    max_size=20,
)
reserved = (
    xmlcodec.SYSTEM_FIELD_NAMES
    | xmlcodec.PROFILE_CONTAINERS
    | xmlcodec.NUMERIC_ELEMENTS
    | xmlcodec.BOOLEAN_ELEMENTS
    | {"item"}
)
plain_key = st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z").filter(lambda k: k not in reserved)
scalar = xml_text
value = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(plain_key, children, min_size=1, max_size=3),
    ),
    max_leaves=10,
)
profile_fields = st.dictionaries(
    st.sampled_from(sorted(f"_{n}" for n in xmlcodec.SYSTEM_FIELD_NAMES - {"status"})) | plain_key,
    value,
    min_size=1,
    max_size=5,
)
document = st.fixed_dictionaries(
    {},
    optional={
        "error": st.integers(min_value=-5, max_value=10**6),
        "db_id": st.integers(min_value=1, max_value=10**9),
        "skip_triggers": st.booleans(),
        "data": profile_fields,
        "profiles": st.lists(profile_fields, min_size=1, max_size=3),
    },
).flatmap(lambda fixed: st.dictionaries(plain_key, value, max_size=4).map(lambda d: {**d, **fixed}))


@given(document)
def test_it_round_trips_documents_within_its_documented_limits(doc):
    assert decode(encode(doc)) == doc


@given(document)
def test_it_encodes_the_same_document_to_the_same_bytes(doc):
    assert encode(doc) == encode(dict(doc))


@given(st.binary(max_size=200))
def test_it_never_crashes_on_arbitrary_bytes(raw):
    with contextlib.suppress(XmlCodecError):
        decode(raw)


def test_it_drops_the_leading_underscore_and_marks_arrays():
    body = encode({"token": "t", "data": {"_fname": "Jim", "phones": ["+79000000000"]}})
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?><xml><token>t</token><data><fname>Jim</fname>'
        b'<phones array="true"><item>+79000000000</item></phones></data></xml>'
    )


def test_it_restores_system_field_underscores_only_inside_profile_containers():
    raw = (
        b"<xml><status>x</status><profile><fname>Ada</fname><status>1</status>"
        b'<subscriptions array="true"><item><status>subscribed</status></item></subscriptions>'
        b"</profile></xml>"
    )
    assert decode(raw) == {
        "status": "x",
        "profile": {
            "_fname": "Ada",
            "_status": 1,
            "subscriptions": [{"status": "subscribed"}],
        },
    }


def test_it_coerces_error_codes_but_keeps_numeric_looking_text():
    doc = decode(b"<xml><error> 435 </error><data><zip>01234</zip><n>12</n></data></xml>")
    assert doc == {"error": 435, "data": {"zip": "01234", "n": "12"}}


def test_it_documents_what_does_not_survive_a_round_trip():
    assert decode(encode({"a": None, "b": "", "c": {}, "d": 5, "e": True})) == {
        "a": "",
        "b": "",
        "c": "",
        "d": "5",
        "e": "true",
    }


def test_it_reads_repeated_elements_without_the_array_marker_as_a_list():
    assert decode(b"<xml><p>1</p><p>2</p></xml>") == {"p": ["1", "2"]}


def test_it_escapes_markup_and_carriage_returns():
    doc = {"t": "a<b>&c\r\nd"}
    assert b"&lt;b&gt;&amp;c&#13;" in encode(doc)
    assert decode(encode(doc)) == doc


UTF16_DOCTYPE = (
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>'
).encode("utf-16")


@pytest.mark.parametrize(
    "raw",
    [
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><e>&a;</e></xml>',
        b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml/>',
        b'<!doctype xml [<!ENTITY x SYSTEM "http://example.com/">]><xml>&x;</xml>',
        # The byte-level check cannot see through UTF-16; the parser hook still can.
        UTF16_DOCTYPE,
    ],
)
def test_it_refuses_doctype_declarations(raw):
    with pytest.raises(XmlCodecError, match="DOCTYPE|well-formed"):
        decode(raw)


def test_it_refuses_a_billion_laughs_before_expanding_anything():
    bomb = (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i else b"&lol;" * 10)
            for i in range(1, 10)
        )
        + b"]><xml><e>&lol9;</e></xml>"
    )
    with pytest.raises(XmlCodecError, match="DOCTYPE"):
        decode(bomb)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"<response><error>0</error></response>", "root element"),
        (b"<xml><error>0</error>", "well-formed"),
        (b'{"error": 0}', "well-formed"),
    ],
)
def test_it_refuses_bodies_that_are_not_altcraft_xml(raw, message):
    with pytest.raises(XmlCodecError, match=message):
        decode(raw)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"_city": "a", "city": "b"}, "both become <city>"),
        ({"1st": "x"}, "cannot be an XML element name"),
        ({"a b": "x"}, "cannot be an XML element name"),
        ({"t": "nul\x00"}, "cannot carry"),
        ({"t": object()}, "cannot be written"),
        ({1: "x"}, "not a string"),
    ],
)
def test_it_refuses_what_xml_cannot_carry(doc, message):
    with pytest.raises(XmlCodecError, match=message):
        encode(doc)
