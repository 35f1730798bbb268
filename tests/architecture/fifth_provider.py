"""A fifth provider, written as a new provider package would be: a client over the
shared HTTP session, an events adapter, a profiles adapter, a ``Provider`` declaration
and a small emulator. It lives in the tests because no real fifth provider exists;
``test_fifth_provider.py`` registers it with one registry line and drives the
console's events and profiles features through it, which is the proof (#13) that
adding a provider touches its package, the registry and its tests — no feature.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from integrations import errors
from integrations.errors import Problem
from integrations.events import EventOutcome, EventsAdapter, InvalidEvent, PreparedEvent
from integrations.http import ProviderSession, encode_json
from integrations.profiles import EMAIL, Found, ProfilesAdapter
from integrations.provider import Capability, Field, Provider

KEY = "loyalty"
DEMO_KEY = "loyalty-demo-key-0001"


class LoyaltyClient:
    def __init__(self, session: ProviderSession, api_key: str):
        self.session = session
        self.api_key = api_key

    def _headers(self) -> dict[str, str]:
        return {"X-Loyalty-Key": self.api_key}

    def _parse(self, response):
        if response.status >= 400:
            raise errors.error_for(
                Problem.build(KEY, errors.kind_for_status(response.status), status=response.status)
            )
        return response.json()

    def track(self, body: bytes) -> dict[str, Any]:
        return self.session.call(
            "loyalty.track", "POST", "/events", body=body, headers=self._headers(),
            parse=self._parse,
        )  # fmt: skip

    def find(self, email: str) -> list[dict[str, Any]]:
        return self.session.call(
            "loyalty.find", "GET", "/members", params={"email": email}, headers=self._headers(),
            parse=self._parse,
        )["members"]  # fmt: skip

    def member(self, member_id: str) -> dict[str, Any]:
        return self.session.call(
            "loyalty.member", "GET", f"/members/{member_id}", headers=self._headers(),
            parse=self._parse,
        )  # fmt: skip


class LoyaltyEvents(EventsAdapter):
    provider = KEY
    max_batch = 1
    templates: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "points_earned": {"type": "points_earned", "member": "m-1", "points": 10}
    }
    payload_help = "a Loyalty Hub event"

    def build(
        self, payload: dict[str, Any], event_type: str, options: dict[str, Any], now: datetime
    ) -> PreparedEvent:
        event = {"type": event_type or payload.get("type"), **payload}
        if not event.get("member"):
            raise InvalidEvent(["member: is required"])
        body = encode_json(event)
        return PreparedEvent(
            event_type=str(event["type"]),
            body=body.decode(),
            size_bytes=len(body),
            idempotency_key=str(event.get("id") or f"{event['member']}-{now.timestamp()}"),
            user_id=str(event["member"]),
            identifiers={"member": str(event["member"])},
        )

    def send_batch(self, client: Any, events: Sequence[Any]) -> list[EventOutcome]:
        outcomes = []
        for event in events:
            try:
                answer = client.track(event.body.encode())
            except errors.ProviderError as error:
                outcomes.append(EventOutcome.failed(event, error.problem))
            else:
                outcomes.append(EventOutcome.accepted(event, str(answer.get("id", ""))))
        return outcomes


class LoyaltyProfiles(ProfilesAdapter):
    direct_kinds = frozenset({EMAIL})

    def normalize(self, raw: Any) -> dict[str, Any]:
        return {
            "profile_id": raw["id"],
            "customer_id": raw.get("customer_id", ""),
            "name": raw.get("name", ""),
            "email": raw.get("email", ""),
            "phone": "",
            "status": "member",
            "segments": [raw.get("tier", "")],
            "attributes": {"points": raw.get("points", 0)},
        }

    def look_up(self, client: Any, kind: str, value: str, *, cached_ids) -> Found:
        members = client.find(value)
        return Found([self.normalize(m) for m in members], f"email {value}")

    def fetch(self, client: Any, profile_id: str) -> dict[str, Any] | None:
        return self.normalize(client.member(profile_id))


class LoyaltyProvider(Provider):
    key = KEY
    label = "Loyalty Hub"
    base_url_help = "The Loyalty Hub API root."
    secrets = (Field("api_key", "API key", help_text="The key from Loyalty Hub's settings."),)
    capabilities = frozenset({Capability.TRACK, Capability.PROFILE_LOOKUP})
    events = LoyaltyEvents()
    profiles = LoyaltyProfiles()

    @classmethod
    def make_client(cls, session, *, settings, secrets):
        return LoyaltyClient(session, secrets["api_key"])


PROVIDER = LoyaltyProvider


class LoyaltySandbox:
    """Members and received events in memory; every request needs the demo key."""

    def __init__(self):
        self.events: list[dict[str, Any]] = []
        self.members = {
            "m-1": {
                "id": "m-1",
                "name": "Grace Hopper",
                "email": "grace@example.com",
                "tier": "gold",
                "points": 120,
            }
        }
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.answer(request)
        return response(environ, start_response)

    def answer(self, request: Request) -> Response:
        if request.headers.get("X-Loyalty-Key") != DEMO_KEY:
            return Response(status=401)
        if request.method == "POST" and request.path == "/events":
            self.events.append(json.loads(request.get_data()))
            return self.json({"id": f"ev-{len(self.events)}"}, status=201)
        if request.path == "/members":
            email = request.args.get("email", "")
            found = [m for m in self.members.values() if m["email"] == email]
            return self.json({"members": found})
        if request.path.startswith("/members/"):
            member = self.members.get(request.path.rsplit("/", 1)[1])
            return self.json(member) if member else Response(status=404)
        return Response(status=404)

    @staticmethod
    def json(value: Any, status: int = 200) -> Response:
        return Response(json.dumps(value), status=status, content_type="application/json")
