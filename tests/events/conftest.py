"""Fixtures for the events tests: accounts on the sandboxes and event builders."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def ca_account(demo_account):
    return demo_account("commanders_act")


@pytest.fixture
def ca_sandbox(sandbox):
    return sandbox["commanders_act"].app


@pytest.fixture
def octy_account(demo_account):
    return demo_account("octy")


@pytest.fixture
def octy_profile(sandbox):
    return sandbox["octy"].app.store.find("cust-00001")["profile_id"]


@pytest.fixture
def croct_account(demo_account):
    return demo_account("croct")


def ca_event(name: str = "page_view", *, user: str = "caid-1", **extra) -> dict:
    """A v2 Commanders Act event with its own event_id."""
    return {
        "event_name": name,
        "user": {"consistent_anonymous_id": user},
        "context": {"event_id": f"evt-{uuid.uuid4().hex}"},
        **extra,
    }


@pytest.fixture
def fast_retries(settings):
    """Short, bounded backoff; tests make a retry due themselves (``make_due``)."""
    settings.EVENTS_RETRY_BASE_SECONDS = 30
    settings.EVENTS_RETRY_MAX_SECONDS = 60
    return settings
