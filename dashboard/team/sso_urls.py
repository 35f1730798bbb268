"""allauth's social-login pages the OIDC flow may end on (errors, a cancelled login, and
the form shown when the identity provider sent too little to create the user)."""

from allauth.socialaccount import views
from django.urls import path

urlpatterns = [
    path("cancelled/", views.login_cancelled, name="socialaccount_login_cancelled"),
    path("error/", views.login_error, name="socialaccount_login_error"),
    path("signup/", views.signup, name="socialaccount_signup"),
]
