"""Shared plumbing for ``make bench``: a migrated database, timing, and the report.

Benchmarks are not tests: they run on PostgreSQL + Redis (``DATABASE_URL``,
``CELERY_BROKER_URL``; defaults below), each within a time budget, and write
``bench-results/results.json`` plus a readable ``bench-results/results.md``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "bench-results"
DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/switchyard_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"


@dataclass
class Result:
    name: str
    unit: str
    median: float
    p95: float
    baseline_median: float | None = None
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    notes: dict = field(default_factory=dict)


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
    os.environ.setdefault("SWITCHYARD_VAR_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _create_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), percentile(samples, 95)


class Budget:
    """Stops a benchmark loop when its time is up, so ``make bench`` stays bounded."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    @property
    def exhausted(self) -> bool:
        return time.monotonic() > self.deadline


def write_report(results: list[Result]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "results.json").write_text(
        json.dumps([asdict(r) for r in results], indent=2) + "\n"
    )
    lines = [
        "| benchmark | median | p95 | baseline median | ratio | goal | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        baseline = f"{r.baseline_median:.3f} {r.unit}" if r.baseline_median is not None else "—"
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "—"
        met = {True: "yes", False: "no", None: "—"}[r.met]
        lines.append(
            f"| {r.name} | {r.median:.3f} {r.unit} | {r.p95:.3f} {r.unit} | {baseline} "
            f"| {ratio} | {r.goal} | {met} |"
        )
    table = "\n".join(lines) + "\n"
    (RESULTS_DIR / "results.md").write_text(table)
    return RESULTS_DIR / "results.md"


def start_celery_worker(name: str, env: dict[str, str]):
    """A real ``celery worker`` process (solo pool, one task at a time) named ``name``
    on the benchmark's database and broker, with ``env`` added to the environment."""
    import subprocess
    import sys

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "dashboard",
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
            "-n",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
