"""NUL characters in what staff type and what providers answer (#15 item 4): on
PostgreSQL (which refuses U+0000 in text and jsonb) as on SQLite, the answer is a form
error or the value stored with U+FFFD, never a 500, and no work is left ``running``.

Run on both stacks: ``DATABASE_URL=postgres://… pytest tests/security/test_nul_input.py``.
"""

from __future__ import annotations

import json

from django.urls import reverse
from django.utils import timezone

from dashboard.calls.models import ApiCall

NUL = "\x00"
ESCAPED_NUL = "\\u0000"  # what a JSON text carries; json.loads turns it into NUL


def _no_server_error(response, label):
    assert response.status_code < 500, f"{label}: {response.status_code}"


def test_every_statement_reaching_the_database_is_cleaned(db):
    call = ApiCall.objects.create(
        provider="octy",
        operation="octy.x",
        method="GET",
        url="u",
        started_at=timezone.now(),
        duration_ms=1,
        outcome="ok",
        subject_id=f"p{NUL}1",
        request_headers={f"k{NUL}": [f"v{NUL}", {"deep": f"x{NUL}"}]},
    )
    ApiCall.objects.filter(pk=call.pk).update(correlation_id=f"c{NUL}")

    call.refresh_from_db()
    assert call.subject_id == "p\ufffd1"
    assert call.correlation_id == "c\ufffd"
    assert call.request_headers == {"k\ufffd": ["v\ufffd", {"deep": "x\ufffd"}]}
    assert ApiCall.objects.filter(subject_id=f"p{NUL}1").count() == 1


def test_nul_in_event_ids_and_payloads_is_never_a_500(client_for, world):
    from tests.conftest import make_user

    client = client_for(make_user("marketer", "nul-marketer"))
    payload = json.dumps({"event_name": "page_view", "event_id": "e\x00id", "items": ["a\x00"]})
    for data in (
        {"account": world.ca.pk, "payload": payload, "action": "send"},
        {"account": world.ca.pk, "payload": payload.replace("\\u0000", ESCAPED_NUL)},
        {"account": world.ca.pk, "payload": payload, "event_type": f"t{NUL}", "action": "send"},
    ):
        _no_server_error(client.post(reverse("events:compose"), data), f"compose {data}")
    from dashboard.events.models import OutboundEvent

    for event in OutboundEvent.objects.all():
        assert NUL not in json.dumps(event.payload, ensure_ascii=False)


def test_nul_in_persona_and_preview_attributes_is_never_a_500(client_for, world):
    from dashboard.previews.models import Persona
    from tests.conftest import make_user

    client = client_for(make_user("marketer", "nul-marketer"))
    for attributes in (f"plan=pro{NUL}", '{"plan' + ESCAPED_NUL + '": "x' + ESCAPED_NUL + '"}'):
        persona = client.post(
            reverse("previews:persona_new"), {"name": "Nul", "attributes": attributes}
        )
        _no_server_error(persona, f"persona {attributes!r}")
        preview = client.post(
            reverse("previews:submit"),
            {"account": world.croct.pk, "slot_id": "home-hero", "attributes": attributes},
        )
        _no_server_error(preview, f"preview {attributes!r}")
    for persona in Persona.objects.all():
        assert NUL not in json.dumps(persona.context, ensure_ascii=False)


def test_nul_in_profile_ids_and_attribute_values_is_never_a_500(client_for, world):
    from dashboard.profiles.models import LookupRequest, LookupResult
    from tests.conftest import make_user

    client = client_for(make_user("support", "nul-support"))
    lookup = client.post(reverse("profiles:index"), {"q": f"ada{NUL}@example.com"})
    _no_server_error(lookup, "lookup")
    assert b"errorlist" in lookup.content or LookupRequest.objects.exists()
    profile = reverse("profiles:profile", kwargs={"account_pk": world.octy.pk, "profile_id": "a"})
    with_nul = profile.replace("/p/a/", "/p/ab%00c/")
    _no_server_error(client.get(with_nul), "profile page with a NUL id")
    edit = with_nul + "edit/"
    for value in (f"v{NUL}", '["a' + ESCAPED_NUL + '"]'):
        _no_server_error(client.post(edit, {"name": "plan", "value": value}), f"edit {value!r}")
    assert not [r for r in LookupResult.objects.all() if not r.is_done]


def test_a_provider_profile_with_nul_is_cached_cleaned(world):
    from dashboard.profiles.cache import cache_upsert
    from dashboard.profiles.models import CachedProfile

    cache_upsert(
        account=world.octy,
        profiles=[
            {
                "profile_id": f"nul{NUL}id",
                "name": f"Ada{NUL}",
                "email": "ada@example.com",
                "attributes": {f"k{NUL}": f"v{NUL}"},
            }
        ],
        fetched_at=timezone.now(),
    )

    row = CachedProfile.objects.get(profile_id="nul\ufffdid")
    assert NUL not in json.dumps(row.data, ensure_ascii=False)
