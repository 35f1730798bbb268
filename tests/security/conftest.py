"""Shared objects for the security tests: one row of every kind an URL can name, plus
rows belonging to *another* parent (another account, another grid) for the nested-id
checks, and a helper that builds any project URL from that world."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import resolve, reverse
from django.utils import timezone


# --- which URLs the role matrices POST to --------------------------------------------
def matrix_post_names() -> set[str]:
    """Url names that some role matrix checks with a POST."""
    from tests.accounts import test_rotation_permissions as rotation
    from tests.calls import test_group_permissions as calls
    from tests.core import test_permissions as core
    from tests.events import test_permissions as events
    from tests.previews import test_permissions as previews
    from tests.profiles import test_permissions as profiles
    from tests.team import test_permissions as team

    names = {row[0] for row in core.POST_MATRIX}
    names |= {row[0] for row in rotation.POST_MATRIX}
    names |= {row[0] for row in calls.POST_MATRIX}
    names |= {row[0] for row in (*previews.POST_MATRIX, *previews.READ_POST_MATRIX)}
    names |= {row[0] for row in team.POST_MATRIX}
    names |= {row[1] for row in events.matrix(1, 1) if row[0] == "post"}
    fake = {key: SimpleNamespace(pk=1) for key in profiles.OBJECT_KEYS}
    names |= {resolve(url).view_name for method, url, _ in profiles._urls(fake) if method == "post"}
    return names


@pytest.fixture
def world(db, demo_account, admin):
    """One object of every kind, on sandbox accounts, plus others' objects."""
    from allauth.usersessions.models import UserSession

    from dashboard.accounts.models import AccountCheck
    from dashboard.accounts.services import credential_build
    from dashboard.calls.models import ApiCall, ErrorGroup
    from dashboard.events.models import EventStatus, OutboundEvent, Replay
    from dashboard.events.outbox import event_queue
    from dashboard.previews import sharing
    from dashboard.previews.models import (
        CatalogSlot,
        CqlEvaluation,
        Label,
        Persona,
        PreviewGrid,
        PreviewRequest,
        PublicShareLink,
    )
    from dashboard.profiles.cache import cache_upsert
    from dashboard.profiles.models import (
        ExportJob,
        LookupRequest,
        LookupResult,
        ProfileWork,
        SyncJob,
    )
    from dashboard.team.services import staff_invite
    from tests.calls.conftest import croct_problem, record
    from tests.conftest import enrol_totp, make_user
    from tests.events.conftest import ca_event

    croct = demo_account("croct")
    octy = demo_account("octy")
    ca = demo_account("commanders_act")

    check = AccountCheck.objects.create(account=croct, status="ok")
    other_check = AccountCheck.objects.create(account=octy, status="ok")
    credential = credential_build(
        account=croct, secrets={"api_key": "c0ffee00-1234-4abc-8def-5ec7e7ca0042"}, state="failed"
    )
    credential.save()
    other_credential = credential_build(
        account=octy,
        secrets={"public_key": "pk_other_account_1", "secret_key": "sk_other_account_1"},
        state="failed",
    )
    other_credential.save()

    record(croct_problem(401, "authentication/unknown-api-key"), account=croct)
    group = ErrorGroup.objects.get()
    call = ApiCall.objects.order_by("id").first()

    persona = Persona.objects.create(name="World persona")
    grid = PreviewGrid.objects.create(account=croct, slot_id="home-hero", locales=["en"])
    other_grid = PreviewGrid.objects.create(account=croct, slot_id="home-hero", locales=["en"])
    preview = PreviewRequest.objects.create(
        account=croct, slot_id="home-hero", status="done", result={"content": {}}, grid=grid
    )
    other_cell = PreviewRequest.objects.create(
        account=croct, slot_id="home-hero", status="done", result={}, grid=other_grid
    )
    evaluation = CqlEvaluation.objects.create(account=croct, query="true", status="done")
    public_link = PublicShareLink.objects.create(
        preview=preview, expires_at=timezone.now() + timedelta(days=1)
    )
    catalog_slot = CatalogSlot.objects.create(
        account=croct, slot_id="home-hero", added_source="staff"
    )
    label = Label.objects.create(account=croct, kind="variant", target_id="v-world", name="B")

    event = event_queue(account=ca, payload=ca_event(user="caid-x"), dispatch=False)
    OutboundEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED)
    replay = Replay.objects.create(filters={}, total=0)

    lookup = LookupRequest.objects.create(query="cust-00001", kind="octy_id")
    cache_upsert(
        account=octy,
        profiles=[{"profile_id": "profile_cached", "name": "Ada", "email": "ada@example.com"}],
        fetched_at=timezone.now(),
    )
    lookup_result = LookupResult.objects.create(request=lookup, account=octy, status="failed")
    # The work rows a profile page polls (#16): one of each kind, already answered.
    profile_work = {
        kind: ProfileWork.objects.create(
            kind=kind, account=octy, profile_id="profile_cached", status="done", outcome={}
        )
        for kind in ("fetch", "edit", "browse")
    }
    sync = SyncJob.objects.create(account=octy, status="failed")
    export = ExportJob.objects.create(
        account=croct, kind="events", start_ms=0, end_ms=1, status="failed", file_name="x.jsonl"
    )

    # The team URLs act on someone other than the signed-in admin: a POST-everything
    # loop must not deactivate the admin or reset their own second factor.
    teammate = make_user("marketer", "world-teammate")
    enrol_totp(teammate)
    teammate_session = UserSession.objects.create(
        user=teammate, ip="127.0.0.1", session_key="w" * 32, user_agent="Teammate browser"
    )
    invited = staff_invite(
        username="world-invitee", email="wi@example.com", role="support", base_url=""
    )
    return SimpleNamespace(
        croct=croct,
        octy=octy,
        ca=ca,
        check=check,
        other_check=other_check,
        credential=credential,
        other_credential=other_credential,
        group=group,
        call=call,
        persona=persona,
        catalog_slot=catalog_slot,
        label=label,
        grid=grid,
        other_grid=other_grid,
        preview=preview,
        other_cell=other_cell,
        evaluation=evaluation,
        token=sharing.share_token(preview.pk),
        public_link=public_link,
        public_token=sharing.public_token(public_link.pk),
        event=event,
        replay=replay,
        lookup=lookup,
        lookup_result=lookup_result,
        profile_work=profile_work,
        sync=sync,
        export=export,
        profile_id="profile_cached",
        teammate=teammate,
        teammate_session=teammate_session,
        invite_token=invited.link.rstrip("/").rsplit("/", 1)[1],
    )


