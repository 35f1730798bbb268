"""Slot previews: what a visitor is served, personas, preview grids and CQL runs.

A PreviewRequest keeps what was asked (slot, version, locale, visitor context snapshot,
identity) apart from what was served (``result``, ``problem``): a re-run is a new row
that points at the one it repeats, so the stored answer never changes.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from dashboard.accounts.audit import additional_data
from dashboard.core.fields import staff_user


class IdentityMode(models.TextChoices):
    RANDOM = "random", "A new visitor (a fresh client id each run)"
    CLIENT_ID = "client_id", "A fixed client id"
    USER_ID = "user_id", "A user id (sent as a user token)"


# A persona is one visitor: anonymous (its own persistent client id) or a signed-in user
# (a user token, sent with that same client id). It is never a new visitor per run.
PERSONA_IDENTITIES = [
    (IdentityMode.CLIENT_ID.value, "An anonymous visitor (the persona's client id)"),
    (IdentityMode.USER_ID.value, "A signed-in user (a user token, with the persona's client id)"),
]
MAX_CLIENT_AGENT_LENGTH = 255


class VisitorDevice(models.Model):
    """Where a visitor browses from: X-Client-Ip / X-Client-Agent. Blank: Croct takes the
    console server's address and agent as the visitor's (croct-fetch-content)."""

    # Checked by visitors.check_device (an address that parses), kept normalised.
    client_ip = models.CharField(max_length=45, blank=True)
    client_agent = models.CharField(max_length=MAX_CLIENT_AGENT_LENGTH, blank=True)

    class Meta:
        abstract = True


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


FINISHED = (RunStatus.DONE, RunStatus.FAILED)


def new_client_id() -> str:
    """A fresh X-Client-Id (a UUID, dashed)."""
    return str(uuid.uuid4())


def poll_delay(created_at) -> str:
    """How long a pending fragment waits before asking again: quick at first (most
    previews finish in tens of milliseconds), then gentler on the server."""
    age = (timezone.now() - created_at).total_seconds() if created_at else 0
    return "60ms" if age < 1 else "250ms" if age < 5 else "1s"


class Persona(VisitorDevice):
    """A named, shared visitor preset: a Croct ``context`` plus an identity.

    ``client_id`` is the persona's X-Client-Id, drawn once at creation: every preview,
    grid cell and re-run sends it, so Croct keeps the persona in the same experiment
    variant ("a persistent identifier ... across sessions", croct-fetch-content).
    """

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=200, blank=True)
    # The Croct context as it is sent (providers/croct.md: fetch content, ``context``).
    context = models.JSONField(default=dict, blank=True)
    # PERSONA_IDENTITIES: client_id (anonymous) or user_id (identity_value is the user id).
    identity_mode = models.CharField(
        max_length=20, choices=IdentityMode.choices, default=IdentityMode.CLIENT_ID
    )
    identity_value = models.CharField(max_length=120, blank=True)
    # Any UUID form (dashed or 32 hex digits), kept as typed.
    client_id = models.CharField(max_length=36, default=new_client_id)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = staff_user()
    updated_by = staff_user()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PreviewGrid(models.Model):
    """One slot previewed for several personas x several locales (one cell each)."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="preview_grids"
    )
    slot_id = models.CharField(max_length=120)
    version = models.CharField(max_length=20, blank=True)
    include_schema = models.BooleanField(default=False)
    locales = models.JSONField(default=list)
    persona_names = models.JSONField(default=list)
    baseline = models.ForeignKey(
        "PreviewRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = staff_user()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"grid {self.pk} of {self.slot_id}"

    @property
    def poll_delay(self) -> str:
        return poll_delay(self.created_at)


class PreviewRequest(VisitorDevice):
    """One content fetch for one visitor, and what came back."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="previews"
    )
    slot_id = models.CharField(max_length=120)
    version = models.CharField(max_length=20, blank=True)
    # "" leaves preferredLocale out; "default" sends null (the slot's default locale).
    locale = models.CharField(max_length=20, blank=True)
    include_schema = models.BooleanField(default=False)
    # The preview token forces a variant; it is kept encrypted and shown only as a hint.
    preview_token_ciphertext = models.TextField(blank=True)
    preview_token_hint = models.CharField(max_length=8, blank=True)
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="previews"
    )
    persona_name = models.CharField(max_length=80, blank=True)
    context = models.JSONField(default=dict, blank=True)
    identity_mode = models.CharField(
        max_length=20, choices=IdentityMode.choices, default=IdentityMode.RANDOM
    )
    identity_value = models.CharField(max_length=120, blank=True)
    # The X-Client-Id sent: fixed before the run for a persona, a fixed id or a grid row;
    # drawn by the run for a new visitor.
    client_id = models.CharField(max_length=36, blank=True, help_text="The X-Client-Id sent.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    # Claims so far; capped by services.runs.MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    problem = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    created_by = staff_user()
    grid = models.ForeignKey(
        PreviewGrid, null=True, blank=True, on_delete=models.CASCADE, related_name="cells"
    )
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["slot_id", "-created_at"]),
            models.Index(fields=["account", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"preview {self.pk} of {self.slot_id} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in FINISHED

    @property
    def poll_delay(self) -> str:
        return poll_delay(self.created_at)

    @property
    def is_suspended(self) -> bool:
        return bool(self.problem) and self.problem.get("kind") == "suspended"

    @property
    def visitor_label(self) -> str:
        return self.persona_name or "Ad-hoc visitor"

    @property
    def locale_label(self) -> str:
        return self.locale or "(not sent)"


class CqlEvaluation(VisitorDevice):
    """One CQL query evaluated with a visitor's context (the playground)."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="cql_evaluations"
    )
    query = models.TextField()
    persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )
    persona_name = models.CharField(max_length=80, blank=True)
    context = models.JSONField(default=dict, blank=True)
    identity_mode = models.CharField(
        max_length=20, choices=IdentityMode.choices, default=IdentityMode.RANDOM
    )
    identity_value = models.CharField(max_length=120, blank=True)
    client_id = models.CharField(max_length=36, blank=True, help_text="The X-Client-Id sent.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    # Claims so far; capped by services.runs.MAX_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    problem = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    created_by = staff_user()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"cql {self.pk} ({self.status})"

    @property
    def poll_delay(self) -> str:
        return poll_delay(self.created_at)

    @property
    def is_done(self) -> bool:
        return self.status in FINISHED


class PublicShareLink(models.Model):
    """A link to one stored preview that opens without a login (#20).

    The URL carries this row's id, signed (``sharing.public_token``): nothing secret is
    stored, and the row decides whether it still opens (``expires_at``, ``revoked_at``).
    """

    preview = models.ForeignKey(
        PreviewRequest, on_delete=models.CASCADE, related_name="public_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = staff_user()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = staff_user()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"public link {self.pk} to preview {self.preview_id}"

    def get_additional_data(self) -> dict:
        # Here, not at the top: the audit module is loaded with the accounts app.
        from dashboard.accounts.audit import additional_data

        data = additional_data(
            account_id=self.preview.account_id, account_name=self.preview.account.name
        )
        data["preview_id"] = self.preview_id
        return data

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_live(self) -> bool:
        return not self.is_revoked and not self.is_expired


MAX_OPEN_AGENT_LENGTH = 255


class PublicShareOpen(models.Model):
    """One time a public link showed its result: when, from where, with what browser."""

    link = models.ForeignKey(PublicShareLink, on_delete=models.CASCADE, related_name="opens")
    opened_at = models.DateTimeField(auto_now_add=True)
    client_ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=MAX_OPEN_AGENT_LENGTH, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["link", "-opened_at"])]

    def __str__(self) -> str:
        return f"open of public link {self.link_id} at {self.opened_at:%Y-%m-%d %H:%M:%S}"


