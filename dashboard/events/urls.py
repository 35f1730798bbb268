from django.urls import path

from dashboard.events import views

app_name = "events"

urlpatterns = [
    path("", views.index, name="index"),
    path("failed/", views.failures, name="failures"),
    path("live/", views.live, name="live"),
    path("new/", views.compose, name="compose"),
    path("replay/", views.replay, name="replay"),
    path("replay/<int:pk>/", views.replay_detail, name="replay_detail"),
    path("replay/<int:pk>/cancel/", views.replay_cancel, name="replay_cancel"),
    path("for-customer/", views.for_customer, name="for_customer"),
    path("pace/", views.pace, name="pace"),
    path("pace/<int:pk>/", views.pace_edit, name="pace_edit"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/discard/", views.discard, name="discard"),
]
