"""Channels in the admin: the Apprise URL is encrypted and never shown again, an unusable URL is refused
without echoing it, "Send test notification" delivers at once, a failing channel shows its error."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from dashboard.notifications.models import Notification, NotificationChannel

pytestmark = pytest.mark.django_db
TOKEN = "Zq8xTokenInThePath42"


def add_channel(client, url: str):
    return client.post(
        reverse("admin:dashboard_notificationchannel_add"),
        {
            "name": "ops",
            "url": url,
            "events": ["deploy.failed", "registry.unreachable"],
            "projects": "shop, web-*",
            "enabled": "on",
            "digest_minutes": "0",
            "timezone": "UTC",
        },
    )


def test_the_apprise_url_is_stored_encrypted_and_never_rendered_back(client, owner, receiver):
    client.force_login(owner)
    url = f"json://user:{TOKEN}@127.0.0.1:{receiver.port}/{TOKEN}"
    response = add_channel(client, url)
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = NotificationChannel.objects.get(name="ops")
    assert TOKEN not in channel.url_encrypted and channel.get_url() == url
    assert channel.projects == ["shop", "web-*"]
    assert channel.url_display == f"json://user:****@127.0.0.1:{receiver.port}/…"
    for page in (
        reverse("admin:dashboard_notificationchannel_change", args=[channel.pk]),
        reverse("admin:dashboard_notificationchannel_changelist"),
    ):
        assert TOKEN not in client.get(page).content.decode()


def test_a_url_apprise_cannot_use_is_refused_without_echoing_it(client, owner):
    client.force_login(owner)
    response = add_channel(client, f"nosuchservice://{TOKEN}@example.com")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Apprise cannot use this URL" in body and TOKEN not in body
    assert not NotificationChannel.objects.exists()


def test_send_test_notification_delivers_at_once_and_a_failing_channel_shows_its_error(
    client, owner, receiver, make_channel
):
    client.force_login(owner)
    working = make_channel(f"json://127.0.0.1:{receiver.port}/ok", ["deploy.failed"], name="working")
    broken = make_channel(f"json://127.0.0.1:{receiver.port}/{TOKEN}", ["deploy.failed"], name="broken")
    changelist = reverse("admin:dashboard_notificationchannel_changelist")

    response = client.post(changelist, {"action": "send_test", "_selected_action": [working.pk]}, follow=True)
    assert "Working: test notification delivered" in response.content.decode()  # the admin capitalises
    [request] = receiver.wait_for(1)
    assert request.json()["title"] == "Docker Image Updater: test notification"

    receiver.status = 500
    response = client.post(changelist, {"action": "send_test", "_selected_action": [broken.pk]}, follow=True)
    page = response.content.decode()
    assert "Broken: not delivered" in page and "error=500" in page
    assert "FAILING since" in page and TOKEN not in page
    assert Notification.objects.get(channel=broken).state == Notification.State.FAILED  # a test is not retried


def test_notify_test_reports_delivery(receiver, make_channel):
    make_channel(f"json://127.0.0.1:{receiver.port}/", ["deploy.failed"], name="ops")
    out = io.StringIO()
    call_command("notify_test", "ops", stdout=out)
    assert out.getvalue().strip() == "ops: delivered"
    assert receiver.wait_for(1)[0].json()["title"] == "Docker Image Updater: test notification"
