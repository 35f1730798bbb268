"""Altcraft Platform as the console sees it: settings, secrets, capabilities."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from integrations.altcraft.client import FORMATS, AltcraftClient
from integrations.altcraft.profiles import AltcraftProfiles
from integrations.http import ProviderSession
from integrations.provider import (
    Capability,
    CurlAuth,
    Field,
    Provider,
    clean_positive_int,
)

# providers/altcraft.md: the doc shows one token (32 hex digits) as an example, not a
# format, so any non-empty token without whitespace is accepted.
_TOKEN_RE = re.compile(r"^\S+$")


def clean_token(value: str) -> str:
    if not isinstance(value, str) or not _TOKEN_RE.match(value):
        raise ValueError("must be the API token from Settings → Tokens, without spaces")
    return value


class AltcraftProvider(Provider):
    key = "altcraft"
    label = "Altcraft"
    # providers/altcraft.md: requests — the host is the customer's own (or their cloud
    # host), so there is no default and the console asks for one.
    default_base_url = ""
    base_url_help = (
        "Your Altcraft host, e.g. https://example.altcraft.com "
        "(the console appends /api/v1.1/profiles/<method>)."
    )
    settings: ClassVar[tuple[Field, ...]] = (
        Field(
            "db_id",
            "Profile database id",
            help_text="The numeric id of the profile database (db_id) the console works in.",
            clean=clean_positive_int,
        ),
        Field(
            "resource_id",
            "Resource id",
            help_text="Optional: scopes email and phone matching to one resource.",
            required=False,
            clean=clean_positive_int,
        ),
        Field(
            "format",
            "Body format",
            help_text="How requests and answers are encoded: json (default) or xml.",
            required=False,
            choices=FORMATS,
            default="json",
        ),
    )
    secrets: ClassVar[tuple[Field, ...]] = (
        Field(
            "token",
            "API token",
            help_text="Created under Settings → Tokens; sent in the request body, never the URL.",
            clean=clean_token,
        ),
    )
    capabilities = frozenset(
        {
            Capability.PROFILE_LOOKUP,
            Capability.PROFILE_BROWSE,
            Capability.PROFILE_WRITE,
            Capability.VERIFY,
        }
    )
    sandbox_module = "integrations.altcraft.sandbox"
    profiles = AltcraftProfiles()

    @classmethod
    def curl_auth(cls, placeholders: Mapping[str, str]) -> CurlAuth:
        # providers/altcraft.md: the token travels in the request body, never the URL.
        token = placeholders["token"]
        return CurlAuth(body_fields={"token": token}, notes={token: "the API token"})

    @classmethod
    def make_client(
        cls, session: ProviderSession, *, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> AltcraftClient:
        clean_settings = cls.clean_settings(settings)
        clean_secrets = cls.clean_secrets(secrets)
        return AltcraftClient(session, settings=clean_settings, secrets=clean_secrets)

    @classmethod
    def verify(cls, client: AltcraftClient) -> dict[str, Any]:
        """One ``list`` of a single profile: proves the token and that db_id is reachable.

        Raises AuthError (401/403), ConfigurationError (413: the database is not in the
        resource) or another ProviderError.
        """
        page = client.list_profiles(limit=1)
        return {"profiles_seen": len(page.profiles)}


PROVIDER = AltcraftProvider
