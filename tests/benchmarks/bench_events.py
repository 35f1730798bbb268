"""Issue #6: delivering a backlog of Commanders Act events through the outbox.

N queued events (100,000 by default; ``SWITCHYARD_BENCH_EVENTS`` for fewer) are
delivered to the sandbox by one real Celery worker (a subprocess, ``-P solo``) on
PostgreSQL + Redis, against a naive loop that posts each event on its own through the
same recorded client and marks its row. Goals: >= 5,000 events/s batched, >= 20x the
naive loop, and a worker whose peak memory does not grow with the backlog.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

from tests.benchmarks.harness import Budget, Result, start_celery_worker

EVENTS = int(os.environ.get("SWITCHYARD_BENCH_EVENTS", "100000"))
NAIVE_EVENTS = int(
    os.environ.get("SWITCHYARD_BENCH_NAIVE_EVENTS", str(min(2000, max(100, EVENTS // 20))))
)
INSERT_CHUNK = 5000


def _rss_kb(pid: int) -> tuple[int, int]:
    """(current, peak) resident memory of ``pid`` in KiB."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def _queue_backlog(account, count: int) -> None:
    """Insert ``count`` queued events as the service would store them (prepared once,
    then copied with fresh event ids: the insert is not what is measured)."""
    from django.utils import timezone

    from dashboard.events.models import OutboundEvent
    from dashboard.events.outbox import event_prepare

    template = event_prepare(
        account=account,
        payload={
            "event_name": "page_view",
            "user": {"consistent_anonymous_id": "caid-bench", "id": "bench-user"},
            "context": {
                "event_id": "EVENTID",
                "page": {"url": "https://shop.example/p/1", "title": "Product"},
            },
        },
    )
    now = timezone.now()
    for start in range(0, count, INSERT_CHUNK):
        rows = []
        for _ in range(min(INSERT_CHUNK, count - start)):
            key = uuid.uuid4().hex
            body = template.body.replace("EVENTID", key)
            rows.append(
                OutboundEvent(
                    account=account,
                    provider=account.provider,
                    event_type=template.event_type,
                    body=body,
                    size_bytes=len(body.encode()),
                    idempotency_key=key,
                    user_id=template.user_id,
                    identifiers=template.identifiers,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        OutboundEvent.objects.bulk_create(rows, batch_size=INSERT_CHUNK)


def _analyze() -> None:
    """After a bulk load, as an operator would: fresh planner statistics (and the dead
    rows of the previous run's cleanup gone) before the clock starts."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("events_outboundevent", "events_eventattempt", "calls_apicall"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _start_worker() -> subprocess.Popen:
    claim_size = os.environ.get("EVENTS_CLAIM_SIZE", "5000")
    return start_celery_worker(f"bench-events-{os.getpid()}", {"EVENTS_CLAIM_SIZE": claim_size})


def _wait_ready(app, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return
    raise RuntimeError("the benchmark worker did not start")


def run(budget_seconds: float = 600) -> list[Result]:
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import account_connect, provider_client
    from dashboard.celery import app
    from dashboard.events.models import EventStatus, OutboundEvent
    from dashboard.events.tasks import dispatch_events
    from integrations.commanders_act import sandbox as ca_sandbox
    from integrations.sandbox import serve

    running = serve(ca_sandbox.create_app())
    worker = None
    try:
        ConnectedAccount.objects.filter(name__startswith="bench commanders act").delete()

        def connect(name):
            return account_connect(
                provider="commanders_act",
                name=name,
                base_url=running.url,
                settings=dict(ca_sandbox.DEMO_SETTINGS),
                secrets=dict(ca_sandbox.DEMO_SECRETS),
            )

        # --- the naive loop: one POST per event, each row updated on its own ------------
        naive_account = connect("bench commanders act naive")
        _queue_backlog(naive_account, NAIVE_EVENTS)
        client = provider_client(naive_account)
        import json

        from django.utils import timezone

        started = time.perf_counter()
        for event in OutboundEvent.objects.filter(account=naive_account).iterator(chunk_size=500):
            client.send_event(json.loads(event.body))
            OutboundEvent.objects.filter(pk=event.pk).update(
                status=EventStatus.DELIVERED, delivered_at=timezone.now()
            )
        naive_rate = NAIVE_EVENTS / (time.perf_counter() - started)

        # --- the outbox: one worker drains the backlog ---------------------------------
        account = connect("bench commanders act")
        _queue_backlog(account, EVENTS)
        _analyze()
        with app.connection_for_write() as conn:
            for queue in app.amqp.queues:  # the default and the interactive queue
                conn.default_channel.queue_purge(queue)
        worker = _start_worker()
        _wait_ready(app)
        rss_samples: list[tuple[int, int]] = []
        budget = Budget(budget_seconds)
        delivered = 0
        started = time.perf_counter()
        dispatch_events.delay()
        # Progress from the sandbox's own count (in this process, free) so polling does
        # not load the database the worker writes to; the rows are checked after.
        while not budget.exhausted:
            time.sleep(0.1)
            received = running.app.stats()["events"]
            rss_samples.append((received, _rss_kb(worker.pid)[0]))
            if received >= EVENTS:
                break
        while not budget.exhausted:
            delivered = OutboundEvent.objects.filter(
                account=account, status=EventStatus.DELIVERED
            ).count()
            if delivered >= EVENTS:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        _, peak_kb = _rss_kb(worker.pid)
        stats = running.app.stats()
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        running.stop()
    rate = delivered / elapsed
    ratio = rate / naive_rate
    # Memory early in the drain against late: flat means it does not grow with the backlog.
    early = [kb for n, kb in rss_samples if n <= EVENTS * 0.2] or [rss_samples[0][1]]
    late = [kb for n, kb in rss_samples if n >= EVENTS * 0.8] or [rss_samples[-1][1]]
    notes = {
        "events": EVENTS,
        "delivered": delivered,
        "seconds": round(elapsed, 2),
        "batch_requests": stats["batches"] + (stats["answered_requests"] - stats["batches"]),
        "duplicate_deliveries": stats["duplicate_deliveries"],
        "naive_events": NAIVE_EVENTS,
        "naive_events_per_s": round(naive_rate, 1),
        "worker_peak_rss_mib": round(peak_kb / 1024, 1),
        "worker_rss_mib_at_20pct": round(max(early) / 1024, 1),
        "worker_rss_mib_at_80pct": round(max(late) / 1024, 1),
    }
    return [
        Result(
            name=f"outbox delivery, {EVENTS:,} Commanders Act events, 1 worker",
            unit="events/s",
            median=rate,
            p95=rate,
            baseline_median=naive_rate,
            ratio=ratio,
            goal=">= 5,000 events/s and >= 20x one POST per event",
            met=delivered >= EVENTS and rate >= 5000 and ratio >= 20,
            notes=notes,
        )
    ]


if __name__ == "__main__":
    # Alone (without writing bench-results/): python -m tests.benchmarks.bench_events
    from tests.benchmarks.harness import setup_django

    setup_django()
    for r in run():
        print(f"{r.name}: {r.median:,.0f} {r.unit}, {r.ratio:.1f}x naive, met={r.met}")
        print(r.notes)
