"""Commanders Act: server-side event collection (HTTP Tracking API v2, single + batch)."""

from integrations.commanders_act.provider import CommandersAct

PROVIDER = CommandersAct

__all__ = ["PROVIDER", "CommandersAct"]
