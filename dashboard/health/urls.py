from django.urls import path

from dashboard.health import views

app_name = "health"

urlpatterns = [
    path("", views.health, name="checks"),
]
