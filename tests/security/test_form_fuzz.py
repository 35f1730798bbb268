"""Bad input, property-based: random values into every form the console has.

For each form POST endpoint (and every GET filter form), Hypothesis posts random field
values — unicode and control characters, very long strings, numbers, empty and missing
fields, JSON-ish garbage, huge attribute maps, ids of real and unknown rows — as a user
allowed to use the form. Whatever comes in:

- the answer is never a 5xx and no exception escapes the view;
- a refused submission (4xx, or a 200 re-render with an error list) carries a message
  and writes no domain row; an accepted one may (a redirect or a result fragment).

The test client re-raises any exception a view lets escape, so a crash fails the
property with its traceback and the smallest input that causes it.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import url_kwargs

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)

GET_FUZZ = settings(FUZZ, max_examples=15)

# --- values -----------------------------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
_control = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), max_size=10)
_huge_map = st.integers(min_value=31, max_value=400).map(
    lambda n: json.dumps({f"k{i}": "v" * (i % 60) for i in range(n)})
)
_huge_lines = st.integers(min_value=31, max_value=300).map(
    lambda n: "\n".join(f"a{i}.b.c.d.e.f={'x' * (i % 70)}" for i in range(n))
)
_nested = st.integers(min_value=5, max_value=60).map(
    lambda depth: "{" * depth + '"a": 1' + "}" * depth
)
_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e309", "NaN", "-0", "0x10", "1_000", "٣", "²"]),
)
_tricky = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%(name)s",
        "{{ secret }}",
        "../../etc/passwd",
        "http://169.254.169.254/latest",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "null",
        "true",
        "[]",
        "{}",
        '{"a":',
        "2026-02-30",
        "2026-11-23T25:61",
        "9999-12-31 23:59",
        "\u202e\u200b\ufeff",
        "😀" * 50,
    ]
)
VALUE = st.one_of(
    st.text(max_size=60),
    _control,
    _numbers,
    _tricky,
    _json.map(json.dumps),
    st.integers(min_value=1, max_value=5000).map(lambda n: "x" * n * 10),
)
ATTRIBUTE_VALUE = st.one_of(VALUE, _huge_map, _huge_lines, _nested)


def form_data(fields: list[str], ids: list[int]):
    """Some of the form's fields (others missing), each a random value or a real id."""
    value = st.one_of(VALUE, st.sampled_from(ids).map(str)) if ids else VALUE
    per_field = {
        name: (ATTRIBUTE_VALUE if name in ("attributes", "payload") else value) for name in fields
    }
    return st.fixed_dictionaries(
        {}, optional={**per_field, "unexpected": value}
    ) | st.fixed_dictionaries(per_field)


# --- the world the forms act on ----------------------------------------------------------
def _snapshot():
    from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
    from dashboard.calls.models import ErrorGroup, ErrorGroupNote
    from dashboard.events.models import OutboundEvent, Replay
    from dashboard.previews.models import (
        CqlEvaluation,
        Persona,
        PreviewGrid,
        PreviewRequest,
        PublicShareLink,
    )
    from dashboard.profiles.models import ExportJob, LookupRequest, SyncJob

    return (
        PublicShareLink.objects.count(),
        list(
            ConnectedAccount.objects.order_by("id").values_list(
                "id", "name", "base_url", "settings", "is_enabled"
            )
        ),
        list(Credential.objects.order_by("id").values_list("id", "state")),
        AccountCheck.objects.count(),
        # The world's group only: a refused provider call may still be logged, and the
        # call log groups it (that is the call log working, not the form writing).
        list(ErrorGroup.objects.order_by("id").values_list("id", "state")[:1]),
        ErrorGroupNote.objects.count(),
        OutboundEvent.objects.count(),
        Replay.objects.count(),
        list(Persona.objects.order_by("id").values_list("id", "name", "context", "description")),
        list(PreviewGrid.objects.order_by("id").values_list("id", "baseline_id")),
        PreviewRequest.objects.count(),
        CqlEvaluation.objects.count(),
        LookupRequest.objects.count(),
        list(SyncJob.objects.order_by("id").values_list("id", "status")),
        list(ExportJob.objects.order_by("id").values_list("id", "status")),
    )


_NAME = re.compile(r'\bname="([^"]+)"')
_SKIP_NAMES = {"csrfmiddlewaretoken"}
_MESSAGE = ("errorlist", 'class="problem', "problem", "notice", 'role="alert"')


