"""Issue #17 part 1: unbatched Commanders Act delivery at the account's pace.

N queued events (100,000 by default; ``SWITCHYARD_BENCH_PACING_EVENTS`` for fewer)
of a source outside the batch beta (one request per event) are delivered to the
sandbox over real HTTP by 1, then 2, real ``celery worker`` processes sharing the
account's pace (``SWITCHYARD_BENCH_PACES``: requests per second, comma-separated;
default 450, the Commanders Act default). Measured at the sandbox, by each request's
arrival time: the rate reached against the pace, the most requests in any one-second
window (sliding), duplicates; and the workers' resident memory at start and end.

Goals: >= 90 % of the pace, never above it in any one-second window, flat memory,
0 duplicates. (The batched-vs-naive figure is ``bench_events``: run both.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tests.benchmarks.bench_events import _analyze, _queue_backlog, _rss_kb, _wait_ready
from tests.benchmarks.harness import Budget, Result, start_celery_worker

EVENTS = int(os.environ.get("SWITCHYARD_BENCH_PACING_EVENTS", "100000"))
PACES = [float(p) for p in os.environ.get("SWITCHYARD_BENCH_PACES", "450").split(",") if p]
WORKERS = [int(w) for w in os.environ.get("SWITCHYARD_BENCH_PACING_WORKERS", "1,2").split(",")]


def _start_worker(index: int, pace: float) -> subprocess.Popen:
    return start_celery_worker(
        f"bench-pacing-{os.getpid()}-{index}",
        {"EVENTS_COMMANDERS_ACT_REQUESTS_PER_SECOND": str(pace)},
    )


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _one_run(running, pace: float, worker_count: int, budget: Budget) -> Result:
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import account_connect
    from dashboard.celery import app
    from dashboard.events.models import EventStatus, OutboundEvent
    from dashboard.events.tasks import dispatch_events
    from integrations.commanders_act import sandbox as ca_sandbox
    from integrations.sandbox import busiest_window

    name = f"bench pacing {worker_count}w {pace:g}"
    ConnectedAccount.objects.filter(name__startswith="bench pacing").delete()
    account = account_connect(
        provider="commanders_act",
        name=name,
        base_url=running.url,
        # Outside the batch beta: every event is its own request.
        settings={**ca_sandbox.DEMO_SETTINGS, "batch_beta": "no"},
        secrets=dict(ca_sandbox.DEMO_SECRETS),
    )
    _queue_backlog(account, EVENTS)
    _analyze()
    running.app.reset()
    with app.connection_for_write() as conn:
        for queue in app.amqp.queues:
            conn.default_channel.queue_purge(queue)
    workers = [_start_worker(i, pace) for i in range(worker_count)]
    try:
        _wait_ready(app)
        time.sleep(1.0)  # every worker consuming, not only the first to answer a ping
        rss_start = [_rss_kb(w.pid)[0] for w in workers]
        samples: list[tuple[int, int]] = []
        dispatch_events.delay()
        while not budget.exhausted:
            time.sleep(0.5)
            received = running.app.stats()["events"]
            samples.append((received, sum(_rss_kb(w.pid)[0] for w in workers)))
            if received >= EVENTS:
                break
        delivered = 0
        while not budget.exhausted:
            delivered = OutboundEvent.objects.filter(
                account=account, status=EventStatus.DELIVERED
            ).count()
            if delivered >= EVENTS:
                break
            time.sleep(0.2)
        rss_end = [_rss_kb(w.pid)[0] for w in workers]
        peaks = [_rss_kb(w.pid)[1] for w in workers]
    finally:
        _stop(workers)
    arrivals = running.app.arrival_times()
    stats = running.app.stats()
    seconds = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    # Requests per second from the first arrival to the last: the pace is a rate of
    # requests, and every one arrives once (there are no batches here).
    rate = (len(arrivals) - 1) / seconds if seconds else 0.0
    busiest = busiest_window(arrivals, 1.0)
    # Where the time went: pauses between requests well over the slot spacing (claims,
    # task runs ending and starting, a busy machine).
    pauses = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False) if b - a > 0.1]
    early = [kb for n, kb in samples if n <= EVENTS * 0.2] or [samples[0][1]]
    late = [kb for n, kb in samples if n >= EVENTS * 0.8] or [samples[-1][1]]
    notes = {
        "events": EVENTS,
        "workers": worker_count,
        "pace_per_s": pace,
        "requests": len(arrivals),
        "delivered_rows": delivered,
        "seconds": round(seconds, 1),
        "rate_per_s": round(rate, 1),
        "rate_of_pace": round(rate / pace, 3),
        "busiest_one_second_window": busiest,
        "pauses_over_100ms": len(pauses),
        "pauses_over_100ms_seconds": round(sum(pauses), 1),
        "duplicate_deliveries": stats["duplicate_deliveries"],
        "worker_rss_mib_start": [round(kb / 1024, 1) for kb in rss_start],
        "worker_rss_mib_end": [round(kb / 1024, 1) for kb in rss_end],
        "worker_peak_rss_mib": [round(kb / 1024, 1) for kb in peaks],
        "workers_rss_mib_at_20pct": round(max(early) / 1024, 1),
        "workers_rss_mib_at_80pct": round(max(late) / 1024, 1),
    }
    ConnectedAccount.objects.filter(pk=account.pk).delete()
    return Result(
        name=f"paced delivery, {EVENTS:,} unbatched CA events, {worker_count} worker(s), "
        f"pace {pace:g}/s",
        unit="requests/s",
        median=rate,
        p95=rate,
        baseline_median=pace,
        ratio=rate / pace,
        goal=">= 90% of the pace, no 1 s window above it, 0 duplicates",
        met=(
            delivered >= EVENTS
            and rate >= 0.9 * pace
            and busiest <= pace
            and stats["duplicate_deliveries"] == 0
        ),
        notes=notes,
    )


def run(budget_seconds: float = 1800) -> list[Result]:
    from integrations.commanders_act import sandbox as ca_sandbox
    from integrations.sandbox import serve

    # Every arrival is kept (the default keeps 250,000), so the windows are exact.
    running = serve(ca_sandbox.create_app(max_tracked_ids=max(EVENTS, 250_000)))
    budget = Budget(budget_seconds)
    results = []
    try:
        for pace in PACES:
            for worker_count in WORKERS:
                if budget.exhausted:
                    break
                result = _one_run(running, pace, worker_count, budget)
                print(f"  {result.name}: {result.notes}", flush=True)
                results.append(result)
    finally:
        running.stop()
    return results


if __name__ == "__main__":
    # Alone (without writing bench-results/): python -m tests.benchmarks.bench_pacing
    from tests.benchmarks.harness import setup_django

    setup_django()
    for r in run():
        print(f"{r.name}: {r.median:,.1f} {r.unit} ({r.ratio:.1%} of pace), met={r.met}")
        print(r.notes)
