"""The outbox: every event the console sends, its attempts, and replays."""

from __future__ import annotations

import json

from django.db import models

from dashboard.core.fields import staff_user


class EventStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    DEAD = "dead", "Dead (retries exhausted)"
    DUPLICATE = "duplicate", "Duplicate"
    # The provider may or may not have applied it (an ambiguous answer to the write):
    # never resent by the dispatcher; a person checks, then replays or discards it.
    HELD = "held", "Held: check at the provider"
    # A held event a person settled without resending (who and when are on the row).
    DISCARDED = "discarded", "Discarded"


# Statuses the "failures" view and replay care about.
FAILURE_STATUSES = (EventStatus.FAILED, EventStatus.DEAD, EventStatus.HELD)


class OutboundEvent(models.Model):
    """One event as it will be sent, and what became of it.

    ``body`` is the exact JSON the provider receives (for a provider that batches,
    the event object that also goes, byte for byte, inside a batch); it is written
    once at creation, so a retry re-sends the same bytes. ``idempotency_key`` is fixed
    at creation too (the provider's own event id where it has one).
    """

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="outbound_events"
    )
    provider = models.CharField(max_length=40)
    event_type = models.CharField(max_length=100)
    body = models.TextField()
    # Provider-specific fields sent outside the body (a header value, say).
    envelope = models.JSONField(default=dict, blank=True)
    size_bytes = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=100)
    user_id = models.CharField(max_length=200, blank=True)
    identifiers = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=EventStatus.choices, default=EventStatus.QUEUED
    )
    # Tries in the current round (a replay starts a new round) and overall.
    attempt_count = models.PositiveSmallIntegerField(default=0)
    total_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    problem = models.JSONField(null=True, blank=True)
    provider_event_id = models.CharField(max_length=100, blank=True)
    converted_from_v1 = models.BooleanField(default=False)
    # What the conversion moved: [[from, to], ...] (PreparedEvent.moved).
    moved = models.JSONField(default=list, blank=True)
    current_replay = models.ForeignKey(
        "Replay", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = staff_user()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    discarded_by = staff_user()
    discarded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "idempotency_key"], name="event_key"),
            # Keyset pagination of the inspector, newest first.
            models.Index(fields=["-created_at", "-id"], name="event_recent"),
            # The dispatcher's "what is due" scan and the sweeper's "whose lease ran out":
            # partial, so a delivered event (almost all of them) costs these no entry.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="queued"),
                name="event_due",
            ),
            models.Index(
                fields=["claimed_until"], condition=models.Q(status="sending"), name="event_lease"
            ),
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(status__in=["failed", "dead", "held"]),
                name="event_failures_recent",
            ),
            models.Index(fields=["account", "-created_at"], name="event_account_recent"),
            models.Index(fields=["user_id", "-created_at"], name="event_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.account_id} ({self.status})"

    @property
    def payload(self):
        return json.loads(self.body)

    @property
    def is_final(self) -> bool:
        return self.status not in (EventStatus.QUEUED, EventStatus.SENDING)

    @property
    def is_failure(self) -> bool:
        return self.status in FAILURE_STATUSES

    @property
    def is_held(self) -> bool:
        return self.status == EventStatus.HELD

    @property
    def delivery_ms(self) -> float | None:
        """Milliseconds from queueing to delivery."""
        if self.delivered_at is None:
            return None
        return (self.delivered_at - self.created_at).total_seconds() * 1000


class AttemptOutcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    RETRY = "retry", "Failed, will retry"
    FAILED = "failed", "Failed (permanent)"
    DEAD = "dead", "Failed, retries exhausted"
    HELD = "held", "Outcome unknown, held for a person"
    LEASE_EXPIRED = "lease_expired", "Worker lost, re-queued"


class EventAttempt(models.Model):
    """One try at delivering an event, with the exchange that carried it (a batch call
    carries many events)."""

    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    batch_size = models.PositiveIntegerField(default=1)
    # The id of the exchange that carried this attempt (ApiCall.exchange_id), known
    # when the request ended; its ApiCall row is written a moment later by the
    # call-log writer, so readers join on it and say so while the row is not there
    # yet. Not a foreign key: the call log is partitioned by time on PostgreSQL and
    # pruned by whole days, so a call may also be gone.
    exchange_id = models.CharField(max_length=32, blank=True)
    problem = models.JSONField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    replay = models.ForeignKey(
        "Replay", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["event_id", "number", "id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome}"


class ReplayStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Replay(models.Model):
    """Re-sending failed/dead events: one, or every one matching a filter."""

    filters = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=12, choices=ReplayStatus.choices, default=ReplayStatus.RUNNING
    )
    # The originals' provider accounts: {"<name>": count}, as the dry run showed them.
    accounts = models.JSONField(default=dict, blank=True)
    requested_by = staff_user()
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"replay {self.pk} {self.done}/{self.total} {self.status}"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100

    @property
    def is_done(self) -> bool:
        return self.status != ReplayStatus.RUNNING


class ReplayItem(models.Model):
    """One event in a replay. The replay re-queues the original event itself, so its
    new attempts sit in the same timeline as the first ones (marked with the replay)."""

    replay = models.ForeignKey(Replay, on_delete=models.CASCADE, related_name="items")
    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="+")
    processed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["replay", "event"], name="replayitem_unique")
        ]

    def __str__(self) -> str:
        return f"replay {self.replay_id}: event {self.event_id}"


