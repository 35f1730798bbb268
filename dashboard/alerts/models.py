"""Alert rules, where alerts go, the alerts raised and each delivery of one."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from dashboard.alerts.rules import KIND_CHOICES, KINDS
from dashboard.core.fields import staff_user


class AlertRule(models.Model):
    """What to watch (``kind`` + ``params``, validated by :mod:`dashboard.alerts.rules`),
    narrowed by the optional filters, and where to send what fires."""

    kind = models.CharField(max_length=30, choices=KIND_CHOICES)
    params = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    account = models.ForeignKey(
        "accounts.ConnectedAccount",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_rules",
    )
    error_kind = models.CharField(max_length=30, blank=True)
    destinations = models.ManyToManyField("Destination", related_name="rules", blank=True)
    muted = models.BooleanField(default=False)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = staff_user()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"rule {self.pk} ({self.kind})"

    def get_additional_data(self) -> dict:
        from dashboard.accounts.audit import additional_data

        data = additional_data(
            account_id=self.account_id, account_name=self.account.name if self.account else ""
        )
        data["summary"] = self.audit_summary()
        return data

    def audit_summary(self) -> str:
        """One line for the Audit page: which rule, what it watches, its state."""
        kind = KINDS.get(self.kind)
        parts = [f"Alert rule {self.pk}: {kind.label if kind else self.kind}"]
        if self.provider:
            parts.append(f"provider {self.provider}")
        if self.account_id:
            parts.append(f"account {self.account.name if self.account else self.account_id}")
        if self.error_kind:
            parts.append(f"error kind {self.error_kind}")
        if self.muted:
            parts.append("muted")
        if self.snoozed_until:
            parts.append(f"snoozed until {self.snoozed_until:%Y-%m-%d %H:%M} UTC")
        return " · ".join(parts)

    @property
    def is_snoozed(self) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > timezone.now()

    @property
    def is_active(self) -> bool:
        return not self.muted and not self.is_snoozed


class DestinationKind(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat / incident tool (apprise)"
    WEBHOOK = "webhook", "Signed JSON webhook"


class Destination(models.Model):
    """Where alerts go. The address or URL (which may carry a token) is stored only
    encrypted (``ciphertext``) and shown as ``service`` + its last four characters;
    a webhook's signing secret likewise, shown once when it is created."""

    kind = models.CharField(max_length=10, choices=DestinationKind.choices)
    # apprise's service name ("Slack", "Discord"), "Email" or "Webhook": shown, not secret.
    service = models.CharField(max_length=60)
    label = models.CharField(max_length=100, blank=True)
    ciphertext = models.TextField()
    last4 = models.CharField(max_length=4)
    signing_ciphertext = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = staff_user()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.service} …{self.last4}"

    def get_additional_data(self) -> dict:
        from dashboard.accounts.audit import additional_data

        data = additional_data(account_id=None, account_name="")
        data["summary"] = f"Alert destination {self.display} ({self.get_kind_display()})"
        return data

    @property
    def display(self) -> str:
        return self.label or f"{self.service} …{self.last4}"


class Alert(models.Model):
    """One thing that fired: a subject (a group, an account, a key) of a rule.

    ``window_start`` is the start of the throttle window for lasting conditions and
    a fixed epoch for one-off occurrences, so the unique constraint means "once per
    window" and "once ever" respectively: two evaluations can never both insert it.
    A burst of alerts from one pass is delivered as one digest (``digest``).
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    subject_key = models.CharField(max_length=120)
    window_start = models.DateTimeField()
    account = models.ForeignKey(
        "accounts.ConnectedAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    provider = models.CharField(max_length=40, blank=True)
    group_id = models.BigIntegerField(null=True, blank=True)
    sentence = models.CharField(max_length=500)
    link = models.CharField(max_length=300)
    digest = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="members"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_key", "window_start"], name="alert_once_per_window"
            )
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="alert_recent"),
            models.Index(fields=["account", "-created_at"], name="alert_account_recent"),
            models.Index(fields=["group_id", "-created_at"], name="alert_group_recent"),
        ]

    def __str__(self) -> str:
        return self.sentence

    @property
    def is_digest(self) -> bool:
        return self.subject_key.startswith("digest:")


class GroupSnooze(models.Model):
    """No alert about this error group (from any rule) until ``until``."""

    group = models.OneToOneField(
        "calls.ErrorGroup", on_delete=models.CASCADE, related_name="alert_snooze"
    )
    until = models.DateTimeField()
    created_by = staff_user()

    def __str__(self) -> str:
        return f"group {self.group_id} snoozed until {self.until:%Y-%m-%d %H:%M}"

    def get_additional_data(self) -> dict:
        from dashboard.accounts.audit import additional_data

        data = additional_data(account_id=None, account_name="")
        data["summary"] = (
            f"Alerts about error group {self.group_id}: snooze until "
            f"{self.until:%Y-%m-%d %H:%M} UTC"
        )
        return data


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    GIVEN_UP = "given_up", "Given up"


class Delivery(models.Model):
    """One alert (or digest) to one destination, and what became of it."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(
        Destination, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # What the destination answered last ("HTTP 500: upstream down"), never a secret.
    last_answer = models.CharField(max_length=500, blank=True)
    # Due then. Claiming a delivery moves it forward by the lease, so a second worker
    # (a redelivered task, the sweeper) finds it not due and leaves it alone.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "destination"], name="delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "failed"]),
                name="delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.state})"


class AttemptOutcome(models.TextChoices):
    SENT = "sent", "Sent"
    RETRYING = "retrying", "Failed, retrying"
    GIVEN_UP = "given_up", "Failed, given up"
    # The worker died (SIGKILL, OOM, a lost host) between claiming the try and
    # recording it: the destination may or may not have received it.
    INTERRUPTED = "interrupted", "Interrupted, sending again"


class DeliveryAttempt(models.Model):
    """One try of a delivery, for its history: what the destination answered and
    what happens next. ``Delivery`` keeps the current state; this keeps every step."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=12, choices=AttemptOutcome.choices)
    answer = models.CharField(max_length=500, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="delivery_try_once")
        ]

    def __str__(self) -> str:
        return f"try {self.number} of delivery {self.delivery_id} ({self.outcome})"
