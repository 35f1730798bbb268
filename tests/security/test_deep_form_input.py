"""Deeply nested JSON typed into a form (#15 finding 8, the form side): the events
composer's payload, preview / persona / CQL attributes and profile attribute values
used to be 500s (a ``RecursionError``) at a few hundred levels. Each is now a form
error that says how deep the input is and what the limit is, and keeps what was typed.

Run on both stacks: ``DATABASE_URL=postgres://… pytest tests/security/test_deep_form_input.py``.
"""

from __future__ import annotations

import html as html_lib

import pytest
from django.urls import reverse

from dashboard.core.nesting import TYPED_MAX_DEPTH
from dashboard.events.models import OutboundEvent
from dashboard.previews.models import CqlEvaluation, Persona, PreviewRequest
from tests.conftest import make_user
from tests.previews.conftest import preview_form

DEEP_JSON = '{"event_name": "page_view", "x": ' + "[" * 5000 + "]" * 5000 + "}"
BRACKETS = "[" * 100_000  # not even JSON: only brackets
DEEP_OBJECT = '{"a": ' * 5000 + "1" + "}" * 5000


def sentence(depth: int, subject: str) -> str:
    return f"{subject} nested {depth:,} levels deep; the limit is {TYPED_MAX_DEPTH}."


@pytest.fixture
def marketer(db):
    return make_user("marketer", "deep-marketer")


# --- events composer ---------------------------------------------------------------
@pytest.mark.parametrize(("payload", "depth"), [(DEEP_JSON, 5001), (BRACKETS, 100_000)])
def test_a_deep_payload_is_refused_on_validate_with_the_depth(
    demo_account, marketer, client_for, payload, depth
):
    ca = demo_account("commanders_act")

    response = client_for(marketer).post(
        reverse("events:compose"),
        {"account": ca.pk, "payload": payload, "action": "validate"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200  # the HTMX check panel: the refusal is the answer
    assert sentence(depth, "The payload is") in response.content.decode()


@pytest.mark.parametrize(("payload", "depth"), [(DEEP_JSON, 5001), (BRACKETS, 100_000)])
def test_a_deep_payload_sent_is_refused_and_kept_in_the_form(
    demo_account, marketer, client_for, payload, depth
):
    ca = demo_account("commanders_act")

    response = client_for(marketer).post(
        reverse("events:compose"), {"account": ca.pk, "payload": payload, "action": "send"}
    )

    html = response.content.decode()
    # The full-page composer answers a refused event with 422 (as for any invalid one).
    assert response.status_code == 422
    assert sentence(depth, "The payload is") in html
    assert payload in html_lib.unescape(html)
    assert not OutboundEvent.objects.exists()


def test_a_payload_at_the_limit_is_accepted(demo_account, marketer, client_for):
    ca = demo_account("commanders_act")
    # The event object is level 1; 31 more levels inside it.
    payload = '{"event_name": "page_view", "x": ' + "[" * 31 + "]" * 31 + "}"

    response = client_for(marketer).post(
        reverse("events:compose"),
        {"account": ca.pk, "payload": payload, "action": "validate"},
        headers={"HX-Request": "true"},
    )

    assert "levels deep" not in response.content.decode()


# --- previews, personas, CQL ----------------------------------------------------------
@pytest.fixture
def croct_account(demo_account):
    return demo_account("croct")


@pytest.mark.parametrize(
    ("attributes", "depth"),
    [(DEEP_OBJECT, 5000), (BRACKETS, 100_000), ("plan=" + BRACKETS, 100_000)],
)
def test_deep_preview_attributes_are_a_form_error(
    croct_account, marketer, client_for, attributes, depth
):
    response = client_for(marketer).post(
        reverse("previews:submit"),
        preview_form(croct_account, attributes=attributes),
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx: the errors are the answer
    assert sentence(depth, "The attributes are") in html
    assert attributes in html_lib.unescape(html)
    assert not PreviewRequest.objects.exists()


def test_a_dotted_key_thousands_of_parts_long_is_a_form_error(croct_account, marketer, client_for):
    key = ".".join(f"k{i}" for i in range(5000))

    response = client_for(marketer).post(
        reverse("previews:submit"),
        preview_form(croct_account, attributes=f"{key}=1"),
        headers={"HX-Request": "true"},
    )

    assert sentence(5000, "The attributes are") in response.content.decode()
    assert not PreviewRequest.objects.exists()


@pytest.mark.parametrize(("attributes", "depth"), [(DEEP_OBJECT, 5000), (BRACKETS, 100_000)])
def test_deep_persona_attributes_are_a_form_error(marketer, client_for, attributes, depth):
    response = client_for(marketer).post(
        reverse("previews:persona_new"),
        {"name": "Deep", "attributes": attributes, "identity_mode": "client_id"},
    )

    html = response.content.decode()
    assert response.status_code == 422  # the persona page's answer to any invalid form
    assert sentence(depth, "The attributes are") in html
    assert not Persona.objects.exists()


def test_deep_cql_attributes_are_a_form_error(croct_account, marketer, client_for):
    response = client_for(marketer).post(
        reverse("previews:cql_run"),
        {"account": croct_account.pk, "query": "true", "attributes": DEEP_OBJECT},
        headers={"HX-Request": "true"},
    )

    assert response.status_code < 500
    assert sentence(5000, "The attributes are") in response.content.decode()
    assert not CqlEvaluation.objects.exists()


# --- profile attribute values -------------------------------------------------------
@pytest.fixture
def octy_profile_edit_url(demo_account):
    from dashboard.accounts.services import provider_client

    octy = demo_account("octy")
    ada = provider_client(octy).get_profiles(["cust-00001"])[0]
    return reverse("profiles:profile_edit", args=[octy.pk, ada.profile_id])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        # The field takes at most 1,000 characters: the depth past that is refused by
        # length first, still as a form error.
        ("[" * 5000 + "]" * 5000, "at most 1000 characters"),
        (BRACKETS, "at most 1000 characters"),
        ("[" * 480 + "]" * 480, sentence(480, "The value is")),
        ("[" * 900, sentence(900, "The value is")),
        ('{"a": ' * 100 + "1" + "}" * 100, sentence(100, "The value is")),
    ],
)
def test_a_deep_profile_value_is_a_form_error(client_for, octy_profile_edit_url, value, message):
    support = make_user("support", "deep-support")

    response = client_for(support).post(
        octy_profile_edit_url, {"name": "tags", "value": value}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    # A refused value is answered 200 to htmx (it swaps only 2xx): the sentence is the answer.
    assert response.status_code == 200
    assert message in html_lib.unescape(html)
