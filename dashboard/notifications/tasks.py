"""Thin Celery tasks for notifications: send one (queued after it is recorded), and the periodic flush
that retries with backoff, releases digests and quiet hours, and recovers rows of dead workers.

Retries are rows due later, not delayed Celery messages: a delayed message would sit unacknowledged in
the worker (see `CELERY_TASK_ACKS_LATE` in settings), and a row survives a restart.
"""

from __future__ import annotations

from celery import shared_task

from dashboard.notifications import services


@shared_task(name="dashboard.notifications.send", ignore_result=True, soft_time_limit=60, time_limit=90)
def send(notification_id: int) -> None:
    services.notification_send(notification_id=notification_id)


@shared_task(name="dashboard.notifications.flush", ignore_result=True, soft_time_limit=240, time_limit=300)
def flush() -> None:
    services.notifications_flush()
