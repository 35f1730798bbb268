from django.urls import path

from dashboard.team import views

app_name = "team"

urlpatterns = [
    path("", views.team_list, name="list"),
    path("invite/", views.team_invite, name="invite"),
    path("<int:pk>/role/", views.team_role, name="role"),
    path("<int:pk>/deactivate/", views.team_deactivate, name="deactivate"),
    path("<int:pk>/reactivate/", views.team_reactivate, name="reactivate"),
    path("<int:pk>/reset-mfa/", views.team_mfa_reset, name="mfa_reset"),
    path("join/<str:token>/", views.invitation_accept, name="accept"),
    path("awaiting-role/", views.awaiting_role, name="awaiting_role"),
    path("security/", views.security, name="security"),
    path("security/password/", views.password_change, name="password"),
    path("security/sessions/", views.sessions, name="sessions"),
    path("security/sessions/<int:pk>/end/", views.session_end, name="session_end"),
]
