"""Login protection, session expiry, CSP and the production settings guard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_login_page_logs_a_role_user_in(client, marketer):
    response = client.post(reverse("login"), {"username": marketer.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("overview")).status_code == 200


def test_a_wrong_password_re_renders_the_form_with_a_message(client, marketer):
    response = client.post(reverse("login"), {"username": marketer.username, "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert marketer.username in response.content.decode()  # what was typed is kept


def test_repeated_failures_lock_the_login_out(client, marketer, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": marketer.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": marketer.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert client.get(reverse("overview")).status_code == 302


def test_sessions_expire_after_idle_time(settings):
    # Not saved on every request (#17): the idle middleware saves the session, sliding
    # its expiry, when it records activity (tests/core/test_idle_timeout.py).
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert "dashboard.core.idle.IdleTimeoutMiddleware" in settings.MIDDLEWARE
    assert 0 < settings.SESSION_COOKIE_AGE <= 8 * 3600


def test_an_idle_session_ends_and_an_active_one_slides(client, marketer, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    start = timezone.now()
    client.post(reverse("login"), {"username": marketer.username, "password": PASSWORD})
    with time_machine.travel(start + idle * 0.8, tick=False):
        assert client.get(reverse("overview")).status_code == 200  # activity pushes expiry on
    with time_machine.travel(start + idle * 1.6, tick=False):
        assert client.get(reverse("overview")).status_code == 200  # 0.8 idle since last request
    with time_machine.travel(start + idle * 2.7, tick=False):
        response = client.get(reverse("overview"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_pages_carry_a_strict_content_security_policy(client_for, admin):
    response = client_for(admin).get(reverse("overview"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    body = response.content.decode()
    assert "<script>" not in body  # no inline script at all
    assert " style=" not in body


def test_body_carries_the_csrf_token_for_htmx(client_for, admin):
    body = client_for(admin).get(reverse("overview")).content.decode()
    assert 'hx-headers=\'{"x-csrftoken": "' in body
    assert "django_htmx/htmx-2" in body or "htmx.min.js" in body


def test_htmx_posts_without_the_csrf_token_are_refused(admin, sandbox, demo_account):
    from django.test import Client

    account = demo_account("croct")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(reverse("accounts:test", args=[account.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 403


def test_unknown_pages_get_the_friendly_404(client_for, admin):
    response = client_for(admin).get("/no/such/page/")
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()


PRODUCTION_REQUIRED = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "FIELD_ENCRYPTION_KEYS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
)


def _run_django(args, env_extra):
    # A clean slate: CI exports DATABASE_URL and CELERY_BROKER_URL for the suite.
    dropped = ("SWITCHYARD_VAR_DIR", "DJANGO_ALLOW_ASYNC_UNSAFE", *PRODUCTION_REQUIRED)
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_extra)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_its_settings():
    result = _run_django(["check"], {"DJANGO_ENV": "production"})
    assert result.returncode != 0
    for name in PRODUCTION_REQUIRED:
        assert name in result.stderr


@pytest.mark.timeout(180)
def test_check_deploy_is_clean_under_production_settings(tmp_path):
    from cryptography.fernet import Fernet

    result = _run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        {
            "DJANGO_ENV": "production",
            "SECRET_KEY": "x" * 20 + "-production-secret-key-for-checks-only-0123456789",
            "ALLOWED_HOSTS": "switchyard.example.com",
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "db.sqlite3"),
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "STATIC_ROOT": str(tmp_path / "static"),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
