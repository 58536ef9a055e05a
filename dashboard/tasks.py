"""Celery finds tasks in `<app>.tasks`: the dashboard's live in its rooms."""

from dashboard.health.tasks import run_checks

__all__ = ["run_checks"]
