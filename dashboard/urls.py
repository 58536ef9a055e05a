from django.urls import path

from dashboard import actions, views
from dashboard.api import pages as api_pages

app_name = "dashboard"

urlpatterns = [
    path("", views.board, name="board"),
    path("activity/", views.activity, name="activity"),
    path("account/tokens/", api_pages.tokens, name="api_tokens"),
    path("account/tokens/<int:token_id>/revoke/", api_pages.revoke, name="api_token_revoke"),
    path("runs/<int:run_id>/", views.run, name="run"),
    path("services/<int:service_id>/", views.service, name="service"),
    path("services/<int:service_id>/check/", actions.check_now, name="check"),
    path("services/<int:service_id>/deploy/", actions.deploy, name="deploy"),
    path("services/<int:service_id>/approve/", actions.approve, name="approve"),
    path("services/<int:service_id>/dismiss/", actions.dismiss, name="dismiss"),
    path("services/<int:service_id>/rollback/<int:revision_id>/", actions.rollback, name="rollback"),
    path("services/<int:service_id>/pin/", actions.pin, name="pin"),
    path("services/<int:service_id>/unpin/", actions.unpin, name="unpin"),
    path("services/<int:service_id>/ignore/", actions.ignore, name="ignore"),
    path("services/<int:service_id>/unignore/", actions.unignore, name="unignore"),
    path("services/<int:service_id>/scan/", actions.scan, name="scan"),
    path("services/<int:service_id>/scan-allow/", actions.scan_allow, name="scan_allow"),
]
