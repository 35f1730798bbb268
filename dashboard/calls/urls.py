from django.urls import path

from dashboard.calls import views

app_name = "calls"
urlpatterns = [
    path("", views.call_list, name="list"),
    path("errors/", views.error_list, name="errors"),
    path("errors/<int:pk>/", views.group_detail, name="group"),
    path("errors/<int:pk>/state/", views.group_state, name="group_state"),
    path("<int:pk>/", views.call_detail, name="detail"),
]
