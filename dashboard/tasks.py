"""Celery finds tasks in `<app>.tasks`: the dashboard's live in its rooms."""

from dashboard.health.tasks import run_checks
from dashboard.notifications.tasks import flush, send

__all__ = ["flush", "run_checks", "send"]
