"""The one way the dashboard pushes: domain events → rendered fragments → htmx out-of-band swaps.

Subscribed in `DashboardConfig.ready()`, so it runs in whichever process emitted the event (the worker
for deploys and checks, the web process for user actions), after the transaction committed. It renders
the same partials the views use, once per role variant, and sends them to the groups in
`dashboard.groups`; `consumers.LiveConsumer` forwards them to browsers. Counters cost a whole-board
read, so a burst of changes (a check cycle touching many services) is coalesced into one push.
"""

from __future__ import annotations

import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connections

from dashboard import fragments, groups
from deployments.events import Event, EventKind, subscribe

logger = logging.getLogger(__name__)
COUNTERS_DELAY = 0.15  # seconds: long enough to coalesce a burst, short enough to feel live

SERVICE_EVENTS = {EventKind.SERVICE_CHANGED}
RUN_EVENTS = {EventKind.RUN_CHANGED}
BOARD_EVENTS = {EventKind.CHECK_FINISHED}


def send(group: str, html: str) -> None:
    """Send one fragment (already marked hx-swap-oob) to every browser in `group`."""
    if not html.strip():
        return
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(group, {"type": "live.html", "html": html})


def on_event(event: Event) -> None:
    if event.kind in SERVICE_EVENTS and event.service_id:
        push_service(event.service_id)
    if event.kind in RUN_EVENTS and event.run_id:
        push_run(event.run_id)
    if event.kind in BOARD_EVENTS:
        counters.request()


def push_service(service_id: int) -> None:
    """The board rows first (cheap, and what most people watch), then the service page, per role; then
    (soon) the counters."""
    for can_operate in (False, True):
        send(groups.board(can_operate=can_operate), fragments.render_row(service_id, can_operate=can_operate))
    counters.request()
    for can_operate in (False, True):
        send(
            groups.service(service_id, can_operate=can_operate),
            fragments.render_service(service_id, can_operate=can_operate),
        )


def push_run(run_id: int) -> None:
    send(groups.run(run_id), fragments.render_run(run_id))


class CoalescedCounters:
    """Push the board counters once per burst: the first request starts a short timer, the rest ride on it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def request(self) -> None:
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.delay, self._flush)
            self._timer.daemon = True
            self._timer.start()

    def flush_now(self) -> None:
        """Push at once (tests, and processes about to exit)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._push()

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self._push()
        except Exception:
            logger.exception("pushing the board counters failed")
        finally:
            connections.close_all()  # this timer thread's own connections

    def _push(self) -> None:
        html = fragments.render_counters()
        for can_operate in (False, True):
            send(groups.board(can_operate=can_operate), html)


counters = CoalescedCounters(COUNTERS_DELAY)


def connect() -> None:
    subscribe(on_event, [*SERVICE_EVENTS, *RUN_EVENTS, *BOARD_EVENTS])
