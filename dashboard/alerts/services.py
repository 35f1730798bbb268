"""Managing alert rules, destinations and snoozes; every change audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dashboard.accounts.audit import audit_action
from dashboard.accounts.encryption import decrypt_secrets, encrypt_secrets
from dashboard.accounts.models import ConnectedAccount
from dashboard.alerts import transport
from dashboard.alerts.models import AlertRule, Destination, GroupSnooze
from dashboard.alerts.rules import KINDS, RuleParamsError, clean_params
from dashboard.calls.models import ErrorGroup
from integrations.errors import KIND_LABELS
from integrations.registry import provider_choices


class AlertInputError(ValueError):
    """Input that cannot be saved; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class NewDestination:
    destination: Destination
    # The generic webhook's signing secret: returned here once, never shown again.
    signing_secret: str = ""


# --- destinations -----------------------------------------------------------------------
# Bidirectional overrides and isolates (and the BOM) make a label read differently
# from what it holds ("\u202eevil" shows as "live"): a label is shown, never kept so.
_INVISIBLE_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0xFEFF]
)


def _plain_label(label: str) -> str:
    return " ".join((label or "").translate(_INVISIBLE_CONTROLS).split())[:100]


def destination_create(*, target: str, label: str = "", actor=None, by: str = "") -> NewDestination:
    """Store where alerts go, encrypted. Raises :class:`AlertInputError`."""
    try:
        parsed = transport.classify(target)
    except transport.DestinationInvalid as exc:
        raise AlertInputError({"target": str(exc)}) from None
    signing_secret = "whsec_" + secrets.token_urlsafe(32) if parsed.kind == "webhook" else ""
    with audit_action("alert_destination_add", actor=actor, by=by):
        destination = Destination.objects.create(
            kind=parsed.kind,
            service=parsed.service,
            label=_plain_label(label),
            ciphertext=encrypt_secrets({"target": parsed.value}),
            last4=transport.last4(parsed.value),
            signing_ciphertext=encrypt_secrets({"secret": signing_secret})
            if signing_secret
            else "",
            created_by=actor if getattr(actor, "pk", None) else None,
        )
    return NewDestination(destination, signing_secret)


def destination_find_or_create(*, target: str, actor=None, by: str = "") -> NewDestination:
    """The destination already stored for ``target`` (compared decrypted), or a new one."""
    try:
        value = transport.classify(target).value
    except transport.DestinationInvalid as exc:
        raise AlertInputError({"target": str(exc)}) from None
    for destination in Destination.objects.filter(last4=transport.last4(value)):
        if destination_target(destination).value == value:
            return NewDestination(destination)
    return destination_create(target=target, actor=actor, by=by)


def destination_target(destination: Destination) -> transport.Target:
    value = decrypt_secrets(destination.ciphertext)["target"]
    return transport.Target(destination.kind, destination.service, value)


def destination_signing_secret(destination: Destination) -> str:
    if not destination.signing_ciphertext:
        return ""
    return decrypt_secrets(destination.signing_ciphertext)["secret"]


def destination_remove(*, destination: Destination, actor=None, by: str = "") -> None:
    with audit_action("alert_destination_remove", actor=actor, by=by):
        destination.delete()


def destination_test(*, destination: Destination) -> str:
    """Send a test message now and say in one sentence what happened."""
    message = transport.Message(
        subject="Switchyard test alert",
        body="This is a test from Switchyard: alerts sent here arrive.",
        payload={"test": True, "sentence": "This is a test from Switchyard."},
    )
    outcome = transport.send(
        destination_target(destination),
        message,
        signing_secret=destination_signing_secret(destination),
    )
    if outcome.ok:
        return f"Sent: {destination.display} answered “{outcome.answer}”."
    return f"Not sent: {destination.display} answered “{outcome.answer}”."


