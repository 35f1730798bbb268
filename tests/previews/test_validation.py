"""Bad input never leaves the console: form errors, no row, no provider call."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.accounts.models import ConnectedAccount
from dashboard.calls.models import ApiCall
from dashboard.previews import visitors
from dashboard.previews.models import CqlEvaluation, PreviewRequest
from dashboard.previews.visitors import VisitorInputError
from tests.previews.conftest import preview_form


@pytest.fixture
def account(db):
    # Nothing listens on port 9: a request that slipped through would fail loudly.
    from dashboard.accounts.services import account_connect
    from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS

    return account_connect(
        provider="croct",
        name="Croct offline",
        base_url="http://127.0.0.1:9",
        settings=dict(DEMO_SETTINGS),
        secrets=dict(DEMO_SECRETS),
    )


def post_preview(client, account, **fields):
    response = client.post(
        reverse("previews:submit"), preview_form(account, **fields), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # htmx swaps only 2xx: the errors are the answer
    return response.content.decode()


def nested(depth: int) -> str:
    """A KEY=VALUE line whose value sits in a map at level ``depth`` (the attributes map
    itself is level 1; each dot opens one more)."""
    return ".".join(f"k{i}" for i in range(depth)) + "=1"


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"version": "1.2.3"}, "id_version", "is not a version like 1 or 1.2"),
        ({"version": "v2"}, "id_version", "is not a version like 1 or 1.2"),
        ({"locale": "english!"}, "id_locale", "is not a locale like en"),
        ({"time_zone": "Mars/Olympus"}, "id_time_zone", "is not an IANA time zone"),
        ({"page_title": "Pricing"}, "id_page_url", "is required"),
        (
            {"attributes": "\n".join(f"a{i}=1" for i in range(31))},
            "id_attributes",
            "attributes: has 31 entries; at most 30",
        ),
        (
            {"attributes": nested(6)},
            "id_attributes",
            "attributes.k0.k1.k2.k3.k4: is nested 6 levels deep; at most 5",
        ),
        (
            {"attributes": "k" * 51 + "=1"},
            "id_attributes",
            f"attributes.{'k' * 51}: key has 51 characters; at most 50",
        ),
        (
            {"attributes": "plan.tier=" + "x" * 51},
            "id_attributes",
            "attributes.plan.tier: string has 51 characters",
        ),
        ({"identity_mode": "client_id", "identity_value": "nope"}, "id_identity_value", "UUID"),
        ({"identity_mode": "user_id"}, "id_identity_value", "enter the user id"),
        ({"slot_id": "home hero"}, "id_slot_id", "no spaces"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_sent(
    account, marketer, client_for, fields, field_id, message
):
    html = post_preview(client_for(marketer), account, **fields)

    assert message in html
    field_html = html[html.index(f'id="{field_id}"') - 400 : html.index(f'id="{field_id}"')]
    assert "has-error" in field_html
    assert not PreviewRequest.objects.exists()
    assert not ApiCall.objects.exists()


@pytest.mark.parametrize(
    "attributes",
    [
        "\n".join(f"a{i}=1" for i in range(30)),  # 30 entries
        nested(5),  # the deepest map at level 5
        "k" * 50 + "=" + "v" * 50,  # 50-character key and value
    ],
)
def test_input_right_at_the_limits_is_accepted(account, marketer, client_for, attributes):
    html = post_preview(client_for(marketer), account, attributes=attributes)

    assert "errorlist" not in html
    assert PreviewRequest.objects.get().status == "pending"


def test_a_non_croct_account_cannot_be_asked_for(db, marketer, client_for):
    octy = ConnectedAccount.objects.create(
        provider="octy", name="Octy shop", base_url="http://127.0.0.1:9", settings={}
    )
    client = client_for(marketer)

    page = client.get(reverse("previews:index")).content.decode()
    assert "Octy shop" not in page
    html = post_preview(client, octy)
    assert "Select a valid choice" in html
    assert not PreviewRequest.objects.exists()


def test_a_query_over_500_characters_is_refused_before_sending(account, marketer, client_for):
    client = client_for(marketer)
    query = "true or " * 62 + "false"  # 501 characters
    assert len(query) == 501

    response = client.post(
        reverse("previews:cql_run"), {"account": account.pk, "query": query}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert "the CQL query has 501 characters; at most 500" in html
    assert not CqlEvaluation.objects.exists()
    ok = client.post(
        reverse("previews:cql_run"),
        {"account": account.pk, "query": "true or " * 62 + "true"},  # 500
        HTTP_HX_REQUEST="true",
    )
    assert "errorlist" not in ok.content.decode()
    assert CqlEvaluation.objects.get().status == "pending"


def test_without_htmx_an_invalid_form_is_a_422_page(account, marketer, client_for):
    response = client_for(marketer).post(
        reverse("previews:submit"), preview_form(account, version="x")
    )
    assert response.status_code == 422
    assert "is not a version like 1 or 1.2" in response.content.decode()


# --- the parsers behind the fields -----------------------------------------------------------
def test_attribute_lines_nest_on_dots_and_type_their_values():
    text = 'plan=pro\ncompany.size=50\ncompany.public=true\nnote="42"\nempty=null'
    assert visitors.attributes_from_text(text) == {
        "plan": "pro",
        "company": {"size": 50, "public": True},
        "note": "42",
        "empty": None,
    }
    assert visitors.attributes_from_text('{"cities": ["Rio"]}') == {"cities": ["Rio"]}


def test_attribute_text_round_trips_through_the_editor():
    value = {"plan": "pro", "company": {"size": 50, "tag": "true"}}
    assert visitors.attributes_from_text(visitors.attributes_as_text(value)) == value
    with_list = {"cities": ["Rio", "Lima"]}
    assert visitors.attributes_from_text(visitors.attributes_as_text(with_list)) == with_list


def test_a_key_that_is_both_a_value_and_a_map_is_refused():
    with pytest.raises(VisitorInputError) as caught:
        visitors.attributes_from_text("plan=pro\nplan.tier=gold")
    assert "attributes.plan" in caught.value.errors["attributes"]


def test_campaign_fields_come_from_a_urls_utm_parameters():
    url = "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=spring&x=1"
    assert visitors.campaign_from_url(url) == {
        "source": "newsletter",
        "medium": "email",
        "name": "spring",
    }


def test_pasted_utm_parameters_fill_the_campaign(account, marketer, client_for):
    post_preview(
        client_for(marketer),
        account,
        utm_url="https://shop.example/?utm_source=newsletter&utm_term=shoes",
        campaign_source="typed",
    )
    # Typed fields win over the pasted URL.
    assert PreviewRequest.objects.get().context == {
        "campaign": {"source": "typed", "term": "shoes"}
    }


def test_locale_accepts_any_case_either_separator_and_default():
    assert visitors.check_locale("PT_br") == "PT_br"
    assert visitors.check_locale("en-US") == "en-US"
    assert visitors.check_locale("Default") == "default"
    assert visitors.check_locale("") == ""


def test_every_error_shows_at_once(account, marketer, client_for):
    html = post_preview(
        client_for(marketer),
        account,
        version="1.2.3",
        locale="xx-yy-zz",
        attributes="k" * 51 + "=1",
    )
    assert "is not a version like 1 or 1.2" in html
    assert "is not a locale like en" in html
    assert "key has 51 characters" in html
    assert not PreviewRequest.objects.exists()


def test_every_part_of_the_context_is_checked_in_one_round(account, marketer, client_for):
    """#16 defect 3: the client stops at the first bad part (here the time zone), so the
    attributes and the page were refused one round later."""
    html = post_preview(
        client_for(marketer),
        account,
        time_zone="Mars/Olympus_Mons",
        attributes="plan=" + "x" * 51,
        page_title="Pricing",
    )
    assert "is not an IANA time zone" in html
    assert "string has 51 characters" in html
    assert "is required when a page title or referrer is given" in html
    assert not PreviewRequest.objects.exists()


def test_a_context_with_every_part_right_is_built_whole():
    context = visitors.build_context(
        time_zone="America/Sao_Paulo",
        page={"url": "https://example.com/pricing", "title": "Pricing"},
        campaign={"source": "newsletter"},
        attributes={"plan": "pro"},
    )
    assert context == {
        "timeZone": "America/Sao_Paulo",
        "page": {"url": "https://example.com/pricing", "title": "Pricing"},
        "campaign": {"source": "newsletter"},
        "attributes": {"plan": "pro"},
    }
