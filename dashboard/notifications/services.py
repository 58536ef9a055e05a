"""Writes for notifications: record a message per channel (deduplicated by the database), send it through
Apprise with retries and backoff, flush digests and quiet hours, and the admin's test message.

Nothing here ever raises into a producer: recording runs after the producer's commit, sending runs in a
worker task, and a failing channel only marks its own rows and its `last_error`.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min, Q
from django.utils import timezone

from dashboard.notifications import apprise_client
from dashboard.notifications.apprise_client import ChannelError, ChannelMisconfigured
from dashboard.notifications.messages import Message
from dashboard.notifications.models import Notification, NotificationChannel
from registries.secrets import CredentialError

logger = logging.getLogger(__name__)
SEND_TASK = "dashboard.notifications.send"
STALE_SENDING = timedelta(minutes=5)  # a row `sending` this long lost its worker
FLUSH_BATCH = 100
DIGEST_LINES = 50
State = Notification.State


def notification_record(*, channel: NotificationChannel, message: Message, now: datetime | None = None) -> bool:
    """One row for (channel, message key); queue it at once, or hold it for the digest or quiet hours.
    Returns False when the channel already has this message (it is not sent again)."""
    now = now or timezone.now()
    due = _hold_until(channel, now)
    try:
        with transaction.atomic():
            row = Notification.objects.create(
                channel=channel,
                kind=message.kind,
                dedup_key=message.dedup_key,
                service_id=message.service_id,
                title=message.title[:255],
                body=message.body,
                level=message.level,
                state=State.HELD if due else State.PENDING,
                due_at=due or now,
            )
    except IntegrityError:
        return False
    if row.state == State.PENDING:
        _queue(row.pk)
    return True


def notification_send(*, notification_id: int, now: datetime | None = None) -> bool:
    """Send one pending, due notification (claimed first: a duplicate task finds nothing). True if sent."""
    now = now or timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, state=State.PENDING, due_at__lte=now).update(
        state=State.SENDING, claimed_at=now
    )
    if not claimed:
        return False
    row = Notification.objects.select_related("channel").get(pk=notification_id)
    return _deliver(row.channel, [row], now=now, title=row.title, body=row.body, level=row.level)


def notifications_flush(*, now: datetime | None = None) -> int:
    """The periodic pass: recover rows of dead workers, send due retries, release due digests and held
    messages (as one summary per channel). Returns how many messages went out."""
    now = now or timezone.now()
    Notification.objects.filter(state=State.SENDING, claimed_at__lt=now - STALE_SENDING).update(state=State.PENDING)
    due = Notification.objects.filter(state=State.PENDING, due_at__lte=now).order_by("due_at")
    sent, failing = 0, set()
    for pk, channel_id in due.values_list("pk", "channel_id")[:FLUSH_BATCH]:
        if channel_id in failing:  # one timeout per channel and pass, not one per waiting message
            continue
        if notification_send(notification_id=pk, now=now):
            sent += 1
        elif NotificationChannel.objects.filter(pk=channel_id, last_error_at__gte=now).exists():
            failing.add(channel_id)
    held = (
        Notification.objects.filter(state=State.HELD)
        .values("channel")
        .annotate(first=Min("due_at"))
        .filter(first__lte=now)
    )
    for channel in NotificationChannel.objects.filter(pk__in=[row["channel"] for row in held]):
        sent += _send_digest(channel, now)
    Notification.objects.filter(
        Q(state__in=[State.SENT, State.FAILED]), created_at__lt=now - timedelta(days=settings.NOTIFY_KEEP_DAYS)
    ).delete()
    return sent


def channel_send_test(*, channel: NotificationChannel) -> str:
    """Send a test message at once (the admin action): bypasses digest and quiet hours, no retries.
    Returns "" when it was delivered, else the (masked) reason."""
    now = timezone.now()
    row = Notification.objects.create(
        channel=channel,
        kind="test",
        dedup_key=f"test:{uuid.uuid4()}",  # a test is never deduplicated
        title="Docker Image Updater: test notification",
        body=f"This channel ({channel.name}) works. Sent {now:%Y-%m-%d %H:%M:%S} UTC.",
        level=Notification.Level.INFO,
        state=State.SENDING,
        due_at=now,
        claimed_at=now,
    )
    ok = _deliver(channel, [row], now=now, title=row.title, body=row.body, level=row.level, retry=False)
    return "" if ok else Notification.objects.get(pk=row.pk).error


# --- helpers ------------------------------------------------------------------------------------------


def _hold_until(channel: NotificationChannel, now: datetime) -> datetime | None:
    due = None
    if channel.digest_minutes:
        waiting = Notification.objects.filter(channel=channel, state=State.HELD).aggregate(first=Min("due_at"))
        due = waiting["first"] or now + timedelta(minutes=channel.digest_minutes)
    quiet = channel.quiet_until(max(due or now, now))
    return max(due or now, quiet) if quiet else due


def _send_digest(channel: NotificationChannel, now: datetime) -> int:
    if quiet := channel.quiet_until(now):  # quiet hours began after these were held: wait for their end
        Notification.objects.filter(channel=channel, state=State.HELD).update(due_at=quiet)
        return 0
    ids = list(
        Notification.objects.filter(channel=channel, state=State.HELD)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    claimed = Notification.objects.filter(pk__in=ids, state=State.HELD).update(state=State.SENDING, claimed_at=now)
    rows = list(
        Notification.objects.filter(pk__in=ids, state=State.SENDING, claimed_at=now).order_by("created_at", "pk")
    )
    if not claimed or not rows:
        return 0
    if len(rows) == 1:
        row = rows[0]
        return int(
            _deliver(channel, rows, now=now, title=row.title, body=row.body, level=row.level, release_to=State.HELD)
        )
    title = f"Docker Image Updater: {len(rows)} events"
    lines = [f"• {row.title}" for row in rows[:DIGEST_LINES]]
    if len(rows) > DIGEST_LINES:
        lines.append(f"… and {len(rows) - DIGEST_LINES} more")
    level = _worst(row.level for row in rows)
    body = "\n".join(lines)
    return int(_deliver(channel, rows, now=now, title=title, body=body, level=level, release_to=State.HELD))


def _deliver(
    channel: NotificationChannel,
    rows: list[Notification],
    *,
    now: datetime,
    title: str,
    body: str,
    level: str,
    retry: bool = True,
    release_to: str = State.PENDING,
) -> bool:
    """Send one message for `rows` (claimed: `sending`) and record the outcome on them and the channel.

    A transient failure puts the rows back (`release_to`) due after a backoff with jitter; after
    `NOTIFY_RETRIES` retries, or on a permanent failure (a URL Apprise cannot use, a key that cannot
    decrypt it), they end failed.
    """
    claimed = Notification.objects.filter(pk__in=[row.pk for row in rows], state=State.SENDING)
    attempts = max(row.attempts for row in rows) + 1
    try:
        apprise_client.send(channel.get_url(), title=title, body=body, level=level, timeout=settings.NOTIFY_TIMEOUT)
    except (ChannelError, CredentialError) as exc:
        error = str(exc)
        permanent = isinstance(exc, ChannelMisconfigured | CredentialError)
        if permanent or not retry or attempts > settings.NOTIFY_RETRIES:
            claimed.update(state=State.FAILED, error=error, attempts=attempts)
        else:
            delay = settings.NOTIFY_RETRY_BASE * 2 ** (attempts - 1) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter
            claimed.update(state=release_to, error=error, attempts=attempts, due_at=now + timedelta(seconds=delay))
        NotificationChannel.objects.filter(pk=channel.pk).update(last_error=error, last_error_at=now)
        logger.warning("notification channel %r failed (attempt %s): %s", channel.name, attempts, error)
        return False
    claimed.update(state=State.SENT, sent_at=now, error="", attempts=attempts)
    NotificationChannel.objects.filter(pk=channel.pk).update(last_sent_at=now)
    return True


def _worst(levels: Iterable[str]) -> str:
    order = [
        Notification.Level.INFO,
        Notification.Level.SUCCESS,
        Notification.Level.WARNING,
        Notification.Level.FAILURE,
    ]
    return max(levels, key=lambda level: order.index(level) if level in order else 0)


def _queue(notification_id: int) -> None:
    from updater_project.celery import app

    # robust: with the broker down the row stays pending and the periodic flush sends it
    transaction.on_commit(lambda: app.send_task(SEND_TASK, args=[notification_id]), robust=True)
