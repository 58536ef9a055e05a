"""The board of a fleet in Chromium: a section per host with its engine and counters, a silent host shown
offline, and the host filter (rows from the database; the live fleet is tests/e2e/test_fleet.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import DockerHost
from tests.browser.conftest import log_in
from tests.factories import ComposeProjectFactory, ServiceFactory, UserFactory
from tests.support.product import web_process

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


def test_the_board_shows_each_host_and_a_silent_one_offline(tmp_path, page_for, shots):
    UserFactory(username="boss", password=PASSWORD, is_staff=True, is_superuser=True)
    now = timezone.now()
    hosts = {
        "edge-1": DockerHost.objects.create(name="edge-1", engine_version="24.0.7", compose_version="2.26.1",
                                            last_heartbeat_at=now),
        "edge-2": DockerHost.objects.create(name="edge-2", engine_version="20.10.24", compose_version="1.29.2",
                                            last_heartbeat_at=now - timedelta(minutes=5)),
    }  # fmt: skip
    for name, host in hosts.items():
        project = ComposeProjectFactory(host=host, name="shop")  # the same project name on both hosts
        ServiceFactory(project=project, name="web", last_checked_at=now, available_tag="1.1.0")
        ServiceFactory(project=project, name="db", last_checked_at=now, repository=f"registry.example.com/{name}/db")
    with web_process(tmp_path / "web", UPDATER_HOST_HEARTBEAT="10") as base_url:
        page = page_for()
        log_in(page, base_url, "boss", PASSWORD)
        page.wait_for_selector("#host-edge-2")
        shots.take(page, "fleet-board")
        edge_2 = page.locator("#host-edge-2")
        assert edge_2.get_attribute("data-liveness") == "offline"
        assert "Host offline" in edge_2.locator(".host-head").inner_text()
        assert edge_2.locator('tr[data-state="offline"]').count() == 2
        edge_1 = page.locator("#host-edge-1 .host-head").inner_text()
        assert "Docker 24.0.7 · Compose 2.26.1" in edge_1 and "Host offline" not in edge_1
        assert page.locator('#host-edge-1 tr[data-state="update"]').count() == 1

        page.select_option("select[name=host]", "edge-1")  # htmx swaps the board for that host alone
        page.wait_for_selector("#host-edge-2", state="detached")
        assert page.locator("#host-edge-1 tr").count() == 3  # header + two services
        assert "host=edge-1" in page.url
