"""The three staff roles and what each may do.

A role is a Django group of the same name; the data migration creates the groups from
``ROLE_PERMISSIONS`` and a later migration may add to it. Navigation is derived from
the same permissions so a link is never shown to someone who would get a 403.
"""

from __future__ import annotations

from dataclasses import dataclass

MARKETER = "marketer"
SUPPORT = "support"
ADMIN = "admin"
ROLES = (MARKETER, SUPPORT, ADMIN)

_EVERYONE = (
    "view_overview",
    "view_accounts",
    "view_events",
    "view_errors",
    "view_previews",
)

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    MARKETER: (*_EVERYONE, "use_preview", "send_events"),
    SUPPORT: (
        *_EVERYONE,
        "lookup_profiles",
        "edit_profiles",
        "see_contact_details",
        "replay_customer_events",
        "triage_errors",
    ),
    ADMIN: (
        *_EVERYONE,
        "use_preview",
        "send_events",
        "lookup_profiles",
        "edit_profiles",
        "see_contact_details",
        "replay_customer_events",
        "manage_accounts",
        "manage_errors",
        "triage_errors",
        "export_data",
        "view_audit",
        "manage_team",
    ),
}


def perm(codename: str) -> str:
    """The full permission name for one of Switchyard's role permissions."""
    return f"core.{codename}"


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    section: str


NAVIGATION = (
    NavItem("Overview", "overview", "view_overview", "overview"),
    NavItem("Preview", "previews:index", "view_previews", "previews"),
    NavItem("Events", "events:index", "view_events", "events"),
    NavItem("Profiles", "profiles:index", "lookup_profiles", "profiles"),
    NavItem("Errors", "calls:errors", "view_errors", "errors"),
    NavItem("Accounts", "accounts:list", "view_accounts", "accounts"),
    # Admins manage alerts; the history page itself is open to every role (#18).
    NavItem("Alerts", "alerts:index", "manage_accounts", "alerts"),
    NavItem("Audit", "audit:list", "view_audit", "audit"),
)


def role_of(user) -> str | None:
    """The user's role name (the first of their groups that is a role)."""
    if not user.is_authenticated:
        return None
    names = {g.name for g in user.groups.all()}
    return next((role for role in (ADMIN, SUPPORT, MARKETER) if role in names), None)


def request_role(request) -> str | None:
    """``role_of(request.user)``, read once per request: the two-factor middleware and
    the navigation both ask on every page (one query each before)."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    # Keyed by the user: a log-in (or out) during the request asks again.
    cached = getattr(request, "_switchyard_role", None)
    if cached is None or cached[0] != user.pk:
        cached = request._switchyard_role = (user.pk, role_of(user))
    return cached[1]


def sync_roles() -> None:
    """Create the role groups with their permissions (idempotent).

    The data migration does this at install time; tests that flush the database and
    the demo seeding call it to put the roles back.
    """
    # Here, not at the top: the settings' context processor imports this module
    # before the app registry can load auth's models.
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="core", codename__in=codenames)
        )
