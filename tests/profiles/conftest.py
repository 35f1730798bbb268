"""Fixtures for the profile tests: accounts on every sandbox that holds profiles, a
staff member who may look up but not see contact details, and sandbox knobs."""

from __future__ import annotations

import re
from html import unescape

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


def run_profile_work() -> list:
    """Run every queued ProfileWork row through the task's own service, in this thread.

    For tests inside one transaction (``django_db`` without ``transaction=True``),
    where on-commit enqueues never fire and a worker thread could not see the rows;
    the queueing itself is covered with the real ``celery_worker`` in test_work_rows.
    """
    from dashboard.profiles.models import ProfileWork, WorkStatus
    from dashboard.profiles.work import profile_work_run
    from tests.conftest import flush_call_log

    pending = ProfileWork.objects.filter(status=WorkStatus.PENDING).order_by("id")
    done = [profile_work_run(work_id=pk) for pk in list(pending.values_list("pk", flat=True))]
    # A task flushes the call log when it ends (task_postrun); run in this thread, the
    # rows are flushed here the same way.
    flush_call_log()
    return done


POLL_URL = re.compile(r'hx-get="(/profiles/work/\d+/[a-z]+/[^"]*)"')


def poll_url(html: str) -> str:
    found = POLL_URL.search(html)
    assert found, "the response polls no profile work row"
    return unescape(found.group(1))


def arrived(client, response) -> str:
    """What the page shows once the work ``response`` queued has run: the fragment its
    polling fetches next (with any out-of-band panels)."""
    url = poll_url(response.content.decode())
    run_profile_work()
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code in (200, 286), fragment.status_code
    return fragment.content.decode()
