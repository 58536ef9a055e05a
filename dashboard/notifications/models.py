"""Notification channels (Apprise URLs) and the outbox of messages to them (imported by `dashboard.models`).

A `Notification` row is the unit of deduplication: one per (channel, service, target, outcome) — or per
registry outage — enforced by a unique constraint, so a check that finds the same update every cycle, a
deploy retried after a backoff, or two processes reporting the same thing send one message.
"""

from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models

from registries.secrets import decrypt_secret, encrypt_secret


class NotifyEvent(models.TextChoices):
    """The domain events a channel can ask for (values are `deployments.events.EventKind` values)."""

    UPDATE_AVAILABLE = "update.available", "Update available (notify / manual mode)"
    DEPLOY_STARTED = "deploy.started", "Deploy started"
    DEPLOY_SUCCEEDED = "deploy.succeeded", "Deploy succeeded"
    DEPLOY_FAILED = "deploy.failed", "Deploy failed"
    ROLLED_BACK = "deploy.rolled_back", "Rolled back"
    BLOCKED_BY_SCAN = "scan.blocked", "Blocked by scan"
    REGISTRY_UNREACHABLE = "registry.unreachable", "Registry unreachable or credentials failing"
    REGISTRY_RECOVERED = "registry.recovered", "Registry recovered"
    AUTOMATION_PAUSED = "automation.paused", "Automation paused"


DEFAULT_EVENTS = [
    NotifyEvent.UPDATE_AVAILABLE,
    NotifyEvent.DEPLOY_SUCCEEDED,
    NotifyEvent.DEPLOY_FAILED,
    NotifyEvent.ROLLED_BACK,
    NotifyEvent.BLOCKED_BY_SCAN,
    NotifyEvent.REGISTRY_UNREACHABLE,
    NotifyEvent.REGISTRY_RECOVERED,
    NotifyEvent.AUTOMATION_PAUSED,
]


def _default_events() -> list[str]:
    return [str(kind) for kind in DEFAULT_EVENTS]


class NotificationChannel(models.Model):
    """Where messages go: one Apprise URL (encrypted at rest, write-only), the events it wants, an optional
    project filter, and how: at once, or one digest per `digest_minutes`; held during quiet hours."""

    name = models.CharField(max_length=100, unique=True)
    url_encrypted = models.TextField(editable=False)
    url_display = models.CharField(max_length=120, editable=False, help_text="Scheme and host, secrets masked.")
    events = models.JSONField(default=_default_events)
    projects = models.JSONField(
        default=list, blank=True, help_text="Compose project names or patterns (shop-*); empty: every project."
    )
    enabled = models.BooleanField(default=True)
    digest_minutes = models.PositiveIntegerField(
        default=0, help_text="0: each message at once. Otherwise one summary per this many minutes."
    )
    quiet_start = models.TimeField(null=True, blank=True, help_text="Hold messages from this time…")
    quiet_end = models.TimeField(null=True, blank=True, help_text="…until this one, then send them as one summary.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="Time zone of the quiet hours.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"timezone": f"unknown time zone {self.timezone!r} (e.g. Europe/Paris)"}) from None
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValidationError({"quiet_end": "set both ends of the quiet hours, or neither"})

    def set_url(self, url: str) -> None:
        self.url_encrypted = encrypt_secret(url)

    def get_url(self) -> str:
        return decrypt_secret(self.url_encrypted)

    @property
    def failing(self) -> bool:
        """The last attempt failed (and nothing was sent since)."""
        return bool(self.last_error_at and (self.last_sent_at is None or self.last_error_at > self.last_sent_at))

    def wants(self, kind: str, projects: set[str] | None) -> bool:
        """`kind` is asked for, and (with a project filter) it concerns one of the channel's projects.
        `projects` None: the event concerns no project in particular."""
        if not self.enabled or kind not in self.events:
            return False
        if not self.projects or projects is None:
            return True
        return any(fnmatchcase(name, pattern) for name in projects for pattern in self.projects)

    def quiet_until(self, now: dt.datetime) -> dt.datetime | None:
        """When the quiet hours around `now` end, or None if `now` is not in them."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return None
        local = now.astimezone(ZoneInfo(self.timezone))
        start, end, time = self.quiet_start, self.quiet_end, local.time()
        inside = start <= time < end if start < end else (time >= start or time < end)
        if not inside:
            return None
        day = local.date() if time < end else local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, end, tzinfo=local.tzinfo).astimezone(dt.UTC)


class Notification(models.Model):
    """One message to one channel, from pending to sent (or failed after its retries).

    `held` rows wait for the channel's digest or the end of its quiet hours (`due_at`), then go out as one
    summary. Rows are claimed with a conditional update (pending → sending), so a retry and the flush never
    send one twice; a row left `sending` by a dead worker goes back to pending.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held for digest / quiet hours"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Level(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"
        FAILURE = "failure", "Failure"

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    dedup_key = models.CharField(max_length=255)
    service = models.ForeignKey(
        "deployments.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=255)
    body = models.TextField()
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.INFO)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField(help_text="When it may be sent (next attempt, digest or end of quiet hours).")
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "dedup_key"], name="one_notification_per_outcome")]
        indexes = [models.Index(fields=["state", "due_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.title} → {self.channel_id} ({self.state})"
