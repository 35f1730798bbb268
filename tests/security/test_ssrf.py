"""SSRF through a provider base URL (#15 finding 2).

The base URL an admin types is validated as text (no query, fragment, credentials,
control characters or disguised numeric hosts), on the address its host resolves to
when the account is connected, and again on the address each connection actually
reaches (DNS rebinding).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dashboard.accounts.services import AccountInputError, account_connect
from integrations import errors, netguard
from integrations.http import ProviderSession, close_pools
from integrations.provider import clean_base_url
from integrations.registry import get_provider


@pytest.fixture
def production_policy():
    """Production allows no internal network; development allows loopback (the
    sandboxes). Restored afterwards to what the settings say."""
    from django.conf import settings

    netguard.configure([])
    close_pools()  # pooled connections were checked under the old policy
    yield
    netguard.configure(settings.PROVIDER_ALLOWED_NETWORKS)
    close_pools()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://[fe80::1]/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://127.0.0.1:5432/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ],
)
def test_internal_and_metadata_addresses_are_refused(production_policy, url):
    with pytest.raises(netguard.UnsafeAddress):
        netguard.check_url(clean_base_url(url))


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://2852039166/", "four decimal numbers"),  # 169.254.169.254 as one number
        ("http://0/", "four decimal numbers"),
        ("http://0x7f.1/", "four decimal numbers"),
        ("http://0177.0.0.1/", "four decimal numbers"),
        ("https://api.example.com/v1?", "query string or fragment"),
        ("https://api.example.com/v1#", "query string or fragment"),
        ("https://api.example.com/v1\r\nX-Injected: 1", "control characters"),
        ("https://api.exa mple.com/", "control characters"),
        ("https://user:pw@api.example.com/", "credentials"),
        ("https://api.example.com:99999/", "port"),
    ],
)
def test_disguised_or_path_swallowing_urls_are_refused_as_text(url, words):
    with pytest.raises(ValueError, match=words):
        clean_base_url(url)


def test_connecting_an_account_at_a_metadata_address_is_refused_with_a_sentence(
    db, production_policy
):
    provider = get_provider("octy")
    with pytest.raises(AccountInputError) as caught:
        account_connect(
            provider="octy",
            name="metadata",
            base_url="https://169.254.169.254",
            secrets={f.name: "k" * 24 for f in provider.secrets},
        )
    assert "cloud metadata" in caught.value.errors["base_url"]


def test_loopback_is_allowed_only_through_the_allow_list(production_policy):
    with pytest.raises(netguard.UnsafeAddress):
        netguard.check_url("http://127.0.0.1:8000")
    netguard.configure(["127.0.0.0/8"])
    netguard.check_url("http://127.0.0.1:8000")  # the development default


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        _Recorder.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def internal_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen = []
    yield server
    server.shutdown()
    server.server_close()


def test_a_name_that_rebinds_to_an_internal_address_is_refused_at_request_time(
    production_policy, internal_server, monkeypatch
):
    """The name resolves to a public address when checked, then to loopback when the
    connection is made: the connection is refused before any request is sent."""
    port = internal_server.server_address[1]
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # first answer: public; every later one: loopback

    def rebinding(host, *args, **kwargs):
        if host == "rebind.example":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    base_url = f"http://rebind.example:{port}"
    netguard.check_url(base_url)  # connect time: looks public, accepted

    session = ProviderSession(provider="octy", base_url=base_url)
    with pytest.raises(errors.TransportError) as caught:
        session.call("probe", "GET", "/v1/ping", parse=lambda response: response)

    assert "127.0.0.1" in caught.value.problem.detail
    assert "internal addresses" in caught.value.problem.detail
    assert _Recorder.seen == [], "the internal server received a request"


def test_an_allowed_loopback_server_is_reached(internal_server):
    # The development policy (loopback allowed) is what the suite runs with.
    port = internal_server.server_address[1]
    session = ProviderSession(provider="octy", base_url=f"http://127.0.0.1:{port}")
    session.call("probe", "GET", "/v1/ping", parse=lambda response: response)
    assert _Recorder.seen == ["/v1/ping"]
