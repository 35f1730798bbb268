"""The API call log (every provider exchange, as recorded, secrets redacted) and the
error groups failed calls fold into (issue #8)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from dashboard.core.fields import staff_user
from integrations import errors


class Outcome(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"


class GroupState(models.TextChoices):
    NEW = "new", "New"
    ONGOING = "ongoing", "Ongoing"
    RESOLVED = "resolved", "Resolved"
    REGRESSED = "regressed", "Regressed"
    IGNORED = "ignored", "Ignored"


class ProblemClass(models.TextChoices):
    """What a person does about a failure: the Errors page's coarse filter."""

    AUTH = "auth", "Auth"
    RATE_LIMIT = "rate_limit", "Rate limit"
    VALIDATION = "validation", "Validation"
    PROVIDER_DOWN = "provider_down", "Provider down"
    TRANSPORT = "transport", "Transport"
    OTHER = "other", "Other"


class ErrorGroup(models.Model):
    """Every failed call with the same fingerprint: provider + operation + the
    normalized Problem (see :mod:`dashboard.calls.groups`).

    Counts live here and in :class:`ErrorGroupBucket`, so they outlive the raw-call
    prune; nothing here points at an ApiCall.
    """

    fingerprint = models.CharField(max_length=40, unique=True)
    provider = models.CharField(max_length=40)
    operation = models.CharField(max_length=80)
    problem_kind = models.CharField(max_length=30)
    problem_class = models.CharField(max_length=20, choices=ProblemClass.choices)
    # The normalized cause the fingerprint is made of ("type:https://…", "code:450",
    # "status:5xx", "kind:timeout"): shown so a reader knows why rows group together.
    problem_key = models.CharField(max_length=320)
    title = models.CharField(max_length=300)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    problem_code = models.CharField(max_length=60, blank=True)
    type_uri = models.CharField(max_length=300, blank=True)
    docs_url = models.CharField(max_length=500, blank=True)
    retryable = models.BooleanField(default=False)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.BigIntegerField(default=0)
    subjects_count = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=12, choices=GroupState.choices, default=GroupState.NEW)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    regressed_at = models.DateTimeField(null=True, blank=True)
    # Triage (issue #20, dashboard/calls/triage.py): who looks after the group, and
    # a snooze that ends by itself at a time or once ``count`` reaches a number; both
    # are compared at read time, so nothing has to wake a group up.
    assignee = staff_user()
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_until_count = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        indexes = [
            # One per filter x sort the Errors page offers (keyset: sort key, then id).
            models.Index(fields=["-last_seen", "-id"], name="errgroup_recent"),
            models.Index(fields=["-count", "-id"], name="errgroup_count"),
            models.Index(fields=["provider", "-last_seen", "-id"], name="errgroup_provider"),
            models.Index(fields=["operation", "-last_seen", "-id"], name="errgroup_operation"),
            models.Index(fields=["state", "-last_seen", "-id"], name="errgroup_state"),
            models.Index(fields=["problem_class", "-last_seen", "-id"], name="errgroup_class"),
            models.Index(fields=["first_seen"], name="errgroup_first_seen"),
            models.Index(fields=["regressed_at"], name="errgroup_regressed"),
            # The "mine" and "unassigned" filters, newest first.
            models.Index(fields=["assignee", "-last_seen", "-id"], name="errgroup_assignee"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.operation}: {self.title}"

    @cached_property
    def heading(self) -> errors.Heading:
        """Title, HTTP status and provider code, each once (integrations.errors.heading):
        the Errors page row and the group page's title and head show the same."""
        return errors.heading(
            title=self.title, kind=self.problem_kind, status=self.status, code=self.problem_code
        )

    @property
    def is_open(self) -> bool:
        return self.state in (GroupState.NEW, GroupState.ONGOING, GroupState.REGRESSED)

    def is_snoozed_at(self, now) -> bool:
        """Whether a snooze still hides the group at ``now`` (see calls/triage.py)."""
        if self.snoozed_until is not None and self.snoozed_until > now:
            return True
        return self.snoozed_until_count is not None and self.snoozed_until_count > self.count

    @property
    def is_snoozed(self) -> bool:
        return self.is_snoozed_at(timezone.now())


class CallOperation(models.Model):
    """Every operation the call log holds, with when it was last called: the call
    log's operation filter reads this short list (#17). Reading the choices from the
    log itself, even by one index probe per operation, meant a probe into every day
    partition: 30 ms of each call-log page at a month of traffic. ``calls_write``
    keeps it in the statement after its insert; ``calls_prune`` forgets operations
    last called before the retention cutoff."""

    operation = models.CharField(max_length=80, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.operation


class CallMinute(models.Model):
    """The call log's running counts per UTC minute, account and provider (#17): the
    Overview's last-hour figures sum an hour of these rows instead of reading (and
    ranking) every call of the hour, which at a busy account's pace is a hundred
    thousand rows. ``calls_write`` adds each batch in the statement after its insert.

    ``account_key`` is the account's id, 0 for calls made without one (a plain integer,
    so that the row has a key ``ON CONFLICT`` can match: NULLs never conflict)."""

    minute = models.DateTimeField()
    account_key = models.PositiveIntegerField()
    provider = models.CharField(max_length=40)
    calls = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    suspended = models.BigIntegerField(default=0)
    limited = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "account_key", "provider"], name="callminute_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.account_key} @ {self.minute:%H:%M}: {self.calls}"


class CallSecond(models.Model):
    """Calls per UTC second and provider: the busiest second of the hour, against a
    per-second rate limit. Kept a day (``calls_prune``): only the last hour is read."""

    second = models.DateTimeField()
    provider = models.CharField(max_length=40)
    calls = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["second", "provider"], name="callsecond_key")
        ]

    def __str__(self) -> str:
        return f"{self.provider} @ {self.second:%H:%M:%S}: {self.calls}"


