from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from dashboard.api import views

router = DefaultRouter()
router.include_root_view = False
router.register("projects", views.ProjectViewSet, basename="project")
router.register("services", views.ServiceViewSet, basename="service")
router.register("runs", views.RunViewSet, basename="run")
router.register("check-cycles", views.CheckCycleViewSet, basename="check-cycle")
router.register("scans", views.ScanViewSet, basename="scan")


class Schema(views.ApiViewMixin, SpectacularAPIView):
    pass


class Docs(views.ApiViewMixin, SpectacularSwaggerView):
    pass


class Redoc(views.ApiViewMixin, SpectacularRedocView):
    pass


app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("schema/", Schema.as_view(), name="schema"),
    path("docs/", Docs.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", Redoc.as_view(url_name="api:schema"), name="redoc"),
]
