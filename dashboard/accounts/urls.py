from django.urls import path

from dashboard.accounts import rotation_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list, name="list"),
    path("connect/", views.account_connect_choose, name="connect"),
    path("connect/<str:provider>/", views.account_connect, name="connect_provider"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/edit/", views.account_edit, name="edit"),
    path("<int:pk>/toggle/", views.account_toggle, name="toggle"),
    path("<int:pk>/test/", views.account_test, name="test"),
    path("<int:pk>/checks/<int:check_pk>/", views.account_check, name="check"),
    path("<int:pk>/rotate/", rotation_views.rotate, name="rotate"),
    path("<int:pk>/rollback/", rotation_views.rollback, name="rollback"),
    path(
        "<int:pk>/credentials/<int:credential_pk>/",
        rotation_views.rotation_status,
        name="rotation_status",
    ),
    path(
        "<int:pk>/credentials/<int:credential_pk>/promote/",
        rotation_views.promote,
        name="promote",
    ),
    path("<int:pk>/credentials/<int:credential_pk>/retry/", rotation_views.retry, name="retry"),
    path(
        "<int:pk>/credentials/<int:credential_pk>/discard/",
        rotation_views.discard,
        name="discard",
    ),
]
