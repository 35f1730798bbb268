import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _run(*args):
    from io import StringIO

    out = StringIO()
    code = 0
    try:
        call_command("find_profile", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_it_prints_the_match(demo_account):
    demo_account("altcraft", name="crm")
    code, out = _run("crm", "ada@example.com", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["status"] == "found"
    assert data["profiles"][0]["name"] == "Ada Lovelace"


def test_it_prints_altcrafts_answer_for_an_ambiguous_phone(demo_account):
    demo_account("altcraft", name="crm")
    code, out = _run("crm", "+15550000000")
    assert code == 2
    assert "ambiguous" in out
    assert "Narrow the match" in out


def test_it_says_when_nothing_matches(demo_account):
    demo_account("octy", name="octy")
    code, out = _run("octy", "cust-99999")
    assert code == 1
    assert "not_found" in out
