"""The webhook endpoint through Django's test client: token and signature, replays, stale payloads, floods,
collapsed pushes; no login, no CSRF token, and a refused request changes nothing but the endpoint's count."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from registries.models import WebhookDelivery, WebhookEndpoint
from registries.webhooks.services import webhook_check_begin, webhook_endpoint_create
from tests.factories import RegistryFactory
from tests.registries.webhooks import payloads

pytestmark = pytest.mark.django_db
SECRET = "registry-header-secret-77"
State = WebhookDelivery.State


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # as a registry calls it: no session, no CSRF token


@pytest.fixture
def hook(db):
    registry = RegistryFactory(host=f"reg-{uuid.uuid4().hex[:8]}.example.com")
    endpoint, token = webhook_endpoint_create(registry=registry, secret=SECRET)
    return endpoint, f"/hooks/{token}/"


def post(client, url, body: bytes, **headers):
    return client.post(url, body, content_type=payloads.MANIFEST.replace("manifest", "events"), headers=headers)


def push(repository: str, tag: str = "1.1.0", **extra) -> bytes:
    return payloads.distribution(payloads.distribution_event(repository, tag, **extra))


def test_a_signed_push_is_accepted_and_queues_one_check(client, hook, django_capture_on_commit_callbacks):
    endpoint, url = hook
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, url, push("team/app"), Authorization=f"Bearer {SECRET}")
    assert response.status_code == 202, response.content
    delivery = WebhookDelivery.objects.get()
    assert response.json() == {"delivery": delivery.pk, "state": "queued", "repositories": delivery.repositories}
    assert delivery.repositories == [f"{endpoint.registry.host}/team/app"]
    assert delivery.pushes == [["team/app", "1.1.0", payloads.DIGEST]]
    assert len(queued) == 1  # deployments.tasks.check_pushed, sent after commit
    assert endpoint.token_hash not in url and len(url) > 40  # only a hash of the token is stored


def test_an_unknown_token_is_404_and_its_log_line_does_not_hold_it(client, hook, caplog):
    token = "x" * 43
    with caplog.at_level(logging.WARNING):
        response = post(client, f"/hooks/{token}/", push("team/app"), Authorization=f"Bearer {SECRET}")
    assert response.status_code == 404
    assert token not in caplog.text and "unknown token" in caplog.text
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "headers, status", [({}, 401), ({"Authorization": "Bearer guessed"}, 403), ({"Authorization": SECRET[:-1]}, 403)]
)
def test_an_unsigned_or_forged_request_is_refused_counted_and_changes_nothing(
    client, hook, headers, status, django_capture_on_commit_callbacks
):
    endpoint, url = hook
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, url, push("team/app"), **headers)
    assert response.status_code == status
    assert SECRET not in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.refused_count == 1 and endpoint.last_refused_reason.startswith(("unsigned", "forged"))
    assert not WebhookDelivery.objects.exists() and queued == []


def test_a_replayed_delivery_is_refused(client, hook, django_capture_on_commit_callbacks):
    _, url = hook
    body = push("team/replayed")
    assert post(client, url, body, Authorization=SECRET).status_code == 202
    with django_capture_on_commit_callbacks() as queued:
        assert post(client, url, body, Authorization=SECRET).status_code == 409
    assert WebhookDelivery.objects.count() == 1 and queued == []


def test_a_stale_delivery_is_refused(client, hook):
    _, url = hook
    old = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = post(client, url, push("team/app", timestamp=old), Authorization=SECRET)
    assert response.status_code == 400 and "stale" in response.json()["error"]
    assert not WebhookDelivery.objects.exists()


def test_pushes_of_one_repository_collapse_until_its_check_starts(
    client, hook, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_DEBOUNCE = 0
    _, url = hook
    repository = f"team/burst-{uuid.uuid4().hex[:6]}"
    with django_capture_on_commit_callbacks() as queued:
        states = [post(client, url, push(repository, tag), Authorization=SECRET).json()["state"] for tag in "abc"]
    assert states == ["queued", "collapsed", "collapsed"] and len(queued) == 1
    first = WebhookDelivery.objects.get(state=State.QUEUED)
    assert webhook_check_begin(delivery_id=first.pk) == first.repositories
    assert webhook_check_begin(delivery_id=first.pk) is None  # a duplicate task finds it claimed
    # The check may have listed the tags already: a push from now on queues a check of its own.
    with django_capture_on_commit_callbacks() as queued:
        assert post(client, url, push(repository, "d"), Authorization=SECRET).json()["state"] == "queued"
    assert len(queued) == 1


def test_a_flood_is_rate_limited(client, hook, settings):
    settings.WEBHOOK_RATE_LIMIT = 3
    _, url = hook
    answers = [post(client, url, push(f"team/flood{index}"), Authorization=SECRET) for index in range(5)]
    assert [answer.status_code for answer in answers] == [202, 202, 202, 429, 429]
    assert answers[-1]["Retry-After"] == "60"
    assert WebhookDelivery.objects.count() == 3


def test_a_valid_delivery_without_a_push_is_accepted_and_checks_nothing(
    client, hook, django_capture_on_commit_callbacks
):
    _, url = hook
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, url, push("team/app", action="pull"), Authorization=SECRET)
    assert response.status_code == 202 and response.json()["state"] == "ignored" and queued == []


def test_only_post_is_served_and_a_disabled_webhook_refuses(client, hook):
    endpoint, url = hook
    assert client.get(url).status_code == 405
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert post(client, url, push("team/app"), Authorization=SECRET).status_code == 403


def test_the_admin_shows_the_url_once_and_regenerating_it_retires_the_old_one(admin_client, hook, client):
    endpoint, old_url = hook
    page = admin_client.post(
        "/admin/registries/webhookendpoint/", {"action": "regenerate_url", "_selected_action": [endpoint.pk]}
    ).content.decode()
    new_url = page.split('class="webhook-url">')[1].split("<")[0]
    assert new_url.startswith("http://testserver/hooks/") and new_url.endswith("/")
    assert post(client, old_url, push("team/app"), Authorization=SECRET).status_code == 404
    path = new_url.removeprefix("http://testserver")
    assert post(client, path, push("team/app"), Authorization=SECRET).status_code == 202
    change = admin_client.get(f"/admin/registries/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert path not in change and SECRET not in change


def test_adding_a_webhook_in_the_admin_shows_its_url_and_setup_once(admin_client, client):
    registry = RegistryFactory(host="harbor.example.com", provider="harbor")
    page = admin_client.post(
        "/admin/registries/webhookendpoint/add/", {"registry": registry.pk, "secret": SECRET, "enabled": "on"}
    ).content.decode()
    endpoint = WebhookEndpoint.objects.get(registry=registry)
    assert endpoint.family == "harbor" and endpoint.get_secret() == SECRET and SECRET not in endpoint.secret_encrypted
    url = page.split('class="webhook-url">')[1].split("<")[0].removeprefix("http://testserver")
    assert "Auth Header" in page and SECRET not in page
    assert post(client, url, payloads.harbor("library/nginx"), Authorization=SECRET).status_code == 202
