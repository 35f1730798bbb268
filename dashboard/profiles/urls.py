from django.urls import path

from dashboard.profiles import views

app_name = "profiles"
urlpatterns = [
    path("", views.index, name="index"),
    path("lookups/<int:pk>/", views.lookup_detail, name="lookup"),
    path("a/<int:account_pk>/p/<str:profile_id>/", views.profile_detail, name="profile"),
    path(
        "a/<int:account_pk>/p/<str:profile_id>/refresh/",
        views.profile_refresh,
        name="profile_refresh",
    ),
    path("a/<int:account_pk>/p/<str:profile_id>/edit/", views.profile_edit, name="profile_edit"),
    path("a/<int:account_pk>/browse/", views.browse, name="browse"),
    path("lookups/results/<int:pk>/retry/", views.lookup_retry, name="lookup_retry"),
    path("work/<int:pk>/arrival/", views.profile_arrival, name="profile_arrival"),
    path("work/<int:pk>/status/", views.profile_status, name="profile_status"),
    path("work/<int:pk>/calls/", views.profile_calls, name="profile_calls"),
    path("work/<int:pk>/edit/", views.profile_edit_result, name="profile_edit_result"),
    path("work/<int:pk>/page/", views.browse_result, name="browse_result"),
    path("a/<int:account_pk>/sync/", views.sync_start, name="sync_start"),
    path("sync/<int:pk>/", views.sync_job, name="sync_job"),
    path("sync/<int:pk>/<str:action>/", views.sync_control, name="sync_control"),
    path("cache/", views.cache_list, name="cache"),
    path("exports/", views.export_list, name="exports"),
    path("exports/<int:pk>/", views.export_job, name="export_job"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("exports/<int:pk>/<str:action>/", views.export_control, name="export_control"),
    path("access/", views.access_list, name="access"),
]
