"""Pacing calls to a provider below its published rate limit.

Some providers publish a per-minute limit (``PROFILES_RATE_LIMITS`` names them). A
sync pages through a whole account; without pacing it would run into 429s and spend
its time waiting on ``Retry-After``. A token bucket lets a short burst through and
then spaces the calls out evenly at the limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``rate_per_minute`` tokens per minute, at most ``burst`` saved up.

    ``acquire()`` takes one token, sleeping until one is available. ``clock`` and
    ``sleep`` are injectable so the pacing can be tested without waiting.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.interval = 60.0 / rate_per_minute
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._last) / self.interval)
        self._last = now

    def acquire(self) -> float:
        """Take a token; returns how long it slept."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            wait = (1 - self._tokens) * self.interval
            self._sleep(wait)
            self._refill(self._clock())
            self._tokens = max(0.0, self._tokens - 1)
            return wait

    def pause(self, seconds: float) -> None:
        """The provider said to wait (``Retry-After``): empty the bucket and sleep."""
        with self._lock:
            self._sleep(seconds)
            self._tokens = 0.0
            self._last = self._clock()


_buckets: dict[tuple[int, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(account_id: int, rate_per_minute: float | None, burst: int) -> TokenBucket | None:
    """The worker-wide bucket of one account (None when the rate is not limited), so two
    jobs of the same account in one worker share the budget."""
    if not rate_per_minute:
        return None
    with _buckets_lock:
        key = (account_id, float(rate_per_minute))
        if key not in _buckets:
            _buckets[key] = TokenBucket(rate_per_minute, burst=burst)
        return _buckets[key]
