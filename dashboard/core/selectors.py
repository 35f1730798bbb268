"""Reads for the Overview page."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dashboard.accounts.selectors import accounts_overview
from dashboard.calls.selectors import calls_summary


def overview_for(*, user) -> dict:
    since = timezone.now() - timedelta(hours=1)
    return {
        "accounts": accounts_overview(user=user),
        "calls": calls_summary(since=since),
    }
