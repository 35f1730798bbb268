"""The key-rotation lifecycle against the sandbox over real HTTP, verified in-process
(the worker path is in test_rotation_worker.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.utils import timezone

from dashboard.accounts import rotation, tasks
from dashboard.accounts.encryption import decrypt_secrets
from dashboard.accounts.models import AccountCheck, Credential, CredentialState
from dashboard.accounts.services import AccountInputError, provider_client
from dashboard.calls.models import ApiCall
from integrations.croct.sandbox import DEMO_SECRETS
from tests.accounts.conftest import NEW_KEY, OTHER_KEY, REJECTED_KEY
from tests.conftest import flush_call_log


def states(account) -> dict[str, str]:
    return {c.fingerprint: c.state for c in account.credentials.all()}


def active_key(account) -> str:
    return decrypt_secrets(account.credentials.get(state="active").ciphertext)["api_key"]


def test_a_verified_key_is_promoted_and_the_old_one_keeps_working_for_the_window(
    croct, admin, rotate_in_process
):
    old = croct.credentials.get()

    new = rotate_in_process(croct, NEW_KEY, actor=admin, overlap_hours=6)

    old.refresh_from_db()
    assert new.state == "active"
    assert new.activated_at is not None
    assert new.verified_at is not None
    assert old.state == "previous"
    assert old.previous_until == pytest.approx(new.activated_at + timedelta(hours=6), abs=1)
    assert old.ciphertext  # still usable during the window
    assert active_key(croct) == NEW_KEY
    # The verify call went to the sandbox with the new key (recorded by fingerprint).
    check = AccountCheck.objects.get(credential=new)
    assert check.status == "ok"
    flush_call_log()
    assert ApiCall.objects.filter(
        credential_fingerprint=new.fingerprint, subject_type="account_check", outcome="ok"
    ).exists()
    croct.refresh_from_db()
    assert croct.health == "healthy"


def test_tasks_use_the_key_that_is_active_when_they_run(croct, rotate_in_process):
    rotate_in_process(croct, NEW_KEY)

    client = provider_client(croct)
    client.evaluate("true", client_id=str(uuid.uuid4()))

    flush_call_log()
    call = ApiCall.objects.filter(operation__contains="evaluate").latest("pk")
    assert call.credential_fingerprint == croct.credentials.get(state="active").fingerprint


def test_a_rejected_key_fails_verification_and_the_old_key_stays_active(croct, rotate_in_process):
    old = croct.credentials.get()

    new = rotate_in_process(croct, REJECTED_KEY)

    assert new.state == "failed"
    assert new.problem["kind"] == "auth"
    assert new.problem["title"]
    old.refresh_from_db()
    assert old.state == "active"
    assert old.previous_until is None
    assert active_key(croct) == DEMO_SECRETS["api_key"]
    croct.refresh_from_db()
    assert croct.health != "failing"  # the account's own key is fine


def test_a_failed_key_can_be_discarded_and_its_ciphertext_is_wiped(croct, admin, rotate_in_process):
    new = rotate_in_process(croct, REJECTED_KEY)

    rotation.credential_discard(credential=new, actor=admin)

    new.refresh_from_db()
    assert new.state == "revoked"
    assert new.ciphertext == ""
    assert new.revoked_at
    # The account can be rotated again afterwards.
    assert rotate_in_process(croct, NEW_KEY).state == "active"


def test_a_failed_key_can_be_retried_and_passes_once_the_provider_accepts_it(
    croct, admin, sandbox, rotate_in_process, django_capture_on_commit_callbacks
):
    # The sandbox rejects this (well-formed) key at first, then accepts it.
    sandbox["croct"].app.rejected_credentials.add(NEW_KEY)
    new = rotate_in_process(croct, NEW_KEY)
    assert new.state == "failed"

    sandbox["croct"].app.rejected_credentials.clear()
    # Retry queues the verify task on commit; run the callbacks here, without a broker.
    with pytest.MonkeyPatch.context() as mp, django_capture_on_commit_callbacks(execute=True):
        mp.setattr(tasks.verify_credential, "delay", tasks.verify_credential)
        rotation.credential_retry(credential=new, actor=admin)

    new.refresh_from_db()
    assert new.state == "active"
    assert AccountCheck.objects.filter(credential=new).count() == 2


def test_rollback_within_the_window_restores_the_previous_key_and_revokes_the_new_one(
    croct, admin, rotate_in_process
):
    old = croct.credentials.get()
    new = rotate_in_process(croct, NEW_KEY)

    restored = rotation.credential_rollback(account=croct, actor=admin)

    assert restored.pk == old.pk
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.state == "active"
    assert old.previous_until is None
    assert new.state == "revoked"
    assert new.ciphertext == ""
    assert active_key(croct) == DEMO_SECRETS["api_key"]
    # The restored key is checked again at once.
    assert AccountCheck.objects.filter(credential=old, status="pending").exists()
    with pytest.raises(rotation.RotationError, match="no previous key"):
        rotation.credential_rollback(account=croct, actor=admin)


def test_after_the_window_the_periodic_task_revokes_the_old_key_and_rollback_is_refused(
    croct, admin, rotate_in_process
):
    old = croct.credentials.get()
    new = rotate_in_process(croct, NEW_KEY, overlap_hours=24)

    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert rotation.credentials_revoke_expired() == 0
        old.refresh_from_db()
        assert old.state == "previous"
        assert old.ciphertext

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=False):
        with pytest.raises(rotation.RotationError):
            rotation.credential_rollback(account=croct, actor=admin)
        assert rotation.credentials_revoke_expired() == 1
        assert rotation.credentials_revoke_expired() == 0  # idempotent

    old.refresh_from_db()
    assert old.state == "revoked"
    assert old.ciphertext == ""
    assert old.revoked_at
    new.refresh_from_db()
    assert new.state == "active"


def test_a_second_rotation_while_one_is_pending_is_refused_with_a_clear_message(croct, admin):
    first = rotation.credential_add(
        account=croct, secrets={"api_key": NEW_KEY}, actor=admin, enqueue=False
    )

    with pytest.raises(rotation.RotationConflict) as excinfo:
        rotation.credential_add(
            account=croct, secrets={"api_key": OTHER_KEY}, actor=admin, enqueue=False
        )

    message = str(excinfo.value)
    assert "in progress" in message
    assert first.fingerprint in message
    assert admin.username in message
    assert croct.credentials.filter(state="pending").count() == 1


def test_the_database_refuses_two_pending_or_two_active_keys_for_one_account(croct):
    from django.db import IntegrityError, transaction

    from dashboard.accounts.services import credential_build

    for state in ("active", "pending"):
        if state == "pending":
            credential_build(account=croct, secrets={"api_key": NEW_KEY}, state=state).save()
        with pytest.raises(IntegrityError), transaction.atomic():
            credential_build(account=croct, secrets={"api_key": OTHER_KEY}, state=state).save()


def test_a_rotation_started_elsewhere_meanwhile_makes_the_other_action_fail_cleanly(
    croct, admin, rotate_in_process
):
    pending = rotation.credential_add(
        account=croct, secrets={"api_key": NEW_KEY}, actor=admin, enqueue=False
    )
    # Another admin discards it while the verification is still running.
    rotation.credential_discard(credential=pending, actor=admin)

    check = rotation.latest_verification(pending)
    result = rotation.credential_verify_run(check_id=check.pk)

    assert result.state == "revoked"
    check.refresh_from_db()
    assert check.is_done
    assert croct.credentials.get(state="active").fingerprint != pending.fingerprint
    with pytest.raises(rotation.RotationConflict, match="only a pending or failed key"):
        rotation.credential_discard(credential=pending, actor=admin)


def test_bad_secrets_and_overlaps_are_refused_before_anything_is_saved(croct):
    with pytest.raises(AccountInputError) as excinfo:
        rotation.credential_add(account=croct, secrets={"api_key": "not-a-uuid"}, enqueue=False)
    assert "secret:api_key" in excinfo.value.errors
    with pytest.raises(AccountInputError) as excinfo:
        rotation.credential_add(
            account=croct, secrets={"api_key": NEW_KEY}, overlap_hours=10_000, enqueue=False
        )
    assert "overlap_hours" in excinfo.value.errors
    with pytest.raises(AccountInputError, match="already in use"):
        rotation.credential_add(account=croct, secrets=dict(DEMO_SECRETS), enqueue=False)
    assert croct.credentials.count() == 1


def test_rotating_twice_within_a_window_revokes_the_oldest_key_at_once(croct, rotate_in_process):
    first = croct.credentials.get()
    second = rotate_in_process(croct, NEW_KEY)
    third = rotate_in_process(croct, OTHER_KEY)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state, third.state) == ("revoked", "previous", "active")
    assert first.ciphertext == ""


def test_commanders_act_keys_need_an_explicit_confirmation_to_be_promoted(demo_account, admin):
    account = demo_account("commanders_act")
    old = account.credentials.get()

    new = rotation.credential_add(
        account=account, secrets={"source_key": "bmV3LXNvdXJjZS1rZXktMTIzNA=="}, actor=admin
    )
    assert new.state == "pending"
    assert not AccountCheck.objects.filter(credential=new).exists()  # nothing to verify with

    with pytest.raises(rotation.ConfirmationRequired, match="cannot prove"):
        rotation.credential_promote(credential=new, actor=admin)
    rotation.credential_promote(credential=new, actor=admin, confirmed=True)

    new.refresh_from_db()
    old.refresh_from_db()
    assert new.state == "active"
    assert old.state == "previous"
    account.refresh_from_db()
    assert account.health == "unverifiable"
    with pytest.raises(rotation.RotationConflict, match="not pending"):
        rotation.credential_promote(credential=new, actor=admin, confirmed=True)


def test_a_verifiable_key_cannot_be_promoted_by_hand(croct, admin):
    pending = rotation.credential_add(
        account=croct, secrets={"api_key": NEW_KEY}, actor=admin, enqueue=False
    )
    with pytest.raises(rotation.RotationError, match="verification passes"):
        rotation.credential_promote(credential=pending, actor=admin, confirmed=True)
    pending.refresh_from_db()
    assert pending.state == "pending"


def test_octy_rotates_a_key_pair(demo_account, rotate_in_process, admin):
    account = demo_account("octy")
    new = rotation.credential_add(
        account=account,
        secrets={"public_key": "pk_live_new-1", "secret_key": "sk_live_new-2"},
        actor=admin,
        enqueue=False,
    )
    rotation.credential_verify_run(check_id=rotation.latest_verification(new).pk)
    new.refresh_from_db()
    assert new.state == "active"
    assert set(new.hints) == {"public_key", "secret_key"}


def test_every_lifecycle_step_is_audited_with_who_did_it_and_never_the_secret(
    croct, admin, rotate_in_process
):
    LogEntry.objects.all().delete()
    rotate_in_process(croct, NEW_KEY, actor=admin)
    failed = rotate_in_process(croct, REJECTED_KEY, actor=admin)
    rotation.credential_discard(credential=failed, actor=admin)
    rotation.credential_rollback(account=croct, actor=admin)

    entries = list(LogEntry.objects.order_by("pk"))
    actions = [e.additional_data.get("action") for e in entries]
    for step in ("add_key", "verify", "promote", "verify_failed", "discard", "rollback"):
        assert step in actions, step
    for entry in entries:
        assert entry.additional_data["account_id"] == croct.pk
        assert entry.additional_data["account"] == croct.name
        assert entry.actor_id == admin.pk or entry.additional_data["by"].startswith("task ")
        text = str(entry.changes) + str(entry.additional_data) + entry.object_repr
        for secret in (NEW_KEY, REJECTED_KEY, DEMO_SECRETS["api_key"]):
            assert secret not in text
        assert "ciphertext" not in (entry.changes or {})
    by_action = {e.additional_data["action"]: e for e in entries}
    assert by_action["add_key"].actor_id == admin.pk
    assert by_action["verify"].additional_data["by"] == "task accounts.verify_credential"
    assert by_action["promote"].changes["state"] == ["pending", "active"]


def test_the_periodic_revoke_is_audited_as_the_task(croct, rotate_in_process):
    old = croct.credentials.get()
    rotate_in_process(croct, NEW_KEY, overlap_hours=1)
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        rotation.credentials_revoke_expired()
    entry = LogEntry.objects.filter(additional_data__action="revoke").get()
    assert entry.object_pk == str(old.pk)
    assert entry.actor is None
    assert entry.additional_data["by"] == "task accounts.revoke_expired_credentials"


def test_account_changes_are_audited_with_their_action(croct, admin):
    from dashboard.accounts.services import account_set_enabled, account_update

    account_update(
        account=croct,
        name="Croct renamed",
        base_url=croct.base_url,
        settings=croct.settings,
        actor=admin,
    )
    account_set_enabled(account=croct, enabled=False, actor=admin)

    actions = list(
        LogEntry.objects.filter(additional_data__account_id=croct.pk)
        .order_by("pk")
        .values_list("additional_data__action", flat=True)
    )
    assert actions[:2] == ["connect", "connect"]  # the account and its first key
    assert actions[-2:] == ["edit", "disable"]
    assert LogEntry.objects.filter(additional_data__action="edit").get().actor == admin


def test_credential_states_only_move_along_the_lifecycle(croct, rotate_in_process):
    new = rotate_in_process(croct, NEW_KEY)
    seen = set(Credential.objects.values_list("state", flat=True))
    assert seen <= set(CredentialState.values)
    assert new.state == "active"
