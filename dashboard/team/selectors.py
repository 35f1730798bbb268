"""Reads for the Team and Security pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from dashboard.core.roles import ADMIN, ROLES


@dataclass(frozen=True)
class StaffRow:
    user: object
    username: str
    email: str
    role: str | None
    last_login: datetime | None
    mfa: list[str]  # "totp", "webauthn" (recovery codes alone are no second factor)
    active: bool
    invited: bool  # invited, link not yet used
    sso: bool

    @property
    def needs_mfa(self) -> bool:
        return self.role == ADMIN and not self.mfa

    def as_json(self) -> dict:
        return {
            "username": self.username,
            "email": self.email,
            "role": self.role,
            "last_login": self.last_login.isoformat() if self.last_login else None,
            "mfa": self.mfa,
            "active": self.active,
            "invited": self.invited,
            "sso": self.sso,
        }


def second_factors(user) -> list[str]:
    from allauth.mfa.models import Authenticator

    kinds = set(
        Authenticator.objects.filter(user=user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .values_list("type", flat=True)
    )
    return sorted(kinds)


def staff_rows() -> list[StaffRow]:
    """Everyone who can sign in or was invited to (superusers of Django's admin too)."""
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount

    users = list(get_user_model().objects.prefetch_related("groups").order_by("username").all())
    factors: dict[int, set[str]] = {}
    for user_id, kind in Authenticator.objects.exclude(
        type=Authenticator.Type.RECOVERY_CODES
    ).values_list("user_id", "type"):
        factors.setdefault(user_id, set()).add(kind)
    sso_ids = set(SocialAccount.objects.values_list("user_id", flat=True))
    now = timezone.now()
    open_invites = set(
        get_user_model()
        .objects.filter(invitations__accepted_at__isnull=True, invitations__expires_at__gt=now)
        .values_list("pk", flat=True)
    )
    rows = []
    for user in users:
        names = {g.name for g in user.groups.all()}
        role = next((r for r in reversed(ROLES) if r in names), None)
        rows.append(
            StaffRow(
                user=user,
                username=user.get_username(),
                email=user.email,
                role=role,
                last_login=user.last_login,
                mfa=sorted(factors.get(user.pk, ())),
                active=user.is_active,
                invited=user.pk in open_invites and not user.has_usable_password(),
                sso=user.pk in sso_ids,
            )
        )
    return rows


def sessions_of(user) -> list:
    """The user's live sessions, newest activity first (expired ones are purged)."""
    from allauth.usersessions.models import UserSession

    sessions = UserSession.objects.purge_and_list(user)
    return sorted(sessions, key=lambda s: s.last_seen_at, reverse=True)


def all_sessions() -> list:
    """Everyone's live sessions (for admins), newest activity first."""
    from allauth.usersessions.models import UserSession

    live = [s for s in UserSession.objects.select_related("user") if not s.purge()]
    return sorted(live, key=lambda s: s.last_seen_at, reverse=True)
