"""What every provider package declares about itself.

A provider package exposes one :class:`Provider` subclass (``PROVIDER`` in its
``__init__``); :mod:`integrations.registry` maps the provider key to it. The console
builds forms, checks settings and picks pages from these declarations only.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from integrations.http import ExchangeHook, ProviderSession


class Capability(enum.StrEnum):
    PREVIEW = "preview"
    EVALUATE = "evaluate"
    TRACK = "track"
    EXPORT = "export"
    PROFILE_LOOKUP = "profile_lookup"
    PROFILE_BROWSE = "profile_browse"
    PROFILE_WRITE = "profile_write"
    VERIFY = "verify"


class SettingsError(ValueError):
    """Bad settings or secrets; ``errors`` maps each field name to its message."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Field:
    """A provider setting or secret the console asks for."""

    name: str
    label: str
    help_text: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()
    default: str = ""
    # Returns the cleaned value or raises ValueError with a message for the user.
    clean: Callable[[str], Any] | None = None
    # Secrets only: fewer characters are refused (0: the provider's min_secret_length).
    min_length: int = 0


UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def clean_uuid(value: str) -> str:
    if not UUID_RE.match(value):
        raise ValueError("must be a UUID such as 00000000-0000-4000-8000-000000000000")
    return value.lower()


