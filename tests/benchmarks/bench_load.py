"""Issue #9: a bounded load run. 50 concurrent staff users (marketers, support, admins)
log in and work through the main pages and actions of the console served by gunicorn
with a Celery worker, on PostgreSQL + Redis, loopback only. Goal: error rate 0; the
figures are p95 per page.

A thread per virtual user with its own ``requests.Session`` (cookies, CSRF) is enough
to keep 50 users busy on 2 cores; think time between steps (2–6 s, a person reading
the page) makes them staff, not a flood.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.benchmarks.harness import Result, percentile, summarize

USERS = int(os.environ.get("BENCH_LOAD_USERS", "50"))
DURATION_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
# Staff read a page before the next click (locust's wait_time = between(2, 6)).
THINK_SECONDS = (2.0, 6.0)
SPAWN_PER_SECOND = 2
PORT = int(os.environ.get("BENCH_LOAD_PORT", "8765"))
ID_IN_PATH = re.compile(r"/\d+/")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Pages each role opens, by URL path; {account} is a demo account id.
PAGES = {
    "marketer": ["/", "/preview/", "/events/", "/calls/errors/", "/accounts/", "/calls/"],
    "support": ["/", "/profiles/", "/events/", "/calls/errors/", "/accounts/{account}/"],
    "admin": ["/", "/accounts/", "/accounts/{account}/", "/audit/", "/calls/", "/events/"],
}
ROLE_MIX = ["marketer"] * 2 + ["support"] * 2 + ["admin"]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reasons: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, ms: float, ok: bool, reason: str = "") -> None:
        with self.lock:
            self.latencies[name].append(ms)
            if not ok:
                self.errors[name] += 1
                if len(self.reasons[name]) < 5:
                    self.reasons[name].append(reason)


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own executables
        cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def _login(session: requests.Session, base: str, username: str, password: str) -> None:
    page = session.get(f"{base}/login/", timeout=30)
    token = CSRF.search(page.text).group(1)
    answer = session.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        timeout=30,
    )
    if "/login/" in answer.url:
        raise RuntimeError(f"could not log in as {username}")


def _virtual_user(
    base: str, role: str, password: str, account_id: int, until: float, tally: Tally
) -> None:
    session = requests.Session()
    session.trust_env = False
    rng = random.Random()  # noqa: S311 - think time, not security
    started = time.perf_counter()
    try:
        _login(session, base, role, password)
        tally.add("login", (time.perf_counter() - started) * 1000, True)
    except Exception:
        tally.add("login", (time.perf_counter() - started) * 1000, False)
        return
    pages = [p.format(account=account_id) for p in PAGES[role]]
    while time.monotonic() < until:
        path = rng.choice(pages)
        started = time.perf_counter()
        try:
            answer = session.get(f"{base}{path}", timeout=30)
            ok = answer.status_code == 200 and "/login/" not in answer.url
            reason = f"HTTP {answer.status_code} {answer.url}"
        except requests.RequestException as exc:
            ok, reason = False, type(exc).__name__
        page = "GET " + ID_IN_PATH.sub("/<id>/", path)
        tally.add(page, (time.perf_counter() - started) * 1000, ok, reason)
        time.sleep(rng.uniform(*THINK_SECONDS))


def run(budget_seconds: float = 120) -> list[Result]:
    from django.conf import settings
    from django.core.management import call_command

    from dashboard.accounts.models import ConnectedAccount

    base = f"http://127.0.0.1:{PORT}"
    call_command("seed_demo", base_url=base, stdout=open(os.devnull, "w"))  # noqa: SIM115
    passwords = dict(
        line.split(" ", 1)
        for line in (settings.VAR_DIR / "demo-users.txt").read_text().splitlines()
        if " " in line
    )
    account_id = ConnectedAccount.objects.filter(is_demo=True).order_by("pk").first().pk
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    bin_dir = Path(sys.executable).parent
    logs = settings.VAR_DIR / "load-logs"
    logs.mkdir(parents=True, exist_ok=True)
    web = _start(
        [
            str(bin_dir / "gunicorn"),
            "dashboard.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--threads",
            "16",
            "--timeout",
            "60",
            # Longer than the think time, as a browser-facing proxy keeps them: with
            # gunicorn's default 2 s a user's next click races the server closing its
            # idle connection, and the client sees a reset.
            "--keep-alive",
            "10",
        ],
        env,
        logs / "gunicorn.log",
    )
    worker = _start(
        [
            str(bin_dir / "celery"),
            "-A",
            "dashboard",
            "worker",
            "--concurrency",
            "2",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "WARNING",
        ],
        env,
        logs / "worker.log",
    )
    tally = Tally()
    try:
        _wait_up(f"{base}/healthz")
        duration = min(DURATION_SECONDS, max(10.0, budget_seconds - 20))
        until = time.monotonic() + USERS / SPAWN_PER_SECOND + duration
        threads = [
            threading.Thread(
                target=_virtual_user,
                args=(
                    base,
                    ROLE_MIX[i % len(ROLE_MIX)],
                    passwords[ROLE_MIX[i % len(ROLE_MIX)]],
                    account_id,
                    until,
                    tally,
                ),
                daemon=True,
            )
            for i in range(USERS)
        ]
        for thread in threads:
            # Staff arrive over a few seconds, as locust's spawn rate does; logging in
            # is deliberately expensive (password hashing), so 50 at once would only
            # measure the hasher.
            thread.start()
            time.sleep(1 / SPAWN_PER_SECOND)
        for thread in threads:
            thread.join(timeout=duration + 60)
    finally:
        _stop(web)
        _stop(worker)
    every = [ms for samples in tally.latencies.values() for ms in samples]
    requests_made = len(every)
    errors = sum(tally.errors.values())
    median, p95 = summarize(every)
    per_page = {
        name: {
            "requests": len(samples),
            "p95_ms": round(percentile(samples, 95), 1),
            "median_ms": round(percentile(samples, 50), 1),
            "errors": tally.errors.get(name, 0),
            "error_reasons": tally.reasons.get(name, []),
        }
        for name, samples in sorted(tally.latencies.items())
    }
    return [
        Result(
            name=f"load: {USERS} staff users for {duration:.0f}s on gunicorn + worker",
            unit="ms",
            median=median,
            p95=p95,
            goal="error rate 0",
            met=errors == 0 and requests_made > 0,
            notes={
                "requests": requests_made,
                "errors": errors,
                "requests_per_second": round(requests_made / duration, 1),
                "pages": per_page,
            },
        )
    ]
