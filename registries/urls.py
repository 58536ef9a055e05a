from django.urls import path

from registries import views

app_name = "registries"

urlpatterns = [
    path("<str:token>/", views.webhook, name="webhook"),
]
