"""The controls do exactly what they say, through `deployments.services`, and leave an audit trail."""

import pytest
from django.utils import timezone

from deployments import services
from deployments.models import Activity, DeploymentRun
from tests.factories import DeploymentRunFactory, RevisionFactory, ServiceFactory

pytestmark = pytest.mark.django_db
NEW_DIGEST = "sha256:" + "c" * 64


@pytest.fixture
def notify_service():
    return ServiceFactory(
        labels={"updater.mode": "notify"},
        available_tag="1.1.0",
        available_digest=NEW_DIGEST,
        last_checked_at=timezone.now(),
    )


def approve(client, service, **changes):
    data = {"tag": service.available_tag, "digest": service.available_digest, "generation": service.deploy_generation}
    return client.post(f"/services/{service.pk}/approve/", {**data, **changes}, headers={"HX-Request": "true"})


def test_approve_deploys_exactly_the_checked_tag_and_digest(client, op, notify_service):
    client.force_login(op)
    response = approve(client, notify_service)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "dashboard:resync"
    run = DeploymentRun.objects.get()
    assert (run.to_tag, run.to_digest, run.trigger, run.requested_by) == ("1.1.0", NEW_DIGEST, "manual", op)
    notify_service.refresh_from_db()
    assert notify_service.active_run == run
    entry = Activity.objects.get(action="approve")
    assert (entry.actor, entry.run, entry.outcome) == (op, run, Activity.Outcome.OK)


def test_approve_is_refused_when_the_check_result_changed_since_the_page(client, op, notify_service):
    client.force_login(op)
    seen = {"tag": "1.1.0", "digest": NEW_DIGEST, "generation": notify_service.deploy_generation}
    notify_service.available_digest = "sha256:" + "d" * 64  # the tag was re-pushed meanwhile
    notify_service.save()
    response = client.post(f"/services/{notify_service.pk}/approve/", seen, headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "changed since you looked" in response.content.decode()
    assert not DeploymentRun.objects.exists()
    assert Activity.objects.get().outcome == Activity.Outcome.REFUSED


def test_approve_is_refused_when_another_deploy_moved_the_generation(client, op, notify_service):
    client.force_login(op)
    stale_generation = notify_service.deploy_generation
    notify_service.deploy_generation += 1
    notify_service.save()
    response = approve(client, notify_service, generation=stale_generation)
    assert response.status_code == 409
    assert not DeploymentRun.objects.exists()


def test_dismiss_ignores_the_tag_and_the_board_stops_offering_it(client, op, notify_service):
    client.force_login(op)
    response = client.post(f"/services/{notify_service.pk}/dismiss/", {"tag": "1.1.0"})
    assert response.status_code == 302  # no JavaScript: back with a message
    notify_service.refresh_from_db()
    assert notify_service.ignored_tags == ["1.1.0"]
    board = client.get("/").content.decode()
    assert 'data-state="approval"' not in board and 'data-state="synced"' in board
    assert "update declined" in board


def test_dismiss_of_a_floating_tag_ignores_the_digest(op, notify_service):
    notify_service.available_tag = notify_service.current_tag
    notify_service.save()
    services.service_dismiss(service=notify_service, tag=notify_service.current_tag, digest=NEW_DIGEST, user=op)
    notify_service.refresh_from_db()
    assert (notify_service.ignored_tags, notify_service.ignored_digests) == ([], [NEW_DIGEST])


def test_rollback_confirmation_names_the_tag_then_rolls_back(client, op):
    service = ServiceFactory(current_tag="1.1.0")
    older = RevisionFactory(service=service, tag="1.0.0")
    RevisionFactory(service=service, tag="1.1.0", digest=service.current_digest)
    client.force_login(op)
    confirm = client.get(f"/services/{service.pk}/rollback/{older.pk}/")
    assert "Roll back to 1.0.0" in confirm.content.decode()
    dialog = client.get(f"/services/{service.pk}/rollback/{older.pk}/", headers={"HX-Request": "true"})
    assert "<html" not in dialog.content.decode() and "Roll back to 1.0.0" in dialog.content.decode()
    response = client.post(f"/services/{service.pk}/rollback/{older.pk}/", {"next": f"/services/{service.pk}/"})
    assert response.status_code == 302 and response.url == f"/services/{service.pk}/"
    run = DeploymentRun.objects.get()
    assert (run.trigger, run.to_tag, run.to_digest, run.rollback_of) == ("rollback", "1.0.0", older.digest, older)
    assert Activity.objects.get(action="rollback").detail.startswith("roll back to 1.0.0")


def test_rollback_while_deploying_is_refused_with_the_reason(client, op):
    service = ServiceFactory(current_tag="1.1.0")
    older = RevisionFactory(service=service, tag="1.0.0")
    service.active_run = DeploymentRunFactory(service=service)
    service.save()
    client.force_login(op)
    response = client.post(f"/services/{service.pk}/rollback/{older.pk}/", headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "already in progress" in response.content.decode()


def test_revision_of_another_service_is_not_found(client, op):
    service, other = ServiceFactory(), ServiceFactory()
    foreign = RevisionFactory(service=other)
    client.force_login(op)
    assert client.post(f"/services/{service.pk}/rollback/{foreign.pk}/").status_code == 404


def test_deploy_a_chosen_tag_and_refuse_an_invalid_one(client, op):
    service = ServiceFactory()
    client.force_login(op)
    bad = client.post(f"/services/{service.pk}/deploy/", {"tag": "bad tag!"}, headers={"HX-Request": "true"})
    assert bad.status_code == 400 and "invalid" in bad.content.decode().lower()
    assert not DeploymentRun.objects.exists()
    client.post(f"/services/{service.pk}/deploy/", {"tag": "2.0.0"})
    assert DeploymentRun.objects.get().to_tag == "2.0.0"


def test_pin_unpin_ignore_and_unignore(client, op):
    service = ServiceFactory()
    client.force_login(op)
    base = f"/services/{service.pk}"
    client.post(f"{base}/pin/", {"tag": "1.0.0"})
    client.post(f"{base}/ignore/", {"kind": "tag", "value": "2.0.0"})
    client.post(f"{base}/ignore/", {"kind": "digest", "value": NEW_DIGEST})
    service.refresh_from_db()
    assert (service.pinned_tag, service.ignored_tags, service.ignored_digests) == ("1.0.0", ["2.0.0"], [NEW_DIGEST])
    page = client.get(f"{base}/").content.decode()
    assert "Unpin 1.0.0" in page and "set here" in page
    client.post(f"{base}/unpin/")
    client.post(f"{base}/unignore/", {"kind": "tag", "value": "2.0.0"})
    client.post(f"{base}/unignore/", {"kind": "digest", "value": NEW_DIGEST})
    service.refresh_from_db()
    assert (service.pinned_tag, service.ignored_tags, service.ignored_digests) == ("", [], [])
    actions = list(Activity.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["pin", "ignore_tag", "ignore_digest", "unpin", "unignore_tag", "unignore_digest"]


def test_check_now_queues_a_check_of_that_service(client, op, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(services.app, "send_task", lambda name, args: sent.append((name, args)))
    service = ServiceFactory()
    client.force_login(op)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/services/{service.pk}/check/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Checking" in response.content.decode()
    assert sent == [(services.CHECK_SERVICE_TASK, [service.pk])]


def test_gets_are_refused_on_controls(client, op):
    service = ServiceFactory()
    client.force_login(op)
    assert client.get(f"/services/{service.pk}/pin/").status_code == 405
