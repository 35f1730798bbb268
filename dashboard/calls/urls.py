from django.urls import path

from dashboard.calls import triage_views, views

app_name = "calls"
urlpatterns = [
    path("", views.call_list, name="list"),
    path("errors/", views.error_list, name="errors"),
    path("errors/<int:pk>/", views.group_detail, name="group"),
    path("errors/<int:pk>/state/", views.group_state, name="group_state"),
    path("errors/<int:pk>/assign/", triage_views.group_assign, name="group_assign"),
    path("errors/<int:pk>/snooze/", triage_views.group_snooze, name="group_snooze"),
    path("errors/<int:pk>/unsnooze/", triage_views.group_unsnooze, name="group_unsnooze"),
    path("errors/bulk/", triage_views.groups_bulk, name="groups_bulk"),
    path("<int:pk>/", views.call_detail, name="detail"),
]
