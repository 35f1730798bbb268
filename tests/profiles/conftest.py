"""Fixtures for the profile tests: accounts on every sandbox that holds profiles, a
staff member who may look up but not see contact details, and sandbox knobs."""

from __future__ import annotations

import pytest


@pytest.fixture
def profile_accounts(demo_account):
    """Octy, Altcraft and Croct accounts on their sandboxes (names as the pages show)."""
    return {
        "octy": demo_account("octy", name="Octy EU"),
        "altcraft": demo_account("altcraft", name="Altcraft CRM"),
        "croct": demo_account("croct", name="Croct web"),
    }


@pytest.fixture
def unmasked_not_allowed(db):
    """A staff member with lookup_profiles but without see_contact_details."""
    from django.contrib.auth.models import Permission

    from tests.conftest import make_user

    user = make_user(None, username="lookup-only")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="core", codename="lookup_profiles")
    )
    return user


@pytest.fixture
def octy_sandbox(sandbox):
    """The Octy emulator, with its options restored after the test."""
    app = sandbox["octy"].app
    saved = (app.profile_count, app.rate_limit, app.page_size)
    yield app
    app.profile_count, app.rate_limit, app.page_size = saved
    app.reset()


def run_inline(settings):
    """Tasks run in the caller (for tests that drive one service step by step)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def tolerant(predicate):
    """``predicate`` for wait_for that counts a database error as "not yet".

    With SQLite's shared-cache test database a read that meets the worker's write
    fails at once ("database table is locked") instead of waiting.
    """
    from django.db import OperationalError

    def check():
        try:
            return predicate()
        except OperationalError:
            return None

    return check
