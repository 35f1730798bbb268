"""Customer look-ups across providers, the local profile cache, sync and export jobs,
and the access log of who looked at whom."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models

from dashboard.core.fields import staff_user
from dashboard.profiles.query import query_kind_choices


class LookupRequest(models.Model):
    """One search-box submission; one :class:`LookupResult` per capable account."""

    query = models.CharField(max_length=300)
    # Email, phone, or an id kind a provider's profiles adapter declares.
    kind = models.CharField(max_length=20, choices=query_kind_choices)
    requested_by = staff_user()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"look-up {self.pk}: {self.kind} {self.query}"


class ResultStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    # Waiting for another provider's answer to give a key this provider can look up.
    WAITING = "waiting", "Waiting for a linked key"
    FOUND = "found", "Found"
    NOT_FOUND = "not_found", "Not found"
    AMBIGUOUS = "ambiguous", "Ambiguous"
    SKIPPED = "skipped", "Cannot search this kind"
    FAILED = "failed", "Failed"


OPEN_STATUSES = (ResultStatus.PENDING, ResultStatus.RUNNING, ResultStatus.WAITING)


class LookupResult(models.Model):
    """What one account answered for a look-up.

    ``profiles`` holds normalized profiles (see ``integrations.profiles``);
    ``matching`` says which key found them (``email``, or ``customer_id cust-00001
    (linked from <account>)``); ``problem`` is the Problem of a failed or ambiguous call.
    """

    request = models.ForeignKey(LookupRequest, on_delete=models.CASCADE, related_name="results")
    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=ResultStatus.choices, default=ResultStatus.PENDING
    )
    matching = models.CharField(max_length=200, blank=True)
    linked_key = models.CharField(max_length=300, blank=True)
    linked_from = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=300, blank=True)
    profiles = models.JSONField(default=list, blank=True)
    problem = models.JSONField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Times a task claimed this result; capped (services.LOOKUP_MAX_ATTEMPTS).
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"result {self.pk} of look-up {self.request_id} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status not in OPEN_STATUSES


class CachedProfile(models.Model):
    """A provider profile as last fetched, searchable by name and email.

    ``name_key`` and ``name_rev`` (the name lowercased, and with its words reversed)
    and ``email`` (lowercased) are searched by prefix as index range scans, so a search
    over hundreds of thousands of rows stays fast on SQLite and PostgreSQL alike.
    """

    # Indexed by the unique (account, profile_id) constraint.
    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    profile_id = models.CharField(max_length=100)
    customer_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200, blank=True)
    name_key = models.CharField(max_length=200, blank=True)
    name_rev = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=40, blank=True)
    segments = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["name_key", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "profile_id"], name="cached_profile_once")
        ]
        # Plain b-tree indexes (Meta.indexes, not db_index): searches are range scans,
        # so PostgreSQL's extra LIKE-pattern indexes would only slow every sync down.
        indexes = [
            models.Index(fields=["email"], name="cached_profile_email"),
            models.Index(fields=["name_key"], name="cached_profile_name"),
            models.Index(fields=["name_rev"], name="cached_profile_name_rev"),
            models.Index(fields=["account", "phone"], name="cached_profile_phone"),
            models.Index(fields=["customer_id"], name="cached_profile_customer"),
            models.Index(fields=["profile_id"], name="cached_profile_pid"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.profile_id} ({self.account_id})"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class BackgroundJob(models.Model):
    """What a sync and an export share: their state, who asked, and why one stopped."""

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.PENDING)
    cancel_requested = models.BooleanField(default=False)
    problem = models.JSONField(null=True, blank=True)
    # Claims of the current slice; capped (jobs.JOB_MAX_ATTEMPTS), reset per slice.
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = staff_user()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_done(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


class SyncJob(BackgroundJob):
    """Copying every profile of one account into the cache, page by page.

    ``cursor`` is the provider cursor of the next page to fetch; it is saved with each
    page's rows in one transaction, so a failed or cancelled job resumes exactly there.
    """

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    filters = models.JSONField(default=dict, blank=True)
    cursor = models.CharField(max_length=200, blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    profiles_synced = models.PositiveIntegerField(default=0)
    expected_total = models.PositiveIntegerField(null=True, blank=True)
    rate_limited_waits = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"sync {self.pk} of {self.account_id} ({self.status})"

    @property
    def percent(self) -> int | None:
        if not self.expected_total:
            return 100 if self.status == JobStatus.DONE else None
        if self.status == JobStatus.DONE:
            return 100
        return min(99, int(self.profiles_synced * 100 / self.expected_total))


class ExportKind(models.TextChoices):
    EVENTS = "events", "Events"
    SESSIONS = "sessions", "Sessions"
    USERS = "users", "Users"


class ExportJob(BackgroundJob):
    """A provider's data export into a JSON Lines file under ``PROFILES_EXPORT_DIR``.

    ``cursor`` and ``bytes_written`` are saved together after each page: on resume the
    file is cut back to ``bytes_written`` and fetching continues from ``cursor``, so a
    page is never written twice. ``last_time_ms`` is the newest item time written; an
    incremental export starts where the last finished one of its kind stopped.
    """

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ExportKind.choices)
    event_types = models.JSONField(default=list, blank=True)
    start_ms = models.BigIntegerField()
    end_ms = models.BigIntegerField()
    incremental = models.BooleanField(default=False)
    cursor = models.CharField(max_length=500, blank=True)
    items_written = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    bytes_written = models.BigIntegerField(default=0)
    last_time_ms = models.BigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"export {self.pk} ({self.kind}, {self.status})"

    @property
    def percent(self) -> int | None:
        """How far through the time window the export is (items come in time order)."""
        if self.status == JobStatus.DONE:
            return 100
        if self.last_time_ms is None or self.end_ms <= self.start_ms:
            return None
        done = (self.last_time_ms - self.start_ms) * 100 / (self.end_ms - self.start_ms)
        return max(0, min(99, int(done)))


class WorkKind(models.TextChoices):
    FETCH = "fetch", "Fetch the profile"
    EDIT = "edit", "Set an attribute"
    BROWSE = "browse", "List a page"


class WorkStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ProfileWork(models.Model):
    """One provider call a profile page needs (fetch, set an attribute, list a page),
    run by a task so no web request waits on the provider.

    ``outcome`` is what the page shows once done: ``{"found"}`` for a fetch, the
    adapter's write outcome for an edit, ``{"profiles", "next_cursor"}`` for a page.
    ``field_errors`` maps a form field to the sentence the provider (or its rules)
    refused it with; ``problem`` is a failure that is not about one field.
    ``correlation_id`` tags the ApiCalls the task makes, so the page can tell when the
    call log has caught up with them.
    """

    kind = models.CharField(max_length=20, choices=WorkKind.choices)
    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="+"
    )
    profile_id = models.CharField(max_length=100, blank=True)
    attribute = models.CharField(max_length=100, blank=True)
    value = models.TextField(blank=True)
    cursor = models.CharField(max_length=4000, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=WorkStatus.choices, default=WorkStatus.PENDING)
    outcome = models.JSONField(null=True, blank=True)
    field_errors = models.JSONField(default=dict, blank=True)
    problem = models.JSONField(null=True, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    # Times a task claimed this row; capped (services.PROFILE_WORK_MAX_ATTEMPTS).
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = staff_user()
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="profile_work_open")]

    def __str__(self) -> str:
        return f"profile work {self.pk}: {self.kind} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in (WorkStatus.DONE, WorkStatus.FAILED)


class AccessAction(models.TextChoices):
    SEARCH = "search", "Searched"
    VIEW = "view", "Viewed profile"
    CACHE_SEARCH = "cache_search", "Searched the cache"
    EDIT = "edit", "Edited profile"
    EXPORT = "export", "Exported data"
    DOWNLOAD = "download", "Downloaded export"


class ProfileAccess(models.Model):
    """Who looked at (or changed, or exported) which customer, and when."""

    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=20, choices=AccessAction.choices)
    subject = models.CharField(max_length=300)
    account = models.ForeignKey(
        "accounts.ConnectedAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject", "-created_at"], name="profile_access_subject")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} {self.subject}"
