"""Property test over every provider response parser the console uses: whatever a
provider answers (any status, any bytes, any JSON shape, any content type), a client
method returns a value or raises a ProviderError carrying a Problem, never anything
else. An escaping AttributeError or IndexError would be a 500 page or a crashed task.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from integrations.altcraft.sandbox import DEMO_SECRETS as ALTCRAFT_SECRETS
from integrations.commanders_act.sandbox import DEMO_SECRETS as CACT_SECRETS
from integrations.commanders_act.sandbox import DEMO_SETTINGS as CACT_SETTINGS
from integrations.croct.models import ContentRequest, TrackEvent
from integrations.croct.sandbox import DEMO_SECRETS as CROCT_SECRETS
from integrations.croct.sandbox import DEMO_SETTINGS as CROCT_SETTINGS
from integrations.errors import ProviderError
from integrations.octy.payloads import OctyEvent
from integrations.octy.sandbox import DEMO_SECRETS as OCTY_SECRETS
from integrations.registry import get_provider

CLIENT_ID = "6a1b3c5d-0000-4000-8000-000000000001"


class _Stream:
    def __init__(self, body: bytes):
        self.left = body

    def read1(self, size, decode_content=True):
        piece, self.left = self.left[:size], self.left[size:]
        return piece


class _Response:
    def __init__(self, status: int, body: bytes, headers: dict[str, str]):
        self.status_code = status
        self.headers = CaseInsensitiveDict(headers)
        self.raw = _Stream(body)

    def close(self):
        pass


class CannedHTTP:
    """Stands in for requests.Session: every request gets the canned answer."""

    def __init__(self):
        self.answer = (200, b"", {})

    def request(self, *args, **kwargs):
        status, body, headers = self.answer
        return _Response(status, body, headers)


ACCOUNTS = {
    "croct": (CROCT_SETTINGS, CROCT_SECRETS),
    "commanders_act": (CACT_SETTINGS, CACT_SECRETS),
    "octy": ({}, OCTY_SECRETS),
    "altcraft": ({"db_id": "1", "resource_id": "1", "format": "json"}, ALTCRAFT_SECRETS),
    "altcraft-xml": ({"db_id": "1", "resource_id": "1", "format": "xml"}, ALTCRAFT_SECRETS),
}

CALLS = {
    "croct.content": (
        "croct",
        lambda c: c.content(ContentRequest("home-hero", client_id=CLIENT_ID)),
    ),
    "croct.static_content": ("croct", lambda c: c.static_content("home-hero")),
    "croct.evaluate": ("croct", lambda c: c.evaluate("true", client_id=CLIENT_ID)),
    "croct.track": (
        "croct",
        lambda c: c.track(
            TrackEvent(
                payload={"type": "goalCompleted", "goalId": "signup"},
                url="https://example.com/",
                client_id=CLIENT_ID,
            )
        ),
    ),
    "croct.export_events": ("croct", lambda c: c.export_events(0, 1_000)),
    "croct.export_user": ("croct", lambda c: c.export_user("user-0001")),
    "commanders_act.send_event": (
        "commanders_act",
        lambda c: c.send_event({"event_name": "page_view", "user": {}, "context": {}}),
    ),
    "commanders_act.send_batch": (
        "commanders_act",
        lambda c: c.send_batch([{"event_name": "page_view", "user": {}, "context": {}}] * 2),
    ),
    "octy.get_profiles": ("octy", lambda c: c.get_profiles(["p-1"])),
    "octy.profiles_page": ("octy", lambda c: c.profiles_page()),
    "octy.profiles_metadata": ("octy", lambda c: c.profiles_metadata(["p-1"])),
    "octy.create_events": (
        "octy",
        lambda c: c.create_events([OctyEvent("visit", "p-1"), OctyEvent("visit", "p-2")]),
    ),
    "octy.event_types": ("octy", lambda c: c.event_types()),
    "octy.segments": ("octy", lambda c: c.segments()),
    "altcraft.get_profile": ("altcraft", lambda c: c.get_profile("email", "ada@example.com")),
    "altcraft.list_profiles": ("altcraft", lambda c: c.list_profiles(limit=2)),
    "altcraft.delete_profile": ("altcraft", lambda c: c.delete_profile("0123456789abcdef01234567")),
    "altcraft-xml.get_profile": ("altcraft-xml", lambda c: c.get_profile("email", "a@b.co")),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "content",
                    "metadata",
                    "error",
                    "errors",
                    "data",
                    "profiles",
                    "items",
                    "result",
                    "nextCursor",
                    "type",
                    "title",
                    "status",
                    "detail",
                    "violations",
                    "code",
                    "id",
                    "failed_items",
                    "events",
                    "profile",
                    "error_text",
                    "request_id",
                    "segments",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)
bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    st.sampled_from([b"", b"<?xml version='1.0'?><response><error>1</error></response>", b"{"]),
)
statuses = st.sampled_from([200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 422, 429, 500, 503])
content_types = st.sampled_from(
    ["application/json", "application/problem+json", "text/plain", "application/xml", "text/html"]
)
extra_headers = st.fixed_dictionaries(
    {},
    optional={
        "Retry-After": st.sampled_from(["3", "-1", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"]),
        "X-Suspension-Reason": st.sampled_from(["trial expired", ""]),
        "cursor": st.text(max_size=10),
    },
)


def _client(account_key: str, http: CannedHTTP):
    settings_, secrets = ACCOUNTS[account_key]
    provider = get_provider(account_key.split("-")[0])
    return provider.build_client(
        base_url="http://127.0.0.1:9", settings=dict(settings_), secrets=dict(secrets), http=http
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    call=st.sampled_from(sorted(CALLS)),
    status=statuses,
    body=bodies,
    content_type=content_types,
    headers=extra_headers,
)
def test_any_answer_is_a_value_or_a_provider_error(call, status, body, content_type, headers):
    account_key, make_call = CALLS[call]
    http = CannedHTTP()
    http.answer = (status, body, {"Content-Type": content_type, **headers})
    client = _client(account_key, http)
    problem = None
    try:
        make_call(client)
    except ProviderError as exc:
        problem = exc.problem
    assert problem is None or (problem.kind and problem.title)


def test_the_canned_double_reaches_the_parsers():
    # Guards the property above against passing vacuously: a well-formed answer
    # through the same double is parsed into a value, a malformed one is refused.
    http = CannedHTTP()
    client = _client("croct", http)
    http.answer = (200, b"42", {"Content-Type": "application/json"})
    assert client.evaluate("1 + 41", client_id=CLIENT_ID).value == 42
    http.answer = (200, b'{"content": 1}', {"Content-Type": "application/json"})
    try:
        client.content(ContentRequest("home-hero", client_id=CLIENT_ID))
    except ProviderError as exc:
        assert exc.problem.kind == "malformed_response"  # noqa: PT017
    else:
        raise AssertionError("a content answer without metadata was accepted")
