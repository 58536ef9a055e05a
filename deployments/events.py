"""Domain events: what happened to services and runs, published after the transaction that made it commits.

Producers (the engine, checks, discovery, scanning) call `emit()`; they never talk to the channel layer, a
notifier or a metrics registry. Subscribers register in their app's `ready()` with `subscribe()` — the
dashboard pushes rows, notifications queue messages, metrics count. A subscriber must be quick and must
not fail its producer: it is called after commit, and an exception in it is logged and swallowed.
Anything slow (sending a message) is queued as a Celery task by the subscriber.

Event data is JSON-serialisable and never holds a secret: subscribers may forward it anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


class EventKind(StrEnum):
    SERVICE_CHANGED = "service.changed"  # a fact a user sees changed (state, tag, check result, policy)
    RUN_CHANGED = "run.changed"  # a deploy run moved to another step or wrote its log
    UPDATE_AVAILABLE = "update.available"  # a check found an update it will not deploy by itself
    DEPLOY_STARTED = "deploy.started"
    DEPLOY_SUCCEEDED = "deploy.succeeded"
    DEPLOY_FAILED = "deploy.failed"
    ROLLED_BACK = "deploy.rolled_back"  # a rollback run succeeded
    AUTOMATION_PAUSED = "automation.paused"
    BLOCKED_BY_SCAN = "scan.blocked"
    SCAN_FINISHED = "scan.finished"
    REGISTRY_UNREACHABLE = "registry.unreachable"
    REGISTRY_RECOVERED = "registry.recovered"
    CHECK_FINISHED = "check.finished"
    HOST_OFFLINE = "host.offline"  # a host's agent missed its heartbeats: its checks are skipped
    HOST_ONLINE = "host.online"  # it reports again


@dataclass(frozen=True)
class Event:
    """One thing that happened. `data` is JSON-serialisable and secret-free."""

    kind: EventKind
    service_id: int | None = None
    run_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=timezone.now)


Handler = Callable[[Event], None]
_subscribers: list[tuple[Handler, frozenset[EventKind] | None]] = []


def subscribe(handler: Handler, kinds: Iterable[EventKind] | None = None) -> None:
    """Call `handler` for every event (or only `kinds`). Idempotent, so `ready()` may run twice."""
    entry = (handler, frozenset(kinds) if kinds is not None else None)
    if entry not in _subscribers:
        _subscribers.append(entry)


def unsubscribe(handler: Handler) -> None:
    _subscribers[:] = [entry for entry in _subscribers if entry[0] is not handler]


def emit(kind: EventKind, *, service_id: int | None = None, run_id: int | None = None, **data: Any) -> Event:
    """Publish an event once the current transaction commits (at once outside a transaction).

    A rolled-back transaction publishes nothing: subscribers only ever see what the database holds.
    """
    event = Event(kind=kind, service_id=service_id, run_id=run_id, data=data)
    transaction.on_commit(lambda: publish(event), robust=True)
    return event


def publish(event: Event) -> None:
    """Deliver `event` to its subscribers now; one failing subscriber never stops the others."""
    for handler, kinds in list(_subscribers):
        if kinds is not None and event.kind not in kinds:
            continue
        try:
            handler(event)
        except Exception:
            logger.exception("event subscriber %s failed on %s", getattr(handler, "__qualname__", handler), event.kind)
