"""Transport failures read as sentences a person can act on (#16 defect 5)."""

from __future__ import annotations

import socket
import threading

import pytest

from integrations import errors
from integrations.http import ProviderSession

RAW_WORDS = ("HTTPConnectionPool", "Max retries", "Errno", "ConnectionError", "ReadTimeout")


def _call(base_url: str, **options):
    session = ProviderSession(provider="octy", base_url=base_url, **options)
    with pytest.raises(errors.ProviderError) as caught:
        session.call("probe", "GET", "/v1/ping", parse=lambda response: response)
    return caught.value.problem


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_names_the_address_and_asks_about_it():
    port = _closed_port()
    problem = _call(f"http://127.0.0.1:{port}")

    assert problem.kind == errors.TRANSPORT
    assert problem.detail == (
        f"Could not connect to 127.0.0.1:{port}: nothing answered there. Is the address right?"
    )
    assert not any(word in problem.detail for word in RAW_WORDS)
    assert "ConnectionError" in problem.raw_body  # folded on the page, for debugging


def test_a_silent_provider_is_reported_as_slow():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        problem = _call(f"http://127.0.0.1:{listener.getsockname()[1]}", read_timeout=0.3)
    finally:
        listener.close()

    assert problem.kind == errors.TIMEOUT
    assert "did not answer in time" in problem.detail
    assert not any(word in problem.detail for word in RAW_WORDS)


def test_an_unknown_host_asks_to_check_the_host_name(monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    problem = _call("https://api.nowhere.invalid")

    assert problem.detail == (
        "Could not find the host api.nowhere.invalid: check the host name in the account's "
        "base URL."
    )
