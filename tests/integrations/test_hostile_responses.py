"""Providers misbehaving at the HTTP level: a huge body, bytes that are not UTF-8, an
answer that never finishes, a connection that drops. Each must end in a recorded
Problem with memory and time bounded by the session's limits, never a hang or a crash.

The server here is a real socket server speaking raw HTTP, because the sandboxes are
well-behaved WSGI apps that cannot produce these answers.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import tracemalloc

import pytest

from dashboard.accounts.services import account_connect, provider_client
from dashboard.calls.models import ApiCall
from integrations import errors
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS
from integrations.http import ProviderSession
from tests.conftest import flush_call_log

MIB = 1024 * 1024


def _huge(conn: socket.socket) -> None:
    size = 10 * MIB
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {size}\r\n\r\n".encode()
    )
    chunk = b"[" + b"1," * (MIB // 2 - 1) + b"1"
    sent = 0
    try:
        while sent < size:
            piece = chunk[: size - sent]
            conn.sendall(piece)
            sent += len(piece)
    except OSError:
        pass  # the client stopped reading, as it should


def _not_utf8(conn: socket.socket) -> None:
    body = b'{"content": "\xff\xfe\xc3\x28 broken", "metadata": {}}'
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _trickle(conn: socket.socket) -> None:
    """Headers, then one byte every 50 ms forever: no single read ever times out."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n["
    )
    try:
        for _ in range(2000):
            time.sleep(0.05)
            conn.sendall(b"1")
    except OSError:
        pass


def _silent(conn: socket.socket) -> None:
    """Accepts the request and never answers."""
    time.sleep(5)


def _drop(conn: socket.socket) -> None:
    conn.sendall(
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"a":'
    )
    conn.shutdown(socket.SHUT_RDWR)


