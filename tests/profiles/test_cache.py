"""Searching the local cache by name and email."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.profiles.cache import cache_search, cache_upsert
from dashboard.profiles.models import CachedProfile

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(demo_account):
    octy = demo_account("octy")
    rows = [
        {"profile_id": "p1", "name": "Ada Lovelace", "email": "ada@example.com"},
        {"profile_id": "p2", "name": "Alan Turing", "email": "alan.turing2@example.com"},
        {"profile_id": "p3", "name": "Grace Hopper", "email": "grace@navy.mil"},
    ]
    cache_upsert(account=octy, profiles=rows, fetched_at=timezone.now())
    return octy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada", {"p1"}),
        ("Lovelace", {"p1"}),
        ("a", {"p1", "p2"}),
        ("grace@", {"p3"}),
        ("alan.turing2@example.com", {"p2"}),
        ("hopper g", {"p3"}),
        ("zed", set()),
    ],
)
def test_it_finds_by_name_last_name_or_email_prefix(cached, text, expected):
    assert {r.profile_id for r in cache_search(text=text)} == expected


def test_upsert_refreshes_instead_of_duplicating(cached):
    cache_upsert(
        account=cached,
        profiles=[{"profile_id": "p1", "name": "Ada King", "email": "ada@example.com"}],
        fetched_at=timezone.now(),
    )
    assert CachedProfile.objects.count() == 3
    assert {r.profile_id for r in cache_search(text="king")} == {"p1"}


def test_cache_page_masks_for_staff_without_contact_details(
    cached, unmasked_not_allowed, support, client_for
):
    url = reverse("profiles:cache") + "?q=ada"
    assert "ada@example.com" in client_for(support).get(url).content.decode()
    masked = client_for(unmasked_not_allowed).get(url).content.decode()
    assert "ada@example.com" not in masked
    assert "a•••@example.com" in masked


def test_a_page_naming_a_profile_twice_keeps_the_last(cached):
    cache_upsert(
        account=cached,
        profiles=[
            {"profile_id": "p9", "name": "First"},
            {"profile_id": "p9", "name": "Second"},
        ],
        fetched_at=timezone.now(),
    )
    assert CachedProfile.objects.get(profile_id="p9").name == "Second"
