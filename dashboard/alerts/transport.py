"""Sending one message to one destination: email through Django's mail, chat and
incident tools through apprise, anything else over HTTP(S) as a signed JSON webhook.

Nothing here touches the database. Every send has a timeout; a destination's answer
comes back as a short text that never contains the destination's URL or token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email

from integrations import netguard

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Switchyard-Signature"
DELIVERY_HEADER = "X-Switchyard-Delivery"
MAX_TARGET_LENGTH = 2000
# apprise schemes that post to any host the URL names (the others name a service whose
# "host" part is a token, not an address).
GENERIC_APPRISE_SCHEMES = {"json", "jsons", "xml", "xmls", "form", "forms", "http", "https"}


class DestinationInvalid(ValueError):
    """The address or URL is not something alerts can be sent to."""


@dataclass(frozen=True)
class Target:
    kind: str  # "email", "chat" or "webhook" (DestinationKind values)
    service: str
    value: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    answer: str
    # False: sending again cannot work (a 4xx other than 408/429, a refused address).
    retryable: bool = True


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    payload: dict


def _apprise_plugin(url: str):
    import apprise

    # apprise logs a warning for a URL it does not know: that is the webhook case.
    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    return apprise.Apprise.instantiate(url)


def classify(raw: str) -> Target:
    """What kind of destination ``raw`` is; raises :class:`DestinationInvalid`."""
    value = (raw or "").strip()
    if not value:
        raise DestinationInvalid("give an email address or a URL")
    # The form limits this too; commands and scripts reach here directly.
    if len(value) > MAX_TARGET_LENGTH:
        raise DestinationInvalid(f"an address or URL has at most {MAX_TARGET_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise DestinationInvalid(
            "the address or URL contains a control character (a NUL byte, a line break…)"
        )
    if "://" not in value:
        address = value.removeprefix("mailto:")
        try:
            validate_email(address)
        except ValidationError:
            raise DestinationInvalid(f"{address!r} is neither an email address nor a URL") from None
        return Target("email", "Email", address)
    if any(c.isspace() for c in value):
        raise DestinationInvalid("a URL has no spaces in it")
    try:
        urlsplit(value).port  # noqa: B018  (parsing is the check: "[::1", ":99999")
    except ValueError as exc:
        if "port" in str(exc).lower():
            raise DestinationInvalid("the URL's port is not a number from 1 to 65535") from None
        raise DestinationInvalid(f"not a URL that can be called ({exc})") from None
    scheme = value.split("://", 1)[0].lower()
    plugin = _apprise_plugin(value)
    if plugin is not None:
        _check_apprise_host(value)
        return Target("chat", str(plugin.service_name), value)
    if scheme not in ("http", "https"):
        raise DestinationInvalid(f"{scheme}:// is not a service apprise knows, nor http(s)")
    check_url(value)
    return Target("webhook", "Webhook", value)


def check_url(url: str) -> None:
    """The SSRF guard provider base URLs get (integrations/netguard.py: metadata,
    link-local, loopback, private... refused unless PROVIDER_ALLOWED_NETWORKS allows
    them), plus the console's own database, broker and cache, which an allowed
    loopback network would otherwise expose. Raises :class:`DestinationInvalid`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").strip("[]")
    try:
        port = parts.port or (
            443 if parts.scheme.lower() in ("https", "jsons", "xmls", "forms") else 80
        )
    except ValueError:
        raise DestinationInvalid("the URL's port is not a number from 1 to 65535") from None
    if not host:
        raise DestinationInvalid("the URL has no host")
    try:
        netguard.check_host(host, port)
    except netguard.UnsafeAddress as exc:
        raise DestinationInvalid(str(exc)) from None
    if _addresses(host) & _console_services().get(port, set()):
        raise DestinationInvalid(
            f"{host}:{port} is one of the console's own services (database, broker or "
            "cache), never an alert destination"
        )


