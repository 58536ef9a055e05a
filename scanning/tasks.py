"""Thin Celery tasks: take a report ID, call one service, return quietly when there is nothing to do."""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from django.conf import settings

from scanning import services

logger = logging.getLogger(__name__)
SCAN_TIME_LIMIT = settings.SCAN_TIMEOUT + 120


@shared_task(
    name="scanning.tasks.scan",
    bind=True,
    ignore_result=True,
    max_retries=None,
    soft_time_limit=SCAN_TIME_LIMIT,
    time_limit=SCAN_TIME_LIMIT + 60,
)
def scan(self: Task, report_id: int) -> None:
    """Scan one pending report; while every scan slot is busy, try again in a few seconds."""
    if not services.scan_execute(report_id):
        raise self.retry(countdown=3 + random.uniform(0, 3))  # noqa: S311 (jitter)


@shared_task(name="scanning.tasks.maintain", ignore_result=True)
def maintain() -> None:
    """Beat: requeue scans whose message was lost, fail those whose worker died, prune old reports."""
    result = services.scan_reconcile()
    for report_id in result.requeue:
        services.enqueue_scan(report_id)
    pruned = services.scan_reports_prune()
    if result.requeue or result.failed or pruned:
        logger.info("scans: requeued %s, failed %s, pruned %s", result.requeue, result.failed, pruned)
