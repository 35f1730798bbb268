"""#16 defect 11: the Overview says where a limit comes from in words, not a doc path."""

from __future__ import annotations

from django.urls import reverse


def test_documented_limits_are_explained_in_words(client_for, admin, db):
    page = client_for(admin).get(reverse("overview")).content.decode()
    assert "providers/" not in page
    assert ".md" not in page
    assert "Commanders Act asks to be told before you go above it" in page
