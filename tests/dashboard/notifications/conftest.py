import pytest

from dashboard.notifications import apprise_client, services
from dashboard.notifications.models import NotificationChannel
from tests.support.receiver import http_receiver


@pytest.fixture
def receiver():
    with http_receiver() as running:
        yield running


@pytest.fixture
def queued(monkeypatch):
    """Ids the notifier queued for the send task (the tests send them with the flush, not through Redis)."""
    ids: list[int] = []
    monkeypatch.setattr(services, "_queue", ids.append)
    return ids


@pytest.fixture
def make_channel(db):
    def make(url: str, events: list[str], **fields) -> NotificationChannel:
        channel = NotificationChannel(name=fields.pop("name", f"channel-{NotificationChannel.objects.count()}"))
        channel.events = events
        for name, value in fields.items():
            setattr(channel, name, value)
        channel.set_url(url)
        channel.url_display = apprise_client.describe(url)
        channel.save()
        return channel

    return make
