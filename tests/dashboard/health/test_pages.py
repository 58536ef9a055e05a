"""The banner on every page and the /health/ page read stored results only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.health import checks
from dashboard.health.services import health_record
from dashboard.models import HealthCheck

pytestmark = pytest.mark.django_db


def record(*results: checks.CheckResult) -> None:
    health_record(results=results)


OK_DOCKER = checks.CheckResult("docker", "Docker", checks.OK, "Docker 20.10, API 1.41")
BAD_COMPOSE = checks.CheckResult("compose", "Compose", checks.FAILED, "Docker Compose not found", "install it")


def test_the_status_page_shows_a_banner_linking_to_the_checks_when_one_failed(client, owner):
    record(OK_DOCKER, BAD_COMPOSE)
    client.force_login(owner)
    page = client.get("/").content.decode()
    assert "1 health check failed: Compose." in page
    assert 'href="/health/"' in page


def test_no_banner_when_every_check_passed(client, owner):
    record(OK_DOCKER)
    client.force_login(owner)
    assert "health-banner" not in client.get("/").content.decode()


def test_the_banner_says_when_the_checks_have_stopped_running(client, owner, settings):
    record(OK_DOCKER)
    HealthCheck.objects.update(checked_at=timezone.now() - timedelta(seconds=4 * settings.HEALTH_CHECK_INTERVAL))
    client.force_login(owner)
    assert "is the worker running?" in client.get("/").content.decode()


def test_the_health_page_lists_each_check_with_its_fix(client, owner):
    record(OK_DOCKER, BAD_COMPOSE)
    client.force_login(owner)
    page = client.get("/health/").content.decode()
    assert 'data-check="docker"' in page and "Docker 20.10, API 1.41" in page
    assert 'data-check="compose"' in page and "install it" in page and "Failed" in page


def test_the_health_page_requires_login(client):
    response = client.get("/health/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_recording_replaces_the_previous_results(client):
    record(OK_DOCKER, BAD_COMPOSE)
    record(OK_DOCKER)
    assert list(HealthCheck.objects.values_list("name", flat=True)) == ["docker"]


def test_the_periodic_task_runs_the_checks_and_stores_them(settings):
    from dashboard.health.tasks import run_checks

    settings.HEALTH_MIN_FREE_DISK_MB = 1024**3  # one real failure to look for
    run_checks()
    stored = {check.name: check for check in HealthCheck.objects.all()}
    assert stored["disk_data"].failed and stored["disk_data"].fix
    assert stored["database"].status == checks.OK
