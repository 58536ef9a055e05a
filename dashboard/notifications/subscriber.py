"""Domain events → notification rows (subscribed in `DashboardConfig.ready()`, so it runs in whichever
process emitted, after the producer's commit). It only records and queues: sending is a Celery task.
A channel with a project filter gets a registry event only if one of its projects uses that registry."""

from __future__ import annotations

from dashboard.notifications import messages, selectors, services
from deployments.events import Event, subscribe


def on_event(event: Event) -> None:
    channels = selectors.channels_wanting(str(event.kind))
    if not channels:
        return
    message = messages.describe(event)
    if message is None:
        return
    projects = message.projects
    if projects is None and message.host and any(channel.projects for channel in channels):
        projects = frozenset(selectors.projects_on_host(message.host))
    for channel in channels:
        if channel.wants(message.kind, set(projects) if projects is not None else None):
            services.notification_record(channel=channel, message=message)


def connect() -> None:
    subscribe(on_event, messages.NOTIFY_KINDS)
