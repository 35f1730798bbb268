"""Writing call-log rows off the caller's path.

A provider call should cost what the provider costs. Inserting its ApiCall row inline
costs as much again (an ORM insert, eight index updates and a durable commit), so by
default each process hands rows to one writer thread that inserts them in batches:
under load a batch carries hundreds of rows for the price of one round trip.

What this trades, and how it is bounded:
- A row appears a few milliseconds after its call. Every unit of work waits for its
  own rows before it ends (``flush`` runs after each Celery task and each web request,
  and at exit), so pages and tasks that follow see them.
- A process killed with SIGKILL loses the rows still queued: at most one batch, which
  is the price every in-process telemetry buffer pays. The domain rows (preview,
  event, credential) never go through here and are never lost.
- The queue is bounded: when it is full the caller writes its row inline, so memory
  stays flat and nothing is dropped when the database is slower than the traffic.
- A failed batch insert is retried with backoff; a batch the database refuses (a
  row it cannot store, or still failing after the last try) is written row by row:
  the good rows go in, a refused row is written again with its texts cleaned and cut
  to its columns (and without its account if that was the problem). Only a row that
  still cannot be written is logged as dropped (counted, never with its content).

``CALL_LOG_WRITER=inline`` writes every row on the caller's path instead.

A writer made with ``on_caller_thread=True`` keeps this path (queue, batches, retries,
salvage of refused rows) but starts no thread: ``flush`` writes the queue on the
calling thread's connection, each batch under a savepoint. It exists for a caller
whose own open transaction holds rows the call rows point at, which a second
connection cannot see: a test inside pytest-django's transaction (tests/conftest.py).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import threading
import time

from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    close_old_connections,
    connection,
    transaction,
)

logger = logging.getLogger(__name__)

_WAKE = object()  # put on the queue by flush(): stop lingering, write now
_STOP = object()  # put on the queue by stop(): write what is queued, close, exit


class BackgroundCallWriter:
    def __init__(
        self,
        *,
        max_batch: int = 500,
        max_queue: int = 10_000,
        linger_seconds: float = 0.05,
        attempts: int = 4,
        on_caller_thread: bool = False,
    ):
        self.on_caller_thread = on_caller_thread
        self.max_batch = max_batch
        self.linger_seconds = linger_seconds
        self.max_queue = max_queue
        self.attempts = attempts
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unwritten = 0
        self._dropped = 0
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @property
    def dropped(self) -> int:
        """Rows given up on after every retry failed (since the process started)."""
        return self._dropped

    def submit(self, call) -> None:
        """Queue one unsaved ApiCall; written inline if the queue is full."""
        work = self._ensure_running()
        with self._lock:
            self._unwritten += 1
        try:
            work.put_nowait(call)
        except queue.Full:
            self._done(1)
            self._write_inline([call])

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every row submitted so far is written; False on timeout."""
        if self.on_caller_thread:
            self._write_queued_here()
            return True
        deadline = time.monotonic() + timeout
        if self._unwritten and self._queue is not None:
            # A full queue is being written without lingering anyway.
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_WAKE)
        with self._idle:
            while self._unwritten:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, close this writer's database connection and end its
        thread (a new submit starts another). For shutdown and for tests, whose
        database cannot be dropped while the thread holds a connection to it."""
        if self.on_caller_thread:
            return
        thread, work = self._thread, self._queue
        if thread is None or work is None or not thread.is_alive():
            return
        self.flush(timeout)
        work.put(_STOP)
        thread.join(timeout)

    def _ensure_running(self) -> queue.Queue:
        if self.on_caller_thread:
            if self._queue is None:
                self._queue = queue.Queue(maxsize=self.max_queue)
            return self._queue
        # After a fork (Celery's prefork pool, gunicorn) the child has the parent's
        # objects but not its thread: start a fresh writer there.
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                    self._queue = queue.Queue(maxsize=self.max_queue)
                    self._unwritten = 0
                    self._pid = os.getpid()
                    self._thread = threading.Thread(
                        target=self._run, name="call-log-writer", daemon=True
                    )
                    self._thread.start()
        return self._queue

    def _run(self) -> None:
        work = self._queue
        while True:
            first = work.get()
            if first is _WAKE:
                continue
            if first is _STOP:
                connection.close()
                return
            batch = [first]
            # Linger a moment so a steady trickle of calls shares one insert instead
            # of paying a commit each; a flush wakes the writer at once.
            deadline = time.monotonic() + self.linger_seconds
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = work.get(timeout=remaining) if remaining > 0 else work.get_nowait()
                except queue.Empty:
                    break
                if item is _WAKE:
                    deadline = 0.0  # take what is queued, then write
                    continue
                if item is _STOP:
                    work.put(_STOP)  # write this batch first, then stop
                    break
                batch.append(item)
            self._write_batch(batch)

    def _write_queued_here(self) -> None:
        """Write everything queued, in batches, on the calling thread."""
        work = self._queue
        while work is not None:
            batch = []
            while len(batch) < self.max_batch:
                try:
                    item = work.get_nowait()
                except queue.Empty:
                    break
                if item is not _WAKE and item is not _STOP:
                    batch.append(item)
            if not batch:
                return
            self._write_batch(batch)

    def _write_batch(self, batch: list) -> None:
        try:
            self._write_with_retries(batch)
        except Exception:  # the writer must outlive anything one batch does
            self._dropped += len(batch)
            logger.exception("call_log_rows_dropped", extra={"count": len(batch)})
        finally:
            self._done(len(batch))

    def _calls_write(self, calls: list) -> None:
        # Here, not at the top: calls.services imports this module's writer (a cycle).
        from dashboard.calls.services import calls_write

        if self.on_caller_thread:
            # The caller's transaction stays usable when the database refuses a batch:
            # only this savepoint is rolled back, and the salvage below can go on.
            with transaction.atomic():
                calls_write(calls)
        else:
            calls_write(calls)

    def _fresh_connection(self) -> None:
        # The writer thread's own connection may be closed and replaced; the caller's
        # (inside its transaction) must be left as it is.
        if not self.on_caller_thread:
            close_old_connections()

    def _drop_connection(self) -> None:
        if not self.on_caller_thread:
            connection.close()

    def _write_with_retries(self, batch: list) -> None:
        for attempt in range(self.attempts):
            try:
                self._fresh_connection()
                self._calls_write(batch)
                return
            except (IntegrityError, DataError):
                # One row the database refuses (an account its creator's transaction
                # never committed, a value it cannot store) must not sink the others.
                self._write_one_by_one(batch)
                return
            except DatabaseError:
                # A broken connection is replaced on the next try; a locked SQLite
                # file or a restarting server gets a moment.
                self._drop_connection()
                if attempt == self.attempts - 1:
                    # Still refused: perhaps by one row. Write what can be written.
                    self._fresh_connection()
                    self._write_one_by_one(batch)
                    return
                time.sleep(0.1 * 2**attempt)

    def _write_one_by_one(self, batch: list) -> None:
        for call in batch:
            if not self._write_salvaged(call):
                self._dropped += 1
                logger.error("call_log_row_dropped", extra={"operation": call.operation[:80]})

    def _write_salvaged(self, call) -> bool:
        """Write one row; if refused, again with its texts cleaned and cut to fit, then
        without its account. False when even that fails."""
        from dashboard.core.text import fit_model_texts

        for salvage in (None, fit_model_texts, _without_account):
            if salvage is not None:
                salvage(call)
            call.pk = None
            try:
                self._calls_write([call])
                return True
            except DatabaseError:
                continue
        return False

    def _write_inline(self, calls: list) -> None:
        # Here, not at the top: calls.services imports this module's writer (a cycle).
        from dashboard.calls.services import calls_write

        calls_write(calls)

    def _done(self, count: int) -> None:
        with self._idle:
            self._unwritten -= count
            if self._unwritten <= 0:
                self._unwritten = 0
                self._idle.notify_all()


def _without_account(call) -> None:
    call.account_id = None


writer = BackgroundCallWriter()


def flush_call_log(**_signal_kwargs) -> None:
    """Signal receiver: wait for this process's pending call rows (bounded)."""
    if writer._unwritten and not writer.flush():
        logger.warning("call_log_flush_timed_out")


atexit.register(flush_call_log)
