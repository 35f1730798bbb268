"""The preview form end to end: view -> broker -> real worker -> Croct sandbox over HTTP
-> stored result -> the polled fragment."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dashboard.calls.models import ApiCall
from integrations.croct import tokens
from integrations.croct.sandbox_content import build_catalog
from integrations.sandbox import Fault
from tests.previews.conftest import submit_preview

pytestmark = pytest.mark.worker

CATALOG = build_catalog(7)


def experience(name: str):
    return next(e for group in CATALOG.experiences.values() for e in group if e.name == name)


def test_a_slot_default_is_rendered_readably_with_its_source_badge(
    celery_worker, croct, marketer, client_for
):
    first, done, preview = submit_preview(client_for(marketer), croct, slot_id="home-hero")

    assert 'data-status="pending"' in first
    assert preview.status == "done"
    assert 'data-status="done"' in done
    assert 'data-source="slot"' in done
    assert "slot default" in done
    # Content laid out: texts, a nested structure and its link as a real link.
    assert "Ship personalized experiences" in done
    assert '<a class="content-link" href="https://example.com/signup"' in done
    assert 'data-path="cta.label"' in done
    assert "Raw JSON" in done
    assert "&quot;contentSource&quot;: &quot;slot&quot;" in done
    call = ApiCall.objects.get(account=croct)
    assert call.operation == "croct.content"
    assert call.subject_type == "preview"
    assert call.subject_id == str(preview.pk)
    assert call.task_id  # made by the worker
    assert preview.client_id  # a random client id was drawn and kept


def test_a_persona_attribute_gets_the_experience_with_its_ids(
    celery_worker, croct, marketer, client_for, make_persona
):
    pro = make_persona("Pro user", {"attributes": {"plan": "pro"}})
    _, done, preview = submit_preview(client_for(marketer), croct, persona=pro.pk)

    upsell = experience("pro-upsell")
    assert preview.result["source"] == "experience"
    assert preview.result["experience_id"] == upsell.experience_id
    assert 'data-source="experience"' in done
    assert upsell.experience_id in done
    assert upsell.audience.audience_id in done
    assert "Personalized for Pro users" in done
    assert preview.persona_name == "Pro user"
    assert preview.context == {"attributes": {"plan": "pro"}}


def test_a_time_zone_puts_the_visitor_in_an_experiment_and_shows_the_variant(
    celery_worker, croct, marketer, client_for
):
    _, done, preview = submit_preview(
        client_for(marketer), croct, time_zone="America/Sao_Paulo", locale="PT_br"
    )

    brazil = experience("brazil-welcome")
    assert preview.result["source"] == "experiment"
    assert preview.result["experiment_id"] == brazil.experiment_id
    assert preview.result["variant_id"] in {v.variant_id for v in brazil.variants}
    assert 'data-testid="variant"' in done
    assert preview.result["variant_id"] in done
    assert "Agora no Brasil" in done  # pt-br content, the locale given as PT_br


def test_the_schema_orders_fields_and_lists_are_laid_out(
    celery_worker, croct, marketer, client_for
):
    _, done, preview = submit_preview(
        client_for(marketer), croct, slot_id="product-recommendations", include_schema="on"
    )

    assert preview.result["schema"]["root"]["type"] == "structure"
    assert done.index('data-path="title"') < done.index('data-path="products"')
    assert '<ol class="content-list">' in done
    assert 'data-path="products[1].name"' in done
    assert "Team plan" in done


def test_a_user_id_is_sent_as_an_unsigned_token(celery_worker, croct, marketer, client_for):
    _, done, preview = submit_preview(
        client_for(marketer), croct, identity_mode="user_id", identity_value="customer-42"
    )

    assert preview.status == "done"
    assert preview.client_id == ""
    call = ApiCall.objects.get(account=croct)
    assert "X-Client-Id" not in call.request_headers
    header, claims = tokens.decode_token(call.request_headers["X-Token"])
    assert header["alg"] == "none"
    assert claims["sub"] == "customer-42"


def test_a_preview_token_forces_the_variant_and_is_never_shown_back(
    celery_worker, croct, marketer, client_for
):
    brazil = experience("brazil-welcome")
    variant = brazil.variants[2]
    claims = {"experienceId": brazil.experience_id, "variantId": variant.variant_id}
    token = "e30." + tokens.b64url_encode(json.dumps(claims).encode()) + ".c2ln"
    client = client_for(marketer)

    first, done, preview = submit_preview(client, croct, preview_token=token)

    assert preview.result["variant_id"] == variant.variant_id
    assert "Free shipping to Brazil" in done
    assert token not in first
    assert token not in done
    assert preview.preview_token_hint == token[-4:]
    assert token not in json.dumps(preview.context)
    call = ApiCall.objects.get(account=croct)
    assert token not in call.request_body
    assert '"previewToken": "[REDACTED]"' in call.request_body
    page = client.get(reverse("previews:detail", args=[preview.pk])).content.decode()
    assert token not in page
    assert f"…{token[-4:]}" in page


@pytest.mark.parametrize(
    ("setup", "kind", "expected"),
    [
        ("unknown_slot", "not_found", ["Slot not found", "https://croct.help/api/content/"]),
        (
            "rejected_key",
            "auth",
            ["Unknown API key", "https://croct.help/api/authentication/unknown-api-key"],
        ),
        ("unavailable", "unavailable", ["Service unavailable", "Transient"]),
        ("malformed", "malformed_response", ["Unreadable response"]),
        ("rate_limited", "rate_limited", ["Too many requests", "HTTP 429", "Transient"]),
        ("quota", "quota", ["Monthly active users quota exceeded", "HTTP 423"]),
        ("timeout", "timeout", ["Timed out"]),
        ("no_credential", "configuration", ["Cannot call the provider", "no active credential"]),
    ],
)
def test_every_provider_failure_is_shown_as_a_problem(
    celery_worker, demo_account, sandbox, marketer, client_for, settings, setup, kind, expected
):
    from dashboard.accounts.models import Credential

    options = {}
    if setup == "rejected_key":
        options["secrets"] = {"api_key": "0000dead-0000-4000-8000-000000000000"}
    account = demo_account("croct", name="Croct faulty", **options)
    if setup == "unavailable":
        sandbox["croct"].app.faults.add(Fault(kind="status", status=503))
    if setup == "malformed":
        sandbox["croct"].app.faults.add(Fault(kind="malformed"))
    if setup == "rate_limited":
        sandbox["croct"].app.faults.add(Fault(kind="rate_limit", retry_after=30))
    if setup == "quota":
        sandbox["croct"].app.faults.add(Fault(kind="status", status=423))
    if setup == "timeout":
        settings.PROVIDER_READ_TIMEOUT = 0.3
        sandbox["croct"].app.faults.add(Fault(kind="timeout", seconds=1.5))
    if setup == "no_credential":
        Credential.objects.filter(account=account).update(state="revoked")
    slot = "no-such-slot" if setup == "unknown_slot" else "home-hero"

    _, done, preview = submit_preview(client_for(marketer), account, slot_id=slot)

    assert preview.status == "failed"
    assert preview.problem["kind"] == kind
    assert 'data-status="failed"' in done
    assert f'data-kind="{kind}"' in done
    for text in expected:
        assert text in done


def test_a_suspension_is_shown_as_one_not_as_a_failure(
    celery_worker, croct, sandbox, marketer, client_for
):
    sandbox["croct"].app.suspended = True

    _, done, preview = submit_preview(client_for(marketer), croct)

    assert preview.is_suspended
    assert 'data-suspended="true"' in done
    assert "Workspace services suspended" in done
    assert "tracking_and_personalization_suspended" in done
    assert 'data-testid="suspension-note"' in done
    history = client_for(marketer).get(reverse("previews:history")).content.decode()
    assert '<span class="badge suspended">suspended</span>' in history