def _addresses(host: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return set()


def _console_services() -> dict[int, set[str]]:
    """{port: addresses} of the database, the broker and the cache this console uses."""
    urls = [settings.CELERY_BROKER_URL]
    for cache in getattr(settings, "CACHES", {}).values():
        location = cache.get("LOCATION", "")
        urls += location if isinstance(location, list | tuple) else [location]
    found: dict[int, set[str]] = {}
    for url in urls:
        parts = urlsplit(url if "://" in str(url) else "")
        try:
            if parts.hostname and parts.port:
                found.setdefault(parts.port, set()).update(_addresses(parts.hostname))
        except ValueError:
            continue
    for database in settings.DATABASES.values():
        if database.get("HOST") and str(database.get("PORT") or "").isdigit():
            port = int(database["PORT"])
            found.setdefault(port, set()).update(_addresses(database["HOST"]))
    return found


def _check_apprise_host(url: str) -> None:
    if url.split("://", 1)[0].lower() in GENERIC_APPRISE_SCHEMES:
        check_url(url)


def last4(value: str) -> str:
    return value[-4:]


def sign(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The signature header value: ``t=<unix seconds>,v1=<hex HMAC-SHA256("t.body")>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(header: str, body: bytes, secret: str, *, tolerance: int = 300) -> bool:
    """What a receiver does (and the tests): check the MAC and that it is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = sign(body, secret, timestamp=timestamp)
    return hmac.compare_digest(expected, header) and abs(time.time() - timestamp) <= tolerance


def _redact(text: str, secret_value: str) -> str:
    """A destination's answer, short, without the URL/token that was sent to."""
    text = re.sub(r"\s+", " ", text or "").strip()
    for piece in {secret_value, urlsplit(secret_value).path, urlsplit(secret_value).query}:
        if piece and len(piece) > 3:
            text = text.replace(piece, "…")
    return text[:300]


def send(
    target: Target, message: Message, *, signing_secret: str = "", delivery_id: int = 0
) -> Outcome:
    """Send ``message``; never raises for the destination's failures."""
    try:
        if target.kind == "email":
            return _send_email(target, message)
        if target.kind == "chat":
            return _send_apprise(target, message)
        return _send_webhook(target, message, signing_secret, delivery_id)
    except DestinationInvalid as exc:
        return Outcome(False, str(exc), retryable=False)


def _send_email(target: Target, message: Message) -> Outcome:
    connection = get_connection(timeout=settings.ALERTS_SEND_TIMEOUT)
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[target.value],
        connection=connection,
    )
    try:
        sent = email.send()
    except (OSError, Exception) as exc:  # smtplib raises many types, all OSError-ish
        return Outcome(False, f"mail server: {type(exc).__name__}: {_redact(str(exc), '')}")
    return Outcome(bool(sent), "accepted by the mail server" if sent else "not accepted")


def _send_apprise(target: Target, message: Message) -> Outcome:
    import apprise

    notifier = apprise.Apprise()
    plugin = _apprise_plugin(target.value)
    if plugin is None:
        return Outcome(False, "apprise no longer recognises this URL", retryable=False)
    _check_apprise_host(target.value)
    # apprise's own timeouts (socket connect/read) bound the call.
    plugin.socket_connect_timeout = settings.ALERTS_SEND_TIMEOUT
    plugin.socket_read_timeout = settings.ALERTS_SEND_TIMEOUT
    notifier.add(plugin)
    ok = notifier.notify(title=message.subject, body=message.body)
    return Outcome(
        bool(ok), f"{target.service} accepted it" if ok else f"{target.service} refused it"
    )


def _send_webhook(target: Target, message: Message, secret: str, delivery_id: int) -> Outcome:
    check_url(target.value)
    # The delivery id is in the signed body too: a receiver dedups on a value it verified.
    payload = {**message.payload, "delivery_id": delivery_id or None}
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Switchyard-Alerts/1",
        SIGNATURE_HEADER: sign(body, secret),
        # The same id on every retry: a receiver can drop a duplicate.
        DELIVERY_HEADER: str(delivery_id),
    }
    timeout = (settings.ALERTS_CONNECT_TIMEOUT, settings.ALERTS_SEND_TIMEOUT)
    try:
        with requests.Session() as session:
            # Checks the address each connection reached (a name re-pointed at an
            # internal address after the destination was saved is refused).
            session.mount("http://", netguard.GuardedAdapter())
            session.mount("https://", netguard.GuardedAdapter())
            response = session.post(
                target.value, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
    except requests.Timeout:
        return Outcome(False, f"no answer within {settings.ALERTS_SEND_TIMEOUT:g} s")
    except requests.RequestException as exc:
        return Outcome(False, f"could not connect: {type(exc).__name__}")
    answer = f"HTTP {response.status_code}: {_redact(response.text, target.value)[:200]}".rstrip(
        ": "
    )
    if 200 <= response.status_code < 300:
        return Outcome(True, answer)
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    return Outcome(False, answer, retryable=retryable)