class SlotSource(models.TextChoices):
    PREVIEW = "preview", "Seen in a preview"
    STAFF = "staff", "Added by staff"
    DEMO = "demo", "The sandbox's demo catalog"


class CatalogSlot(models.Model):
    """One slot of an account's catalog: what the console has seen of it (previews; the
    documented exports name no slot) and what staff wrote about it. Croct's content API
    has no slot listing, so this is the only place a marketer can pick a slot from."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="catalog_slots"
    )
    slot_id = models.CharField(max_length=120)
    description = models.CharField(max_length=200, blank=True)
    # Known versions ("1.0", "2") and locales ("en", "pt-br"), each list short and sorted.
    versions = models.JSONField(default=list, blank=True)
    locales = models.JSONField(default=list, blank=True)
    # The ``_component`` of the last content seen ("home-hero@2"), "" when it had none.
    component = models.CharField(max_length=200, blank=True)
    # Bounded by services.catalog.MAX_CONTENT_BYTES: a larger answer keeps only a note.
    last_content = models.JSONField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_source = models.CharField(max_length=10, choices=SlotSource.choices, blank=True)
    # How the slot entered the catalog.
    added_source = models.CharField(max_length=10, choices=SlotSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = staff_user()

    class Meta:
        ordering = ["slot_id"]
        # The unique index on (account, slot_id) is also what the search and the
        # keyset pages walk.
        constraints = [
            models.UniqueConstraint(
                fields=["account", "slot_id"], name="previews_catalogslot_account_slot"
            )
        ]

    def __str__(self) -> str:
        return self.slot_id

    def get_additional_data(self) -> dict:
        return additional_data(account_id=self.account_id, account_name=self.account.name)


class LabelKind(models.TextChoices):
    EXPERIENCE = "experience", "Experience"
    AUDIENCE = "audience", "Audience"
    EXPERIMENT = "experiment", "Experiment"
    VARIANT = "variant", "Variant"


class Label(models.Model):
    """A name staff gave an experience, audience, experiment or variant id of one
    account (Croct's content API returns ids only)."""

    account = models.ForeignKey(
        "accounts.ConnectedAccount", on_delete=models.CASCADE, related_name="labels"
    )
    kind = models.CharField(max_length=12, choices=LabelKind.choices)
    target_id = models.CharField(max_length=120)
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = staff_user()
    updated_by = staff_user()

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "target_id"], name="previews_label_account_kind_id"
            )
        ]
        # labels_for looks names up by id within an account, whatever the kind.
        indexes = [models.Index(fields=["account", "target_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.target_id}: {self.name}"

    def get_additional_data(self) -> dict:
        return additional_data(account_id=self.account_id, account_name=self.account.name)
