"""The dashboard's own rows: the latest result of each health check, and personal API tokens."""

from __future__ import annotations

from django.conf import settings
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


class ApiToken(models.Model):
    """A personal API token: shown once when created, stored as a SHA-256 hash, found by its prefix.

    It acts as its owner, with at most `role`: the lower of this and the owner's role at the time of each
    request counts, so demoting or deactivating the owner limits every token at once.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'CI pipeline' or 'Grafana'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="The public start of the token.")
    token_hash = models.CharField(max_length=64, editable=False)
    role = models.CharField(max_length=16, choices=[(role, role) for role in ("viewer", "operator", "admin")])
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Blank: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.owner})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


from dashboard.notifications.models import Notification, NotificationChannel, NotifyEvent  # noqa: E402

__all__ = ["ApiToken", "HealthCheck", "Notification", "NotificationChannel", "NotifyEvent"]
