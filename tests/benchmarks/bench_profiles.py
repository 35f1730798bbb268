"""Issue #7: syncing profiles into the cache, searching it, exporting Croct events.

1. Sync 100,000 Octy sandbox profiles into the cache through the real sync job (the
   sandbox's rate limit and the console's pacing both off, as the issue allows; pages
   of 500 as the source doc allows). Goal >= 3,000 profiles/s; resident memory must
   stay flat (sampled after every page).
2. Search the 100,000 cached profiles through the cache page (logged-in support user,
   full request/response): median response time, goal <= 50 ms.
3. Export 100,000 Croct sandbox events to JSON Lines: events/s and memory growth.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

from tests.benchmarks.harness import Budget, Result, summarize

PROFILES = 100_000
EVENTS = 100_000
SEARCHES = 300


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 1_048_576


class RssSampler:
    def __init__(self):
        self.start = _rss_mb()
        self.peak = self.start
        self.samples: list[float] = []

    def sample(self) -> None:
        value = _rss_mb()
        self.samples.append(value)
        self.peak = max(self.peak, value)

    def growth_after_warmup(self) -> float:
        """Peak minus the level after the first tenth of the run (allocator warm-up)."""
        if len(self.samples) < 10:
            return self.peak - self.start
        warm = self.samples[len(self.samples) // 10]
        return max(self.samples) - warm


def _bench_sync(settings, budget: Budget) -> tuple[Result, object]:
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import account_connect
    from dashboard.profiles import sync
    from dashboard.profiles.models import CachedProfile
    from integrations.octy import sandbox as octy_sandbox
    from integrations.sandbox import serve

    running = serve(
        octy_sandbox.create_app(profile_count=PROFILES, rate_limit_per_minute=None, page_size=500)
    )
    ConnectedAccount.objects.filter(name="bench octy").delete()
    account = account_connect(
        provider="octy",
        name="bench octy",
        base_url=running.url,
        settings=dict(octy_sandbox.DEMO_SETTINGS),
        secrets=dict(octy_sandbox.DEMO_SECRETS),
    )
    settings.PROFILES_RATE_LIMITS = {}
    sampler = RssSampler()
    real_page = sync._sync_page

    def sampled_page(client, adapter, job):
        sampler.sample()
        return real_page(client, adapter, job)

    sync._sync_page = sampled_page
    try:
        job = sync.sync_start(account=account)
        started = time.perf_counter()
        # The job runs in slices (as on a worker); here each slice runs in this process.
        while not job.is_done and not budget.exhausted:
            job = sync.sync_run(job_id=job.pk, slice_seconds=3600)
            if job.status == "pending":
                continue
        elapsed = time.perf_counter() - started
    finally:
        sync._sync_page = real_page
        running.stop()
    synced = CachedProfile.objects.filter(account=account).count()
    rate = job.profiles_synced / elapsed
    growth = sampler.growth_after_warmup()
    return (
        Result(
            name=f"Octy sync into the cache ({job.profiles_synced:,} profiles)",
            unit="profiles/s",
            median=rate,
            p95=rate,
            goal=">= 3000 profiles/s, flat memory",
            met=rate >= 3000 and growth < 64 and synced == PROFILES,
            notes={
                "status": job.status,
                "seconds": round(elapsed, 2),
                "pages": job.pages_done,
                "cached_rows": synced,
                "rss_start_mb": round(sampler.start, 1),
                "rss_peak_mb": round(sampler.peak, 1),
                "rss_growth_after_warmup_mb": round(growth, 1),
            },
        ),
        account,
    )


def _bench_search(account, budget: Budget) -> Result:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import make_user

    User.objects.filter(username="bench-support").delete()
    client = Client(SERVER_NAME="localhost")
    client.force_login(make_user("support", username="bench-support"))
    url = reverse("profiles:cache")
    terms = ["grace", "hopper", "ada", "lovelace", "alan.turing", "k", "margaret h", "zzz"]
    terms += [f"alan.turing{n}" for n in (2, 17, 345, 9001)]
    for term in terms:  # warm the connection, the template and the query plans
        client.get(url, {"q": term})
    samples: list[float] = []
    rows_seen = 0
    for term in itertools.islice(itertools.cycle(terms), SEARCHES):
        if budget.exhausted:
            break
        started = time.perf_counter()
        response = client.get(url, {"q": term}, headers={"HX-Request": "true"})
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        rows_seen += response.content.count(b"<tr>") - 1
    median, p95 = summarize(samples)
    return Result(
        name=f"cached profile search, {PROFILES:,} rows (HTTP, {len(samples)} searches)",
        unit="ms",
        median=median,
        p95=p95,
        goal="median <= 50 ms",
        met=median <= 50,
        notes={"terms": len(terms), "rows_returned": rows_seen},
    )


def _bench_export(settings, budget: Budget) -> Result:
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import account_connect
    from dashboard.profiles import exports
    from integrations.croct import sandbox as croct_sandbox
    from integrations.sandbox import serve

    app = croct_sandbox.create_app(export_event_count=EVENTS)
    running = serve(app)
    ConnectedAccount.objects.filter(name="bench croct export").delete()
    account = account_connect(
        provider="croct",
        name="bench croct export",
        base_url=running.url,
        settings=dict(croct_sandbox.DEMO_SETTINGS),
        secrets=dict(croct_sandbox.DEMO_SECRETS),
    )
    folder = Path(tempfile.mkdtemp(prefix="switchyard-bench-export-"))
    settings.PROFILES_EXPORT_DIR = folder
    settings.PROFILES_EXPORT_PAGE_SIZE = 1000
    sampler = RssSampler()
    real_page = exports._export_page

    def sampled_page(client, job, cursor):
        sampler.sample()
        return real_page(client, job, cursor)

    exports._export_page = sampled_page
    try:
        start = app.export.t0
        job = exports.export_start(
            account=account, kind="events", start_ms=start, end_ms=start + 31 * 86_400_000
        )
        started = time.perf_counter()
        while not job.is_done and not budget.exhausted:
            job = exports.export_run(job_id=job.pk, slice_seconds=3600)
        elapsed = time.perf_counter() - started
    finally:
        exports._export_page = real_page
        running.stop()
    size = exports.export_path(job).stat().st_size
    rate = job.items_written / elapsed
    growth = sampler.growth_after_warmup()
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    return Result(
        name=f"Croct events export to JSON Lines ({job.items_written:,} events)",
        unit="events/s",
        median=rate,
        p95=rate,
        goal="flat memory (reported)",
        met=growth < 64 and job.items_written == EVENTS,
        notes={
            "status": job.status,
            "seconds": round(elapsed, 2),
            "pages": job.pages_done,
            "file_mb": round(size / 1_048_576, 1),
            "rss_start_mb": round(sampler.start, 1),
            "rss_peak_mb": round(sampler.peak, 1),
            "rss_growth_after_warmup_mb": round(growth, 1),
        },
    )


def run(budget_seconds: float = 300) -> list[Result]:
    from django.conf import settings

    budget = Budget(budget_seconds)
    saved = (
        settings.PROFILES_RATE_LIMITS,
        settings.PROFILES_EXPORT_DIR,
        settings.PROFILES_EXPORT_PAGE_SIZE,
    )
    try:
        sync_result, account = _bench_sync(settings, budget)
        results = [sync_result, _bench_search(account, budget), _bench_export(settings, budget)]
    finally:
        (
            settings.PROFILES_RATE_LIMITS,
            settings.PROFILES_EXPORT_DIR,
            settings.PROFILES_EXPORT_PAGE_SIZE,
        ) = saved
    return results


if __name__ == "__main__":
    from tests.benchmarks.harness import setup_django

    setup_django()
    for result in run():
        print(result)