def field_names(client, page_url: str) -> list[str]:
    """The names of the inputs in the page's main content (the form as staff see it)."""
    html = client.get(page_url).content.decode()
    main = html.split('<main class="page">', 1)[-1]
    return sorted({name for name in _NAME.findall(main) if name not in _SKIP_NAMES})


def check_answer(response, before, after, label):
    status = response.status_code
    assert status < 500, f"{label}: {status}"
    body = response.content.decode(errors="replace") if not response.streaming else ""
    if 400 <= status < 500:
        assert status != 403, f"{label}: a permitted user got 403"
        assert after == before, f"{label}: refused with {status} but wrote rows"
        if status != 404:
            assert any(marker in body for marker in _MESSAGE), f"{label}: refused silently"
    elif status == 200 and "errorlist" in body:
        assert after == before, f"{label}: showed errors but wrote rows"


def _post_property(client, url: str, fields: list[str], ids: list[int]):
    @FUZZ
    @given(data=form_data(fields, ids), htmx=st.booleans())
    def prop(data, htmx):
        before = _snapshot()
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(url, data, headers=headers)
        check_answer(response, before, _snapshot(), f"POST {url} {data!r:.300}")

    prop()


def _ids(world) -> list[int]:
    return sorted(
        {
            world.croct.pk,
            world.octy.pk,
            world.ca.pk,
            world.persona.pk,
            world.preview.pk,
            world.other_cell.pk,
            world.event.pk,
            987654321,
        }
    )


@pytest.fixture
def as_role(client_for, role_users):
    return lambda role: client_for(role_users[role])


# (post url name, page with the form (None: same), role, extra field names, htmx too)
POST_FORMS = [
    ("accounts:connect_provider", None, "admin", []),
    ("accounts:edit", None, "admin", []),
    ("accounts:rotate", None, "admin", []),
    ("previews:submit", "previews:index", "marketer", []),
    ("previews:persona_new", None, "marketer", []),
    ("previews:persona_edit", None, "marketer", []),
    ("previews:grids", None, "marketer", []),
    ("previews:grid_baseline", "previews:grid", "marketer", ["cell"]),
    ("previews:cql_run", "previews:cql", "marketer", []),
    ("previews:public_link_create", "previews:detail", "marketer", []),
    ("previews:catalog_new", None, "marketer", []),
    ("previews:catalog_edit", None, "marketer", []),
    ("previews:label_save", "previews:labels", "marketer", ["account", "kind", "target_id"]),
    ("events:compose", None, "marketer", ["action"]),
    ("events:replay", None, "admin", ["event", "user", "status", "account", "since"]),
    ("profiles:index", None, "support", []),
    ("profiles:profile_edit", "profiles:profile", "support", ["name", "value"]),
    ("profiles:exports", None, "admin", []),
    ("calls:group_state", "calls:group", "admin", ["action", "note"]),
]


APPS = ["accounts", "previews", "events", "profiles", "calls"]


@pytest.mark.parametrize("app", APPS)
def test_no_form_post_crashes_or_writes_when_refused(as_role, world, app):
    """Every form POST of the app, as a user who may use it; plain and HTMX posts."""
    endpoints = [row for row in POST_FORMS if row[0].startswith(f"{app}:")]
    assert endpoints
    for name, page, role, extra in endpoints:
        client = as_role(role)
        url = reverse(name, kwargs=url_kwargs(name, world) or None)
        page_name = page or name
        page_url = reverse(page_name, kwargs=url_kwargs(page_name, world) or None)
        fields = sorted(set(field_names(client, page_url)) | set(extra))
        assert fields, f"no form fields found on {page_url}"
        _post_property(client, url, fields, _ids(world))


def test_compose_validate_never_crashes(as_role, world):
    """The composer's "Check" button: any payload is checked, never a crash."""
    client = as_role("marketer")
    url = reverse("events:compose")

    @FUZZ
    @given(payload=ATTRIBUTE_VALUE, event_type=VALUE, account=st.sampled_from(_ids(world)))
    def prop(payload, event_type, account):
        before = _snapshot()
        data = {"account": account, "payload": payload, "event_type": event_type}
        response = client.post(url, {**data, "action": "validate"}, headers={"HX-Request": "true"})
        check_answer(response, before, _snapshot(), f"validate {data!r:.200}")
        assert _snapshot() == before, "validating must not queue anything"

    prop()


