"""Bad input: Trivy missing, failing, hanging, writing garbage, no database, the image gone.

Each ends as a failed scan with a readable reason; the deploy and the service are never touched.
Misbehaving Trivys are real stand-in executables named by UPDATER_TRIVY_PATH (bad input, not a mock).
"""

from __future__ import annotations

import re
import time

import pytest
from django.core.management import call_command

from deployments.discovery import discover_services
from deployments.models import DeploymentRun, Service
from scanning import services
from scanning.models import ScanReport
from tests.factories import ServiceFactory
from tests.support.docker_env import ImageSpec, build_image, docker_client
from tests.support.trivy_env import write_stand_in

pytestmark = [pytest.mark.e2e]
SERVICE_FIELDS = ("current_tag", "current_digest", "current_image_id", "is_running", "active_run_id", "image")


def scan_of(service) -> ScanReport:
    report = services.scan_request(service, queue=False, fresh=True)
    services.scan_execute(report.pk)
    report.refresh_from_db()
    return report


def snapshot(service) -> tuple:
    service.refresh_from_db()
    return tuple(getattr(service, name) for name in SERVICE_FIELDS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("missing", r"^Trivy not found at UPDATER_TRIVY_PATH='/nonexistent/trivy'$"),
        ("nonzero", r"^Trivy scan of sha256:\w+ exited with code 2: scan failed: planted failure$"),
        ("hang", r"^Trivy scan of sha256:\w+ timed out after 6s$"),
        ("malformed", r"^Trivy's report is not valid JSON \(.+\)$"),
    ],
)
def test_a_broken_trivy_fails_the_scan_with_a_readable_reason(scanning_on, scan_images, tmp_path, behaviour, reason):
    scanning_on.TRIVY_PATH = (
        "/nonexistent/trivy" if behaviour == "missing" else str(write_stand_in(tmp_path, behaviour))
    )
    scanning_on.SCAN_TIMEOUT = 1
    image = scan_images["1.1.0"]
    service = ServiceFactory(image=image.reference, current_image_id=image.image_id)
    before = snapshot(service)
    started = time.monotonic()

    report = scan_of(service)

    assert report.status == ScanReport.Status.FAILED
    assert report.finished_at is not None
    assert re.fullmatch(reason, report.error), report.error
    assert time.monotonic() - started < 20  # a hung Trivy (and its children) is killed, not waited for
    assert snapshot(service) == before


@pytest.mark.django_db
def test_a_missing_vulnerability_database_is_named(scanning_on, scan_images, tmp_path):
    scanning_on.SCAN_CACHE_DIR = tmp_path / "empty-cache"  # offline, and no database there: never downloaded
    image = scan_images["1.1.0"]
    report = scan_of(ServiceFactory(image=image.reference, current_image_id=image.image_id))
    assert report.status == ScanReport.Status.FAILED
    assert report.error.startswith("vulnerability database unavailable: ")
    assert "--skip-update cannot be specified on the first run" in report.error
    assert not (tmp_path / "empty-cache" / "db" / "trivy.db").exists()


@pytest.mark.django_db
def test_an_image_deleted_before_its_scan_fails_the_scan(scanning_on, test_images):
    image_id = build_image("diut-scan/gone:1", ImageSpec("gone"))
    docker_client().images.remove(image_id, force=True)
    service = ServiceFactory(image="diut-scan/gone:1", current_image_id=image_id)
    report = scan_of(service)
    assert (report.status, report.error) == (ScanReport.Status.FAILED, "the image is no longer on the Docker host")
    assert "unable to find the specified image" in report.error_details


COMPOSE = """\
services:
  web:
    image: {reference}
    # manual: an updater of another test session on this engine must never auto-update it
    labels: {{dockerimageupdater.test: "1", updater.mode: manual}}
    stop_grace_period: 1s
"""


@pytest.mark.django_db(transaction=True)
def test_a_failing_scan_after_a_deploy_leaves_the_deploy_and_service_alone(
    scanning_on, scan_images, compose_project, tmp_path
):
    scanning_on.STABILITY_WINDOW, scanning_on.HEALTH_TIMEOUT = 1.0, 15
    scanning_on.TRIVY_PATH = str(write_stand_in(tmp_path, "nonzero"))
    compose_project.write(COMPOSE.format(reference=scan_images["0.9.0"].reference))
    compose_project.up()
    discover_services()
    service = Service.objects.get(project__name=compose_project.name)

    call_command("deploy", f"{compose_project.name}/web", "1.1.0")  # raises if the deploy failed

    run = service.runs.get()
    assert run.state == DeploymentRun.State.SUCCEEDED
    report = ScanReport.objects.get(service=service)  # queued by the DEPLOY_SUCCEEDED subscriber
    assert (report.trigger, report.run_id, report.image_id) == ("deploy", run.pk, scan_images["1.1.0"].image_id)
    services.scan_execute(report.pk)
    report.refresh_from_db()
    assert report.status == ScanReport.Status.FAILED and "planted failure" in report.error
    service.refresh_from_db()
    assert (service.current_tag, service.current_image_id, service.active_run_id) == (
        "1.1.0",
        scan_images["1.1.0"].image_id,
        None,
    )
    [container] = compose_project.containers("web")
    assert container.status == "running" and container.attrs["Image"] == scan_images["1.1.0"].image_id