def _nul(conn: socket.socket) -> None:
    body = b'{"type": "https://croct.help/api/x", "title": "bad \\u0000 input", "detail": "\x00"}'
    conn.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _answer(conn: socket.socket, body: bytes, content_type: str) -> None:
    conn.sendall(
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _deep_json(conn: socket.socket) -> None:
    """5,000 nested arrays: json.loads and any recursive walk raise RecursionError."""
    _answer(conn, b"[" * 5000 + b"]" * 5000, "application/json")


def _deep_xml(conn: socket.socket) -> None:
    """20,000 nested elements inside Altcraft's <xml> root."""
    _answer(conn, b"<xml>" + b"<a>" * 20000 + b"</a>" * 20000 + b"</xml>", "application/xml")


BEHAVIOURS = {
    "deep-json": _deep_json,
    "deep-xml": _deep_xml,
    "nul": _nul,
    "huge": _huge,
    "not-utf8": _not_utf8,
    "trickle": _trickle,
    "silent": _silent,
    "drop": _drop,
}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = self.request.recv(65536)
            if not piece:
                return
            data += piece
        path = data.split(b" ", 2)[1].decode()
        behaviour = path.strip("/").split("/")[0]
        BEHAVIOURS[behaviour](self.request)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def hostile():
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _session(base_url: str, **options) -> ProviderSession:
    options.setdefault("read_timeout", 1.0)
    options.setdefault("total_timeout", 2.0)
    return ProviderSession(provider="croct", base_url=base_url, connect_timeout=1.0, **options)


def _json(response):
    return response.json()


def test_a_10_mb_answer_is_cut_at_the_limit_with_bounded_memory(hostile):
    session = _session(f"{hostile}/huge", max_response_bytes=1 * MIB)
    tracemalloc.start()
    try:
        with pytest.raises(errors.MalformedResponse) as caught:
            session.call("hostile.huge", "GET", "/", parse=_json)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.problem.title == "Response too large"
    # A few working copies of the 1 MiB it kept (chunks, joined, decoded for the log),
    # never the ten mebibytes it was offered.
    assert peak < 5 * MIB


def test_an_answer_that_is_not_utf8_is_a_malformed_response_not_a_crash(hostile):
    session = _session(f"{hostile}/not-utf8")
    with pytest.raises(errors.MalformedResponse) as caught:
        session.call(
            "hostile.not_utf8",
            "GET",
            "/",
            parse=lambda response: response.body.decode("utf-8"),
        )
    assert caught.value.problem.kind == errors.MALFORMED_RESPONSE


def test_an_answer_that_never_finishes_stops_at_the_total_timeout(hostile):
    session = _session(f"{hostile}/trickle", read_timeout=1.0, total_timeout=1.0)
    with pytest.raises(errors.ProviderTimeout) as caught:
        session.call("hostile.trickle", "GET", "/", parse=_json)
    assert caught.value.problem.kind == errors.TIMEOUT
    assert caught.value.problem.retryable


def test_a_provider_that_never_answers_is_a_timeout(hostile):
    session = _session(f"{hostile}/silent", read_timeout=0.5)
    with pytest.raises(errors.ProviderTimeout):
        session.call("hostile.silent", "GET", "/", parse=_json)


def test_a_connection_dropped_mid_body_is_a_malformed_response(hostile):
    session = _session(f"{hostile}/drop")
    with pytest.raises(errors.MalformedResponse):
        session.call("hostile.drop", "GET", "/", parse=_json)


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        ("huge", errors.MALFORMED_RESPONSE),
        ("trickle", errors.TIMEOUT),
        ("drop", errors.MALFORMED_RESPONSE),
        # NUL characters in a problem answer: PostgreSQL refuses them in text and jsonb.
        ("nul", errors.INVALID_REQUEST),
    ],
)
def test_each_hostile_answer_is_recorded_with_its_problem(db, hostile, settings, behaviour, kind):
    settings.PROVIDER_READ_TIMEOUT = 1.0
    account = account_connect(
        provider="croct",
        name=f"Hostile {behaviour}",
        base_url=f"{hostile}/{behaviour}",
        settings=dict(DEMO_SETTINGS),
        secrets=dict(DEMO_SECRETS),
    )
    client = provider_client(account, total_timeout=1.0, max_response_bytes=MIB)
    with pytest.raises(errors.ProviderError):
        client.evaluate("true", client_id="6a1b3c5d-0000-4000-8000-000000000001")

    flush_call_log()
    call = ApiCall.objects.get(account=account)
    assert call.outcome == "failed"
    assert call.problem_kind == kind
    assert "\x00" not in call.response_body
    assert len(call.response_body) <= 64 * 1024


def test_deeply_nested_json_is_a_malformed_response_not_a_recursion_error(hostile):
    session = _session(f"{hostile}/deep-json")
    with pytest.raises(errors.MalformedResponse) as caught:
        session.call("hostile.deep", "GET", "/", parse=_json)
    assert "nested more than 64 levels" in caught.value.problem.detail


@pytest.mark.parametrize(
    ("provider", "behaviour"), [("croct", "deep-json"), ("altcraft", "deep-xml")]
)
def test_a_check_against_a_deeply_nested_answer_finishes_failed(db, hostile, provider, behaviour):
    """Found by the probe: such answers left checks ``running`` (and one logged ok)."""
    from dashboard.accounts.models import CheckStatus
    from dashboard.accounts.services import account_check_request, account_check_run
    from integrations.registry import get_provider

    demo = __import__(get_provider(provider).sandbox_module, fromlist=["DEMO_SETTINGS"])
    settings_ = dict(demo.DEMO_SETTINGS)
    if provider == "altcraft":
        settings_["format"] = "xml"
    account = account_connect(
        provider=provider,
        name=f"Deep {provider}",
        base_url=f"{hostile}/{behaviour}",
        settings=settings_,
        secrets=dict(demo.DEMO_SECRETS),
    )
    check = account_check_run(check_id=account_check_request(account=account).pk)

    assert check.status == CheckStatus.FAILED
    assert check.problem["kind"] == errors.MALFORMED_RESPONSE