class DispatchRequest(models.Model):
    """The one dispatcher message an account has waiting, if any (#15 finding 5).

    Every composer POST used to send its own dispatch message: a burst of 3,600 events
    left 2,979 no-op messages in front of everybody's previews. Asking for a dispatcher
    now first *claims* this row (one conditional UPDATE: free, or waiting for a later
    run); only the request that claims it sends a message, under ``token``. The
    dispatcher frees the row when it starts, *before* it claims any event, so an event
    queued later either is claimed by that run or claims the row again and sends a new
    message. A message whose token no longer matches was superseded and does nothing.
    A row left claimed by a lost message is re-claimed by the sweeper.
    """

    account = models.OneToOneField(
        "accounts.ConnectedAccount",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    # "" when no message is waiting; else the token the waiting message carries.
    token = models.CharField(max_length=32, blank=True)
    # When the waiting message runs (now, or a retry's countdown later).
    run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"dispatch request of account {self.account_id}"


class EventHourCount(models.Model):
    """How many of an account's events created in one UTC hour are in each status
    (#17): the Overview's delivery figures, kept as the outbox writes (a status change
    moves one from its old status to its new one, in the same statement or
    transaction), so the page sums a day of these rows instead of counting events.

    ``status`` is the event's status, with ``sending`` kept as ``queued`` (a claim is
    not a change the Overview shows, so claiming writes nothing here)."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    status = models.CharField(max_length=12)
    # Signed: a move is written as -1 / +1 and a row never goes below zero in a
    # consistent database, but a CHECK would turn a bookkeeping slip into a failed send.
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "hour", "status"], name="eventhour_account_hour_status"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="eventhour_hour")]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.hour:%Y-%m-%d %H}:00 {self.status}: {self.count}"


class EventLatencyBucket(models.Model):
    """A histogram of delivery latency (queued → delivered) of an account's events
    created in one UTC hour: ``bucket`` is ``counters.latency_bucket(ms)``, eight
    buckets per doubling. The Overview's p95 is read from these rows in SQL, at a cost
    that depends on accounts × hours × buckets, never on how many events there are."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    bucket = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "hour", "bucket"], name="eventlatency_account_hour_bucket"
            )
        ]
        indexes = [models.Index(fields=["hour"], name="eventlatency_hour")]

    def __str__(self) -> str:
        return f"{self.account_id} @ {self.hour:%Y-%m-%d %H}:00 bucket {self.bucket}: {self.count}"


class EventType(models.Model):
    """An event type an account has queued (#17): the inspector's type filter reads
    this short list instead of a DISTINCT over every event ever stored."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "event_type"], name="eventtype_unique")
        ]
        indexes = [models.Index(fields=["event_type"], name="eventtype_name")]

    def __str__(self) -> str:
        return f"{self.event_type} ({self.account_id})"


class DeliveryPace(models.Model):
    """How fast an account's events may go out, shared by every worker (#17).

    ``next_free_at`` is the first send slot nobody has reserved yet, in seconds since
    the epoch (a float: the one atomic UPDATE that reserves slots does arithmetic on
    it the same way on SQLite and PostgreSQL; see ``events/pacing.py``). The override
    fields are this account's own limits; null keeps the provider's default from
    ``EVENTS_RATE_LIMITS`` / ``EVENTS_SEND_CONCURRENCY``. Kept on the events side:
    the pace is about delivering events, and ``accounts`` knows no feature.
    """

    account = models.OneToOneField(
        "accounts.ConnectedAccount",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    next_free_at = models.FloatField(default=0.0)
    # Requests per second this account may send (0: unpaced); null: the default.
    requests_per_second = models.FloatField(null=True, blank=True)
    # Requests in flight at once for this account; null: the default.
    concurrency = models.PositiveSmallIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"delivery pace of account {self.account_id}"

    def get_additional_data(self) -> dict:
        # Here, not at the top: the audit module is loaded with the accounts app.
        from dashboard.accounts.audit import additional_data

        return additional_data(account_id=self.account_id, account_name=self.account.name)
