"""Writes for the team: invitations, roles, activation, second factors, sessions.

Each service is keyword-only, writes one audit entry inside ``audit_action`` and is
what the Team page, the ``staff`` command and the SSO adapter call.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.audit import audit_action
from dashboard.core.roles import ROLES, role_of, sync_roles
from dashboard.team.audit import team_record
from dashboard.team.models import Invitation


class TeamError(Exception):
    """A team change that cannot be made (unknown role, taken username, bad link)."""


@dataclass(frozen=True)
class InviteResult:
    user: object
    link: str
    mailed: bool


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _role_group(role: str) -> Group:
    if role not in ROLES:
        raise TeamError(f"Unknown role {role!r}: one of {', '.join(ROLES)}.")
    group = Group.objects.filter(name=role).first()
    if group is None:  # a flushed test database, or roles never synced
        sync_roles()
        group = Group.objects.get(name=role)
    return group


def _end_sessions(user) -> int:
    from allauth.usersessions.models import UserSession

    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    return len(sessions)


@transaction.atomic
def staff_invite(
    *, username: str, email: str, role: str, base_url: str, actor=None, by: str = ""
) -> InviteResult:
    """Create the user (no usable password yet) and mail a one-time link.

    Raises TeamError for an unknown role or a username already in use."""
    User = get_user_model()
    group = _role_group(role)
    if User.objects.filter(username__iexact=username).exists():
        raise TeamError(f"The username {username!r} is taken.")
    with audit_action("staff_invite", actor=actor, by=by):
        user = User(username=username, email=email)
        user.set_unusable_password()
        user.save()
        user.groups.set([group])
        link = _new_invitation(user=user, base_url=base_url, actor=actor)
        team_record(user, changes={"role": ["", role], "email": ["", email]})
    mailed = _mail_invitation(user=user, link=link)
    return InviteResult(user=user, link=link, mailed=mailed)


def _new_invitation(*, user, base_url: str, actor) -> str:
    # A new link replaces any earlier one: only the latest works.
    Invitation.objects.filter(user=user, accepted_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    Invitation.objects.create(
        user=user,
        token_hash=_token_hash(token),
        invited_by=actor if getattr(actor, "pk", None) else None,
        expires_at=timezone.now() + timedelta(hours=settings.TEAM_INVITE_MAX_AGE_HOURS),
    )
    return base_url.rstrip("/") + reverse("team:accept", kwargs={"token": token})


def _mail_invitation(*, user, link: str) -> bool:
    if not user.email:
        return False
    hours = settings.TEAM_INVITE_MAX_AGE_HOURS
    body = (
        f"You have been invited to the Switchyard staff console as {user.username}.\n\n"
        f"Choose your password here (the link works once, for {hours} hours):\n{link}\n"
    )
    send_mail("Your Switchyard invitation", body, None, [user.email])
    return True


def invitation_for(token: str) -> Invitation | None:
    """The open, unexpired invitation this token belongs to, or None."""
    invitation = (
        Invitation.objects.select_related("user")
        .filter(token_hash=_token_hash(token), accepted_at__isnull=True)
        .first()
    )
    if invitation is None or invitation.expires_at <= timezone.now():
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str):
    """Set the invited user's password and spend the link. Returns the user.

    Raises TeamError for a used, expired or unknown link and ValidationError when the
    password fails Django's validators."""
    invitation = invitation_for(token)
    if invitation is None:
        raise TeamError("This invitation link is no longer valid.")
    # Claim it first: a second submit of the same link finds nothing to claim.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if not claimed:
        raise TeamError("This invitation link is no longer valid.")
    user = invitation.user
    password_validation.validate_password(password, user)
    with audit_action("staff_accept", actor=user):
        user.set_password(password)
        user.save(update_fields=["password"])
        team_record(user, changes={"password": ["unset", "set"]})
    return user


@transaction.atomic
def staff_set_role(*, user, role: str, actor=None, by: str = "") -> None:
    group = _role_group(role)
    before = role_of(user) or ""
    with audit_action("staff_role", actor=actor, by=by):
        user.groups.remove(*Group.objects.filter(name__in=ROLES))
        user.groups.add(group)
        team_record(user, changes={"role": [before, role]})


@transaction.atomic
def staff_deactivate(*, user, actor=None, by: str = "") -> int:
    """Refuse the user's sign-ins and end every session they have open now.

    Returns how many sessions were ended."""
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise TeamError("You cannot deactivate yourself.")
    with audit_action("staff_deactivate", actor=actor, by=by):
        user.is_active = False
        user.save(update_fields=["is_active"])
        ended = _end_sessions(user)
        team_record(user, changes={"is_active": [True, False], "sessions_ended": [0, ended]})
    return ended


@transaction.atomic
def staff_reactivate(*, user, actor=None, by: str = "") -> None:
    with audit_action("staff_reactivate", actor=actor, by=by):
        user.is_active = True
        user.save(update_fields=["is_active"])
        team_record(user, changes={"is_active": [False, True]})


@transaction.atomic
def staff_mfa_reset(*, user, actor=None, by: str = "") -> int:
    """Remove every authenticator (app, security keys, recovery codes) of a person who
    lost their device, and end their sessions. Returns how many were removed; an
    admin is sent to enrol again at their next sign-in."""
    from allauth.mfa.models import Authenticator

    with audit_action("staff_mfa_reset", actor=actor, by=by):
        kinds = sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True))
        removed, _ = Authenticator.objects.filter(user=user).delete()
        _end_sessions(user)
        team_record(user, changes={"authenticators": [", ".join(kinds), ""]})
    return removed


def session_end(*, session, actor=None, by: str = "") -> None:
    """End one session (the person is signed out there at their next request)."""
    with audit_action("session_end", actor=actor, by=by):
        owner = session.user
        summary = f"{session.ip} {session.user_agent[:60]}"
        session.end()
        team_record(owner, changes={"session": [summary, "ended"]})


def mfa_secrets_reencrypt() -> dict:
    """Move every TOTP secret and recovery-code seed (allauth's ``Authenticator.data``,
    encrypted by ``StaffMFAAdapter`` with FIELD_ENCRYPTION_KEYS) to the newest key.
    Returns the counts of :func:`reencrypt_rows`; security keys hold only public data
    and are not touched."""
    from allauth.mfa.models import Authenticator

    from dashboard.accounts.encryption import reencrypt, reencrypt_rows

    def rewrite(row) -> dict:
        data = dict(row.data)
        for key in ("secret", "seed"):
            if data.get(key):
                data[key] = reencrypt(data[key])
        # Codes carried over from an older allauth layout, encrypted one by one.
        if data.get("migrated_codes"):
            data["migrated_codes"] = [reencrypt(code) for code in data["migrated_codes"]]
        return {"data": data}

    kinds = (Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)
    return reencrypt_rows(Authenticator.objects.filter(type__in=kinds), rewrite)
