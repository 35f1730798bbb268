"""Helpers shared by the account management commands."""

from __future__ import annotations

import json

from django.core.management.base import CommandError


def parse_pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    """``["k=v", ...]`` -> dict; a malformed pair is a CommandError naming it."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            # Never echo the argument: it may be a secret given without its name.
            raise CommandError(f"{option} expects KEY=VALUE (the value was not shown)")
        result[key.strip()] = value
    return result


def emit(command, data, *, as_json: bool, text: str) -> None:
    if as_json:
        command.stdout.write(json.dumps(data, indent=2, default=str))
    else:
        command.stdout.write(text)
