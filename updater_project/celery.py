"""Celery application and the beat schedule (one beat process only: see README)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "updater_project.settings")

app = Celery("updater")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def schedule_periodic_tasks(sender: Celery, **_kwargs: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = {
        "check-for-updates": {
            "task": "deployments.tasks.check_all",
            "schedule": float(settings.CHECK_INTERVAL),
            "options": {"expires": float(settings.CHECK_INTERVAL)},
        },
        "reconcile-deployments": {
            "task": "deployments.tasks.reconcile",
            "schedule": float(settings.RECONCILE_INTERVAL),
            "options": {"expires": float(settings.RECONCILE_INTERVAL)},
        },
        "scan-maintenance": {  # requeue lost scans, fail dead ones, prune old reports
            "task": "scanning.tasks.maintain",
            "schedule": 300.0,
            "options": {"expires": 300.0},
        },
    }
