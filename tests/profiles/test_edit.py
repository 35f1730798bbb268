"""Setting a profile attribute in Octy and Altcraft from the profile page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.profiles.services import profile_fetch
from tests.profiles.conftest import arrived, run_profile_work

pytestmark = pytest.mark.django_db


def _octy_ada(account):
    from dashboard.accounts.services import provider_client

    return provider_client(account).get_profiles(["cust-00001"])[0]


def test_octy_attribute_is_updated_keeping_the_other_profile_data(
    demo_account, support, client_for
):
    octy = demo_account("octy")
    ada = _octy_ada(octy)
    url = reverse("profiles:profile_edit", args=[octy.pk, ada.profile_id])

    client = client_for(support)
    response = client.post(url, {"name": "plan", "value": "enterprise"})

    # Without JavaScript the save lands on the profile page, which shows it arriving.
    assert response.status_code == 302
    assert "?work=" in response["Location"]
    run_profile_work()
    page = client.get(response["Location"]).content.decode()
    assert "Saved plan to" in page
    after = _octy_ada(octy)
    assert after.profile_data["plan"] == "enterprise"
    assert after.profile_data["email"] == "ada@example.com"


def test_octy_refuses_an_empty_list_before_sending(demo_account, support, client_for, sandbox):
    octy = demo_account("octy")
    ada = _octy_ada(octy)
    before = sandbox["octy"].app.stats()["endpoints"].get("POST profiles/update", 0)
    url = reverse("profiles:profile_edit", args=[octy.pk, ada.profile_id])

    client = client_for(support)
    response = client.post(url, {"name": "tags", "value": "[]"}, headers={"HX-Request": "true"})

    # 200: htmx swaps only 2xx answers, and the refusal must reach the person.
    assert response.status_code == 200
    assert "must not be empty" in arrived(client, response)
    assert sandbox["octy"].app.stats()["endpoints"].get("POST profiles/update", 0) == before


def test_an_altcraft_edit_repeated_by_hand_is_applied_again(demo_account, support, client_for):
    """contract: Altcraft / request_id — each edit is a new request (a fresh request
    id), so the platform applies a repeat instead of answering it as a duplicate."""
    altcraft = demo_account("altcraft")
    ada = profile_fetch(account=altcraft, profile_id=_altcraft_ada_id(altcraft))
    url = reverse("profiles:profile_edit", args=[altcraft.pk, ada["profile_id"]])
    client = client_for(support)

    for _ in range(2):
        response = client.post(
            url, {"name": "_city", "value": "Paris"}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        fragment = arrived(client, response)
        assert 'data-testid="edit-ok"' in fragment
        assert 'data-testid="duplicate"' not in fragment
    refreshed = profile_fetch(account=altcraft, profile_id=ada["profile_id"])
    assert refreshed["attributes"]["_city"] == "Paris"


def test_a_duplicate_answer_is_shown_as_not_saved(demo_account):
    """A duplicate answer (a retry the platform had already seen) is never "Saved"."""
    from integrations.altcraft.client import WriteResult
    from integrations.registry import get_provider

    class RepeatingClient:
        def update_profile(self, match, profile_id, data):
            return WriteResult(profile_id=profile_id, duplicate=True, duplicate_key="k-1")

    write = get_provider("altcraft").profiles.set_attribute(
        RepeatingClient(), "42", "_city", "Paris"
    )
    assert write.ok is False
    assert write.duplicate is True
    assert write.duplicate_key == "k-1"


def test_altcraft_validation_refuses_an_unknown_system_field(demo_account, support, client_for):
    altcraft = demo_account("altcraft")
    url = reverse("profiles:profile_edit", args=[altcraft.pk, _altcraft_ada_id(altcraft)])
    client = client_for(support)
    response = client.post(url, {"name": "_nope", "value": "x"}, headers={"HX-Request": "true"})
    assert "is not an Altcraft system field" in arrived(client, response)


def test_octy_edit_of_a_vanished_profile_is_refused_before_writing(
    demo_account, support, client_for, sandbox
):
    octy = demo_account("octy")
    url = reverse("profiles:profile_edit", args=[octy.pk, "profile_doesnotexist00"])
    client = client_for(support)
    response = client.post(url, {"name": "plan", "value": "pro"}, headers={"HX-Request": "true"})
    # Octy no longer has it: said before any write is attempted.
    assert "no longer has this profile" in arrived(client, response)


def _altcraft_ada_id(account) -> str:
    from dashboard.accounts.services import provider_client

    return provider_client(account).get_profile("email", "ada@example.com").profile_id
