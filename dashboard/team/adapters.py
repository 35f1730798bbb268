"""allauth adapters: no self sign-up, SSO roles from a group claim, and TOTP secrets /
recovery-code seeds encrypted with the console's field-encryption keys."""

from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.urls import reverse

from dashboard.accounts.encryption import fernet
from dashboard.core.roles import ROLES, role_of


class StaffAccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # Django's wording, which staff know from before.
        "username_password_mismatch": (
            "Please enter a correct username and password. "
            "Note that both fields may be case-sensitive."
        ),
    }

    def is_open_for_signup(self, request) -> bool:
        # Staff are invited by an admin (Team page, `staff add`), never sign up.
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """A sign-in finished within the reauthentication window counts as recent, so
        the enrolment an admin is sent to right after signing in does not ask for the
        password a second time; later changes to the second factor do."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        from allauth.account import app_settings
        from allauth.account.internal.flows.login import get_authentication_records

        request = context.request
        records = get_authentication_records(request, request.user) if request else []
        recent = records and time.time() - records[-1]["at"] < app_settings.REAUTHENTICATION_TIMEOUT
        return not recent

    def get_login_redirect_url(self, request) -> str:
        if role_of(request.user) is None and not request.user.is_superuser:
            return reverse("team:awaiting_role")
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request) -> str:
        # A first SSO sign-in is a sign-up for allauth.
        return self.get_login_redirect_url(request)


def roles_from_claims(claims: dict) -> list[str]:
    """Console roles named by the configured group claim (OIDC_ROLE_MAP)."""
    value = claims.get(settings.OIDC_ROLE_CLAIM) or []
    groups = [value] if isinstance(value, str) else list(value)
    mapped = {settings.OIDC_ROLE_MAP.get(str(g)) for g in groups}
    return [role for role in ROLES if role in mapped]


def _claims(sociallogin) -> dict:
    data = sociallogin.account.extra_data or {}
    return {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}


class StaffSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        # Whoever the identity provider lets through gets an account; without a mapped
        # group they have no role (and see nothing) until an admin assigns one.
        return True

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        claims = _claims(sociallogin)
        if not user.username:
            user.username = claims.get("preferred_username") or claims.get("sub", "")
        return user

    def save_user(self, request, sociallogin, form=None):
        from dashboard.accounts.audit import audit_action
        from dashboard.team.audit import team_record
        from dashboard.team.services import staff_set_role

        # allauth gives SSO users an unusable password: they sign in at the provider.
        user = super().save_user(request, sociallogin, form)
        roles = roles_from_claims(_claims(sociallogin))
        with audit_action("sso_first_login", by="single sign-on"):
            team_record(user, changes={"sso": ["", sociallogin.account.uid]})
        if roles:
            staff_set_role(user=user, role=roles[-1], by="single sign-on")
        return user

    def pre_social_login(self, request, sociallogin):
        from dashboard.team.services import staff_set_role

        # A returning SSO user follows the provider's groups when they name a role.
        if sociallogin.is_existing:
            roles = roles_from_claims(_claims(sociallogin))
            user = sociallogin.user
            if roles and role_of(user) != roles[-1]:
                staff_set_role(user=user, role=roles[-1], by="single sign-on")


class StaffMFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return fernet().decrypt(encrypted_text.encode()).decode()
