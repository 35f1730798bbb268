"""Croct: content personalization (slots, experiences, experiments, CQL, events, export)."""

from integrations.croct.provider import CroctProvider

PROVIDER = CroctProvider

__all__ = ["PROVIDER", "CroctProvider"]
