"""Object-level access: every URL that names an object, for every role and every id.

- A role that may not act on that kind of object gets 403 (or 404) and nothing changes.
- An id that does not exist gets 404 — for every id in the URL, one at a time.
- An id that exists but belongs to a different parent (a check or credential of another
  account, a grid cell of another grid, a profile held by another account) gets 404.
Never a 200 or a 500.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security.conftest import url_kwargs

ALL = {"marketer", "support", "admin"}
PREVIEW = {"marketer", "admin"}
PROFILE = {"support", "admin"}
ADMIN = {"admin"}
TRIAGE = {"support", "admin"}

# (method, url name, roles that may act on that object)
OBJECT_URLS = [
    ("get", "accounts:detail", ALL),
    ("get", "accounts:edit", ADMIN),
    ("post", "accounts:edit", ADMIN),
    ("post", "accounts:toggle", ADMIN),
    ("post", "accounts:test", ADMIN),
    ("get", "accounts:check", ALL),
    ("get", "accounts:rotate", ADMIN),
    ("post", "accounts:rotate", ADMIN),
    ("post", "accounts:rollback", ADMIN),
    ("get", "accounts:rotation_status", ADMIN),
    ("post", "accounts:promote", ADMIN),
    ("post", "accounts:retry", ADMIN),
    ("post", "accounts:discard", ADMIN),
    ("get", "calls:detail", ALL),
    ("get", "calls:group", ALL),
    ("post", "calls:group_state", ADMIN),
    ("post", "calls:group_assign", TRIAGE),
    ("post", "calls:group_snooze", TRIAGE),
    ("post", "calls:group_unsnooze", TRIAGE),
    ("get", "previews:detail", ALL),
    ("get", "previews:result", ALL),
    ("post", "previews:rerun", PREVIEW),
    ("post", "previews:share", PREVIEW),
    ("get", "previews:shared", ALL),
    # Public links (#20): every reader makes and revokes them; the page is public.
    ("post", "previews:public_link_create", PREVIEW),
    ("post", "previews:public_link_revoke", PREVIEW),
    ("get", "previews:public", ALL),
    ("get", "previews:persona_edit", PREVIEW),
    ("post", "previews:persona_edit", PREVIEW),
    ("post", "previews:persona_delete", PREVIEW),
    ("get", "previews:grid", ALL),
    ("get", "previews:grid_cells", ALL),
    ("post", "previews:grid_baseline", PREVIEW),
    ("get", "previews:cql_result", ALL),
    ("get", "previews:catalog_edit", PREVIEW),
    ("post", "previews:catalog_edit", PREVIEW),
    ("post", "previews:catalog_delete", PREVIEW),
    ("post", "previews:label_delete", PREVIEW),
    ("get", "events:detail", ALL),
    ("get", "events:replay_detail", ALL),
    ("post", "events:replay_cancel", PREVIEW),  # send_events (or the replay's owner)
    ("post", "events:discard", ALL),  # send_events or replay_customer_events: every role
    ("post", "events:pace_edit", ADMIN),  # an account's own delivery pace
    ("get", "profiles:lookup", PROFILE),
    ("post", "profiles:lookup_retry", PROFILE),
    ("get", "profiles:profile_arrival", PROFILE),
    ("get", "profiles:profile_status", PROFILE),
    ("get", "profiles:profile_calls", PROFILE),
    ("get", "profiles:profile_edit_result", PROFILE),
    ("get", "profiles:browse_result", PROFILE),
    ("get", "profiles:profile", PROFILE),
    ("post", "profiles:profile_refresh", PROFILE),
    ("post", "profiles:profile_edit", PROFILE),
    ("get", "profiles:browse", PROFILE),
    ("post", "profiles:sync_start", PROFILE),
    ("get", "profiles:sync_job", PROFILE),
    ("post", "profiles:sync_control", PROFILE),
    ("get", "profiles:export_job", ADMIN),
    ("get", "profiles:export_download", ADMIN),
    ("post", "profiles:export_control", ADMIN),
    # Someone else on the team (url_kwargs): only admins act on other people.
    ("post", "team:role", ADMIN),
    ("post", "team:deactivate", ADMIN),
    ("post", "team:reactivate", ADMIN),
    ("post", "team:mfa_reset", ADMIN),
    ("post", "team:session_end", ADMIN),
]

MISSING = 987_654_321


def _snapshot():
    from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
    from dashboard.calls.models import ErrorGroup
    from dashboard.events.models import DeliveryPace, Replay
    from dashboard.previews.models import (
        CatalogSlot,
        Label,
        Persona,
        PreviewGrid,
        PreviewRequest,
        PublicShareLink,
    )
    from dashboard.profiles.models import ExportJob, SyncJob
    from tests.security.conftest import team_snapshot

    return (
        list(ConnectedAccount.objects.order_by("id").values_list("id", "is_enabled", "name")),
        AccountCheck.objects.count(),
        list(Credential.objects.order_by("id").values_list("id", "state")),
        list(ErrorGroup.objects.order_by("id").values_list("id", "state")),
        list(Replay.objects.order_by("id").values_list("id", "status")),
        list(
            DeliveryPace.objects.order_by("account_id").values_list(
                "account_id", "requests_per_second", "concurrency"
            )
        ),
        list(Persona.objects.order_by("id").values_list("id", "name")),
        PreviewRequest.objects.count(),
        list(PreviewGrid.objects.order_by("id").values_list("id", "baseline_id")),
        list(PublicShareLink.objects.order_by("id").values_list("id", "revoked_at")),
        list(CatalogSlot.objects.order_by("id").values_list("id", "slot_id", "description")),
        list(Label.objects.order_by("id").values_list("id", "name")),
        list(SyncJob.objects.order_by("id").values_list("id", "status")),
        list(ExportJob.objects.order_by("id").values_list("id", "status")),
        team_snapshot(),
    )


def test_every_url_that_takes_an_object_id_is_listed():
    from tests.security.test_url_coverage import project_url_names

    with_ids = set()
    for name in project_url_names():
        app = name.partition(":")[0]
        if app in {"accounts", "calls", "previews", "events", "profiles", "team"}:
            fake = _kwargs_shape(name)
            if fake:
                with_ids.add(name)
    listed = {name for _, name, _ in OBJECT_URLS}
    # Strings, not ids: a provider key, and the one-time invitation link (its own tests
    # in tests/team/test_invitations.py and the token case below).
    unlisted = {"accounts:connect_provider", "team:accept"}
    assert with_ids - unlisted <= listed, sorted(with_ids - listed)


def _kwargs_shape(name: str) -> set[str]:
    from django.urls import get_resolver

    app, _, view = name.partition(":")
    resolver = get_resolver()
    for entry in resolver.url_patterns:
        if getattr(entry, "namespace", None) == app:
            for pattern in entry.url_patterns:
                if pattern.name == view:
                    return set(pattern.pattern.converters)
    return set()


@pytest.mark.parametrize("role", ["marketer", "support"])
def test_roles_may_not_act_on_objects_outside_their_permissions(
    client_for, role_users, world, role
):
    client = client_for(role_users[role])
    wrong = []
    for method, name, allowed in OBJECT_URLS:
        if role in allowed:
            continue
        before = _snapshot()
        url = reverse(name, kwargs=url_kwargs(name, world))
        response = getattr(client, method)(url, {})
        if response.status_code not in (403, 404) or _snapshot() != before:
            wrong.append((method, name, response.status_code))
    assert not wrong, f"{role} reached objects it may not act on: {wrong}"


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_roles_open_the_objects_they_may_read(client_for, role_users, world, role):
    client = client_for(role_users[role])
    wrong = []
    for method, name, allowed in OBJECT_URLS:
        if method != "get" or role not in allowed:
            continue
        response = client.get(reverse(name, kwargs=url_kwargs(name, world)))
        # The export of the world never produced a file: 404 is its honest answer.
        expected = 404 if name == "profiles:export_download" else 200
        if response.status_code != expected:
            wrong.append((name, response.status_code))
    assert not wrong, f"{role}: {wrong}"


def test_an_id_that_does_not_exist_is_not_found(client_for, admin, world):
    client = client_for(admin)
    wrong = []
    for method, name, _ in OBJECT_URLS:
        kwargs = url_kwargs(name, world)
        for key, value in kwargs.items():
            if not isinstance(value, int):
                continue
            url = reverse(name, kwargs={**kwargs, key: MISSING})
            before = _snapshot()
            response = getattr(client, method)(url, {})
            if response.status_code != 404 or _snapshot() != before:
                wrong.append((method, name, key, response.status_code))
    assert not wrong, f"unknown ids not answered with 404: {wrong}"


def test_strings_in_the_url_that_name_nothing_are_not_found(client_for, admin, world):
    client = client_for(admin)
    cases = [
        ("get", "previews:shared", {"token": "not-a-token"}),
        ("get", "previews:shared", {"token": world.token[:-3] + "abc"}),
        ("get", "previews:public", {"token": "not-a-token"}),
        ("get", "previews:public", {"token": world.public_token[:-3] + "abc"}),
        ("get", "previews:public", {"token": world.token}),  # a staff link's token
        ("post", "profiles:sync_control", {"pk": world.sync.pk, "action": "explode"}),
        ("post", "profiles:export_control", {"pk": world.export.pk, "action": "delete"}),
        ("get", "accounts:connect_provider", {"provider": "no-such-provider"}),
        ("get", "team:accept", {"token": "not-a-token"}),
        ("post", "team:accept", {"token": world.invite_token[:-3] + "abc"}),
    ]
    wrong = []
    for method, name, kwargs in cases:
        before = _snapshot()
        response = getattr(client, method)(reverse(name, kwargs=kwargs), {})
        if response.status_code not in (404, 410) or _snapshot() != before:
            wrong.append((method, name, kwargs, response.status_code))
    assert not wrong, wrong


def test_ids_of_another_parent_are_not_found(client_for, admin, world):
    """The nested id must belong to the outer one: never act across accounts or grids."""
    client = client_for(admin)
    croct, octy = world.croct.pk, world.octy.pk
    cases = [
        ("get", "accounts:check", {"pk": croct, "check_pk": world.other_check.pk}),
        ("get", "accounts:check", {"pk": octy, "check_pk": world.check.pk}),
    ]
    for name in ("rotation_status", "promote", "retry", "discard"):
        method = "get" if name == "rotation_status" else "post"
        cases.append(
            (method, f"accounts:{name}", {"pk": croct, "credential_pk": world.other_credential.pk})
        )
        cases.append(
            (method, f"accounts:{name}", {"pk": octy, "credential_pk": world.credential.pk})
        )
    wrong = []
    for method, name, kwargs in cases:
        before = _snapshot()
        response = getattr(client, method)(reverse(name, kwargs=kwargs), {})
        if response.status_code != 404 or _snapshot() != before:
            wrong.append((method, name, kwargs, response.status_code))

    # A public link is revoked through its own preview only.
    before = _snapshot()
    response = client.post(
        reverse(
            "previews:public_link_revoke",
            kwargs={"pk": world.other_cell.pk, "link_pk": world.public_link.pk},
        )
    )
    if response.status_code != 404 or _snapshot() != before:
        wrong.append(("post", "previews:public_link_revoke", "other preview", response.status_code))
    # A profile id that names nothing: only the provider knows, and the page asks it on
    # a work row (#16), so the page answers 200 and says so once the answer arrives.
    from tests.profiles.conftest import arrived

    unknown = client.get(
        reverse("profiles:profile", kwargs={"account_pk": world.octy.pk, "profile_id": "no-such"})
    )
    if unknown.status_code != 200 or 'data-testid="status-gone"' not in arrived(client, unknown):
        wrong.append(("get", "profiles:profile", "no-such", unknown.status_code))

    # A grid's baseline must be one of its own cells.
    before = _snapshot()
    response = client.post(
        reverse("previews:grid_baseline", kwargs={"pk": world.grid.pk}),
        {"cell": world.other_cell.pk},
    )
    if response.status_code != 404 or _snapshot() != before:
        wrong.append(("post", "previews:grid_baseline", "other grid's cell", response.status_code))

    # A profile cached for one account is not shown under another account's URL.
    for name in ("profiles:profile", "profiles:profile_edit"):
        method = "get" if name == "profiles:profile" else "post"
        response = getattr(client, method)(
            reverse(name, kwargs={"account_pk": croct, "profile_id": world.profile_id}),
            {"name": "plan", "value": "gold"},
        )
        body = response.content.decode()
        if response.status_code == 200 and "ada@example.com" in body:
            wrong.append((method, name, "other account's cached profile", response.status_code))
        if response.status_code >= 500:
            wrong.append((method, name, "other account", response.status_code))
    assert not wrong, wrong
