"""Altcraft Platform: profiles API client, payload rules, XML codec and sandbox.

See providers/altcraft.md. ``PROVIDER`` is what the registry loads.
"""

from integrations.altcraft.provider import PROVIDER, AltcraftProvider

__all__ = ["PROVIDER", "AltcraftProvider"]
