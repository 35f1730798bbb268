"""Octy: customer profiles, events, items and segments (providers/octy.md)."""

from integrations.octy.provider import OctyProvider

PROVIDER = OctyProvider

__all__ = ["PROVIDER", "OctyProvider"]
