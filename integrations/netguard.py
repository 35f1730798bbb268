"""Which network addresses the console may call: the guard against SSRF.

An admin types a provider's base URL; a hostile or mistaken one points the console's
workers (and the secret they send) at a cloud metadata service, the database, or the
console itself. Two checks, both on *resolved* addresses:

- at connect time (:func:`check_url`), so the form says what is wrong;
- at request time, on the socket actually connected (:class:`GuardedAdapter`), so a
  name that resolved to a public address when the account was saved and to an
  internal one later (DNS rebinding) is refused before a byte is sent.

Link-local (which holds the metadata services), private, shared, loopback,
unspecified, multicast and reserved ranges are refused unless the allow-list
(:func:`configure`, from the ``PROVIDER_ALLOWED_NETWORKS`` setting) names them. The
metadata host names are refused whatever they resolve to.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names cloud providers serve instance metadata (and credentials) under.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not "private" in stdlib

_lock = threading.Lock()
_allowed: tuple[IPNetwork, ...] = ()


class UnsafeAddress(ValueError):
    """The URL's host is, or resolves to, an address the console must not call."""


def configure(allowed_networks: Iterable[str]) -> None:
    """Set the allow-list (CIDR strings, e.g. ``127.0.0.0/8``) for this process."""
    global _allowed
    networks = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in allowed_networks if n)
    with _lock:
        _allowed = networks


def allowed_networks() -> tuple[IPNetwork, ...]:
    return _allowed


def _unwrap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def refusal(address: IPAddress | str) -> str:
    """Why ``address`` must not be called ("" when it may)."""
    address = _unwrap(ipaddress.ip_address(address))
    if any(address in network for network in _allowed):
        return ""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private-network address"
    if address.is_reserved:
        return "a reserved address"
    return ""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def check_host(host: str, port: int) -> None:
    """Raise :class:`UnsafeAddress` when ``host`` is a metadata name or any address it
    resolves to is refused.

    A name that does not resolve (yet) passes: there is nothing to refuse, and the
    request-time check refuses whatever it resolves to later."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise UnsafeAddress(f"{host} is a cloud metadata service, which the console never calls")
    try:
        addresses = _resolve(name, port)
    except (OSError, UnicodeError):
        return
    for address in addresses:
        reason = refusal(address)
        if reason:
            raise UnsafeAddress(
                f"{host} points at {address}, {reason}: the console does not call internal "
                "addresses (PROVIDER_ALLOWED_NETWORKS can allow it)"
            )


def check_url(url: str) -> None:
    """:func:`check_host` for a URL's host and port."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise UnsafeAddress("the URL has no host")
    check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def _check_peer(sock: socket.socket, host: str) -> None:
    peer = sock.getpeername()[0]
    reason = refusal(peer)
    if reason:
        sock.close()
        # An OSError: urllib3 and requests report it as a failed connection.
        raise ConnectionRefusedError(
            f"refused to call {host}: it resolved to {peer}, {reason} "
            "(the console does not call internal addresses)"
        )


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)
        return sock


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(sock, self.host)
        return sock


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections check the address they reached before use."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }
