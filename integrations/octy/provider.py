"""The Octy provider declaration (providers/octy.md)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from integrations.http import ProviderSession
from integrations.octy.client import OctyClient, basic_token
from integrations.octy.events import OctyEvents
from integrations.octy.profiles import OctyProfiles
from integrations.provider import Capability, CurlAuth, Field, Provider, SettingsError
from integrations.provider import clean_base_url as clean_any_base_url

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


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_base_url(value: str) -> str:
    """An https:// API root; plain http only on the loopback (a local sandbox).

    providers/octy.md: "All requests must be made over an SSL protocol" [doc]: the
    Basic header carries the secret key, which must never cross a network in clear.
    """
    value = clean_any_base_url(value)
    parts = urlsplit(value)
    if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
        raise ValueError(
            "must start with https:// (Octy takes requests over SSL only); plain http is "
            "allowed only for a sandbox on this machine (localhost, 127.0.0.1)"
        )
    return value


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
    events = OctyEvents()
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
    def curl_auth(cls, placeholders: Mapping[str, str]) -> CurlAuth:
        # providers/octy.md: auth — HTTP Basic, public key as user, secret key as password.
        public, secret = placeholders["public_key"], placeholders["secret_key"]
        return CurlAuth(
            basic=(public, secret),
            notes={public: "the public key (pk_…)", secret: "the secret key (sk_…)"},
        )

    @classmethod
    def clean_base_url(cls, value: str) -> str:
        """The account's base URL, https:// only (loopback sandboxes excepted); raises
        ``ValueError`` with the message for the form."""
        return clean_base_url(value)

    @classmethod
    def build_client(cls, *, base_url: str, **options: Any) -> OctyClient:
        """As :meth:`Provider.build_client`, refusing a non-https base URL
        (:class:`SettingsError` on ``base_url``) before any key is sent to it."""
        try:
            base_url = clean_base_url((base_url or "").strip() or cls.default_base_url)
        except ValueError as exc:
            raise SettingsError({"base_url": str(exc)}) from None
        return super().build_client(base_url=base_url, **options)

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
