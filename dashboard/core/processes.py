"""Process groups and the one-beat lock for the embedded default (``make run``).

``run_console`` starts the web server and a worker with its embedded beat, each in a
process group of its own. Stopping signals the whole group, whether or not its
leader is still alive: a SIGKILLed worker leaves its beat child running, and a beat
that survives a restart means two beats (every periodic task twice).

The beat also takes an exclusive lock on a file in ``VAR_DIR`` when it starts and
refuses to run without it, so a leftover beat and a new one can never both schedule
work. The lock is a ``flock``: the kernel drops it when the holder dies, however it
dies. It guards one machine; on the scale-out stack run exactly one ``celery beat``
(README).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

BEAT_LOCK_NAME = "celerybeat.lock"
# The open descriptor that holds the lock for as long as this process lives.
_held_lock: int | None = None


def acquire_beat_lock(path: Path) -> bool:
    """Take the beat lock at ``path`` for this process; ``False`` when another live
    process holds it. Taking it twice in one process is a no-op that succeeds."""
    global _held_lock
    if _held_lock is not None:
        return True
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _held_lock = fd
    return True


def beat_lock_holder(path: Path) -> str:
    """The pid written by the process holding the lock (for the refusal message)."""
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to ``process``'s whole group, even if the leader has exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop_groups(processes: Iterable[subprocess.Popen], *, grace: float = 10.0) -> None:
    """SIGTERM every group, wait up to ``grace`` seconds, then SIGKILL what is left.

    Each process must have been started with ``start_new_session=True`` (its pid is
    its group id)."""
    processes = list(processes)
    for process in processes:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in processes:
        # Members other than the leader (the beat of a killed worker) may remain.
        signal_group(process, signal.SIGKILL)
