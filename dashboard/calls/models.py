"""The API call log: every provider exchange, as recorded (secrets redacted)."""

from __future__ import annotations

from django.db import models


class Outcome(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    SUSPENDED = "suspended", "Suspended"


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
    correlation_id = models.CharField(max_length=64, blank=True)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)

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
            models.Index(fields=["subject_type", "subject_id"], name="apicall_subject"),
            models.Index(fields=["credential_fingerprint", "-started_at"], name="apicall_cred"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.status or '-'} {self.outcome}"

    @property
    def is_failure(self) -> bool:
        return self.outcome == Outcome.FAILED
