from django.urls import path

from scanning import views

app_name = "scanning"

urlpatterns = [
    path("<int:report_id>/", views.report, name="report"),
    path("<int:report_id>/download/<str:fmt>/", views.download, name="download"),
]
