"""A real deploy that waits for its maintenance window, then runs when it opens; /metrics, scraped from a
separate web process, then counts it. Real Docker engine, Compose, registry, Redis and Postgres; only the
clock moves (time-machine), by minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from deployments import tasks
from deployments.checks import run_cycle
from deployments.discovery import discover_services
from deployments.models import DeploymentRun, Service
from deployments.selectors import board_row
from tests.support.docker_env import ImageSpec, build_and_push
from tests.support.product import web_process

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
METRICS_TOKEN = "e2e-metrics-token-0123456789"

COMPOSE = """\
services:
  web:
    image: {host}/window/app:{tag}
    labels:
      dockerimageupdater.test: "1"
      updater.window: "{window}"
    stop_grace_period: 1s
"""


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_an_update_waits_for_its_window_then_deploys_and_metrics_count_it(
    registry, test_images, compose_project, settings, tmp_path
):
    settings.STABILITY_WINDOW, settings.HEALTH_TIMEOUT = 1.0, 15
    host = registry.host
    build_and_push(f"{host}/window/app:1.0.0", ImageSpec("1.0.0"))
    new_image = build_and_push(f"{host}/window/app:1.1.0", ImageSpec("1.1.0"), keep_local=False)
    opens = (datetime.now(UTC) + timedelta(minutes=10)).replace(second=0, microsecond=0)
    window = f"{opens.minute} {opens.hour} * * * 1h UTC"
    compose_project.write(COMPOSE.format(host=host, tag="1.0.0", window=window))
    compose_project.up()
    discover_services()

    with time_machine.travel(opens - timedelta(minutes=5), tick=True):
        run_cycle(service_key=f"{compose_project.name}/web")
        assert not DeploymentRun.objects.exists()
        web = Service.objects.get(project__name=compose_project.name, name="web")
        row = board_row(web.pk)
        assert (row.label, row.detail) == ("Waiting for window", f"1.1.0 (opens {opens:%H:%M})")

    with time_machine.travel(opens + timedelta(seconds=5), tick=True):
        tasks.open_windows()  # what beat runs every minute
        run = DeploymentRun.objects.get()
        assert (run.to_tag, run.trigger) == ("1.1.0", DeploymentRun.Trigger.AUTO)
        tasks.deploy(run.pk)  # the worker's task, run here

    run.refresh_from_db()
    assert run.state == DeploymentRun.State.SUCCEEDED, run.log
    web.refresh_from_db()
    assert web.current_tag == "1.1.0"
    [container] = [c for c in compose_project.containers("web") if c.status == "running"]
    assert container.attrs["Image"] == new_image

    with web_process(tmp_path / "web", UPDATER_METRICS_TOKEN=METRICS_TOKEN) as url:
        found = scrape(url)
    assert found[("updater_deploys_total", (("outcome", "succeeded"), ("trigger", "auto")))] == 1
    assert found[("updater_deploys_total", (("outcome", "failed"), ("trigger", "auto")))] == 0
    assert found[("updater_deploy_duration_seconds_count", (("outcome", "succeeded"),))] == 1
    assert 0 < found[("updater_deploy_duration_seconds_sum", (("outcome", "succeeded"),))] < 300
    assert (
        found[("updater_services", (("state", "synced"),))] + found[("updater_services", (("state", "unknown"),))] == 1
    )
    assert found[("updater_registry_requests_total", (("host", host),))] >= 2  # both cycles' tag lists
    assert found[("updater_registry_errors_total", (("host", host),))] == 0
    assert found[("updater_last_successful_check_timestamp_seconds", ())] > 0
