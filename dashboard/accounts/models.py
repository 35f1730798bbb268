"""Connected provider accounts and their credentials."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from dashboard.accounts.audit import additional_data
from dashboard.core.fields import staff_user
from integrations.registry import get_provider, provider_choices


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    HEALTHY = "healthy", "Healthy"
    FAILING = "failing", "Failing"
    UNVERIFIABLE = "unverifiable", "Cannot be verified"


class ConnectedAccount(models.Model):
    """One account at a provider: where to reach it and how it is configured.

    ``base_url`` is the provider's root (``https://api.croct.io``); clients append the
    documented paths. ``settings`` holds the provider's non-secret settings, checked by
    the provider declaration in ``integrations``.
    """

    provider = models.CharField(max_length=40, choices=provider_choices)
    name = models.CharField(max_length=100, unique=True)
    base_url = models.CharField(max_length=500)
    settings = models.JSONField(default=dict, blank=True)
    is_enabled = models.BooleanField(default=True)
    is_demo = models.BooleanField(default=False, help_text="Seeded against a sandbox.")
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.UNKNOWN)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = staff_user()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["provider", "name"])]

    def __str__(self) -> str:
        return self.name

    def get_additional_data(self) -> dict:
        return additional_data(account_id=self.pk, account_name=self.name)

    @property
    def provider_class(self):
        return get_provider(self.provider)

    @property
    def provider_label(self) -> str:
        return self.provider_class.label

    @property
    def name_with_provider(self) -> str:
        """ "Shop (Octy)", or the name alone when it already says the provider: for
        lists that mix providers, without "Octy shop (Octy)"."""
        if self.provider_label.lower() in self.name.lower():
            return self.name
        return f"{self.name} ({self.provider_label})"


class CredentialState(models.TextChoices):
    PENDING = "pending", "Pending verification"
    ACTIVE = "active", "Active"
    PREVIOUS = "previous", "Previous (overlap window)"
    REVOKED = "revoked", "Revoked"
    FAILED = "failed", "Verification failed"


class Credential(models.Model):
    """One set of secrets for an account (a key, or Octy's key pair).

    The secrets are only ever stored encrypted (``ciphertext``); pages show the
    ``fingerprint`` and the last four characters of each secret (``hints``).
    At most one credential per account is ``active`` (a database constraint).
    """

    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.CASCADE, related_name="credentials"
    )
    state = models.CharField(
        max_length=20, choices=CredentialState.choices, default=CredentialState.PENDING
    )
    ciphertext = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=32, db_index=True)
    hints = models.JSONField(default=dict, help_text="Last four characters of each secret.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = staff_user()
    activated_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    previous_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    problem = models.JSONField(null=True, blank=True)
    overlap_hours = models.PositiveIntegerField(
        default=24, help_text="How long the key it replaces keeps working after promotion."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(state="active"),
                name="one_active_credential_per_account",
            ),
            # One rotation at a time per account; the services check first and say who
            # holds it, this is the backstop for a race they did not see.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(state="pending"),
                name="one_pending_credential_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.fingerprint} ({self.state})"

    def get_additional_data(self) -> dict:
        return additional_data(account_id=self.account_id, account_name=self.account.name)

    @property
    def in_overlap_window(self) -> bool:
        return (
            self.state == CredentialState.PREVIOUS
            and self.previous_until is not None
            and self.previous_until > timezone.now()
        )

    @property
    def hint_text(self) -> str:
        return ", ".join(f"{name} …{last4}" for name, last4 in sorted(self.hints.items()))


class CheckStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    OK = "ok", "Passed"
    FAILED = "failed", "Failed"
    UNSUPPORTED = "unsupported", "Cannot verify"


class AccountCheck(models.Model):
    """One run of the provider's verify call for an account (a "Test" click, a
    scheduled synthetic check, a credential verification)."""

    account = models.ForeignKey(ConnectedAccount, on_delete=models.CASCADE, related_name="checks")
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="checks"
    )
    status = models.CharField(max_length=20, choices=CheckStatus.choices, default="pending")
    # Claims so far; capped by services.MAX_CHECK_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = staff_user()
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    problem = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["account", "-requested_at"])]

    def __str__(self) -> str:
        return f"check {self.pk} of {self.account_id} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status not in (CheckStatus.PENDING, CheckStatus.RUNNING)
