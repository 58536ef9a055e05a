"""Who may see and do what: login everywhere, roles, 403 for controls, CSRF, lock-out, the admin."""

import pytest
from django.test import Client
from django.utils import timezone

from deployments.models import Activity, DeploymentRun
from tests.factories import DeploymentRunFactory, RevisionFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def awaiting():
    """A notify-mode service with a checked update, and an earlier revision to roll back to."""
    service = ServiceFactory(
        name="db",
        labels={"updater.mode": "notify"},
        available_tag="1.1.0",
        available_digest="sha256:" + "c" * 64,
        last_checked_at=timezone.now(),
    )
    RevisionFactory(service=service, tag="0.9.0")
    RevisionFactory(service=service, tag="1.0.0", digest=service.current_digest)
    return service


def page_urls(service, run, revision):
    return [
        "/",
        "/activity/",
        f"/services/{service.pk}/",
        f"/runs/{run.pk}/",
        f"/services/{service.pk}/rollback/{revision.pk}/",
    ]


def control_posts(service, revision):
    return {
        f"/services/{service.pk}/check/": {},
        f"/services/{service.pk}/deploy/": {"tag": "1.1.0"},
        f"/services/{service.pk}/approve/": {
            "tag": service.available_tag,
            "digest": service.available_digest,
            "generation": service.deploy_generation,
        },
        f"/services/{service.pk}/dismiss/": {"tag": "1.1.0"},
        f"/services/{service.pk}/rollback/{revision.pk}/": {},
        f"/services/{service.pk}/pin/": {"tag": "1.0.0"},
        f"/services/{service.pk}/unpin/": {},
        f"/services/{service.pk}/ignore/": {"kind": "tag", "value": "2.0.0"},
        f"/services/{service.pk}/unignore/": {"kind": "tag", "value": "2.0.0"},
    }


def test_every_page_and_control_needs_login(client, awaiting):
    run = DeploymentRunFactory(service=awaiting)
    revision = awaiting.revisions.last()
    for url in [*page_urls(awaiting, run, revision), "/admin/", "/admin/registries/registry/add/"]:
        response = client.get(url)
        assert response.status_code == 302 and "login/" in response.url, url
    for url, data in control_posts(awaiting, revision).items():
        response = client.post(url, data)
        assert response.status_code == 302 and response.url.startswith("/login/"), url
    assert not DeploymentRun.objects.exclude(pk=run.pk).exists()


def test_outsider_without_a_role_gets_nothing(client, outsider, awaiting):
    run = DeploymentRunFactory(service=awaiting)
    revision = awaiting.revisions.last()
    client.force_login(outsider)
    for url in page_urls(awaiting, run, revision):
        assert client.get(url).status_code == 403, url
    for url, data in control_posts(awaiting, revision).items():
        assert client.post(url, data).status_code == 403, url
    assert client.get("/admin/").status_code == 302  # not staff: Django admin sends it to its login


def test_viewer_reads_every_page_but_sees_no_control(client, viewer, awaiting):
    run = DeploymentRunFactory(service=awaiting, to_tag="0.5.0", state=DeploymentRun.State.FAILED, error="boom")
    revision = awaiting.revisions.last()
    client.force_login(viewer)
    for url in page_urls(awaiting, run, revision)[:4]:
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        for control in ("/approve/", "/dismiss/", "/rollback/", "/check/", "/deploy/", "/pin/", "/ignore/"):
            assert control not in html, (url, control)
    assert 'data-state="approval"' in client.get("/").content.decode()


def test_viewer_cannot_roll_back_approve_or_deploy(client, viewer, awaiting):
    revision = awaiting.revisions.last()
    client.force_login(viewer)
    for url, data in control_posts(awaiting, revision).items():
        assert client.post(url, data).status_code == 403, url
    assert client.get(f"/services/{awaiting.pk}/rollback/{revision.pk}/").status_code == 403
    assert not DeploymentRun.objects.exists()
    awaiting.refresh_from_db()
    assert (awaiting.pinned_tag, awaiting.ignored_tags) == ("", [])


def test_operator_sees_the_controls(client, op, awaiting):
    client.force_login(op)
    board = client.get("/").content.decode()
    assert f"/services/{awaiting.pk}/approve/" in board and f"/services/{awaiting.pk}/dismiss/" in board
    page = client.get(f"/services/{awaiting.pk}/").content.decode()
    older = awaiting.revisions.get(tag="0.9.0")
    assert f"/services/{awaiting.pk}/rollback/{older.pk}/" in page
    assert f"/services/{awaiting.pk}/check/" in page and f"/services/{awaiting.pk}/deploy/" in page


def test_post_without_csrf_token_is_refused(op, awaiting):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(op)
    url = f"/services/{awaiting.pk}/pin/"
    assert browser.post(url, {"tag": "1.0.0"}).status_code == 403
    awaiting.refresh_from_db()
    assert awaiting.pinned_tag == ""
    token = browser.get(f"/services/{awaiting.pk}/").cookies["csrftoken"].value
    response = browser.post(url, {"tag": "1.0.0"}, headers={"X-CSRFToken": token})
    assert response.status_code == 302
    awaiting.refresh_from_db()
    assert awaiting.pinned_tag == "1.0.0"


def test_repeated_failed_logins_lock_out_that_username_from_that_address(client, op, settings):
    def attempt(password, ip="10.0.0.1", target="/login/"):
        return client.post(target, {"username": "op", "password": password}, REMOTE_ADDR=ip)

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt("wrong").status_code == 200  # the form again, with an error
    assert attempt("wrong").status_code == 429
    locked = attempt("correct-horse-battery")
    assert locked.status_code == 429
    assert b"Sign-in paused" in locked.content
    assert "_auth_user_id" not in client.session
    # The same user from another address is not locked out (an attacker cannot lock out an admin).
    other = Client()
    response = other.post("/login/", {"username": "op", "password": "correct-horse-battery"}, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 302


def test_admin_login_is_throttled_too(client, admin_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "boss", "password": "nope"}, REMOTE_ADDR="10.0.0.3")
    response = client.post(
        "/admin/login/", {"username": "boss", "password": "correct-horse-battery"}, REMOTE_ADDR="10.0.0.3"
    )
    assert response.status_code == 429


def test_admin_role_reaches_django_admin_and_registries(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/registries/registry/add/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200


def test_registry_secret_is_never_rendered_back(client, owner):
    from registries.models import Registry

    registry = Registry(host="registry.example.com", username="bot")
    registry.set_secret("canary-secret-123")
    registry.save()
    client.force_login(owner)
    page = client.get(f"/admin/registries/registry/{registry.pk}/change/").content.decode()
    assert "canary-secret-123" not in page
    assert registry.secret_encrypted not in page


def test_refused_action_is_recorded_in_the_activity_log(client, op, awaiting):
    client.force_login(op)
    response = client.post(f"/services/{awaiting.pk}/unpin/", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "is not pinned" in response.content.decode()
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.outcome) == (op, "unpin", Activity.Outcome.REFUSED)
