"""Notifications through the real Apprise library to a real local HTTP receiver (json:// and ntfy://):
payloads, one message per (service, target, outcome), retries with backoff, digests and quiet hours."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboard.notifications.models import Notification
from dashboard.notifications.services import notifications_flush
from deployments.events import Event, EventKind, publish
from tests.factories import ComposeProjectFactory, ServiceFactory
from tests.support.receiver import http_receiver

pytestmark = pytest.mark.django_db
CANARY = "s3cr3tT0kenCanary"


def update_available(service, tag: str, digest: str = "") -> Event:
    return Event(
        EventKind.UPDATE_AVAILABLE,
        service_id=service.pk,
        data={"current_tag": "1.0.0", "available_tag": tag, "available_digest": digest, "update_mode": "notify"},
    )


def failed(service, *, restored: bool) -> Event:
    return Event(
        EventKind.DEPLOY_FAILED,
        service_id=service.pk,
        run_id=41,
        data={
            "trigger": "auto",
            "from_tag": "1.0.0",
            "to_tag": "1.1.0",
            "to_digest": "",
            "state": "failed",
            "error": "container exited with code 3\nsecond line",
            "failed_state": "verifying",
            "restored": restored,
        },
    )


def test_an_update_found_every_cycle_is_one_json_message_with_a_link_to_approve_it(
    receiver, make_channel, queued, settings
):
    settings.PUBLIC_URL = "https://updater.example.test"
    service = ServiceFactory(project__name="shop", name="web")
    make_channel(f"json://127.0.0.1:{receiver.port}/hook", ["update.available"])
    for _ in range(3):  # three check cycles find the same update
        publish(update_available(service, "1.1.0"))
    publish(update_available(service, "1.2.0"))  # a new target is news
    assert len(queued) == 2
    assert notifications_flush() == 2

    first, second = (request.json() for request in receiver.wait_for(2))
    assert receiver.requests[0].path == "/hook"
    assert first["version"] == "1.0" and first["type"] == "info"
    assert first["title"] == "Update available: shop/web 1.0.0 → 1.1.0"
    assert f"Approve it: https://updater.example.test/services/{service.pk}/" in first["message"]
    assert "1.2.0" in second["title"]
    assert Notification.objects.filter(state=Notification.State.SENT).count() == 2


def test_a_failed_deploy_over_ntfy_says_why_and_what_was_restored(receiver, make_channel, queued):
    service = ServiceFactory(project__name="shop", name="api")
    make_channel(f"ntfy://127.0.0.1:{receiver.port}/deploys", ["deploy.failed"])
    publish(failed(service, restored=True))
    publish(failed(service, restored=True))  # the same outcome for the same target: not told twice
    notifications_flush()

    [request] = receiver.wait_for(1)
    payload = request.json()
    assert payload["topic"] == "deploys"
    assert payload["title"] == "Deploy failed: shop/api 1.1.0"
    assert "failed while verifying:\ncontainer exited with code 3" in payload["message"]
    assert "The previous version (1.0.0) was restored and is running." in payload["message"]
    assert "/runs/41/" in payload["message"]


def test_a_project_filter_keeps_other_projects_out(receiver, make_channel, queued):
    mine, theirs = ServiceFactory(project__name="shop-eu"), ServiceFactory(project__name="billing")
    make_channel(f"json://127.0.0.1:{receiver.port}/", ["update.available"], projects=["shop-*"])
    publish(update_available(mine, "2.0.0"))
    publish(update_available(theirs, "2.0.0"))
    notifications_flush()
    [request] = receiver.wait_for(1)
    assert "shop-eu/" in request.json()["title"]


def test_a_failing_channel_is_retried_with_backoff_then_given_up_and_shows_its_error(
    receiver, make_channel, queued, settings
):
    settings.NOTIFY_RETRIES, settings.NOTIFY_RETRY_BASE = 2, 30
    receiver.status = 503
    service = ServiceFactory()
    channel = make_channel(f"json://127.0.0.1:{receiver.port}/{CANARY}", ["deploy.failed"])
    publish(failed(service, restored=False))
    now = timezone.now()

    assert notifications_flush(now=now) == 0
    row = Notification.objects.get()
    assert (row.state, row.attempts) == (Notification.State.PENDING, 1)
    assert dt.timedelta(seconds=23) < row.due_at - now < dt.timedelta(seconds=37)  # 30 s with jitter
    channel.refresh_from_db()
    assert channel.failing and "503" in channel.last_error
    assert CANARY not in channel.last_error and CANARY not in row.error

    assert notifications_flush(now=now + dt.timedelta(seconds=20)) == 0  # not due yet: not sent again
    assert len(receiver.requests) == 1
    retried_at = row.due_at + dt.timedelta(seconds=1)
    notifications_flush(now=retried_at)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (Notification.State.PENDING, 2)
    assert dt.timedelta(seconds=47) < row.due_at - retried_at < dt.timedelta(seconds=73)  # doubled
    notifications_flush(now=row.due_at + dt.timedelta(seconds=1))
    row.refresh_from_db()
    assert (row.state, row.attempts) == (Notification.State.FAILED, 3)
    assert len(receiver.requests) == 3

    receiver.status = 200  # the channel works again: the next message goes out and clears "failing"
    channel.events = ["update.available"]
    channel.save()
    publish(update_available(service, "9.9.9"))
    notifications_flush(now=row.due_at + dt.timedelta(hours=1))
    channel.refresh_from_db()
    assert not channel.failing and channel.last_sent_at is not None


def test_digest_mode_sends_one_summary_per_interval(receiver, make_channel, queued):
    channel = make_channel(f"json://127.0.0.1:{receiver.port}/", ["update.available"], digest_minutes=10)
    project = ComposeProjectFactory(name="shop")
    services = [ServiceFactory(project=project, name=f"svc{index}") for index in range(3)]
    for service in services:
        publish(update_available(service, "1.1.0"))
    assert queued == []
    assert notifications_flush() == 0
    held = Notification.objects.filter(channel=channel, state=Notification.State.HELD)
    assert held.count() == 3
    assert notifications_flush(now=held.first().due_at + dt.timedelta(seconds=1)) == 1

    [request] = receiver.wait_for(1)
    payload = request.json()
    assert payload["title"] == "Docker Image Updater: 3 events"
    assert [line.split(": ")[1].split(" ")[0] for line in payload["message"].splitlines()] == [
        "shop/svc0",
        "shop/svc1",
        "shop/svc2",
    ]
    assert Notification.objects.filter(state=Notification.State.SENT).count() == 3


def test_quiet_hours_hold_messages_until_they_end(receiver, make_channel, queued, monkeypatch):
    channel = make_channel(
        f"json://127.0.0.1:{receiver.port}/",
        ["deploy.failed"],
        quiet_start=dt.time(22, 0),
        quiet_end=dt.time(7, 0),
        timezone="Europe/Paris",
    )
    night = dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC)  # 00:30 in Paris
    monkeypatch.setattr(timezone, "now", lambda: night)
    publish(failed(ServiceFactory(), restored=True))
    row = Notification.objects.get(channel=channel)
    assert row.state == Notification.State.HELD
    assert row.due_at == dt.datetime(2026, 1, 11, 6, 0, tzinfo=dt.UTC)  # 07:00 in Paris
    assert notifications_flush(now=night + dt.timedelta(hours=1)) == 0
    assert notifications_flush(now=row.due_at) == 1
    assert receiver.wait_for(1)[0].json()["title"].startswith("Deploy failed")


def test_a_pass_tries_a_failing_channel_once_and_other_channels_still_get_theirs(receiver, make_channel, queued):
    with http_receiver() as healthy:
        receiver.status = 500
        make_channel(f"json://127.0.0.1:{receiver.port}/", ["update.available"], name="down")
        make_channel(f"json://127.0.0.1:{healthy.port}/", ["update.available"], name="up")
        for index in range(3):
            publish(update_available(ServiceFactory(), f"1.{index}.0"))
        assert notifications_flush() == 3  # the healthy channel's three
        assert len(receiver.requests) == 1  # one attempt at the failing one, not three timeouts in a row
        assert len(healthy.wait_for(3)) == 3
        down = Notification.objects.filter(channel__name="down")
        assert sorted(down.values_list("state", flat=True)) == ["pending"] * 3
