"""`make run` seeds one user per role and one sandbox account per provider."""

from __future__ import annotations

from io import StringIO

from django.contrib.auth import authenticate
from django.core.management import call_command


def _seed(base_url="http://127.0.0.1:8000") -> str:
    out = StringIO()
    call_command("seed_demo", base_url=base_url, stdout=out)
    return out.getvalue()


def test_it_creates_a_user_per_role_with_printed_passwords(db, rf):
    output = _seed()
    for role in ("marketer", "support", "admin"):
        line = next(line for line in output.splitlines() if line.strip().startswith(role))
        password = line.split()[-1]
        user = authenticate(rf.post("/login/"), username=role, password=password)
        assert user is not None, role
        assert list(user.groups.values_list("name", flat=True)) == [role]


def test_it_connects_one_sandbox_account_per_provider(db):
    from dashboard.accounts.models import ConnectedAccount, CredentialState

    _seed("http://127.0.0.1:8123")
    accounts = {a.provider: a for a in ConnectedAccount.objects.all()}
    assert set(accounts) == {"croct", "commanders_act", "octy", "altcraft"}
    for key, account in accounts.items():
        assert account.base_url == f"http://127.0.0.1:8123/sandbox/{key}"
        assert account.is_demo
        assert account.credentials.filter(state=CredentialState.ACTIVE).count() == 1


def test_running_it_again_keeps_passwords_and_follows_the_port(db):
    from dashboard.accounts.models import ConnectedAccount

    first = _seed("http://127.0.0.1:8000")
    second = _seed("http://127.0.0.1:9000")
    assert first == second  # same users, same passwords printed
    assert ConnectedAccount.objects.count() == 4
    assert all(
        a.base_url.startswith("http://127.0.0.1:9000/") for a in ConnectedAccount.objects.all()
    )


def test_it_seeds_demo_personas_once_and_leaves_edited_ones_alone(db):
    from dashboard.previews.models import Persona

    _seed("http://127.0.0.1:8123")
    assert set(Persona.objects.values_list("name", flat=True)) == {
        "Anonymous",
        "Pro shopper",
        "Brazil visitor",
    }
    Persona.objects.filter(name="Anonymous").delete()
    _seed("http://127.0.0.1:8123")
    # Staff own the personas after the first seeding: a deleted one stays deleted.
    assert Persona.objects.count() == 2


def test_the_demo_admin_is_enrolled_and_the_printed_secret_signs_in(db, client):
    import re
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.urls import reverse

    output = _seed()
    assert output == _seed()  # the same secret and recovery code on every run
    secret = re.search(r"authenticator app: ([A-Z2-7]{32})", output).group(1)
    password = next(
        line.split()[-1] for line in output.splitlines() if line.strip().startswith("admin")
    )
    response = client.post(reverse("login"), {"username": "admin", "password": password})
    assert response.url.startswith(reverse("mfa_authenticate"))
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.get(reverse("overview")).status_code == 200