# --- GET filter forms -------------------------------------------------------------------
GET_FILTERS = [
    ("calls:list", "admin"),
    ("calls:errors", "admin"),
    ("calls:group", "admin"),
    ("audit:list", "admin"),
    ("audit:export", "admin"),
    ("previews:index", "marketer"),
    ("previews:history", "marketer"),
    ("previews:diff", "marketer"),
    ("previews:result", "marketer"),
    ("previews:catalog", "marketer"),
    ("previews:catalog_search", "marketer"),
    ("previews:labels", "marketer"),
    ("previews:label", "marketer"),
    ("events:index", "admin"),
    ("events:failures", "admin"),
    ("events:live", "admin"),
    ("events:compose", "marketer"),
    ("events:replay", "admin"),
    ("profiles:browse", "support"),
    ("profiles:cache", "support"),
    ("profiles:access", "admin"),
    ("profiles:lookup", "support"),
]
QUERY_KEYS = [
    "account",
    "provider",
    "operation",
    "outcome",
    "kind",
    "correlation",
    "group",
    "cursor",
    "state",
    "class",
    "sort",
    "period",
    "bucket",
    "actor",
    "action",
    "since",
    "until",
    "before",
    "type",
    "status",
    "user",
    "q",
    "after",
    "paused",
    "section",
    "pending",
    "template",
    "slot",
    "persona",
    "a",
    "b",
    "pick",
    "from",
    "rfm",
    "churn_prob",
    "segments",
    "subject",
    "event",
    "dry",
]


GET_APPS = ["calls", "audit", "previews", "events", "profiles"]


@pytest.mark.parametrize("app", GET_APPS)
def test_no_filter_query_string_crashes(as_role, world, app):
    """Every list/filter page of the app with random query strings, plain and HTMX."""
    pages = [row for row in GET_FILTERS if row[0].startswith(f"{app}:")]
    assert pages
    for name, role in pages:
        _get_property(as_role(role), name, world)


def _get_property(client, name, world):
    url = reverse(name, kwargs=url_kwargs(name, world) or None)
    page_fields = field_names(client, url) if name != "audit:export" else []
    keys = sorted(set(QUERY_KEYS) | {f for f in page_fields if f not in _SKIP_NAMES})

    @GET_FUZZ
    @given(query=form_data(keys, _ids(world)), htmx=st.booleans())
    def prop(query, htmx):
        before = _snapshot()
        response = client.get(url, query, headers={"HX-Request": "true"} if htmx else {})
        if response.streaming:
            b"".join(response.streaming_content)  # a CSV export must stream to the end
        status = response.status_code
        assert status < 500, f"GET {name} {query!r:.300}: {status}"
        assert status != 403, f"GET {name}: a permitted user got 403"
        assert _snapshot() == before, f"GET {name} wrote rows"

    prop()


# --- the bugs the properties found, pinned ----------------------------------------------
EMPTY_POSTS = [
    ("accounts:connect_provider", "admin"),
    ("accounts:edit", "admin"),
    ("accounts:rotate", "admin"),
    ("previews:persona_new", "marketer"),
    ("previews:grids", "marketer"),
    ("previews:catalog_new", "marketer"),
    ("profiles:index", "support"),
    ("profiles:exports", "admin"),
]


@pytest.mark.parametrize(("name", "role"), EMPTY_POSTS)
def test_an_empty_post_is_refused_with_messages(as_role, world, name, role):
    """An empty POST used to re-render the blank form (422, not a word why)."""
    before = _snapshot()
    response = as_role(role).post(reverse(name, kwargs=url_kwargs(name, world) or None), {})
    assert response.status_code == 422
    assert "errorlist" in response.content.decode()
    assert _snapshot() == before


def test_a_persona_id_beyond_any_row_is_refused_not_a_crash(as_role, world):
    """``personas=9223372036854775808`` overflowed the database query (a 500)."""
    before = _snapshot()
    response = as_role("marketer").post(
        reverse("previews:grids"),
        {
            "account": world.croct.pk,
            "slot_id": "home-hero",
            "locales": "en",
            "personas": [str(2**63), str(world.persona.pk)],
        },
    )
    assert response.status_code == 422
    assert "errorlist" in response.content.decode()
    assert _snapshot() == before


def test_a_nul_character_in_any_filter_is_not_a_crash(as_role, world):
    """PostgreSQL refuses NUL in text: a filter carrying one used to be a 500 there."""
    wrong = []
    for name, role in GET_FILTERS:
        client = as_role(role)
        url = reverse(name, kwargs=url_kwargs(name, world) or None)
        # Every known filter at once carries one (each alone crashed a page before).
        response = client.get(url, dict.fromkeys(QUERY_KEYS, "a\x00b"))
        if response.streaming:
            b"".join(response.streaming_content)
        if response.status_code >= 500:
            wrong.append((name, response.status_code))
    assert not wrong, wrong
