"""Forms of the sign-in flow (allauth's, kept on django-axes) and of the Team page."""

from __future__ import annotations

from allauth.account.forms import LoginForm
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError

from dashboard.core.roles import ROLES


class StaffLoginForm(LoginForm):
    """allauth's login form, posted as ``username``/``password`` like before (scripts,
    the load benchmark and password managers know those names)."""

    def __init__(self, *args, **kwargs):
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)


LOCKED_OUT = "Too many failed attempts: this sign-in is locked for a while."


class _AxesLockedSecondFactor:
    """A wrong code counts as a failed log-in for django-axes (same username and IP
    limit as the password), and a locked-out user cannot try codes at all."""

    def clean_code(self) -> str:
        request = context.request
        credentials = {"username": self.user.get_username()}
        if not AxesProxyHandler.is_allowed(request, credentials):
            # AxesMiddleware turns this into the lock-out page.
            request.axes_locked_out = True
            raise ValidationError(LOCKED_OUT)
        try:
            return super().clean_code()
        except ValidationError:
            user_login_failed.send(sender=type(self), credentials=credentials, request=request)
            raise


class LockingAuthenticateForm(_AxesLockedSecondFactor, AuthenticateForm):
    pass


class LockingReauthenticateForm(_AxesLockedSecondFactor, ReauthenticateForm):
    pass


ROLE_CHOICES = [(role, role.title()) for role in ROLES]


class InviteForm(forms.Form):
    username = forms.RegexField(
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Letters, digits and @/./+/-/_ only."},
    )
    email = forms.EmailField()
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class AcceptInvitationForm(forms.Form):
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            raise ValidationError("The two passwords differ.")
        return cleaned
