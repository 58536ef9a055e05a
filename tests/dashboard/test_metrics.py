"""/metrics: off by default, behind a bearer token or an address allowlist, every number read from rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from deployments.models import CheckCycle, DeploymentRun
from registries.health import HostStats, registry_counters_add, registry_health_record
from scanning.models import ScanReport
from tests.factories import DeploymentRunFactory, ServiceFactory

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []


def scrape(client, token: str = TOKEN) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_are_off_unless_a_token_or_an_allowlist_is_set(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = "", []
    assert client.get("/metrics").status_code == 404


@pytest.mark.usefixtures("metrics_on")
def test_a_scrape_needs_the_token_or_an_allowed_address(client, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    settings.METRICS_ALLOW = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 401
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


@pytest.mark.usefixtures("metrics_on")
def test_services_deploys_and_durations_come_from_the_database(client):
    now = timezone.now()
    synced = ServiceFactory(last_checked_at=now, available_tag="1.0.0")
    ServiceFactory(last_checked_at=now, available_tag="1.1.0")  # update available
    ServiceFactory()  # never checked: unknown
    for generation, seconds in enumerate((4, 45, 200), start=1):
        DeploymentRunFactory(
            service=synced, generation=generation, state="succeeded", trigger="auto",
            started_at=now - timedelta(seconds=seconds), finished_at=now,
        )  # fmt: skip
    DeploymentRunFactory(
        service=synced, generation=9, state="failed", trigger="manual", started_at=now, finished_at=now
    )
    DeploymentRunFactory(service=synced, generation=10, state="cancelled", trigger="rollback")  # never started
    found = scrape(client)
    assert found[("updater_services", (("state", "synced"),))] == 1
    assert found[("updater_services", (("state", "update"),))] == 1
    assert found[("updater_services", (("state", "unknown"),))] == 1
    assert found[("updater_services", (("state", "window"),))] == 0
    assert found[("updater_deploys_total", (("outcome", "succeeded"), ("trigger", "auto")))] == 3
    assert found[("updater_deploys_total", (("outcome", "failed"), ("trigger", "manual")))] == 1
    assert found[("updater_deploys_total", (("outcome", "cancelled"), ("trigger", "rollback")))] == 1
    assert found[("updater_deploys_total", (("outcome", "succeeded"), ("trigger", "manual")))] == 0
    bucket = "updater_deploy_duration_seconds_bucket"
    assert found[(bucket, (("le", "5.0"), ("outcome", "succeeded")))] == 1
    assert found[(bucket, (("le", "60.0"), ("outcome", "succeeded")))] == 2
    assert found[(bucket, (("le", "+Inf"), ("outcome", "succeeded")))] == 3
    assert found[("updater_deploy_duration_seconds_count", (("outcome", "succeeded"),))] == 3
    assert found[("updater_deploy_duration_seconds_sum", (("outcome", "succeeded"),))] == pytest.approx(249, abs=1)


@pytest.mark.usefixtures("metrics_on")
def test_check_cycles_registries_and_scans_come_from_the_database(client):
    now = timezone.now()
    CheckCycle.objects.create(state="succeeded", finished_at=now)
    CheckCycle.objects.filter().update(started_at=now - timedelta(seconds=7))
    CheckCycle.objects.create(state="failed", finished_at=now + timedelta(seconds=1))
    registry_health_record({"docker.io": None, "ghcr.io": "ghcr.io unreachable"})
    registry_counters_add({"docker.io": HostStats(10, 1, (87, 100)), "ghcr.io": HostStats(2, 2)})
    registry_counters_add({"docker.io": HostStats(5, 0, (80, 100))})  # a later cycle, maybe another worker
    web = ServiceFactory(current_image_id="sha256:" + "1" * 64)
    ScanReport.objects.create(
        service=web, trigger="deploy", image_id=web.current_image_id, status="succeeded",
        counts={"vulnerabilities": {"CRITICAL": 2, "HIGH": 3}, "secrets": {"HIGH": 1}},
    )  # fmt: skip
    found = scrape(client)
    assert found[("updater_check_cycle_duration_seconds", ())] == pytest.approx(1, abs=0.5)  # the failed one
    assert found[("updater_last_successful_check_timestamp_seconds", ())] == pytest.approx(now.timestamp(), abs=1)
    assert found[("updater_registry_requests_total", (("host", "docker.io"),))] == 15
    assert found[("updater_registry_errors_total", (("host", "docker.io"),))] == 1
    assert found[("updater_registry_errors_total", (("host", "ghcr.io"),))] == 2
    assert found[("updater_registry_up", (("host", "ghcr.io"),))] == 0
    assert found[("updater_registry_quota_remaining", (("host", "docker.io"),))] == 80
    assert found[("updater_registry_quota_limit", (("host", "docker.io"),))] == 100
    assert ("updater_registry_quota_remaining", (("host", "ghcr.io"),)) not in found
    assert found[("updater_scan_findings", (("severity", "critical"),))] == 2
    assert found[("updater_scan_findings", (("severity", "high"),))] == 4


@pytest.mark.usefixtures("metrics_on")
def test_a_scrape_costs_the_same_queries_for_3_or_60_services(client):
    def scrape_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    for _ in range(3):
        DeploymentRunFactory(state=DeploymentRun.State.SUCCEEDED)
    few = scrape_queries()
    for _ in range(57):
        DeploymentRunFactory(state=DeploymentRun.State.FAILED)
    assert 0 < few == scrape_queries() <= 16