# --- rules ------------------------------------------------------------------------------
def _clean_filters(kind: str, *, provider: str, account, error_kind: str) -> dict:
    errors: dict[str, str] = {}
    allowed = KINDS[kind].filters
    if provider and provider not in dict(provider_choices()):
        errors["provider"] = f"unknown provider {provider!r}"
    if error_kind and "error_kind" not in allowed:
        errors["error_kind"] = f"{kind} rules cannot be filtered by error kind"
    elif error_kind and error_kind not in KIND_LABELS:
        errors["error_kind"] = f"unknown error kind {error_kind!r}"
    if isinstance(account, str) and account:
        found = ConnectedAccount.objects.filter(name=account).first()
        if found is None and account.isdigit():
            found = ConnectedAccount.objects.filter(pk=int(account)).first()
        if found is None:
            errors["account"] = f"no account {account!r}"
        account = found
    if errors:
        raise AlertInputError(errors)
    return {"provider": provider or "", "account": account or None, "error_kind": error_kind or ""}


def rule_add(
    *,
    kind: str,
    destinations: list[Destination],
    params: dict | None = None,
    provider: str = "",
    account: ConnectedAccount | str | None = None,
    error_kind: str = "",
    actor=None,
    by: str = "",
) -> AlertRule:
    """A new rule sending to ``destinations``. Raises :class:`AlertInputError`."""
    try:
        cleaned = clean_params(kind, params)
    except RuleParamsError as exc:
        raise AlertInputError(exc.errors) from None
    filters = _clean_filters(kind, provider=provider, account=account, error_kind=error_kind)
    if not destinations:
        raise AlertInputError({"destination": "a rule needs at least one destination"})
    with transaction.atomic(), audit_action("alert_rule_add", actor=actor, by=by):
        rule = AlertRule.objects.create(
            kind=kind,
            params=cleaned,
            created_by=actor if getattr(actor, "pk", None) else None,
            **filters,
        )
        rule.destinations.set(destinations)
    return rule


def rule_remove(*, rule: AlertRule, actor=None, by: str = "") -> None:
    with audit_action("alert_rule_remove", actor=actor, by=by):
        rule.delete()


def rule_set_muted(*, rule: AlertRule, muted: bool, actor=None, by: str = "") -> AlertRule:
    with audit_action("alert_rule_mute" if muted else "alert_rule_unmute", actor=actor, by=by):
        rule.muted = muted
        rule.save(update_fields=["muted"])
    return rule


def rule_snooze(*, rule: AlertRule, until: datetime | None, actor=None, by: str = "") -> AlertRule:
    """Snooze until ``until`` (None or a past time: wake it up)."""
    if until is not None and until <= timezone.now():
        until = None
    with audit_action("alert_rule_snooze" if until else "alert_rule_wake", actor=actor, by=by):
        rule.snoozed_until = until
        rule.save(update_fields=["snoozed_until"])
    return rule


def group_snooze(*, group: ErrorGroup, until: datetime | None, actor=None, by: str = "") -> None:
    """No alert about ``group`` from any rule until ``until`` (None: wake it up)."""
    with audit_action("alert_group_snooze" if until else "alert_group_wake", actor=actor, by=by):
        if until is None or until <= timezone.now():
            GroupSnooze.objects.filter(group=group).delete()
            return
        GroupSnooze.objects.update_or_create(
            group=group,
            defaults={"until": until, "created_by": actor if getattr(actor, "pk", None) else None},
        )


def destination_secrets_reencrypt() -> dict:
    """Move every destination's encrypted target and signing secret to the newest key
    in FIELD_ENCRYPTION_KEYS. Returns the counts of :func:`reencrypt_rows`."""
    from dashboard.accounts.encryption import reencrypt, reencrypt_rows

    def rewrite(row: Destination) -> dict:
        values = {"ciphertext": reencrypt(row.ciphertext)}
        if row.signing_ciphertext:
            values["signing_ciphertext"] = reencrypt(row.signing_ciphertext)
        return values

    return reencrypt_rows(Destination.objects.all(), rewrite)
