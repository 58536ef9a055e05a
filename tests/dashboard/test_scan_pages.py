"""Scans on the dashboard: the board's chip, the service page's panel and controls, the run page.

Report rows are data here (what Trivy stored); the scans themselves run for real in tests/scanning.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import Activity, DeploymentRun
from scanning.models import GateDecision, ScanAllowance, ScanReport
from scanning.report import empty_counts
from tests.factories import DeploymentRunFactory, ServiceFactory

pytestmark = pytest.mark.django_db
IMAGE = "sha256:" + "c" * 64
CANDIDATE = "sha256:" + "d" * 64


def running(**fields):
    return ServiceFactory(current_image_id=IMAGE, last_checked_at=timezone.now(), **fields)


def report_of(service, image_id=IMAGE, critical=0, high=0, **fields):
    counts = empty_counts()
    counts["vulnerabilities"].update(CRITICAL=critical, HIGH=high)
    fields.setdefault("status", ScanReport.Status.SUCCEEDED)
    fields.setdefault("trigger", "deploy")
    return ScanReport.objects.create(
        service=service, image_id=image_id, counts=counts, finished_at=timezone.now(), **fields
    )


def vuln_cell(html: str, service) -> str:
    return html.split(f'id="svc-{service.pk}"', 1)[1].split('class="c-vuln"', 1)[1].split("</td>", 1)[0]


def test_the_board_chip_shows_the_newest_scan_of_what_runs(client, viewer):
    service = running()
    report_of(service, critical=9)  # older scan of the same image
    newest = report_of(service, critical=2, high=1)
    report_of(service, image_id=CANDIDATE, critical=7, trigger="gate")  # a candidate that never ran
    client.force_login(viewer)
    cell = vuln_cell(client.get("/").content.decode(), service)
    assert f'href="/scans/{newest.pk}/"' in cell
    assert '<span class="sev sev-critical"><b>2</b>' in cell and '<span class="sev sev-high"><b>1</b>' in cell


def test_the_board_costs_the_same_queries_with_scans_as_without(client, viewer):
    client.force_login(viewer)
    for _ in range(3):
        report_of(running(), critical=1)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for _ in range(20):
        report_of(running(), high=2)
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    assert len(few) == len(many)


def test_a_failed_and_a_running_scan_say_so(client, viewer):
    failed, scanning = running(), running()
    report_of(failed, status=ScanReport.Status.FAILED, error="trivy: database unavailable")
    report_of(scanning, status=ScanReport.Status.RUNNING)
    client.force_login(viewer)
    html = client.get("/").content.decode()
    assert "Scan failed" in vuln_cell(html, failed) and "trivy: database unavailable" in vuln_cell(html, failed)
    assert "Scanning…" in vuln_cell(html, scanning)


def test_the_service_page_shows_the_running_image_scan_and_its_history(client, viewer, settings):
    settings.SCAN_ENABLED = True
    service = running()
    older = report_of(service, critical=3)
    newest = report_of(service, high=1)
    client.force_login(viewer)
    html = client.get(f"/services/{service.pk}/").content.decode()
    panel = html.split('id="scans"', 1)[1].split("</section>", 1)[0]
    assert f'href="/scans/{newest.pk}/"' in panel and f'href="/scans/{older.pk}/"' in panel
    assert "Earlier scans" in panel
    assert "Scan now" not in panel  # a viewer reads, never acts


def test_the_service_page_says_scanning_is_off(client, viewer, settings):
    settings.SCAN_ENABLED = False
    client.force_login(viewer)
    html = client.get(f"/services/{running().pk}/").content.decode()
    assert "Vulnerability scanning is off" in html and "UPDATER_SCAN_ENABLED=true" in html


def test_an_operator_asks_for_a_scan_and_a_viewer_cannot(client, viewer, op, settings):
    settings.SCAN_ENABLED = True
    service = running()
    client.force_login(viewer)
    assert client.post(f"/services/{service.pk}/scan/", {"fresh": "1"}).status_code == 403
    assert not ScanReport.objects.exists()

    client.force_login(op)
    assert "Scan now" in client.get(f"/services/{service.pk}/").content.decode()
    answer = client.post(f"/services/{service.pk}/scan/", {"fresh": "1"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "queued" in answer.content.decode()
    report = ScanReport.objects.get()
    assert (report.service, report.image_id, report.status, report.requested_by) == (service, IMAGE, "pending", op)
    assert Activity.objects.get(action="scan").actor == op


def test_a_scan_request_is_refused_with_the_reason_when_scanning_is_off(client, op, settings):
    settings.SCAN_ENABLED = False
    service = running()
    client.force_login(op)
    answer = client.post(f"/services/{service.pk}/scan/", headers={"HX-Request": "true"})
    assert answer.status_code == 400 and "scanning is disabled" in answer.content.decode()


def blocked(service):
    run = DeploymentRunFactory(
        service=service,
        to_tag="1.2.0",
        to_digest=CANDIDATE,
        state=DeploymentRun.State.FAILED,
        failed_state=DeploymentRun.State.SCANNING,
        error="blocked by scan: 1 new findings at or above CRITICAL",
        restored=True,
        finished_at=timezone.now(),
    )
    candidate = report_of(service, image_id=CANDIDATE, critical=1, trigger="gate", run=run)
    GateDecision.objects.create(
        run=run,
        service=service,
        policy="differential",
        severity="CRITICAL",
        allowed=False,
        summary="1 new findings at or above CRITICAL that the running image does not have",
        findings=[{"id": "CVE-2099-1004", "severity": "CRITICAL", "package": "zlib", "installed": "1.3-r0"}],
        findings_total=1,
        report=candidate,
    )
    return run


def test_a_blocked_service_shows_the_findings_and_only_an_operator_may_allow_them(client, viewer, op):
    service = running(available_tag="1.2.0")
    run = blocked(service)
    client.force_login(viewer)
    html = client.get(f"/services/{service.pk}/").content.decode()
    assert "Blocked by scan" in html and "CVE-2099-1004" in html and "zlib" in html
    assert "Allow 1.2.0 once" not in html
    assert client.post(f"/services/{service.pk}/scan-allow/", {"digest": CANDIDATE}).status_code == 403

    client.force_login(op)
    assert "Allow 1.2.0 once and deploy" in client.get(f"/services/{service.pk}/").content.decode()
    answer = client.post(f"/services/{service.pk}/scan-allow/", {"digest": CANDIDATE}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "deploying 1.2.0" in answer.content.decode()
    allowance = ScanAllowance.objects.get()
    assert (allowance.digest, allowance.created_by, allowance.used_at) == (CANDIDATE, op, None)
    retry = service.runs.exclude(pk=run.pk).get()
    assert (retry.to_tag, retry.to_digest, retry.trigger, retry.requested_by) == ("1.2.0", CANDIDATE, "manual", op)
    assert Activity.objects.get(action="scan_allow").run == retry


def test_the_run_page_lists_its_scans_and_the_gate_verdict(client, viewer):
    service = running()
    run = blocked(service)
    client.force_login(viewer)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    panel = html.split('id="run-scans"', 1)[1].split("</section>", 1)[0]
    assert "gate refused" in panel and "that the running image does not have" in panel
    assert f'href="/scans/{run.scan_reports.get().pk}/"' in panel
