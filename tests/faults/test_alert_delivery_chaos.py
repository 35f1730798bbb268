"""Alert delivery under fire, with a real ``celery worker`` process (issue #18, Proof):
the destination answers 500 or times out, the alert is retried through Celery with
backoff and its history says so, it is given up after the last try, and a worker
SIGKILLed while a webhook is on the wire leaves nothing sent twice.

What "sent twice" can mean for a webhook: a worker killed after the receiver read the
request but before the worker recorded the answer cannot know it arrived, so the
sweeper sends it again. That repeat is inherent to any webhook (at-least-once); the
design makes it detectable instead: every try of a delivery carries the same
``X-Switchyard-Delivery`` id, also inside the signed body, so a receiver drops it,
and the history shows one delivery with an interrupted try and one sent. The test
receiver dedups on that id the way docs/alerts.md tells receivers to.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from dashboard.alerts import services, transport
from dashboard.alerts.engine import alerts_run
from dashboard.alerts.models import Alert, Delivery, DeliveryState
from dashboard.core.queueing import sweep
from tests.calls.conftest import croct_problem, make_account, record
from tests.faults.test_outbox_chaos import WorkerProcess, _purge_queue

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The worker's settings (from its environment): short timeouts, a short lease and
# sub-second backoff so retries happen within the test; three tries before giving up.
WORKER_ENV = {
    "ALERTS_SEND_TIMEOUT": "1",
    "ALERTS_CONNECT_TIMEOUT": "1",
    "ALERTS_RETRY_BASE_SECONDS": "0.3",
    "ALERTS_RETRY_MAX_SECONDS": "1",
    "ALERTS_MAX_ATTEMPTS": "3",
    "ALERTS_DELIVERY_LEASE_SECONDS": "2",
}
HANG_SECONDS = 2.5  # longer than ALERTS_SEND_TIMEOUT: the worker gives up waiting
# For the kill: the worker waits for the held answer (longer than the test takes to
# kill it), and its lease runs out soon after so the sweeper can take the try back.
KILL_ENV = {**WORKER_ENV, "ALERTS_SEND_TIMEOUT": "10", "ALERTS_DELIVERY_LEASE_SECONDS": "3"}


@dataclass
class Receipt:
    path: str
    delivery_id: str
    body: bytes
    verified: bool
    at: float


@dataclass
class Receiver:
    """A webhook receiver on loopback: verifies each request's signature with the
    secret of the destination its path belongs to, answers from a per-path script
    (status codes, "hang" to time out, "hold" to wait for ``release``), then 200."""

    base: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, list] = field(default_factory=dict)
    receipts: list[Receipt] = field(default_factory=list)
    # What a receiver does with the delivery id: acts on each one once.
    processed: dict[str, bytes] = field(default_factory=dict)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[Receipt]:
        with self.lock:
            return [r for r in self.receipts if r.path == path]


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            header = self.headers.get(transport.SIGNATURE_HEADER, "")
            delivery_id = self.headers.get(transport.DELIVERY_HEADER, "")
            with state.lock:
                script = state.scripts.setdefault(self.path, [])
                answer = script.pop(0) if script else 200
                verified = transport.verify(header, body, state.secrets.get(self.path, ""))
                state.receipts.append(
                    Receipt(self.path, delivery_id, body, verified, time.monotonic())
                )
                if verified and answer in (200, "hold"):
                    state.processed.setdefault(delivery_id, body)
            if answer == "hold":
                state.holding.set()
                state.release.wait(30)
                answer = 200
            elif answer == "hang":
                time.sleep(HANG_SECONDS)
                answer = 200
            try:
                self.send_response(answer)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if answer < 300 else b"receiver is down")
            except OSError:
                pass  # the worker that asked is gone (SIGKILL)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{server.server_port}"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


def _destination(receiver: Receiver, path: str, script: list):
    created = services.destination_create(target=receiver.base + path, label=path.strip("/"))
    receiver.secrets[path] = created.signing_secret
    receiver.scripts[path] = list(script)
    return created.destination


def _raise_one_alert(destinations) -> Alert:
    """A new-group rule and a revoked-key failure: one pass raises one alert, whose
    deliveries go to the broker on commit."""
    services.rule_add(kind="new_group", destinations=destinations)
    record(croct_problem(401, "authentication/unknown-api-key"), account=make_account("Shop EU"))
    result = alerts_run()
    assert len(result.alerts) == 1
    assert len(result.deliveries) == len(destinations)
    return result.alerts[0]


def _wait(condition, *, timeout: float, what: str, worker: WorkerProcess, tick=None):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            states = list(Delivery.objects.values_list("id", "state", "attempts"))
            raise AssertionError(f"{what}: not within {timeout:.0f}s; deliveries {states}")
        if tick is not None:
            tick()
        time.sleep(0.1)


def _history(client, alert: Alert) -> str:
    return client.get(reverse("alerts:alert", args=[alert.pk])).content.decode()


@pytest.fixture
def sweeper_without_delay(settings):
    # The beat's sweeper re-sends work that waited QUEUE_RESEND_AFTER_SECONDS (120 s in
    # production); here it takes back a lost delivery as soon as its lease ran out.
    settings.QUEUE_RESEND_AFTER_SECONDS = 0


@pytest.mark.timeout(180)
def test_a_worker_killed_mid_send_leaves_one_delivery_the_receiver_can_dedup(
    redis_broker, receiver, sweeper_without_delay, client_for, admin
):
    destination = _destination(receiver, "/hold", ["hold"])
    alert = _raise_one_alert([destination])
    [delivery] = Delivery.objects.all()
    worker = WorkerProcess(KILL_ENV)
    try:
        worker.start()
        _wait(receiver.holding.is_set, timeout=60, what="request in flight", worker=worker)
        # The receiver has the request; the worker has not heard back: kill it now.
        worker.kill()
        receiver.release.set()
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 1)
        assert delivery.tries.count() == 0  # the dead worker recorded nothing

        worker.start()

        def beat():
            # What beat does every minute: core.sweep and an evaluation pass.
            sweep()
            alerts_run()

        _wait(
            lambda: Delivery.objects.get().state == DeliveryState.SENT,
            timeout=60,
            what="delivery sent after the restart",
            worker=worker,
            tick=beat,
        )
        # Killed again while idle and restarted: more beats re-send nothing.
        worker.kill()
        worker.start()
        for _ in range(10):
            beat()
            time.sleep(0.3)
        worker.stop()
    except BaseException:
        print(worker.output())
        raise
    finally:
        worker.stop()
        _purge_queue()

    # At the receiver: the request the dead worker had on the wire, and the sweeper's
    # one repeat of it, signed, with the same delivery id and the same body.
    receipts = receiver.on("/hold")
    assert len(receipts) == 2, receipts
    assert all(r.verified for r in receipts)
    assert {r.delivery_id for r in receipts} == {str(delivery.pk)}
    assert len({r.body for r in receipts}) == 1
    assert json.loads(receipts[0].body)["delivery_id"] == delivery.pk
    # What the receiver acted on: once.
    assert list(receiver.processed) == [str(delivery.pk)]

    # In the console: one alert, one delivery, sent; its history names the lost try.
    assert Alert.objects.count() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)
    assert list(delivery.tries.values_list("number", "outcome")) == [
        (1, "interrupted"),
        (2, "sent"),
    ]
    page = _history(client_for(admin), alert)
    assert "try 1: <strong>Interrupted, sending again</strong>" in page
    assert "the worker stopped during this try" in page
    assert "try 2: <strong>Sent</strong>" in page


@pytest.mark.timeout(180)
def test_500s_and_timeouts_are_retried_through_celery_then_sent_or_given_up(
    redis_broker, receiver, client_for, admin
):
    flaky = _destination(receiver, "/flaky", [500])
    slow = _destination(receiver, "/slow", ["hang"])
    down = _destination(receiver, "/down", [503, 503, 503, 503])
    alert = _raise_one_alert([flaky, slow, down])
    worker = WorkerProcess(WORKER_ENV)
    finals = {DeliveryState.SENT, DeliveryState.GIVEN_UP}
    try:
        worker.start()
        _wait(
            lambda: set(Delivery.objects.values_list("state", flat=True)) <= finals,
            timeout=90,
            what="every delivery sent or given up",
            worker=worker,
        )
        worker.stop()
    except BaseException:
        print(worker.output())
        raise
    finally:
        worker.stop()
        _purge_queue()

    by_destination = {d.destination_id: d for d in Delivery.objects.all()}
    tries = {
        pk: list(d.tries.values_list("outcome", "answer", "retry_at"))
        for pk, d in by_destination.items()
    }
    # 500, then sent on the retry.
    assert by_destination[flaky.pk].state == DeliveryState.SENT
    assert [(o, a[:8]) for o, a, _ in tries[flaky.pk]] == [
        ("retrying", "HTTP 500"),
        ("sent", "HTTP 200"),
    ]
    # No answer within the send timeout, then sent on the retry.
    assert by_destination[slow.pk].state == DeliveryState.SENT
    assert [o for o, _, _ in tries[slow.pk]] == ["retrying", "sent"]
    assert tries[slow.pk][0][1] == "no answer within 1 s"
    # Three tries, then given up with the destination's answer.
    assert by_destination[down.pk].state == DeliveryState.GIVEN_UP
    assert [o for o, _, _ in tries[down.pk]] == ["retrying", "retrying", "given_up"]
    assert all(a.startswith("HTTP 503: receiver is down") for _, a, _ in tries[down.pk])
    assert tries[down.pk][-1][2] is None  # nothing scheduled after giving up

    # Each try reached the receiver once; a retry waited for its backoff (Celery's
    # countdown), never sent before the time the history promised.
    assert [len(receiver.on(p)) for p in ("/flaky", "/slow", "/down")] == [2, 2, 3]
    assert all(r.verified for r in receiver.receipts)
    down_gaps = [b.at - a.at for a, b in itertools.pairwise(receiver.on("/down"))]
    assert all(gap >= 0.3 for gap in down_gaps), down_gaps

    page = _history(client_for(admin), alert)
    assert "<strong>Failed, retrying</strong> — HTTP 500: receiver is down" in page
    assert "<strong>Failed, retrying</strong> — no answer within 1 s" in page
    assert "try 3: <strong>Failed, given up</strong> — HTTP 503: receiver is down" in page
    assert page.count("<strong>Sent</strong>") == 2
