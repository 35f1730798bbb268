"""Finding a secret in recorded text whatever way it was encoded (#15 item 10).

A hostile or careless provider may echo a key back changed: uppercased, base64'd
(standard or URL-safe, padded or not, alone or inside a longer blob such as a Basic
auth header), JSON-escaped (``\\/``), fully or partly percent-encoded. The
:class:`integrations.http.Redactor` replaces plain occurrences itself and, through
:func:`secrets_pattern`, every one of these.

Secrets shorter than a provider's ``min_secret_length`` are refused when an account is
connected (:func:`secret_length_problems`), so the pattern never has to match a
one-to-three character string inside ordinary text.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Below this a secret is not searched for at all (the Redactor's own floor too).
SEARCHABLE_LENGTH = 4
# Base64 cores shorter than this would match ordinary words.
_MIN_BASE64_CORE = 6


def secret_length_problems(
    fields: Iterable[Any], cleaned: Mapping[str, Any], default_min: int
) -> dict[str, str]:
    """``{field name: message}`` for each secret shorter than its minimum."""
    problems = {}
    for field in fields:
        value = cleaned.get(field.name)
        minimum = getattr(field, "min_length", 0) or default_min
        if isinstance(value, str) and value and len(value) < minimum:
            problems[field.name] = f"is too short: a key has at least {minimum} characters"
    return problems


def _char_pattern(char: str, *, fold_case: bool) -> str:
    """One character, or its percent-encoding (either hex case), or ``\\/`` for "/"."""
    options = [re.escape(char)]
    if fold_case and char.lower() != char.upper():
        options = [re.escape(char.lower()), re.escape(char.upper())]
    encoded = "".join(
        "%" + "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{b:02X}")
        for b in char.encode("utf-8")
    )
    options.append(encoded)
    if char == "/":
        options.append(r"\\/")
    return "(?:" + "|".join(options) + ")"


def _flexible(literal: str, *, fold_case: bool) -> str:
    return "".join(_char_pattern(c, fold_case=fold_case) for c in literal)


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 characters that encode only ``secret``'s bytes, at each of the three
    alignments it can have inside a longer encoded blob; standard and URL-safe."""
    cores = set()
    bits = 8 * len(secret)
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret + b"\0\0").decode()
        start_bit = 8 * offset
        first = -(-start_bit // 6)  # the first character made of secret bits only
        last = (start_bit + bits) // 6  # one past the last such character
        core = encoded[first:last]
        if len(core) >= _MIN_BASE64_CORE:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


class EncodedSecrets:
    """Every encoding of a set of secrets, found and replaced in text.

    The full pattern is costly on long bodies, so a cheap test runs first: a case-folded
    copy, a base64 core, a percent sign or an escaped slash must be present.
    """

    def __init__(self, secrets: Iterable[str]):
        searchable = {s for s in secrets if s and len(s) >= SEARCHABLE_LENGTH}
        self._folded = [s.lower() for s in searchable]
        self._cores: list[str] = []
        alternatives = []
        for secret in searchable:
            alternatives.append((len(secret), _flexible(secret, fold_case=True)))
            for core in _base64_cores(secret.encode("utf-8")):
                self._cores.append(core)
                alternatives.append((len(core), _flexible(core, fold_case=False)))
        alternatives.sort(key=lambda pair: pair[0], reverse=True)
        self._pattern = re.compile("|".join(p for _, p in alternatives)) if alternatives else None

    def _may_contain(self, text: str) -> bool:
        if "%" in text or "\\/" in text:
            return True
        folded = text.lower()
        return any(s in folded for s in self._folded) or any(c in text for c in self._cores)

    def redact(self, text: str, replacement: str) -> str:
        if self._pattern is None or not text or not self._may_contain(text):
            return text
        return self._pattern.sub(replacement, text)
