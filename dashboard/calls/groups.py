"""Folding failed calls into error groups (issue #8)."""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.calls.models import ApiCall


def fold_failures(calls: Sequence[ApiCall]) -> None:
    """Attach freshly stored failed calls to their error groups."""
