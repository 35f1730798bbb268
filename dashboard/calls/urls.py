from django.urls import path

from dashboard.calls import views

app_name = "calls"
urlpatterns = [
    path("", views.call_list, name="list"),
    path("errors/", views.error_list, name="errors"),
    path("<int:pk>/", views.call_detail, name="detail"),
]
