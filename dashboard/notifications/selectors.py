"""Reads for notifications: which channels want an event, and which projects a registry host serves."""

from __future__ import annotations

from dashboard.notifications.models import NotificationChannel
from deployments.models import Service


def channels_wanting(kind: str) -> list[NotificationChannel]:
    """Enabled channels that asked for `kind` (filtered in Python: a JSON list lookup is not portable)."""
    return [channel for channel in NotificationChannel.objects.filter(enabled=True) if kind in channel.events]


def projects_on_host(host: str) -> set[str]:
    """Compose projects with a service whose image lives on registry `host`."""
    return set(
        Service.objects.filter(repository__startswith=f"{host}/").values_list("project__name", flat=True).distinct()
    )
