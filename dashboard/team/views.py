"""Team page (admins), invitations, and each person's Security page: second factor,
password and sessions."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required, permission_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.core.roles import perm, role_of
from dashboard.team import selectors, services
from dashboard.team.forms import AcceptInvitationForm, InviteForm, RoleForm

MANAGE_TEAM = perm("manage_team")


def _mail_note() -> str | None:
    """Where invitation mail goes when it is not really sent (the embedded default)."""
    if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        return str(settings.EMAIL_FILE_PATH)
    return None


def _sso_origins() -> list[str]:
    """The configured OIDC providers' origins (their issuer URLs)."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    origins = []
    for app in apps:
        parts = urlsplit(app.get("settings", {}).get("server_url", ""))
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


def with_sso_form_action(view):
    """The login page's CSP also allows its SSO button: the button posts to the console,
    which redirects to the identity provider, and browsers hold that redirect to the
    page's ``form-action`` (``'self'`` alone blocks it)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        origins = _sso_origins()
        if origins:
            response._csp_update = {"form-action": origins}
        return response

    return wrapped


def _staff(pk: int):
    return get_object_or_404(get_user_model(), pk=pk)


@require_GET
@permission_required(MANAGE_TEAM, raise_exception=True)
def team_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "team/list.html",
        {
            "rows": selectors.staff_rows(),
            "form": InviteForm(),
            "role_form": RoleForm(),
            "mail_folder": _mail_note(),
            "invite_hours": settings.TEAM_INVITE_MAX_AGE_HOURS,
        },
    )


@require_POST
@permission_required(MANAGE_TEAM, raise_exception=True)
def team_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            result = services.staff_invite(
                **form.cleaned_data, base_url=request.build_absolute_uri("/"), actor=request.user
            )
        except services.TeamError as error:
            form.add_error(None, str(error))
        else:
            where = f" (written to {_mail_note()})" if _mail_note() else ""
            messages.success(request, f"Invitation mailed to {result.user.email}{where}.")
            return redirect("team:list")
    return render(
        request,
        "team/list.html",
        {
            "rows": selectors.staff_rows(),
            "form": form,
            "role_form": RoleForm(),
            "mail_folder": _mail_note(),
            "invite_hours": settings.TEAM_INVITE_MAX_AGE_HOURS,
        },
        status=400,
    )


@require_POST
@permission_required(MANAGE_TEAM, raise_exception=True)
def team_role(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("team:list")
    services.staff_set_role(user=user, role=form.cleaned_data["role"], actor=request.user)
    messages.success(request, f"{user.username} is now {form.cleaned_data['role']}.")
    return redirect("team:list")


@require_POST
@permission_required(MANAGE_TEAM, raise_exception=True)
def team_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(pk)
    try:
        ended = services.staff_deactivate(user=user, actor=request.user)
    except services.TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{user.username} is deactivated ({ended} sessions ended).")
    return redirect("team:list")


@require_POST
@permission_required(MANAGE_TEAM, raise_exception=True)
def team_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(pk)
    services.staff_reactivate(user=user, actor=request.user)
    messages.success(request, f"{user.username} can sign in again.")
    return redirect("team:list")


@require_POST
@permission_required(MANAGE_TEAM, raise_exception=True)
def team_mfa_reset(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(pk)
    removed = services.staff_mfa_reset(user=user, actor=request.user)
    messages.success(
        request,
        f"Two-factor reset for {user.username} ({removed} authenticators removed); "
        "they enrol again at their next sign-in.",
    )
    return redirect("team:list")


@never_cache
@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for(token)
    if invitation is None:
        return render(request, "team/invite_invalid.html", status=404)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(token=token, password=form.cleaned_data["password1"])
        except ValidationError as error:
            form.add_error("password1", error)
        except services.TeamError:
            return render(request, "team/invite_invalid.html", status=404)
        else:
            messages.success(request, "Your password is set. Sign in with it now.")
            return redirect("login")
    return render(request, "team/accept.html", {"form": form, "invited": invitation.user})


@require_GET
def awaiting_role(request: HttpRequest) -> HttpResponse:
    if role_of(request.user) is not None:
        return redirect("overview")
    return render(request, "team/awaiting_role.html")


@require_GET
def security(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "team/security.html",
        {
            "factors": selectors.second_factors(request.user),
            "has_password": request.user.has_usable_password(),
            "sessions": selectors.sessions_of(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    if not request.user.has_usable_password():
        # SSO users have no password here: they sign in at the identity provider.
        return render(request, "team/password.html", {"form": None})
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Keep this session; every other session of this user is signed out.
        update_session_auth_hash(request, user)
        messages.success(request, "Password changed.")
        return redirect("team:security")
    return render(request, "team/password.html", {"form": form})


@require_GET
def sessions(request: HttpRequest) -> HttpResponse:
    everyone = request.user.has_perm(MANAGE_TEAM) and request.GET.get("all") == "1"
    rows = selectors.all_sessions() if everyone else selectors.sessions_of(request.user)
    current = request.session.session_key
    return render(
        request,
        "team/sessions.html",
        {"sessions": rows, "everyone": everyone, "current_key": current},
    )


@require_POST
def session_end(request: HttpRequest, pk: int) -> HttpResponse:
    from allauth.usersessions.models import UserSession

    session = get_object_or_404(UserSession.objects.select_related("user"), pk=pk)
    if session.user_id != request.user.pk and not request.user.has_perm(MANAGE_TEAM):
        raise PermissionDenied
    own = session.session_key == request.session.session_key
    services.session_end(session=session, actor=request.user)
    if own:
        return redirect("login")
    messages.success(request, "Session ended.")
    if session.user_id != request.user.pk:
        return redirect(reverse("team:sessions") + "?all=1")
    return redirect("team:sessions")
