"""Sentences a person can act on for failures that happen before a provider answers.

``requests`` describes a refused connection as ``ConnectionError:
HTTPConnectionPool(host=..., port=...): Max retries exceeded ... [Errno 111]``; a staff
member needs "could not connect to 127.0.0.1:8101: nothing answered there. Is the
address right?". The raw text is kept (redacted) beside the sentence, folded away on
the page, for whoever debugs it.
"""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import requests
from urllib3 import exceptions as urllib3_errors

from integrations import errors


def _where(base_url: str) -> tuple[str, str]:
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host, f"{host}:{port}"


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException) and isinstance(arg, kinds):
                return True
            reason = getattr(arg, "reason", None)
            if isinstance(reason, kinds):
                return True
        current = current.__cause__ or current.__context__ or getattr(current, "reason", None)
        if not isinstance(current, BaseException):
            current = None
    return False


def _refusal_message(exc: BaseException) -> str:
    """The netguard refusal text, when the connection was refused by our own guard."""
    text = str(exc)
    marker = "refused to call "
    if marker in text:
        start = text.index(marker)
        end = text.find(")", text.find("internal addresses", start))
        return text[start : end + 1 if end != -1 else len(text)]
    return ""


def transport_sentence(kind: str, exc: BaseException, *, base_url: str, seconds: float) -> str:
    """One sentence for a timeout, a failed connection or a broken-off answer."""
    host, address = _where(base_url)
    guard = _refusal_message(exc)
    if guard:
        return guard[0].upper() + guard[1:] + "."
    if kind == errors.TIMEOUT:
        if isinstance(exc, requests.ConnectTimeout) or _caused_by(
            exc, (urllib3_errors.ConnectTimeoutError,)
        ):
            return (
                f"Could not connect to {address} within {seconds:g} s: is the address right, "
                "and is the provider reachable from this server?"
            )
        return (
            f"{address} accepted the connection but did not answer in time: the provider "
            "is slow or overloaded; try again in a moment."
        )
    if kind == errors.MALFORMED_RESPONSE:
        return f"The answer from {host} broke off before it was complete; try again."
    if _caused_by(exc, (urllib3_errors.NameResolutionError,)) or "Name or service not known" in str(
        exc
    ):
        return f"Could not find the host {host}: check the host name in the account's base URL."
    if isinstance(exc, requests.exceptions.SSLError) or _caused_by(exc, (ssl.SSLError,)):
        return (
            f"The secure connection to {address} failed (certificate or TLS): check that the "
            "base URL's scheme is right and that the provider's certificate is valid."
        )
    if _caused_by(exc, (ConnectionRefusedError,)) or "Connection refused" in str(exc):
        return f"Could not connect to {address}: nothing answered there. Is the address right?"
    return (
        f"The connection to {address} failed before an answer came back: check the address "
        "and try again."
    )
