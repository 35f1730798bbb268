"""The Croct provider declaration (providers/croct.md)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from integrations.croct import tokens
from integrations.croct.client import CroctClient, api_key_id
from integrations.croct.events import CroctEvents
from integrations.croct.profiles import CroctProfiles
from integrations.http import ProviderSession
from integrations.provider import Capability, CurlAuth, Field, Provider, clean_uuid

# providers/croct.md: an API key is `<uuid>` or `<uuid>:ES256;<base64 PKCS#8 key>`.
_API_KEY_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"(:ES256;[A-Za-z0-9+/]+={0,2})?$"
)


def clean_api_key(value: str) -> str:
    value = value.strip()
    if not _API_KEY_RE.match(value):
        raise ValueError(
            "must be the API key's UUID, optionally followed by :ES256;<base64 private key>"
        )
    # The signing key must load now, not at the first signed token.
    tokens.signing_key(value)
    return value


class CroctProvider(Provider):
    key = "croct"
    label = "Croct"
    default_base_url = "https://api.croct.io"
    base_url_help = (
        "The API root, https://api.croct.io; the client appends /external/web/…, "
        "/client/web/track and /export/…."
    )
    docs_url = "https://docs.croct.com/reference/api"
    settings: ClassVar[tuple[Field, ...]] = (
        Field(
            name="app_id",
            label="Application ID",
            help_text="The application's UUID (public); sent as X-App-Id when tracking.",
            clean=clean_uuid,
        ),
    )
    secrets: ClassVar[tuple[Field, ...]] = (
        Field(
            name="api_key",
            label="API key",
            help_text="The API key's UUID, or UUID:ES256;<private key> when it can sign tokens.",
            clean=clean_api_key,
        ),
    )
    events = CroctEvents()
    capabilities = frozenset(
        {
            Capability.PREVIEW,
            Capability.EVALUATE,
            Capability.TRACK,
            Capability.EXPORT,
            Capability.PROFILE_LOOKUP,
            Capability.VERIFY,
        }
    )
    sandbox_module = "integrations.croct.sandbox"
    profiles = CroctProfiles()

    @classmethod
    def secret_values(cls, secrets: Mapping[str, str]) -> list[str]:
        """The whole key string, its UUID (what X-Api-Key carries) and the signing key."""
        values = super().secret_values(secrets)
        key = secrets.get("api_key") or ""
        if key:
            values.append(api_key_id(key))
            _, _, signing = key.partition(";")
            if signing:
                values.append(signing)
        return values

    @classmethod
    def curl_auth(cls, placeholders: Mapping[str, str]) -> CurlAuth:
        # client.py: server-side calls send the key's UUID in X-Api-Key.
        key = placeholders["api_key"]
        return CurlAuth(
            headers={"X-Api-Key": key},
            notes={key: "the API key's UUID (the part before :ES256; if the key signs tokens)"},
        )

    @classmethod
    def make_client(
        cls, session: ProviderSession, *, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> CroctClient:
        return CroctClient(session, app_id=settings["app_id"], api_key=secrets["api_key"])

    @classmethod
    def verify(cls, client: CroctClient) -> dict[str, Any]:
        """The cheapest authenticated call: evaluate ``true`` for a throwaway client id."""
        result = client.evaluate("true", client_id=str(uuid.uuid4()))
        return {"result": result.value}
