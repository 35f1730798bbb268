"""Copy as cURL (issue #20): a recorded call as a shell command to run again.

The call log keeps requests redacted (``integrations.http.Redactor``), so the command
is built from what is stored: each ``[REDACTED]`` marker becomes a named shell
variable (``$OCTY_SECRET_KEY``) from the provider's declaration
(:meth:`Provider.curl_placeholders`, :meth:`Provider.curl_auth`), and the auth the
provider's client sends is put back where it goes (a header, a query parameter, a
body field, HTTP Basic). No secret value is ever read here: the account's
credentials are not even loaded.

A marker the declaration does not explain (a preview token in a body, a value the
redactor found inside free text) still becomes a named variable, derived from where
it sits, so the command never carries the marker as if it were the value.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit

from integrations.http import REDACTED, encode_json
from integrations.provider import CurlAuth
from integrations.registry import UnknownProvider, get_provider

# Characters that keep their meaning inside a double-quoted shell word.
_DOUBLE_QUOTE_UNSAFE = re.compile(r'["\\$`!]')
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_XML_MARKED = re.compile(r"<([A-Za-z_][\w.-]*)>" + re.escape(REDACTED) + r"</\1>")
_JSON_MARKED = re.compile(r'"([^"\\]+)"(\s*:\s*)"' + re.escape(REDACTED) + '"')
UNKNOWN_NOTE = "a value the call log does not keep"


@dataclass(frozen=True)
class CurlCommand:
    text: str
    # (placeholder, what to put in it), for the placeholders the text uses.
    placeholders: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)


class _Names:
    """Placeholders in use, declared or derived from where a marker sits."""

    def __init__(self, provider_key: str, declared: dict[str, str], auth: CurlAuth):
        self.prefix = re.sub(r"[^A-Z0-9]+", "_", provider_key.upper()) or "PROVIDER"
        self.declared = declared
        self.auth = auth
        self.used: dict[str, str] = {}

    def use(self, placeholder: str) -> str:
        self.used.setdefault(placeholder, self.auth.notes.get(placeholder, UNKNOWN_NOTE))
        return placeholder

    def derived(self, where: str) -> str:
        """The placeholder for a marker at ``where`` (a header, parameter or field)."""
        slug = re.sub(r"[^A-Z0-9]+", "_", where.upper()).strip("_") or "SECRET"
        return self.use(f"${self.prefix}_{slug}")

    def in_text(self) -> str:
        """A marker inside free text: the one secret when there is only one."""
        values = list(self.declared.values())
        return self.use(values[0]) if len(values) == 1 else self.derived("secret")

    def fill_text(self, text: str) -> str:
        return text.replace(REDACTED, self.in_text()) if REDACTED in text else text


def curl_for_call(call) -> CurlCommand:
    """The cURL command for a recorded :class:`~dashboard.calls.models.ApiCall`."""
    try:
        provider = get_provider(call.provider)
    except UnknownProvider:
        provider = None
    declared = provider.curl_placeholders() if provider else {}
    auth = provider.curl_auth(declared) if provider else CurlAuth()
    names = _Names(call.provider, declared, auth)
    notes: list[str] = []

    url = _url(call.url, auth, names)
    headers = _headers(call.request_headers or {}, auth, names)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    body = _body(call.request_body or "", content_type, auth, names, notes)

    lines = [f"curl -X {shlex.quote(call.method or 'GET')} {_word(url, names)}"]
    if auth.basic:
        user, password = (names.use(p) for p in auth.basic)
        lines.append(f"-u {_word(f'{user}:{password}', names)}")
    lines += [f"-H {_word(f'{name}: {value}', names)}" for name, value in headers]
    if body:
        lines.append(f"--data-raw {_word(body, names)}")
    return CurlCommand(
        text=" \\\n  ".join(lines), placeholders=sorted(names.used.items()), notes=notes
    )


def _url(url: str, auth: CurlAuth, names: _Names) -> str:
    parts = urlsplit(url)
    if not parts.query and not auth.query:
        return names.fill_text(url)
    pairs, seen = [], set()
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        seen.add(key)
        if key in auth.query:
            pairs.append(f"{quote_plus(key)}={names.use(auth.query[key])}")
        elif value == REDACTED:
            pairs.append(f"{quote_plus(key)}={names.derived(key)}")
        else:
            # As the session encoded it (urlencode: quote_plus).
            pairs.append(f"{quote_plus(key)}={quote_plus(value)}")
    pairs += [f"{quote_plus(k)}={names.use(v)}" for k, v in auth.query.items() if k not in seen]
    path = names.fill_text(urlunsplit(parts._replace(query="", fragment="")))
    return f"{path}?{'&'.join(pairs)}"


def _headers(recorded: dict[str, Any], auth: CurlAuth, names: _Names) -> list[tuple[str, str]]:
    declared = {k.lower(): (k, v) for k, v in auth.headers.items()}
    out: list[tuple[str, str]] = []
    for name, value in recorded.items():
        lower = name.lower()
        if lower in declared:
            out.append((name, names.use(declared.pop(lower)[1])))
        elif auth.basic and lower == "authorization":
            continue  # sent by curl -u
        else:
            value = str(value)
            if REDACTED in value:
                value = value.replace(REDACTED, names.derived(name))
            out.append((name, value))
    out += [(k, names.use(v)) for k, v in declared.values()]
    return out


def _body(text: str, content_type: str, auth: CurlAuth, names: _Names, notes: list) -> str:
    if not text:
        return ""
    fields = {k.lower(): v for k, v in auth.body_fields.items()}
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        try:
            value = json.loads(text)
        except ValueError:
            notes.append(
                "The call log keeps the first 64 KB of a body: this command sends only that."
            )
            return names.fill_text(
                _JSON_MARKED.sub(
                    lambda m: f'"{m.group(1)}"{m.group(2)}"{_field(m.group(1), fields, names)}"',
                    text,
                )
            )
        return _json_as_sent(_fill_json(value, fields, names))
    if stripped.startswith("<"):
        text = _XML_MARKED.sub(
            lambda m: f"<{m.group(1)}>{_field(m.group(1), fields, names)}</{m.group(1)}>", text
        )
        return names.fill_text(text)
    if "x-www-form-urlencoded" in content_type:
        pairs = []
        for key, value in parse_qsl(text, keep_blank_values=True):
            filled = _field(key, fields, names) if value == REDACTED else quote_plus(value)
            pairs.append(f"{quote_plus(key)}={filled}")
        return "&".join(pairs)
    return names.fill_text(text)


def _field(key: str, fields: dict[str, str], names: _Names) -> str:
    declared = fields.get(key.lower())
    return names.use(declared) if declared else names.derived(key)


def _fill_json(value: Any, fields: dict[str, str], names: _Names) -> Any:
    if isinstance(value, dict):
        return {
            k: (_field(k, fields, names) if v == REDACTED else _fill_json(v, fields, names))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_fill_json(v, fields, names) for v in value]
    if isinstance(value, str):
        return names.fill_text(value)
    return value


def _json_as_sent(value: Any) -> str:
    """The JSON as the client sent it: every client encodes bodies with
    ``integrations.http.encode_json`` (compact), while the log keeps them re-serialized
    with spaces; re-encoding gives back the bytes sent, secrets aside."""
    return encode_json(value).decode("utf-8")


def _word(text: str, names: _Names) -> str:
    """``text`` as one shell word in which the placeholders expand and nothing else."""
    placeholders = sorted(names.used, key=len, reverse=True)
    if not placeholders:
        return shlex.quote(text)
    pattern = re.compile("(" + "|".join(re.escape(p) for p in placeholders) + ")(?![A-Za-z0-9_])")
    pieces = pattern.split(text)
    if len(pieces) == 1:
        return shlex.quote(text)
    literals = pieces[0::2]
    if not any(_DOUBLE_QUOTE_UNSAFE.search(piece) for piece in literals):
        # One double-quoted word: "X-Api-Key: $CROCT_API_KEY".
        out = []
        for index, piece in enumerate(pieces):
            if index % 2 and _NAME_CHAR.match(
                pieces[index + 1][:1] if index + 1 < len(pieces) else ""
            ):
                piece = "${" + piece[1:] + "}"
            out.append(piece)
        return '"' + "".join(out) + '"'
    # Single-quoted literals with the placeholders in double quotes between them:
    # '{"token":"'"$ALTCRAFT_TOKEN"'"}'.
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(f'"{piece}"')
        elif piece:
            out.append("'" + piece.replace("'", "'\\''") + "'")
    return "".join(out)