def url_kwargs(name: str, w) -> dict:
    """The kwargs to reverse ``name`` against the world's objects."""
    app, _, view = name.rpartition(":")
    if app == "accounts":
        if view == "connect_provider":
            return {"provider": "croct"}
        if view == "check":
            return {"pk": w.croct.pk, "check_pk": w.check.pk}
        if view in ("rotation_status", "promote", "retry", "discard"):
            return {"pk": w.croct.pk, "credential_pk": w.credential.pk}
        if view in ("list", "connect"):
            return {}
        return {"pk": w.croct.pk}
    if app == "calls":
        if view.startswith("group_") or view == "group":
            return {"pk": w.group.pk}
        return {"pk": w.call.pk} if view == "detail" else {}
    if app == "previews":
        by_view = {
            "detail": w.preview.pk,
            "result": w.preview.pk,
            "rerun": w.preview.pk,
            "share": w.preview.pk,
            "persona_edit": w.persona.pk,
            "persona_delete": w.persona.pk,
            "grid": w.grid.pk,
            "grid_cells": w.grid.pk,
            "grid_baseline": w.grid.pk,
            "cql_result": w.evaluation.pk,
            "catalog_edit": w.catalog_slot.pk,
            "catalog_delete": w.catalog_slot.pk,
            "label_delete": w.label.pk,
        }
        if view == "shared":
            return {"token": w.token}
        if view == "public":
            return {"token": w.public_token}
        if view == "public_link_create":
            return {"pk": w.preview.pk}
        if view == "public_link_revoke":
            return {"pk": w.preview.pk, "link_pk": w.public_link.pk}
        return {"pk": by_view[view]} if view in by_view else {}
    if app == "events":
        if view in ("replay_detail", "replay_cancel"):
            return {"pk": w.replay.pk}
        if view == "pace_edit":
            return {"pk": w.ca.pk}
        return {"pk": w.event.pk} if view in ("detail", "discard") else {}
    if app == "profiles":
        if view in ("profile", "profile_refresh", "profile_edit"):
            return {"account_pk": w.octy.pk, "profile_id": w.profile_id}
        if view in ("browse", "sync_start"):
            return {"account_pk": w.octy.pk}
        if view == "lookup":
            return {"pk": w.lookup.pk}
        if view == "lookup_retry":
            return {"pk": w.lookup_result.pk}
        work_kind = {
            "profile_arrival": "fetch",
            "profile_status": "fetch",
            "profile_calls": "fetch",
            "profile_edit_result": "edit",
            "browse_result": "browse",
        }
        if view in work_kind:
            return {"pk": w.profile_work[work_kind[view]].pk}
        if view == "sync_job":
            return {"pk": w.sync.pk}
        if view == "sync_control":
            return {"pk": w.sync.pk, "action": "cancel"}
        if view in ("export_job", "export_download"):
            return {"pk": w.export.pk}
        if view == "export_control":
            return {"pk": w.export.pk, "action": "cancel"}
        return {}
    if app == "team":
        if view in ("role", "deactivate", "reactivate", "mfa_reset"):
            return {"pk": w.teammate.pk}
        if view == "session_end":
            return {"pk": w.teammate_session.pk}
        if view == "accept":
            return {"token": w.invite_token}
        return {}
    return {}


def team_snapshot():
    """What a team POST can change: who is active, in which role, with which second
    factors and sessions, and the pending invitations."""
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession
    from django.contrib.auth.models import User

    from dashboard.team.models import Invitation

    return (
        list(User.objects.order_by("id").values_list("id", "is_active", "groups__name")),
        list(Authenticator.objects.order_by("id").values_list("id", "type")),
        # The signed-in client's own row appears at its first request (allauth's
        # middleware records it, with no user agent: the test client sends none); only
        # the sessions made up front (with a browser's user agent) count.
        list(
            UserSession.objects.exclude(user_agent="").order_by("id").values_list("id", flat=True)
        ),
        list(Invitation.objects.order_by("id").values_list("id", "accepted_at")),
    )


def url_for(name: str, w) -> str:
    return reverse(name, kwargs=url_kwargs(name, w) or None)
