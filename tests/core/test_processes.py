"""run_console stops whole process groups, and a second beat refuses to start."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.core.management.commands.run_console import ACCESS_LOG_FORMAT
from dashboard.core.processes import BEAT_LOCK_NAME, stop_groups

ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): read its state.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_stopping_ends_the_children_of_a_leader_that_was_killed():
    # A worker with its embedded beat: the leader (worker) spawns a child (beat).
    leader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, time;"
            "child = subprocess.Popen(['sleep', '60']);"
            "print(child.pid, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child_pid = int(leader.stdout.readline())
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    assert _alive(child_pid), "the child outlives its killed leader (the bug's premise)"

    stop_groups([leader], grace=1)

    assert _wait_for(lambda: not _alive(child_pid)), "the orphaned beat is still running"


def _beat(var_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "SWITCHYARD_VAR_DIR": str(var_dir)}
    # The beat schedules, it never touches the database or a real broker here.
    env.pop("CELERY_BROKER_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dashboard", "beat", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _lock_is_held(path: Path) -> bool:
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.mark.timeout(120)
def test_a_second_beat_refuses_to_start_while_the_first_runs(tmp_path):
    lock = tmp_path / BEAT_LOCK_NAME
    first = _beat(tmp_path)
    try:
        assert _wait_for(lambda: _lock_is_held(lock), timeout=60), "the first beat took no lock"

        second = _beat(tmp_path)
        output, _ = second.communicate(timeout=60)

        assert second.returncode != 0
        assert "Another beat" in output
        assert "not starting a second" in output
        assert first.poll() is None, "the first beat keeps running"
    finally:
        stop_groups([first], grace=5)
        first.communicate()
    # Once the first is gone (however it died) the lock is free for the next start.
    assert not _lock_is_held(lock)


def test_the_access_log_format_carries_no_credential_part():
    # %(u)s is the Basic-auth user (the Octy public key), %(r)s / %(q)s carry the query
    # string (the Commanders Act token), %({header}i)s could name Authorization.
    for leaky in ("%(u)s", "%(r)s", "%(q)s", "i)s"):
        assert leaky not in ACCESS_LOG_FORMAT
