"""Pruning by age and count, and recovering scans whose message or worker was lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scanning import services
from scanning.models import ScanReport
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
Status = ScanReport.Status


def report(service, *, age_days: float = 0, status=Status.SUCCEEDED, **fields) -> ScanReport:
    row = ScanReport.objects.create(
        service=service, trigger="deploy", image_id="sha256:" + "3" * 64, status=status, **fields
    )
    ScanReport.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=age_days))
    return row


def remaining() -> set[int]:
    return set(ScanReport.objects.values_list("pk", flat=True))


def test_reports_older_than_the_limit_are_pruned_but_each_service_keeps_its_newest(settings):
    settings.SCAN_KEEP_DAYS, settings.SCAN_KEEP_PER_SERVICE = 30, 10
    service, idle = ServiceFactory(), ServiceFactory()
    fresh = report(service, age_days=1)
    old = report(service, age_days=40)
    idle_newest = report(idle, age_days=100)  # the only report of a service nobody redeployed: the board shows it
    idle_older = report(idle, age_days=120)
    orphan = report(None, age_days=60)

    assert services.scan_reports_prune() == 3
    assert remaining() == {fresh.pk, idle_newest.pk}
    assert old.pk not in remaining() and idle_older.pk not in remaining() and orphan.pk not in remaining()


def test_each_service_keeps_at_most_the_configured_number_of_reports(settings):
    settings.SCAN_KEEP_DAYS, settings.SCAN_KEEP_PER_SERVICE = 365, 3
    service, other = ServiceFactory(), ServiceFactory()
    rows = [report(service, age_days=day) for day in range(6)]  # rows[0] is the newest
    others = [report(other, age_days=day) for day in range(2)]
    running = report(service, age_days=9, status=Status.RUNNING)  # unfinished scans are never pruned

    services.scan_reports_prune()

    assert remaining() == {r.pk for r in rows[:3]} | {r.pk for r in others} | {running.pk}


def test_a_running_scan_whose_worker_died_is_failed_and_a_lost_pending_one_requeued(settings):
    settings.SCAN_TIMEOUT = 60
    service = ServiceFactory()
    dead = report(service, status=Status.RUNNING, started_at=timezone.now() - timedelta(minutes=10))
    alive = report(service, status=Status.RUNNING, started_at=timezone.now() - timedelta(minutes=1))
    lost = report(service, status=Status.PENDING)
    ScanReport.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    queued = report(service, status=Status.PENDING)

    result = services.scan_reconcile()

    assert result.failed == [dead.pk] and result.requeue == [lost.pk]
    dead.refresh_from_db()
    assert dead.status == Status.FAILED and "worker stopped" in dead.error
    assert ScanReport.objects.get(pk=alive.pk).status == Status.RUNNING
    assert ScanReport.objects.get(pk=queued.pk).status == Status.PENDING


def test_a_duplicate_task_for_a_finished_scan_does_nothing():
    done = report(ServiceFactory(), status=Status.SUCCEEDED, counts={"vulnerabilities": {"HIGH": 1}})
    assert services.scan_execute(done.pk) is True
    done.refresh_from_db()
    assert done.status == Status.SUCCEEDED and done.counts == {"vulnerabilities": {"HIGH": 1}}
    assert services.scan_execute(999_999) is True  # gone: nothing to do
