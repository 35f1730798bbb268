"""``make run``: migrate, seed the demo, then run the web server, two Celery workers
(the default queue with the beat, and the interactive queue) together until Ctrl-C
stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from dashboard.core.processes import stop_groups

# gunicorn's default access line holds the Basic-auth user (%(u)s: the Octy public key
# when the console calls its own mounted sandbox) and the query string (%(r)s: the
# Commanders Act ``token`` parameter). This one logs neither: method, path, status,
# size, seconds, user agent.
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss "%(a)s"'


def console_processes(*, host: str, port: int) -> dict[str, list[str]]:
    """The command line of each process ``make run`` starts, by name.

    Two workers (#15 finding 5): ``worker`` takes the default queue (event dispatch,
    exports, syncs, alerts, sweeps) and runs the beat; ``interactive`` takes only the
    interactive queue (previews, CQL runs, checks, look-ups) with its own pool, so
    however long the default queue's backlog, what a person waits for runs at once.
    One pool consuming both queues would not do: its processes can all be busy with
    the backlog.
    """
    bin_dir = os.path.dirname(sys.executable)
    celery = [os.path.join(bin_dir, "celery"), "-A", "dashboard", "worker"]
    common = ["--loglevel", "INFO", "--without-mingle", "--without-gossip"]
    return {
        "web": [
            os.path.join(bin_dir, "gunicorn"),
            "dashboard.wsgi",
            "--bind",
            f"{host}:{port}",
            # One process, many threads: the sandboxes keep their state in memory.
            "--workers",
            "1",
            "--threads",
            "16",
            "--timeout",
            "120",
            # Longer than the pages' 1-2 s polls: with gunicorn's default 2 s a poll
            # races the server closing its idle connection and meets a reset.
            "--keep-alive",
            "10",
            "--access-logfile",
            "-",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
        ],
        "worker": [
            *celery,
            "--beat",
            "--queues",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--hostname",
            "default@%h",
            "--concurrency",
            "2",
            *common,
        ],
        "interactive": [
            *celery,
            "--queues",
            settings.INTERACTIVE_QUEUE,
            "--hostname",
            "interactive@%h",
            "--concurrency",
            "2",
            *common,
        ],
    }


class Command(BaseCommand):
    help = "Run the whole console (web, workers, beat) on the embedded default."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port, host, **options):
        url = f"http://{host}:{port}"
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", base_url=url)
        processes = console_processes(host=host, port=port)
        children = {
            name: subprocess.Popen(cmd, start_new_session=True)  # noqa: S603
            for name, cmd in processes.items()
        }

        def stop(*_):
            stop_groups(children.values())

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        try:
            self._wait_until_up(f"{url}/healthz")
            self.stdout.write(
                self.style.SUCCESS(f"\nSwitchyard is running on {url}  (Ctrl-C stops)\n")
            )
            while all(child.poll() is None for child in children.values()):
                time.sleep(0.5)
            dead = [n for n, c in children.items() if c.poll() is not None]
            self.stderr.write(f"{', '.join(dead)} stopped; stopping the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            stop()

    def _wait_until_up(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback URL
                    return
            except OSError:
                time.sleep(0.3)
