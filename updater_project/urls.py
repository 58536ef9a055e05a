from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.metrics.views import metrics_view

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
    path("api/", include("dashboard.api.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("", include("dashboard.urls")),
]


def handler404(request, exception=None):
    """JSON for the API's paths, the site's page for the others."""
    from django.views.defaults import page_not_found

    from dashboard.api.errors import not_found

    if request.path.startswith("/api/"):
        return not_found(request, exception)
    return page_not_found(request, exception)
