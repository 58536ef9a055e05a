"""A busy board and revision page in Chromium: every state side by side, at desktop and phone sizes,
driven by keyboard. These screenshots are the ones in the README (docs/screenshots/).

Only the web process runs (no worker, no beat): the seeded services stay exactly as seeded.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.roles import OPERATOR, assign_role
from deployments.models import Activity, CheckCycle, DeploymentRun, Revision, RunStep, Service
from scanning.models import GateDecision, ScanReport
from scanning.report import empty_counts
from tests.browser.conftest import log_in
from tests.factories import ComposeProjectFactory, DeploymentRunFactory, ServiceFactory, UserFactory
from tests.support.product import web_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
EXPLANATION = {
    "current": "16.3",
    "scheme": "semver",
    "shape": "X.Y",
    "strategy": "auto",
    "chosen": "16.4",
    "reason": "16.4 is the newest X.Y release within a minor bump of 16.3",
    "ranked": ["16.4"],
    "held_back": {"max-bump": 1},
    "rejected": {"17.0": "a major bump (max-bump is minor)", "16.4-alpine": "another shape (X.Y-alpine)"},
    "tracks_digest": False,
}


def digest(char: str) -> str:
    return "sha256:" + char * 64


def seed() -> dict:
    now = timezone.now()
    user = UserFactory(username="ops", password=PASSWORD)
    assign_role(user, OPERATOR)
    shop, monitoring, edge = (ComposeProjectFactory(name=name) for name in ("shop", "monitoring", "edge"))

    def service(project, name, repository, tag, available, **fields):
        return ServiceFactory(
            project=project,
            name=name,
            repository=repository,
            current_tag=tag,
            available_tag=available,
            available_digest=digest("e") if available != tag else digest("a"),
            current_digest=digest("a"),
            last_checked_at=now - timedelta(seconds=40),
            **fields,
        )

    web = service(shop, "web", "ghcr.io/acme/shop-web", "2.4.1", "2.4.1")
    service(shop, "api", "ghcr.io/acme/shop-api", "2.4.0", "2.5.0")
    db = service(
        shop,
        "postgres",
        "docker.io/library/postgres",
        "16.3",
        "16.4",
        labels={"updater.mode": "notify", "updater.max-bump": "minor"},
        check_explanation=EXPLANATION,
    )
    worker = service(shop, "worker", "ghcr.io/acme/shop-worker", "2.4.0", "2.4.1")
    worker.active_run = DeploymentRunFactory(service=worker, from_tag="2.4.0", to_tag="2.4.1", state="pulling")
    worker.save()
    service(shop, "redis", "docker.io/library/redis", "7.2.5", "7.2.5")
    service(monitoring, "grafana", "docker.io/grafana/grafana", "11.1.0", "11.1.0")
    prometheus = service(monitoring, "prometheus", "quay.io/prometheus/prometheus", "v2.53.0", "v2.54.1")
    DeploymentRunFactory(
        service=prometheus,
        from_tag="v2.53.0",
        to_tag="v2.54.1",
        state="failed",
        error="verification failed: container exited with code 1",
        restored=True,
    )
    loki = service(monitoring, "loki", "docker.io/grafana/loki", "3.1.0", "3.1.0")
    loki.last_check_error = "docker.io: 429 Too Many Requests (retry after 60 s)"
    loki.save()
    traefik = service(edge, "traefik", "docker.io/library/traefik", "v3.1.2", "v3.2.0")
    blocked_by_scan(traefik)
    for scanned, critical, high, medium in ((web, 0, 0, 0), (db, 0, 2, 5), (worker, 1, 3, 0), (prometheus, 0, 0, 2)):
        scan(scanned, critical=critical, high=high, medium=medium)
    scan(Service.objects.get(name="grafana"), status="running")

    history = [("15.7", "discovered", None, 9), ("16.1", "auto", None, 6), ("16.2", "auto", None, 4)]
    history += [("16.3", "manual", user, 2), ("16.2", "rollback", user, 1), ("16.3", "auto", None, 0)]
    previous = ""
    for index, (tag, trigger, who, days) in enumerate(history):
        run = None
        if trigger != "discovered":
            run = DeploymentRunFactory(service=db, from_tag=previous, to_tag=tag, trigger=trigger)
            DeploymentRun.objects.filter(pk=run.pk).update(
                state="succeeded", requested_by=who, created_at=now - timedelta(days=days, hours=index)
            )
            start = now - timedelta(days=days, minutes=5)
            for offset, state in enumerate(["editing", "pulling", "replacing", "verifying", "succeeded"]):
                RunStep.objects.create(run=run, state=state, at=start + timedelta(seconds=3 * offset + offset**2))
        revision = Revision.objects.create(
            service=db, tag=tag, digest=digest("abcdef"[index]), trigger=trigger, user=who, run=run
        )
        Revision.objects.filter(pk=revision.pk).update(created_at=now - timedelta(days=days, hours=index))
        previous = tag
    Revision.objects.filter(service=db, tag="16.3").update(digest=db.current_digest)
    Activity.objects.create(actor=user, actor_name="ops", action="pin", service=web, target=str(web), detail="")
    Activity.objects.create(
        actor=user, actor_name="ops", action="rollback", service=db, target=str(db), detail="roll back to 16.2"
    )
    CheckCycle.objects.create(
        state="succeeded", services_checked=9, repositories_checked=9, registry_requests=11, finished_at=now
    )
    return {"db": db, "traefik": traefik}


def scan(service, *, status="succeeded", critical=0, high=0, medium=0, image_id="", **fields) -> ScanReport:
    counts = empty_counts()
    counts["vulnerabilities"].update(CRITICAL=critical, HIGH=high, MEDIUM=medium)
    image_id = image_id or digest("9")
    if not service.current_image_id:
        service.current_image_id = image_id
        service.save(update_fields=["current_image_id"])
    return ScanReport.objects.create(
        service=service,
        trigger=fields.pop("trigger", "deploy"),
        image_reference=f"{service.repository}:{service.current_tag}",
        image_id=image_id,
        status=status,
        counts=counts,
        trivy_version="0.59.1",
        finished_at=timezone.now() - timedelta(minutes=12),
        **fields,
    )


def blocked_by_scan(service) -> None:
    """The differential gate refused v3.2.0: it brings a critical the running v3.1.2 does not have."""
    run = DeploymentRunFactory(
        service=service,
        from_tag="v3.1.2",
        to_tag="v3.2.0",
        to_digest=digest("f"),
        state="failed",
        failed_state="scanning",
        restored=True,
        error="blocked by scan: 1 new findings at or above CRITICAL that the running image does not have",
    )
    scan(service, medium=1)  # what runs: v3.1.2
    candidate = scan(service, critical=1, high=4, image_id=digest("8"), trigger="gate", run=run)
    GateDecision.objects.create(
        run=run,
        service=service,
        policy="differential",
        severity="CRITICAL",
        allowed=False,
        summary="1 new findings at or above CRITICAL that the running image does not have: "
        "CVE-2024-45337 CRITICAL in golang.org/x/crypto v0.28.0, fixed in 0.31.0",
        findings=[
            {
                "id": "CVE-2024-45337",
                "severity": "CRITICAL",
                "package": "golang.org/x/crypto",
                "installed": "v0.28.0",
                "fixed": "0.31.0",
            }
        ],
        findings_total=1,
        report=candidate,
    )


def test_busy_board_and_revision_page_at_desktop_and_phone_sizes(tmp_path, page_for, shots):
    seeded = seed()
    with web_process(tmp_path / "web", UPDATER_SCAN_ENABLED="true") as base_url:
        page = page_for(width=1440, height=1000)
        log_in(page, base_url, "ops", PASSWORD)
        page.wait_for_selector('#live-status[data-state="live"]')
        for state in ("synced", "update", "approval", "deploying", "failed", "blocked", "unknown"):
            assert page.locator(f'tr.svc[data-state="{state}"]').count() >= 1, state
        assert page.title().startswith("(4) ")  # update, approval, failed, blocked
        assert page.locator("tr.svc .c-vuln .sev-critical").count() == 1  # worker's; traefik's candidate never ran
        shots.take(page, "board")

        # Keyboard only: skip link, then the search field filters the board.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.focus("#q")
        page.keyboard.type("postgres")
        page.wait_for_function("document.querySelectorAll('tr.svc').length === 1")
        assert "q=postgres" in page.url

        page.goto(f"{base_url}/services/{seeded['db'].pk}/")
        page.wait_for_selector("#service-hero")
        assert "16.4 is the newest X.Y release" in page.inner_text(".service-page")
        assert "updater.max-bump" in page.inner_text(".service-page")
        shots.take(page, "revision-page")
        page.click("#revisions >> text=Older")
        page.wait_for_selector("#revisions >> text=15.7")

        page.goto(f"{base_url}/services/{seeded['traefik'].pk}/")
        page.wait_for_selector("#blocked >> text=CVE-2024-45337")
        assert page.locator("#blocked button", has_text="Allow v3.2.0 once and deploy").count() == 1
        shots.take(page, "blocked-by-scan")

        phone = page_for(width=390, height=844)
        log_in(phone, base_url, "ops", PASSWORD)
        phone.wait_for_selector("tr.svc")
        shots.take(phone, "board-phone")
