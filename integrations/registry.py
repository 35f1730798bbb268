"""Provider key -> provider declaration.

Adding a provider: write ``integrations/<key>/`` (client, payloads, sandbox and a
``Provider`` subclass exported as ``PROVIDER``) and add one line below. See the
README's checklist.
"""

from __future__ import annotations

import importlib
from functools import cache

from integrations.provider import Capability, Provider

PROVIDER_PATHS: dict[str, str] = {
    "croct": "integrations.croct.PROVIDER",
    "commanders_act": "integrations.commanders_act.PROVIDER",
    "octy": "integrations.octy.PROVIDER",
    "altcraft": "integrations.altcraft.PROVIDER",
}


class UnknownProvider(KeyError):
    pass


@cache
def get_provider(key: str) -> type[Provider]:
    try:
        path = PROVIDER_PATHS[key]
    except KeyError:
        raise UnknownProvider(key) from None
    module_path, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module_path), attr)


def all_providers() -> list[type[Provider]]:
    return [get_provider(key) for key in PROVIDER_PATHS]


def provider_choices() -> list[tuple[str, str]]:
    return [(p.key, p.label) for p in all_providers()]


def providers_with(capability: Capability) -> list[type[Provider]]:
    return [p for p in all_providers() if p.can(capability)]
