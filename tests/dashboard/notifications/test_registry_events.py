"""Registry outages reach channels once when they start and once when they end, through real check cycles;
refused credentials (against the real registry with htpasswd auth) count as a failing registry."""

from __future__ import annotations

import pytest

from dashboard.notifications.models import Notification
from dashboard.notifications.services import notifications_flush
from deployments.checks import run_cycle
from registries.models import Registry
from tests.support.fake_registry import FakeResponse

pytestmark = pytest.mark.django_db(transaction=True)  # events are published on commit


@pytest.fixture
def quick_registry_client(settings):
    settings.REGISTRY_TIMEOUT = 0.5
    settings.REGISTRY_RETRIES = 1


@pytest.mark.usefixtures("quick_registry_client")
def test_a_registry_that_stays_down_is_reported_once_and_once_more_when_it_answers(
    engine_seam, fake_registry, receiver, make_channel, queued
):
    make_channel(f"json://127.0.0.1:{receiver.port}/", ["registry.unreachable", "registry.recovered"])
    fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"tags": ["1.0.0"]}, delay=3))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    for _ in range(3):  # three cycles while it is down
        run_cycle(dry_run=True)
    fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"tags": ["1.0.0"]}))
    run_cycle(dry_run=True)
    run_cycle(dry_run=True)  # up and staying up: nothing more

    assert notifications_flush() == 2
    down, up = (request.json() for request in receiver.wait_for(2))
    assert (down["title"], down["type"]) == (f"Registry unreachable: {fake_registry.host}", "failure")
    assert fake_registry.host in down["message"] and "not checked" in down["message"]
    assert (up["title"], up["type"]) == (f"Registry recovered: {fake_registry.host}", "success")
    assert Notification.objects.count() == 2


def test_refused_credentials_are_reported_as_a_failing_registry_and_their_fix_as_recovery(
    engine_seam, auth_registry, receiver, make_channel, queued
):
    make_channel(f"json://127.0.0.1:{receiver.port}/", ["registry.unreachable", "registry.recovered"])
    row = Registry(host=auth_registry.host, username=auth_registry.username)
    row.set_secret("wrong password")
    row.save()
    engine_seam.run("shop", "web", f"{auth_registry.host}/creds/app:1.0.0")
    run_cycle(dry_run=True)
    run_cycle(dry_run=True)
    row.set_secret(auth_registry.password)
    row.save()
    run_cycle(dry_run=True)  # the credentials work (the repository does not exist: that is no outage)

    notifications_flush()
    down, up = (request.json() for request in receiver.wait_for(2))
    assert down["title"] == f"Registry unreachable: {auth_registry.host}"
    assert "401 bad credentials" in down["message"]
    assert "wrong password" not in down["message"] and auth_registry.password not in down["message"]
    assert up["title"] == f"Registry recovered: {auth_registry.host}"
    assert len(receiver.requests) == 2
