"""``manage.py preview_slot``: the same service in-process, with exit codes that say what
happened."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboard.calls.models import ApiCall
from dashboard.previews.models import PreviewRequest
from tests.conftest import flush_call_log


def run(*args) -> str:
    out = StringIO()
    call_command("preview_slot", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_content_and_why_it_was_served(db, croct):
    out = run("Croct shop", "home-hero", "--attribute", "plan=pro", "--locale", "pt_BR")

    assert "source: experience" in out
    assert "Personalizado para usuários Pro" in out
    preview = PreviewRequest.objects.get()
    assert preview.status == "done"
    assert preview.context == {"attributes": {"plan": "pro"}}
    flush_call_log()
    assert ApiCall.objects.filter(account=croct, operation="croct.content").count() == 1


def test_json_output_with_a_persona_and_a_fixed_client_id(db, croct, make_persona):
    make_persona("Brazil", {"timeZone": "America/Sao_Paulo"})
    client_id = "3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8"

    data = json.loads(
        run("Croct shop", "home-hero", "--persona", "brazil", "--client-id", client_id, "--json")
    )

    assert data["status"] == "done"
    assert data["metadata"]["source"] == "experiment"
    assert data["metadata"]["variant_id"]
    assert PreviewRequest.objects.get().client_id == client_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--version", "1.x"), "version: '1.x' is not a version"),
        (("--attribute", "k" * 51 + "=1"), "key has 51 characters"),
        (("--attribute", "plan"), "is not KEY=VALUE"),
        (("--client-id", "not-a-uuid"), "identity_value"),
        (("--persona", "Nobody"), "no persona named"),
    ],
)
def test_invalid_input_exits_2_and_sends_nothing(db, croct, args, message):
    with pytest.raises(CommandError) as caught:
        run("Croct shop", "home-hero", *args)

    assert caught.value.returncode == 2
    assert "nothing was sent" in str(caught.value)
    assert message in str(caught.value)
    assert not PreviewRequest.objects.exists()
    assert not ApiCall.objects.exists()


def test_a_provider_error_exits_1(db, croct):
    with pytest.raises(CommandError) as caught:
        run("Croct shop", "no-such-slot")
    assert caught.value.returncode == 1
    assert "provider error: Slot not found (HTTP 404)" in str(caught.value)


def test_a_suspension_is_reported_as_one_with_exit_3(db, croct, sandbox):
    sandbox["croct"].app.suspended = True
    with pytest.raises(CommandError) as caught:
        run("Croct shop", "home-hero")
    assert caught.value.returncode == 3
    assert str(caught.value).startswith("suspended: Workspace services suspended")


def test_an_unknown_or_non_croct_account_is_invalid_input(db, demo_account):
    demo_account("octy", name="Octy shop")
    for name, message in (("Nope", "no account named"), ("Octy shop", "cannot preview slots")):
        with pytest.raises(CommandError) as caught:
            run(name, "home-hero")
        assert caught.value.returncode == 2
        assert message in str(caught.value)
