"""Reading the API: every endpoint needs a viewer (a token or a session), answers JSON, and costs a fixed
number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import CheckCycle, DeploymentRun, RunStep
from scanning.models import ScanReport
from tests.factories import DeploymentRunFactory, RevisionFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db
NEW = "sha256:" + "c" * 64


@pytest.fixture
def fleet():
    web = ServiceFactory(name="web", available_tag="1.1.0", last_checked_at=timezone.now())
    db = ServiceFactory(name="db", project=web.project, available_tag="1.0.0", last_checked_at=timezone.now())
    run = DeploymentRunFactory(service=web, state=DeploymentRun.State.FAILED, to_tag="0.9.0", log="pull failed")
    RunStep.objects.create(run=run, state="pulling", at=timezone.now())
    revision = RevisionFactory(service=web)
    cycle = CheckCycle.objects.create(state=CheckCycle.State.SUCCEEDED, services_checked=2)
    scan = ScanReport.objects.create(service=web, trigger="manual", image_id="sha256:" + "1" * 64, status="succeeded")
    return {"web": web, "db": db, "run": run, "revision": revision, "cycle": cycle, "scan": scan}


def read_urls(fleet) -> list[str]:
    web = fleet["web"]
    return [
        "/api/v1/projects/",
        f"/api/v1/projects/{web.project_id}/",
        "/api/v1/services/",
        f"/api/v1/services/{web.pk}/",
        f"/api/v1/services/{web.pk}/revisions/",
        "/api/v1/runs/",
        f"/api/v1/runs/{fleet['run'].pk}/",
        "/api/v1/check-cycles/",
        f"/api/v1/check-cycles/{fleet['cycle'].pk}/",
        "/api/v1/scans/",
        f"/api/v1/scans/{fleet['scan'].pk}/",
        "/api/v1/me/",
        "/api/schema/",
    ]


def test_every_read_endpoint_refuses_an_anonymous_request_with_a_json_401(client, fleet):
    for url in read_urls(fleet):
        response = client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        if url != "/api/schema/":
            assert response.json()["error"] == "not_authenticated", url


def test_a_viewer_reads_every_endpoint_with_a_token_or_a_session(client, viewer, token_for, fleet):
    headers = token_for(viewer, "viewer")
    for url in read_urls(fleet):
        assert client.get(url, headers=headers).status_code == 200, url
    client.force_login(viewer)
    for url in read_urls(fleet):
        assert client.get(url, headers={"Accept": "application/json"}).status_code == 200, url


def test_a_user_without_a_role_is_refused_with_a_json_403(client, fleet):
    client.force_login(UserFactory(username="nobody"))
    response = client.get("/api/v1/services/")
    assert response.status_code == 403
    assert response.json() == {
        "status": 403,
        "error": "permission_denied",
        "message": "Reading this needs the viewer role or higher",
    }


def test_a_service_shows_its_state_tags_policy_explanation_and_window(client, viewer, token_for, fleet):
    web = fleet["web"]
    web.labels = {"updater.window": "0 2 * * * 2h UTC", "updater.min_age": "24h", "updater.mode": "auto"}
    web.check_explanation = {"reason": "1.1.0 is the highest", "chosen": "1.1.0"}
    web.save()
    body = client.get(f"/api/v1/services/{web.pk}/", headers=token_for(viewer, "viewer")).json()
    assert (body["current_tag"], body["available_tag"], body["project"]["name"]) == ("1.0.0", "1.1.0", web.project.name)
    assert body["last_run"] == fleet["run"].pk
    assert body["explanation"]["chosen"] == "1.1.0"
    policy = {row["setting"]: row for row in body["policy"]}
    assert policy["Minimum age"]["value"] == "24h" and policy["Minimum age"]["source"] == "label"
    assert body["timing"]["schedule"] == "0 2 * * * 2h UTC" and body["timing"]["min_age"] == "24h"
    assert body["state"]["key"] in {"update", "window"}


def test_services_are_filtered_by_state_project_and_text(client, viewer, token_for, fleet):
    headers = token_for(viewer, "viewer")
    other = ServiceFactory(name="cache", last_checked_at=timezone.now(), available_tag="1.0.0")
    states = {
        row["name"]: row["state"]["key"] for row in client.get("/api/v1/services/", headers=headers).json()["results"]
    }
    assert states == {"web": "update", "db": "synced", "cache": "synced"}
    synced = client.get("/api/v1/services/?state=synced", headers=headers).json()
    assert {row["name"] for row in synced["results"]} == {"db", "cache"} and synced["count"] == 2
    in_project = client.get(f"/api/v1/services/?project={other.project.name}", headers=headers).json()
    assert [row["name"] for row in in_project["results"]] == ["cache"]
    assert client.get("/api/v1/services/?q=WEB", headers=headers).json()["count"] == 1


def test_a_run_has_its_log_and_steps_and_runs_filter_by_service(client, viewer, token_for, fleet):
    headers = token_for(viewer, "viewer")
    DeploymentRunFactory(service=fleet["db"], state=DeploymentRun.State.SUCCEEDED, generation=2)
    run = client.get(f"/api/v1/runs/{fleet['run'].pk}/", headers=headers).json()
    assert (run["log"], run["state"], run["service_name"]) == ("pull failed", "failed", str(fleet["web"]))
    assert [step["state"] for step in run["steps"]] == ["pulling"]
    listed = client.get(f"/api/v1/runs/?service={fleet['web'].pk}", headers=headers).json()
    assert [row["id"] for row in listed["results"]] == [fleet["run"].pk] and "log" not in listed["results"][0]
    assert client.get("/api/v1/runs/?state=succeeded", headers=headers).json()["count"] == 1
    bad = client.get("/api/v1/runs/?service=web", headers=headers)
    assert bad.status_code == 400 and bad.json()["fields"] == {"service": ["must be a whole number"]}


def test_revisions_cycles_and_scans_read_as_stored(client, viewer, token_for, fleet):
    headers = token_for(viewer, "viewer")
    revisions = client.get(f"/api/v1/services/{fleet['web'].pk}/revisions/", headers=headers).json()
    assert [row["tag"] for row in revisions["results"]] == ["1.0.0"]
    cycle = client.get(f"/api/v1/check-cycles/{fleet['cycle'].pk}/", headers=headers).json()
    assert (cycle["state"], cycle["services_checked"]) == ("succeeded", 2)
    scans = client.get(f"/api/v1/scans/?service={fleet['web'].pk}", headers=headers).json()
    assert scans["results"][0]["severity_totals"]["CRITICAL"] == 0


def test_an_unknown_object_or_endpoint_is_a_json_404(client, viewer, token_for, fleet):
    headers = token_for(viewer, "viewer")
    for url in ("/api/v1/services/999999/", "/api/v1/runs/999999/", "/api/v1/services/abc/", "/api/v1/nothing/"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.json()["status"] == 404, url


def test_me_tells_the_role_a_token_acts_with(client, op, token_for):
    body = client.get("/api/v1/me/", headers=token_for(op, "viewer")).json()
    assert body == {"username": "op", "role": "viewer", "authenticated_by": "token", "token": "viewer token"}


def test_the_service_list_costs_the_same_queries_for_5_or_50_services(client, viewer, token_for):
    headers = token_for(viewer, "viewer")

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/services/?page_size=500", headers=headers).status_code == 200
        return len(captured)

    for index in range(5):
        DeploymentRunFactory(service=ServiceFactory(last_checked_at=timezone.now()), generation=index)
    queries_for_list()  # the token's first use records it; later requests in the minute do not
    few = queries_for_list()
    for index in range(45):
        DeploymentRunFactory(service=ServiceFactory(last_checked_at=timezone.now() - timedelta(minutes=index)))
    assert 0 < few == queries_for_list() <= 8


def test_the_docs_page_and_the_schema_are_served_to_a_viewer(client, viewer):
    client.force_login(viewer)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # served from our own static files
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.") and "/api/v1/services/{id}/deploy/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_filters_postgres_cannot_take_are_a_400_not_a_500(client, viewer, token_for):
    """Found by schemathesis: a NUL character in a filter, or a digit int() does not read."""
    headers = token_for(viewer, "viewer")
    nul = client.get("/api/v1/services/?project=a%00b", headers=headers)
    assert nul.status_code == 400 and "null" in nul.json()["message"].lower()
    assert client.get("/api/v1/runs/?service=%C2%B2", headers=headers).status_code == 400
    assert client.get(f"/api/v1/runs/?service={'9' * 30}", headers=headers).status_code == 400
    assert client.get("/api/v1/runs/?state=a%00", headers=headers).status_code == 400
