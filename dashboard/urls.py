from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.core import views as core_views
from dashboard.overview import views as overview_views

urlpatterns = [
    path("", overview_views.overview, name="overview"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("dashboard.accounts.urls")),
    path("calls/", include("dashboard.calls.urls")),
    path("audit/", include("dashboard.accounts.audit_urls")),
    path("preview/", include("dashboard.previews.urls")),
    path("events/", include("dashboard.events.urls")),
    path("profiles/", include("dashboard.profiles.urls")),
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
