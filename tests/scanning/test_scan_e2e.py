"""After each deploy the image that runs is scanned by a real Celery worker; the summary and the downloads
show exactly the planted findings, and a later tag with the fixed packages shows them gone."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from deployments.discovery import discover_services
from deployments.models import Service
from scanning.models import ScanReport
from scanning.selectors import latest_reports_for_services
from scanning.templatetags.scanning import scan_chip_html
from tests.support.processes import celery_processes, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COMPOSE = """\
services:
  web:
    image: {reference}
    # manual: an updater of another test session on this engine must never auto-update it
    labels: {{dockerimageupdater.test: "1", updater.mode: manual}}
    stop_grace_period: 1s
"""
PLANTED = {
    ("CVE-2099-1001", "busybox", "CRITICAL", "1.36.1-r16"),
    ("CVE-2099-1002", "musl", "HIGH", "1.2.4-r3"),
    ("CVE-2099-1003", "busybox", "LOW", "1.36.1-r16"),
}


def scan_of(service: Service, image_id: str) -> ScanReport:
    def finished():
        report = ScanReport.objects.filter(service=service, image_id=image_id).first()
        return report if report and not report.is_active else None

    return wait_for(finished, timeout=90, interval=0.5, message=f"scan of {image_id[:19]}")


def csv_rows(client, report) -> set[tuple[str, ...]]:
    content = client.get(reverse("scanning:download", args=[report.pk, "csv"])).content.decode()
    return {(r["id"], r["package"], r["severity"], r["fixed_version"]) for r in csv.DictReader(io.StringIO(content))}


def test_each_deploy_is_scanned_and_a_fixed_tag_shows_the_findings_gone(
    scanning_on, scan_images, trivy_db, compose_project, tmp_path, client, owner
):
    compose_project.write(COMPOSE.format(reference=scan_images["0.9.0"].reference))
    compose_project.up()
    discover_services()
    service = Service.objects.get(project__name=compose_project.name)
    key = f"{compose_project.name}/web"
    client.force_login(owner)
    scan_env = {
        "UPDATER_COMPOSE_COMMAND": "docker-compose",
        "UPDATER_SCAN_ENABLED": "true",
        "UPDATER_SCAN_CACHE_DIR": str(trivy_db),
        "UPDATER_SCAN_SKIP_DB_UPDATE": "true",
        "UPDATER_SCAN_OFFLINE": "true",
    }
    with celery_processes(tmp_path / "product", beat=False, **scan_env):
        call_command("deploy", key, "1.0.0", "--queue", stdout=io.StringIO())
        vulnerable = scan_of(service, scan_images["1.0.0"].image_id)

        assert vulnerable.status == ScanReport.Status.SUCCEEDED, vulnerable.error
        assert vulnerable.trigger == ScanReport.Trigger.DEPLOY and vulnerable.run.to_tag == "1.0.0"
        assert vulnerable.digest.startswith("sha256:") and vulnerable.digest == vulnerable.run.to_digest
        assert vulnerable.severity_totals == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 1, "UNKNOWN": 0}
        assert csv_rows(client, vulnerable) == PLANTED
        sarif = json.loads(client.get(reverse("scanning:download", args=[vulnerable.pk, "sarif"])).content)
        assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {cve for cve, *_ in PLANTED}
        page = client.get(reverse("scanning:report", args=[vulnerable.pk])).content.decode()
        assert all(cve in page and fixed in page for cve, _, _, fixed in PLANTED)

        call_command("deploy", key, "1.1.0", "--queue", stdout=io.StringIO())
        fixed = scan_of(service, scan_images["1.1.0"].image_id)

    assert fixed.status == ScanReport.Status.SUCCEEDED and fixed.findings_total == 0
    assert csv_rows(client, fixed) == set()
    spdx = json.loads(client.get(reverse("scanning:download", args=[fixed.pk, "spdx"])).content)
    assert {(p["name"], p.get("versionInfo")) for p in spdx["packages"]} >= {("busybox", "1.36.1-r16")}
    service.refresh_from_db()
    assert service.current_tag == "1.1.0"
    chip_report = latest_reports_for_services([service.pk])[service.pk]
    assert chip_report.pk == fixed.pk
    assert "No findings" in scan_chip_html(chip_report)