class CallLatencyBucket(models.Model):
    """A histogram of call durations per account and ten UTC minutes
    (:mod:`dashboard.core.histogram` buckets): the Overview's p95 per account."""

    slot = models.DateTimeField()
    account_key = models.PositiveIntegerField()
    bucket = models.PositiveSmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["slot", "account_key", "bucket"], name="calllatency_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_key} @ {self.slot:%H:%M} bucket {self.bucket}: {self.count}"


class ErrorGroupBucket(models.Model):
    """Occurrences of a group in one hour (the charts; kept after the prune)."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="buckets")
    hour = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "hour"], name="errbucket_group_hour")
        ]
        indexes = [models.Index(fields=["hour"], name="errbucket_hour")]

    def __str__(self) -> str:
        return f"group {self.group_id} @ {self.hour:%Y-%m-%d %H}:00: {self.count}"


class ErrorGroupAccount(models.Model):
    """An account a group happened on, with its own first/last seen and count."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="account_rows")
    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="error_groups"
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "account"], name="errgroup_account_unique")
        ]
        indexes = [models.Index(fields=["account", "-last_seen"], name="errgroup_account_recent")]

    def __str__(self) -> str:
        return f"group {self.group_id} on account {self.account_id}"


class ErrorGroupCredential(models.Model):
    """A credential fingerprint in use when the group happened (never the secret):
    "these auth errors started right after the key rotation at 14:02"."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="credentials")
    fingerprint = models.CharField(max_length=32)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["group", "fingerprint"], name="errgroup_cred_unique")
        ]

    def __str__(self) -> str:
        return f"group {self.group_id} with key {self.fingerprint}"


class ErrorGroupSubject(models.Model):
    """A domain row (event, preview, profile look-up…) a failure was for; at most
    ``ERROR_GROUP_SUBJECT_LIMIT`` per group are kept."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="subjects")
    subject_type = models.CharField(max_length=40)
    subject_id = models.CharField(max_length=64)
    first_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "subject_type", "subject_id"], name="errgroup_subject_unique"
            )
        ]

    def __str__(self) -> str:
        return f"group {self.group_id}: {self.subject_type} {self.subject_id}"


class ErrorGroupNote(models.Model):
    """A state change someone made (resolve, ignore, reopen) and why: the audit trail."""

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="notes")
    action = models.CharField(max_length=12)
    note = models.TextField(blank=True)
    author = staff_user()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on group {self.group_id}"


class ApiCall(models.Model):
    """One request to a provider and its answer.

    Written by :func:`dashboard.calls.services.record_exchange` from the Exchange that
    ``integrations.http`` hands over; the Problem columns are the normalized error so
    failures can be filtered and grouped without parsing bodies.
    """

    account = models.ForeignKey(
        "accounts.ConnectedAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_calls",
    )
    provider = models.CharField(max_length=40)
    operation = models.CharField(max_length=80)
    credential_fingerprint = models.CharField(max_length=32, blank=True)
    method = models.CharField(max_length=10)
    url = models.TextField()
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    request_bytes = models.PositiveIntegerField(default=0)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    response_bytes = models.PositiveIntegerField(default=0)
    response_truncated = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    problem_kind = models.CharField(max_length=30, blank=True)
    problem_title = models.CharField(max_length=300, blank=True)
    problem_type_uri = models.CharField(max_length=300, blank=True)
    problem_code = models.CharField(max_length=60, blank=True)
    problem_detail = models.TextField(blank=True)
    problem_docs_url = models.CharField(max_length=500, blank=True)
    problem_retryable = models.BooleanField(default=False)
    problem = models.JSONField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The exchange's own id (integrations.http.Exchange), known before the request went
    # out: how an event attempt finds the call that carried it. The correlation id
    # below is one user action, which may make several calls.
    exchange_id = models.CharField(max_length=32, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    # The error group a failure folded into. SET_NULL and never the reverse: pruning
    # raw calls leaves groups (and their counts) alone.
    group = models.ForeignKey(
        ErrorGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,  # apicall_group_recent starts with it
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # Keyset pagination of the whole log, newest first.
            models.Index(fields=["-started_at", "-id"], name="apicall_recent"),
            models.Index(fields=["account", "-started_at", "-id"], name="apicall_account_recent"),
            models.Index(fields=["outcome", "-started_at", "-id"], name="apicall_outcome_recent"),
            models.Index(fields=["provider", "-started_at", "-id"], name="apicall_provider_recent"),
            models.Index(fields=["operation", "-started_at"], name="apicall_operation_recent"),
            models.Index(fields=["correlation_id"], name="apicall_correlation"),
            models.Index(fields=["exchange_id"], name="apicall_exchange"),
            models.Index(fields=["subject_type", "subject_id"], name="apicall_subject"),
            models.Index(fields=["credential_fingerprint", "-started_at"], name="apicall_cred"),
            # A group's latest occurrences.
            models.Index(fields=["group", "-started_at", "-id"], name="apicall_group_recent"),
            # The call log's problem filter.
            models.Index(fields=["problem_kind", "-started_at", "-id"], name="apicall_kind_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.status or '-'} {self.outcome}"

    @property
    def is_failure(self) -> bool:
        return self.outcome == Outcome.FAILED
