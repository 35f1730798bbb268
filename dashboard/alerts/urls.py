from django.urls import path

from dashboard.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.index, name="index"),
    path("panel/", views.panel, name="panel"),
    path("rules/", views.rule_add, name="rule_add"),
    path("rules/<int:pk>/remove/", views.rule_remove, name="rule_remove"),
    path("rules/<int:pk>/mute/", views.rule_mute, name="rule_mute"),
    path("rules/<int:pk>/snooze/", views.rule_snooze, name="rule_snooze"),
    path("groups/<int:pk>/snooze/", views.group_snooze, name="group_snooze"),
    path("destinations/", views.destination_add, name="destination_add"),
    path("destinations/<int:pk>/remove/", views.destination_remove, name="destination_remove"),
    path("destinations/<int:pk>/test/", views.destination_test, name="destination_test"),
    path("<int:pk>/", views.alert_detail, name="alert"),
]
