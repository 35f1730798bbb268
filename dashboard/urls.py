from allauth.account import views as allauth_views
from allauth.urls import build_provider_urlpatterns
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from dashboard.alerts.metrics import metrics_view
from dashboard.core import views as core_views
from dashboard.overview import views as overview_views
from dashboard.team.views import with_sso_form_action

_login = with_sso_form_action(
    allauth_views.LoginView.as_view(template_name="registration/login.html")
)
# Only the allauth pages the console uses: no self sign-up, no e-mail management, no
# password reset by mail (an admin re-invites or resets instead).
_allauth_patterns = [
    path("inactive/", allauth_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", allauth_views.reauthenticate, name="account_reauthenticate"),
    path("2fa/", include("allauth.mfa.urls")),
    path("sso/", include("dashboard.team.sso_urls")),
    # The OpenID Connect login and callback (/auth/oidc/<provider id>/login/...).
    path("", include(build_provider_urlpatterns())),
]

urlpatterns = [
    path("", overview_views.overview, name="overview"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    # Sign-in is django-allauth's flow (password, then the second factor when enrolled);
    # the project keeps its /login/ and /logout/ URLs and names, allauth reverses its own.
    path("login/", _login, name="login"),
    path("login/", _login, name="account_login"),
    path("logout/", allauth_views.logout, name="logout"),
    path("logout/", allauth_views.logout, name="account_logout"),
    path("auth/", include(_allauth_patterns)),
    path("team/", include("dashboard.team.urls")),
    path("accounts/", include("dashboard.accounts.urls")),
    path("calls/", include("dashboard.calls.urls")),
    path("audit/", include("dashboard.accounts.audit_urls")),
    path("preview/", include("dashboard.previews.urls")),
    path("events/", include("dashboard.events.urls")),
    path("profiles/", include("dashboard.profiles.urls")),
    path("alerts/", include("dashboard.alerts.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("django-admin/", admin.site.urls),
]

if settings.SANDBOX_ENABLED:
    from dashboard.core.sandbox_views import sandbox

    urlpatterns += [
        path("sandbox/<str:provider>/", sandbox, name="sandbox_root"),
        path("sandbox/<str:provider>/<path:path>", sandbox, name="sandbox"),
    ]

handler403 = "dashboard.core.errors.permission_denied"
handler404 = "dashboard.core.errors.page_not_found"
handler500 = "dashboard.core.errors.server_error"