def clean_positive_int(value: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number") from None
    if number < 1:
        raise ValueError("must be 1 or more")
    return number


_NUMERIC_HOST = re.compile(r"^[0-9a-fA-Fx.]+$")


def clean_base_url(value: str) -> str:
    """An absolute http(s) URL without query or fragment, no trailing slash.

    Paths are appended to it (``ProviderSession.url_for``), so anything that would
    swallow them — a ``?`` or ``#``, even empty — is refused, as are control
    characters (CR/LF would split a request line) and hosts written as one number or
    in octal/hex (``2852039166``, ``0``, ``0x7f.1``), which only hide an address.
    Where the host *resolves* to is checked by :mod:`integrations.netguard`.
    """
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("must not contain spaces, line breaks or control characters")
    if "?" in value or "#" in value:
        raise ValueError("must not carry a query string or fragment (not even an empty ? or #)")
    if parts.username or parts.password or "@" in parts.netloc:
        raise ValueError("must not carry credentials; secrets go in their own fields")
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if _NUMERIC_HOST.match(host):
            raise ValueError(
                f"host {host!r} is not a name or a dotted address: write an IPv4 address "
                "as four decimal numbers (a.b.c.d)"
            ) from None
    try:
        parts.port  # noqa: B018 - raises for a port out of range or not a number
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    return value.rstrip("/")


@dataclass(frozen=True)
class CurlAuth:
    """Where a provider's client puts each secret, written with named placeholders
    (``$OCTY_SECRET_KEY``) instead of values: what "Copy as cURL" adds to a recorded,
    redacted request.

    ``headers``, ``query`` and ``body_fields`` map a header, query parameter or body
    field (JSON key or XML element) to the text sent there; ``basic`` is a
    (user, password) pair sent as HTTP Basic (``curl -u``), replacing the recorded
    Authorization header; ``notes`` say, per placeholder, which value to put in it.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body_fields: Mapping[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None
    notes: Mapping[str, str] = field(default_factory=dict)


class Provider:
    """Base declaration; subclasses fill in the class attributes and ``build_client``."""

    key: ClassVar[str]
    label: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    base_url_help: ClassVar[str] = ""
    docs_url: ClassVar[str] = ""
    settings: ClassVar[tuple[Field, ...]] = ()
    secrets: ClassVar[tuple[Field, ...]] = ()
    # A shorter secret is refused at connect: a few characters cannot be told apart
    # from ordinary text, so they could never be redacted (integrations/redaction.py).
    min_secret_length: ClassVar[int] = 8
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # Why verify cannot prove a credential, for providers where it cannot.
    verify_unsupported_reason: ClassVar[str] = ""
    sandbox_module: ClassVar[str] = ""
    # The feature adapters (DESIGN.md): what the events and profiles features call
    # instead of naming a provider. ``None`` where the provider has no such feature;
    # each is an instance of the base class in ``integrations/events.py`` /
    # ``integrations/profiles.py``, defined in ``integrations/<key>/events.py`` /
    # ``profiles.py``.
    events: ClassVar[Any] = None
    profiles: ClassVar[Any] = None

    @classmethod
    def can(cls, capability: Capability) -> bool:
        return capability in cls.capabilities

    @classmethod
    def clean_base_url(cls, value: str) -> str:
        """The account's base URL as :func:`clean_base_url` cleans it; a provider with a
        rule of its own (Octy: https only) overrides this. Raises ``ValueError``."""
        return clean_base_url(value)

    @classmethod
    def clean_settings(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validated settings; raises :class:`SettingsError` naming each bad field."""
        return cls._clean_fields(cls.settings, raw, unknown_label="setting")

    @classmethod
    def clean_secrets(cls, raw: Mapping[str, Any]) -> dict[str, str]:
        """Validated secrets (all required, non-blank, not shorter than the minimum);
        raises :class:`SettingsError`."""
        from integrations.redaction import secret_length_problems

        cleaned = cls._clean_fields(cls.secrets, raw, unknown_label="secret")
        problems = secret_length_problems(cls.secrets, cleaned, cls.min_secret_length)
        if problems:
            raise SettingsError(problems)
        return cleaned

    @classmethod
    def _clean_fields(
        cls, fields: tuple[Field, ...], raw: Mapping[str, Any], *, unknown_label: str
    ) -> dict[str, Any]:
        problems: dict[str, str] = {}
        known = {f.name for f in fields}
        for name in raw:
            if name not in known:
                expected = ", ".join(sorted(known)) or "none"
                problems[name] = f"unknown {unknown_label} for {cls.label} (expected: {expected})"
        cleaned: dict[str, Any] = {}
        for f in fields:
            value = raw.get(f.name)
            value = value.strip() if isinstance(value, str) else value
            if value in (None, ""):
                if f.default:
                    value = f.default
                elif f.required:
                    problems[f.name] = "is required"
                    continue
                else:
                    continue
            if f.choices and value not in f.choices:
                problems[f.name] = f"must be one of: {', '.join(f.choices)}"
                continue
            if f.clean is not None:
                try:
                    value = f.clean(value)
                except ValueError as exc:
                    problems[f.name] = str(exc)
                    continue
            cleaned[f.name] = value
        if problems:
            raise SettingsError(problems)
        return cleaned

    @classmethod
    def secret_values(cls, secrets: Mapping[str, str]) -> list[str]:
        """Every string the recorder must never store for these secrets."""
        return [v for v in secrets.values() if v]

    @classmethod
    def curl_placeholders(cls) -> dict[str, str]:
        """Secret field name -> the shell variable standing for it in a cURL command,
        named from the provider key and the field (``$CROCT_API_KEY``)."""
        prefix = re.sub(r"[^A-Z0-9]+", "_", cls.key.upper())
        return {
            f.name: f"${prefix}_{re.sub(r'[^A-Z0-9]+', '_', f.name.upper())}" for f in cls.secrets
        }

    @classmethod
    def curl_auth(cls, placeholders: Mapping[str, str]) -> CurlAuth:
        """How this provider's client sends its secrets, with ``placeholders`` (from
        :meth:`curl_placeholders`) in place of the values. Providers override it."""
        return CurlAuth()

    @classmethod
    def session(
        cls,
        *,
        base_url: str,
        secrets: Mapping[str, str],
        hook: ExchangeHook | None = None,
        context: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> ProviderSession:
        return ProviderSession(
            provider=cls.key,
            base_url=base_url or cls.default_base_url,
            secrets=cls.secret_values(secrets),
            hook=hook,
            context=context,
            **options,
        )

    @classmethod
    def build_client(
        cls,
        *,
        base_url: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, str],
        hook: ExchangeHook | None = None,
        context: Mapping[str, Any] | None = None,
        **session_options: Any,
    ) -> Any:
        """A ready client: a ProviderSession for ``base_url`` (or the provider's default)
        handed to :meth:`make_client`. Raises :class:`SettingsError` for a bad base URL."""
        base_url = (base_url or "").strip() or cls.default_base_url
        if not base_url:
            raise SettingsError({"base_url": f"is required for {cls.label}"})
        try:
            base_url = cls.clean_base_url(base_url)
        except ValueError as exc:
            raise SettingsError({"base_url": str(exc)}) from None
        session = cls.session(
            base_url=base_url, secrets=secrets, hook=hook, context=context, **session_options
        )
        return cls.make_client(session, settings=settings, secrets=secrets)

    @classmethod
    def make_client(
        cls, session: ProviderSession, *, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> Any:
        """The provider's client over ``session``; each provider implements it."""
        raise NotImplementedError

    @classmethod
    def verify(cls, client: Any) -> dict[str, Any]:
        """Run the cheapest authenticated call that proves the credential works.

        Returns a small summary for the page; raises :class:`ProviderError`.
        Providers that cannot prove a credential raise ``NotImplementedError``.
        """
        raise NotImplementedError(cls.verify_unsupported_reason or "verify is not supported")

    @classmethod
    def can_verify(cls) -> bool:
        return Capability.VERIFY in cls.capabilities

    @classmethod
    def sandbox_app(cls) -> Any:
        """A fresh WSGI emulator of this provider's API."""
        import importlib

        return importlib.import_module(cls.sandbox_module).create_app()

    @classmethod
    def sandbox_demo_credentials(cls) -> tuple[dict[str, Any], dict[str, str]]:
        """The settings and secrets a demo account on this provider's emulator uses
        (copies: the caller may change them)."""
        import importlib

        sandbox = importlib.import_module(cls.sandbox_module)
        return dict(sandbox.DEMO_SETTINGS), dict(sandbox.DEMO_SECRETS)

    @classmethod
    def sandbox_demo_slots(cls) -> list[dict[str, Any]]:
        """The content slots this provider's emulator serves (``slot_id``,
        ``description``, ``versions``, ``locales``, ``component``, ``content``), for a
        demo catalog; [] for a provider without slots."""
        import importlib

        sandbox = importlib.import_module(cls.sandbox_module)
        return list(sandbox.demo_slots()) if hasattr(sandbox, "demo_slots") else []
