"""A push webhook's check: only the services on the pushed repositories, through the periodic check's own
decisions (policy, approval); a duplicate task does nothing."""

from __future__ import annotations

import pytest

from deployments import tasks
from deployments.discovery import discover_services
from deployments.events import subscribe, unsubscribe
from deployments.models import DeploymentRun, Service
from registries.models import Registry, WebhookDelivery
from registries.webhooks.services import webhook_endpoint_create
from tests.support.fake_registry import FakeResponse

pytestmark = pytest.mark.django_db
DIGEST = FakeResponse(200, headers={"Docker-Content-Digest": "sha256:" + "1" * 64})


@pytest.fixture
def events():
    seen = []
    subscribe(seen.append)
    yield seen
    unsubscribe(seen.append)


def delivery_for(host: str, *repositories: str) -> WebhookDelivery:
    endpoint, _ = webhook_endpoint_create(registry=Registry.objects.create(host=host))
    return WebhookDelivery.objects.create(
        endpoint=endpoint, repositories=[f"{host}/{name}" for name in repositories], state=WebhookDelivery.State.QUEUED
    )


def test_a_push_checks_only_the_services_on_its_repository_with_the_usual_decisions(
    engine_seam, fake_registry, settings
):
    settings.WEBHOOK_DEBOUNCE = 0
    for name in ("pushed/app", "other/app"):
        fake_registry.route("GET", f"/v2/{name}/tags/list", FakeResponse(200, {"tags": ["1.0.0", "1.1.0"]}))
        # an update waiting for approval names one image: the check asks for its digest
        fake_registry.route("HEAD", f"/v2/{name}/manifests/1.1.0", DIGEST)
    engine_seam.run("shop", "web", f"{fake_registry.host}/pushed/app:1.0.0")
    engine_seam.run("shop", "worker", f"{fake_registry.host}/pushed/app:1.0.0")
    engine_seam.run("shop", "other", f"{fake_registry.host}/other/app:1.0.0")
    discover_services()
    Service.objects.filter(name="worker").update(update_mode="manual")  # approval still required for this one

    delivery = delivery_for(fake_registry.host, "pushed/app")
    tasks.check_pushed(delivery.pk)

    asked = {request.path for request in fake_registry.requests}
    assert "/v2/pushed/app/tags/list" in asked and "/v2/other/app/tags/list" not in asked
    runs = DeploymentRun.objects.select_related("service")
    assert [(run.service.name, run.to_tag, run.trigger) for run in runs] == [("web", "1.1.0", "auto")]
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.CHECKED and delivery.checked_at is not None
    assert (
        "shop/web: queued run" in delivery.result and "shop/worker: update available, not deployed" in delivery.result
    )

    tasks.check_pushed(delivery.pk)  # delivered twice: the second task finds it done
    assert DeploymentRun.objects.count() == 1


def test_a_push_of_a_repository_nobody_runs_checks_nothing(engine_seam, fake_registry, events):
    engine_seam.run("shop", "web", f"{fake_registry.host}/used/app:1.0.0")
    delivery = delivery_for(fake_registry.host, "unused/app")
    tasks.check_pushed(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.result == "no running service uses these repositories"
    assert not [request for request in fake_registry.requests if "/tags/list" in request.path]
