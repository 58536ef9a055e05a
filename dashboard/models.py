"""The latest result of each health check, written by the worker (and `manage.py doctor`), read by pages."""

from __future__ import annotations

from django.db import models


class HealthCheck(models.Model):
    """One check's last outcome: the web process only reads these rows, it never runs a check itself."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not checked"

    name = models.CharField(max_length=32, unique=True)
    label = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    summary = models.TextField()
    fix = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return f"{self.label}: {self.status}"

    @property
    def failed(self) -> bool:
        return self.status == self.Status.FAILED


from dashboard.notifications.models import Notification, NotificationChannel, NotifyEvent  # noqa: E402

__all__ = ["HealthCheck", "Notification", "NotificationChannel", "NotifyEvent"]
