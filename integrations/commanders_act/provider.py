"""Commanders Act as the console sees it: a source to send events to (TRACK only)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from integrations.commanders_act.client import CommandersActClient
from integrations.commanders_act.events import CommandersActEvents
from integrations.http import ProviderSession
from integrations.provider import Capability, CurlAuth, Field, Provider

_DIGITS = re.compile(r"^[0-9]+$")
BATCH_BETA_CHOICES = ("no", "yes")


def clean_site_id(value: str) -> str:
    """Digits only, above zero; kept as the string the user typed (it goes in tc_s)."""
    value = str(value).strip()
    if not _DIGITS.match(value):
        raise ValueError("must be the site id: digits only, such as 1234")
    if int(value) < 1:
        raise ValueError("must be 1 or more")
    return value


class CommandersAct(Provider):
    key = "commanders_act"
    label = "Commanders Act"
    default_base_url = "https://collect.commander1.com"
    base_url_help = (
        "The collection host; the console appends /events and /events/batch. "
        "Leave the default unless Commanders Act gave you another host."
    )
    settings = (
        Field(
            "site_id",
            "Site ID",
            help_text="The site id (tc_s) shown in Commanders Act, such as 1234.",
            clean=clean_site_id,
        ),
        # providers/commanders-act.md: Batch — "Currently the batch endpoint is not
        # publicly open ... closed beta": opt-in per source, off by default.
        Field(
            "batch_beta",
            "This source is in the batch beta",
            help_text=(
                "Commanders Act's batch endpoint is a closed beta. Choose yes only once "
                "Commanders Act has admitted this source; otherwise every event, replays "
                "included, is sent as its own request."
            ),
            required=False,
            choices=BATCH_BETA_CHOICES,
            default="no",
        ),
    )
    secrets = (
        Field(
            "source_key",
            "Source key",
            help_text="The source key shown in the settings of your HTTP Tracking API source.",
        ),
    )
    events = CommandersActEvents()
    capabilities = frozenset({Capability.TRACK})
    verify_unsupported_reason = (
        "Commanders Act answers 200 to every request, even with a wrong source key, so "
        "the console cannot prove the key works: send a test event and look for it in "
        "Commanders Act's event inspector."
    )
    sandbox_module = "integrations.commanders_act.sandbox"

    @classmethod
    def batching_enabled(cls, settings: Mapping[str, Any]) -> bool:
        """Whether events for an account with these settings may go to /events/batch.

        Settings saved before the field existed have no value: not in the beta.
        """
        value = settings.get("batch_beta", "no")
        return value is True or (isinstance(value, str) and value.strip().lower() == "yes")

    @classmethod
    def curl_auth(cls, placeholders: Mapping[str, str]) -> CurlAuth:
        # providers/commanders-act.md: Version 2 — the source key is the `token` query
        # parameter of every request.
        key = placeholders["source_key"]
        return CurlAuth(
            query={"token": key},
            notes={key: "the source key, URL-encoded (it sits in the query string)"},
        )

    @classmethod
    def make_client(
        cls, session: ProviderSession, *, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> CommandersActClient:
        return CommandersActClient(
            session,
            site_id=str(settings["site_id"]),
            source_key=secrets["source_key"],
            batch_beta=cls.batching_enabled(settings),
        )
