"""Thin Celery task: run the health checks and store their results for the pages to read."""

from __future__ import annotations

import logging

from celery import shared_task, signals

from dashboard.health import checks, services

logger = logging.getLogger(__name__)


@shared_task(name="dashboard.health.run_checks", ignore_result=True, soft_time_limit=120, time_limit=180)
def run_checks() -> None:
    """Beat runs this every UPDATER_HEALTH_INTERVAL seconds; the worker also runs it when it starts."""
    results = checks.run_all()
    services.health_record(results=results)
    for result in results:
        if result.failed:
            logger.warning("health check %s failed: %s (fix: %s)", result.name, result.summary, result.fix)


@signals.worker_ready.connect
def run_checks_at_start(**_kwargs: object) -> None:
    run_checks.delay()
