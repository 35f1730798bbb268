"""Issue #5: how fast a preview comes back, on Redis + one worker on loopback.

1. Submit -> rendered result fragment for one preview: the htmx POST of the preview form,
   then the result fragment polled (every 5 ms) until it answers 286 ("done, stop
   polling"). Goal: median <= 150 ms; the ratio is to a direct ``client.content()`` call
   through the same recorded provider client.
2. A 5 persona x 4 locale grid: the grid form's POST, then the cells fragment polled
   until every cell is done. Goal: <= 1.5 s.

The Django test client drives the views in-process (full middleware stack, no HTTP
server); the worker is a real Celery worker (threads pool) consuming the Redis broker,
calling the Croct sandbox over loopback HTTP.
"""

from __future__ import annotations

import time
import uuid

from tests.benchmarks.harness import Budget, Result, summarize

WARMUP = 5
PREVIEWS = 60
GRIDS = 8
POLL_INTERVAL = 0.005
LOCALES = "en, pt-br, es, en-us"
WORKER_CONCURRENCY = 4


def _wait_done(client, url: str, timeout: float = 30.0) -> float:
    """Poll ``url`` as htmx until it answers 286; when that answer arrived."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        response = client.get(url, HTTP_HX_REQUEST="true")
        if response.status_code == 286:
            return time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        time.sleep(POLL_INTERVAL)
    raise RuntimeError(f"{url} not done within {timeout}s")


def run(budget_seconds: float = 120) -> list[Result]:
    from celery.contrib.testing.worker import start_worker
    from django.test import Client
    from django.urls import reverse

    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import account_connect, provider_client
    from dashboard.celery import app
    from dashboard.previews.models import Persona, PreviewGrid, PreviewRequest
    from dashboard.previews.services import persona_save
    from integrations.croct import sandbox as croct_sandbox
    from integrations.croct.models import ContentRequest
    from integrations.sandbox import serve
    from tests.conftest import make_user

    running = serve(croct_sandbox.create_app())
    ConnectedAccount.objects.filter(name="bench previews croct").delete()
    Persona.objects.filter(name__startswith="bench persona").delete()
    from django.contrib.auth.models import User

    User.objects.filter(username="bench-marketer").delete()
    account = account_connect(
        provider="croct",
        name="bench previews croct",
        base_url=running.url,
        settings=dict(croct_sandbox.DEMO_SETTINGS),
        secrets=dict(croct_sandbox.DEMO_SECRETS),
    )
    contexts = [
        {},
        {"attributes": {"plan": "pro"}},
        {"timeZone": "America/Sao_Paulo"},
        {"campaign": {"source": "newsletter"}},
        {"page": {"url": "https://shop.example/pricing"}, "attributes": {"seats": 5}},
    ]
    personas = [
        persona_save(name=f"bench persona {i}", context=c, identity_mode="random")
        for i, c in enumerate(contexts)
    ]
    client = Client(HTTP_HOST="localhost")
    client.force_login(make_user("marketer", "bench-marketer"))
    form = {
        "account": account.pk,
        "slot_id": "home-hero",
        "persona": personas[1].pk,
        "attributes": "company.size=50",
    }
    direct = provider_client(account)
    request = ContentRequest(
        slot_id="home-hero",
        client_id=str(uuid.uuid4()),
        context=None,
    )
    budget = Budget(budget_seconds)
    with app.connection_for_write() as conn:
        for queue in app.amqp.queues:  # the default and the interactive queue
            conn.default_channel.queue_purge(queue)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=WORKER_CONCURRENCY,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=15,
        ):
            preview_samples: list[float] = []
            direct_samples: list[float] = []
            for index in range(WARMUP + PREVIEWS):
                if budget.exhausted:
                    break
                started = time.perf_counter()
                direct.content(request)
                direct_ms = (time.perf_counter() - started) * 1000

                started = time.perf_counter()
                response = client.post(reverse("previews:submit"), form, HTTP_HX_REQUEST="true")
                if response.status_code != 200 or b"errorlist" in response.content:
                    raise RuntimeError("the preview form was refused")
                preview = PreviewRequest.objects.filter(account=account).latest("pk")
                finished = _wait_done(client, reverse("previews:result", args=[preview.pk]))
                if index >= WARMUP:
                    preview_samples.append((finished - started) * 1000)
                    direct_samples.append(direct_ms)
            done_ok = PreviewRequest.objects.filter(account=account, status="done").count()

            grid_samples: list[float] = []
            grid_form = {
                "account": account.pk,
                "slot_id": "home-hero",
                "personas": [p.pk for p in personas],
                "locales": LOCALES,
            }
            for _ in range(GRIDS + 1):
                if budget.exhausted:
                    break
                started = time.perf_counter()
                response = client.post(reverse("previews:grids"), grid_form)
                if response.status_code != 302:
                    raise RuntimeError("the grid form was refused")
                grid = PreviewGrid.objects.filter(account=account).latest("pk")
                finished = _wait_done(client, reverse("previews:grid_cells", args=[grid.pk]))
                grid_samples.append((finished - started) * 1000)
            grid_cells = grid.cells.count() if grid_samples else 0
            grid_samples = grid_samples[1:]  # the first grid warms the pools
    finally:
        running.stop()
    median, p95 = summarize(preview_samples)
    direct_median, _ = summarize(direct_samples)
    grid_median, grid_p95 = summarize(grid_samples)
    return [
        Result(
            name=f"preview submit -> rendered fragment ({len(preview_samples)} sequential)",
            unit="ms",
            median=median,
            p95=p95,
            baseline_median=direct_median,
            ratio=median / direct_median,
            goal="median <= 150 ms",
            met=median <= 150,
            notes={
                "baseline": "direct client.content() through the recorded provider client",
                "poll_interval_ms": POLL_INTERVAL * 1000,
                "previews_done": done_ok,
                "worker": f"1 worker, threads pool x{WORKER_CONCURRENCY}, Redis broker",
            },
        ),
        Result(
            name=f"5 persona x 4 locale grid to completion ({len(grid_samples)} grids)",
            unit="ms",
            median=grid_median,
            p95=grid_p95,
            goal="<= 1500 ms",
            met=grid_p95 <= 1500,
            notes={"cells_per_grid": grid_cells, "poll_interval_ms": POLL_INTERVAL * 1000},
        ),
    ]


if __name__ == "__main__":
    # Alone: ``python -m tests.benchmarks.bench_previews`` (prints; make bench writes files).
    import json
    from dataclasses import asdict

    from tests.benchmarks.harness import setup_django

    setup_django()
    print(json.dumps([asdict(r) for r in run()], indent=2))
