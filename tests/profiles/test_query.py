import pytest

from dashboard.profiles.query import DIRECT, LINK, UnrecognisedQuery, plan_for, recognise


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Ada@Example.com ", "email", "ada@example.com"),
        ("+44 7700 900001", "phone", "+447700900001"),
        ("+1 (555) 000-0000", "phone", "+15550000000"),
        ("447700900001", "phone", "+447700900001"),
        ("5f4fa1a5ce9448665fef548e", "altcraft_id", "5f4fa1a5ce9448665fef548e"),
        ("profile_2f6c1e9a8b474d3e", "octy_id", "profile_2f6c1e9a8b474d3e"),
        ("cust-00001", "octy_id", "cust-00001"),
        ("user-0001", "croct_user", "user-0001"),
    ],
)
def test_it_recognises_each_kind(text, kind, value):
    query = recognise(text)
    assert (query.kind, query.value) == (kind, value)


@pytest.mark.parametrize("text", ["", "   ", "not an@email", "a,b", "x" * 300, "has space"])
def test_it_refuses_what_is_no_query(text):
    with pytest.raises(UnrecognisedQuery):
        recognise(text)


def test_each_provider_plans_what_it_can_search():
    assert plan_for("altcraft", "phone") == DIRECT
    assert plan_for("octy", "octy_id") == DIRECT
    assert plan_for("octy", "croct_user") == LINK
    assert plan_for("croct", "croct_user") == DIRECT
    assert "user id" in plan_for("croct", "email")
