"""Acting through the API: the same services as the dashboard, operators only (for a token: the lower of its
role and its owner's), conflicts as 409 and refusals as 400, each recorded in the audit log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.roles import VIEWER, assign_role
from deployments.models import Activity, DeploymentRun
from tests.factories import DeploymentRunFactory, RevisionFactory, ServiceFactory

pytestmark = pytest.mark.django_db
NEW = "sha256:" + "c" * 64


@pytest.fixture
def service():
    return ServiceFactory(
        labels={"updater.mode": "manual"}, available_tag="1.1.0", available_digest=NEW, last_checked_at=timezone.now()
    )


def actions(service) -> list[tuple[str, dict]]:
    revision = RevisionFactory(service=service, tag="0.9.0")
    return [
        ("check", {}),
        ("deploy", {"tag": "1.1.0"}),
        ("approve", {"tag": "1.1.0", "digest": NEW, "generation": 0}),
        ("dismiss", {"tag": "1.1.0"}),
        ("rollback", {"revision": revision.pk}),
        ("pin", {"tag": "1.0.0"}),
        ("unpin", {}),
        ("ignore", {"kind": "tag", "value": "1.1.0"}),
        ("unignore", {"kind": "tag", "value": "1.1.0"}),
    ]


def post(client: Client, service, name: str, data: dict, headers: dict):
    return client.post(f"/api/v1/services/{service.pk}/{name}/", data, content_type="application/json", headers=headers)


def test_a_viewer_token_or_session_may_not_act(client, viewer, token_for, service):
    headers = token_for(viewer, "viewer")
    for name, data in actions(service):
        response = post(client, service, name, data, headers)
        assert response.status_code == 403, name
        assert response.json()["error"] == "permission_denied"
    client.force_login(viewer)
    assert post(client, service, "deploy", {"tag": "1.1.0"}, {}).status_code == 403
    assert not DeploymentRun.objects.exists()


def test_an_operators_viewer_token_may_not_act_and_neither_may_a_demoted_owners_operator_token(
    client, op, token_for, service
):
    assert post(client, service, "deploy", {"tag": "1.1.0"}, token_for(op, "viewer")).status_code == 403
    operator_token = token_for(op, "operator")
    assign_role(op, VIEWER)  # the owner lost the role: every token of theirs loses it too
    assert post(client, service, "deploy", {"tag": "1.1.0"}, operator_token).status_code == 403
    assert not DeploymentRun.objects.exists()


def test_an_operator_token_deploys_a_tag_as_its_owner(client, op, token_for, service):
    response = post(client, service, "deploy", {"tag": "1.1.0"}, token_for(op, "operator"))
    assert response.status_code == 202
    run = DeploymentRun.objects.get()
    assert response.json()["run"]["id"] == run.pk and response.json()["message"] == f"Deploying 1.1.0 to {service}"
    assert (run.to_tag, run.trigger, run.requested_by) == ("1.1.0", "manual", op)
    entry = Activity.objects.get(action="deploy")
    assert (entry.actor, entry.run, entry.outcome) == (op, run, Activity.Outcome.OK)


def test_a_deploy_while_another_runs_is_a_409_and_is_recorded_as_refused(client, op, token_for, service):
    active = DeploymentRunFactory(service=service, generation=1, state=DeploymentRun.State.PULLING)
    service.active_run = active
    service.save()
    response = post(client, service, "deploy", {"tag": "1.1.0"}, token_for(op, "operator"))
    assert response.status_code == 409
    assert response.json()["error"] == "conflict" and "deploy" in response.json()["message"]
    assert Activity.objects.get().outcome == Activity.Outcome.REFUSED


def test_approving_an_update_that_changed_since_it_was_seen_is_a_409(client, op, token_for, service):
    data = {"tag": "1.1.0", "digest": "sha256:" + "d" * 64, "generation": service.deploy_generation}
    response = post(client, service, "approve", data, token_for(op, "operator"))
    assert response.status_code == 409 and "changed since you looked" in response.json()["message"]
    good = {**data, "digest": NEW}
    assert post(client, service, "approve", good, token_for(op, "operator")).status_code == 202
    assert DeploymentRun.objects.get().to_digest == NEW


def test_a_refused_action_is_a_400_with_the_services_reason(client, op, token_for, service):
    headers = token_for(op, "operator")
    response = post(client, service, "unpin", {}, headers)
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "refused", "message": f"{service} is not pinned"}
    invalid = post(client, service, "deploy", {"tag": "bad tag!"}, headers)
    assert invalid.status_code == 400 and not DeploymentRun.objects.exists()


def test_missing_or_wrong_fields_are_a_400_naming_each_field(client, op, token_for, service):
    response = post(client, service, "approve", {"tag": "1.1.0", "generation": "x"}, token_for(op, "operator"))
    body = response.json()
    assert response.status_code == 400 and body["error"] == "invalid"
    assert set(body["fields"]) == {"generation"} and body["message"].startswith("generation:")


def test_rollback_pin_ignore_dismiss_and_check_do_what_the_dashboard_does(client, op, token_for, service):
    headers = token_for(op, "operator")
    revision = RevisionFactory(service=service, tag="0.9.0")
    rolled = post(client, service, "rollback", {"revision": revision.pk}, headers)
    assert rolled.status_code == 202 and rolled.json()["run"]["trigger"] == "rollback"
    assert post(client, service, "rollback", {"revision": 999999}, headers).status_code == 404
    DeploymentRun.objects.update(state=DeploymentRun.State.CANCELLED)
    service.refresh_from_db()
    service.active_run = None
    service.save()
    assert post(client, service, "pin", {"tag": "1.0.0"}, headers).status_code == 202
    assert post(client, service, "ignore", {"kind": "digest", "value": NEW}, headers).status_code == 202
    assert post(client, service, "dismiss", {"tag": "1.1.0"}, headers).status_code == 202
    assert post(client, service, "check", {}, headers).status_code == 202
    service.refresh_from_db()
    assert (service.pinned_tag, service.ignored_digests, service.ignored_tags) == ("1.0.0", [NEW], ["1.1.0"])
    assert post(client, service, "unpin", {}, headers).status_code == 202
    assert post(client, service, "unignore", {"kind": "tag", "value": "1.1.0"}, headers).status_code == 202
    done = list(Activity.objects.filter(actor=op).values_list("action", flat=True))
    assert set(done) >= {"rollback", "pin", "ignore_digest", "dismiss", "check_now", "unpin", "unignore_tag"}


def test_a_session_must_send_the_csrf_token_a_token_need_not(op, token_for, service):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(op)
    refused = post(browser, service, "check", {}, {})
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    browser.get("/")  # sets the CSRF cookie as any page does
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"].value}
    assert post(browser, service, "check", {}, csrf).status_code == 202
    assert post(Client(enforce_csrf_checks=True), service, "check", {}, token_for(op, "operator")).status_code == 202
