"""The client's address, for the log-in lock-out (#15 item 13).

``REMOTE_ADDR`` unless it is one of ``TRUSTED_PROXIES``: only then is
``X-Forwarded-For`` read, from the right (the hop nearest to us), skipping the trusted
proxies; the first other address is the client. A header sent by anyone else is
ignored, so it cannot be used to dodge a lock-out or to lock someone else out.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.TRUSTED_PROXIES]


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str:
    """The address a request came from (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks()
    if not networks or not _is_trusted(remote, networks):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a garbled header: trust only what we saw ourselves
        if not _is_trusted(hop, networks):
            return hop
    return remote
