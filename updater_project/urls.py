from django.urls import include, path

from dashboard.metrics.views import metrics_view
from updater_project import page_urls

urlpatterns = [
    path("api/", include("dashboard.api.urls")),
    path("metrics", metrics_view, name="metrics"),
    *page_urls.urlpatterns,
]


def handler404(request, exception=None):
    """JSON for the API's paths, the site's page for the others."""
    from django.views.defaults import page_not_found

    from dashboard.api.errors import not_found

    if request.path.startswith("/api/"):
        return not_found(request, exception)
    return page_not_found(request, exception)
