"""Issue #20: the slot catalog search and a grid page with labels, at 10,000 slots and
10,000 labels in one account.

1. The catalog search the preview and grid forms ask as the user types
   (``previews:catalog_search``): prefix, contains, description-only and no-match
   queries in turn. Goal: p95 <= 50 ms.
2. The catalog page itself (one keyset page of 50) with a contains filter.
   Goal: p95 <= 50 ms.
3. A 5 persona x 4 locale grid page whose every cell names a labelled experience,
   audience, experiment and variant (``previews:grid``). Goal: p95 <= 50 ms.

The Django test client drives the views in-process (full middleware stack, no HTTP
server, no provider calls: the grid's cells are stored as done). Rows are seeded once
per database and reused (marked by the ``bench catalog`` account name). The baseline
is the personas page, the console's floor for any page through the same stack.
"""

from __future__ import annotations

import time
import uuid

from tests.benchmarks.harness import Budget, Result, summarize

SLOTS = 10_000
LABELS = 10_000
SAMPLES = 100
WARMUP = 5
GOAL_MS = 50.0
ACCOUNT = "bench catalog croct"
KINDS = ("experience", "audience", "experiment", "variant")


def _seed():
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.previews.models import CatalogSlot, Label, PreviewGrid, PreviewRequest

    account, _ = ConnectedAccount.objects.get_or_create(
        name=ACCOUNT,
        defaults={
            "provider": "croct",
            "base_url": "http://127.0.0.1:9",
            "settings": {"app_id": "5f0c2a56-3d1b-4a8e-9c47-2b6d8e1f9a30"},
        },
    )
    if CatalogSlot.objects.filter(account=account).count() != SLOTS:
        CatalogSlot.objects.filter(account=account).delete()
        CatalogSlot.objects.bulk_create(
            [
                CatalogSlot(
                    account=account,
                    slot_id=f"{('home', 'pricing', 'checkout', 'blog')[n % 4]}-slot-{n:05d}",
                    description=f"Bench slot {n} on the {('home', 'pricing')[n % 2]} page",
                    versions=["1.0", "2.0"],
                    locales=["en", "pt-br"],
                    component=f"bench-{n % 50}@2",
                    last_content={"_component": f"bench-{n % 50}@2", "title": f"Slot {n}"},
                    added_source="staff",
                )
                for n in range(SLOTS)
            ],
            batch_size=1000,
        )
    if Label.objects.filter(account=account).count() != LABELS:
        Label.objects.filter(account=account).delete()
        Label.objects.bulk_create(
            [
                Label(
                    account=account,
                    kind=KINDS[n % 4],
                    target_id=str(uuid.UUID(int=n + 1)),
                    name=f"Bench {KINDS[n % 4]} {n}",
                )
                for n in range(LABELS)
            ],
            batch_size=1000,
        )
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh bulk inserts have no statistics yet; autovacuum would gather them later.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE previews_catalogslot, previews_label")
    grid = PreviewGrid.objects.filter(account=account).first()
    if grid is None:
        personas = [f"bench catalog persona {i}" for i in range(5)]
        locales = ["en", "pt-br", "es", "en-us"]
        grid = PreviewGrid.objects.create(
            account=account, slot_id="home-slot-00000", locales=locales, persona_names=personas
        )
        cells = []
        for p, name in enumerate(personas):
            for q, locale in enumerate(locales):
                base = (p * 4 + q) * 4  # four labelled ids per cell, each of its kind
                result = {
                    "content": {"_component": "bench-0@2", "title": f"Cell {p}/{q}"},
                    "component": "bench-0@2",
                    "version": "2.0",
                    "source": "experiment",
                    **{
                        f"{kind}_id": str(uuid.UUID(int=base + i + 1))
                        for i, kind in enumerate(KINDS)
                    },
                }
                cells.append(
                    PreviewRequest(
                        account=account,
                        slot_id=grid.slot_id,
                        locale=locale,
                        persona_name=name,
                        status="done",
                        result=result,
                        grid=grid,
                    )
                )
        PreviewRequest.objects.bulk_create(cells)
        grid.baseline = PreviewRequest.objects.filter(grid=grid).order_by("id").first()
        grid.save(update_fields=["baseline"])
    return account, grid


def _time_get(
    client, url: str, params_list: list[dict], budget: Budget, *, htmx: bool = False
) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples: list[float] = []
    queries = 0
    for index in range(WARMUP + SAMPLES):
        if budget.exhausted:
            break
        params = params_list[index % len(params_list)]
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, params, **({"HTTP_HX_REQUEST": "true"} if htmx else {}))
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params} answered {response.status_code}")
        if index >= WARMUP:
            samples.append(elapsed)
            queries = max(queries, len(captured))
    return samples, queries


def _result(name: str, samples: list[float], queries: int, floor: float) -> Result:
    median, p95 = summarize(samples)
    return Result(
        name=name,
        unit="ms",
        median=median,
        p95=p95,
        baseline_median=floor,
        ratio=median / floor if floor else None,
        goal=f"p95 <= {GOAL_MS:.0f} ms",
        met=p95 <= GOAL_MS,
        notes={"samples": len(samples), "max_queries": queries, "slots": SLOTS, "labels": LABELS},
    )


def run(budget_seconds: float = 90) -> list[Result]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from tests.conftest import make_user

    account, grid = _seed()
    User.objects.filter(username="bench-catalog-marketer").delete()
    client = Client(HTTP_HOST="localhost")
    client.force_login(make_user("marketer", "bench-catalog-marketer"))
    budget = Budget(budget_seconds)
    results = []

    # The floor: the personas page (one small query of its own) through the same
    # middleware, sessions and permission checks; the machine's load shows in it.
    floor_samples, _ = _time_get(client, reverse("previews:personas"), [{}], budget)
    floor = summarize(floor_samples)[0]

    queries = ["home", "pricing-slot-0", "slot-0999", "checkout", "page", "no-such-slot", "h"]
    samples, count = _time_get(
        client,
        reverse("previews:catalog_search"),
        [{"account": account.pk, "slot_id": q} for q in queries],
        budget,
        htmx=True,
    )
    results.append(_result("catalog search (10,000 slots)", samples, count, floor))

    samples, count = _time_get(
        client,
        reverse("previews:catalog"),
        [{"account": account.pk, "q": q} for q in ("slot-01", "pricing", "")],
        budget,
    )
    results.append(_result("catalog page (10,000 slots)", samples, count, floor))

    samples, count = _time_get(client, reverse("previews:grid", args=[grid.pk]), [{}], budget)
    results.append(_result("grid page with labels (10,000 labels)", samples, count, floor))
    return results
