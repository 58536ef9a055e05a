"""Every URL but the REST API and /metrics: what a worker needs to reverse (live pushes, notification links).

Workers use this as their URLconf (`updater_project.celery`): Django populates every resolver of a URLconf
on the first `reverse()`, so with the full one a worker would import DRF and drf-spectacular (~15 MB) to
build a link to a service page.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True, extra_context={"failure_limit": settings.AXES_FAILURE_LIMIT}
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("scans/", include("scanning.urls")),
    path("health/", include("dashboard.health.urls")),
    path("hooks/", include("registries.urls")),  # registry push webhooks: token-verified, no login
    path("", include("dashboard.urls")),
]
