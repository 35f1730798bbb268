"""The Octy provider declaration (providers/octy.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from integrations.http import ProviderSession
from integrations.octy.client import OctyClient, basic_token
from integrations.octy.profiles import OctyProfiles
from integrations.provider import Capability, Field, Provider

_KEY_BODY = re.compile(r"^[A-Za-z0-9_-]+$")


def _clean_key(prefix: str, value: str) -> str:
    value = value.strip()
    if not value.startswith(prefix) or len(value) <= len(prefix):
        raise ValueError(f"must start with {prefix} (as shown in Octy's account email)")
    # Basic auth joins the two keys with ":"; anything outside this set is a paste error.
    if not _KEY_BODY.match(value):
        raise ValueError("may only contain letters, digits, '-' and '_'")
    return value


def clean_public_key(value: str) -> str:
    return _clean_key("pk_", value)


def clean_secret_key(value: str) -> str:
    return _clean_key("sk_", value)


class OctyProvider(Provider):
    key = "octy"
    label = "Octy"
    default_base_url = "https://api.octy.ai"
    base_url_help = "The API root without the /v1/retention/ prefix, e.g. https://api.octy.ai."
    docs_url = "https://octy.ai/docs"
    settings: ClassVar[tuple[Field, ...]] = ()
    secrets: ClassVar[tuple[Field, ...]] = (
        Field(
            "public_key",
            "Public key",
            help_text="pk_… — sent as the HTTP Basic username.",
            clean=clean_public_key,
        ),
        Field(
            "secret_key",
            "Secret key",
            help_text="sk_… — sent as the HTTP Basic password; grants full account access.",
            clean=clean_secret_key,
        ),
    )
    capabilities = frozenset(
        {
            Capability.TRACK,
            Capability.PROFILE_LOOKUP,
            Capability.PROFILE_BROWSE,
            Capability.PROFILE_WRITE,
            Capability.VERIFY,
        }
    )
    sandbox_module = "integrations.octy.sandbox"
    profiles = OctyProfiles()

    @classmethod
    def secret_values(cls, secrets: Mapping[str, str]) -> list[str]:
        """The keys, and the base64 Basic token made from them (it decodes to both)."""
        values = [v for v in secrets.values() if v]
        public, secret = secrets.get("public_key"), secrets.get("secret_key")
        if public and secret:
            values += [basic_token(public, secret), f"{public}:{secret}"]
        return values

    @classmethod
    def make_client(
        cls, session: ProviderSession, *, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> OctyClient:
        return OctyClient(
            session, public_key=secrets["public_key"], secret_key=secrets["secret_key"]
        )

    @classmethod
    def verify(cls, client: OctyClient) -> dict[str, Any]:
        """Lists event types from cursor 0: the cheapest authenticated call."""
        page = client.event_types("0")
        return {"event_types": page.total if page.total is not None else len(page.entries)}
