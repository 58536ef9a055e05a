"""`manage.py webhook_url` prints a working URL once, and a new one on --regenerate."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from registries.models import WebhookEndpoint
from tests.factories import RegistryFactory
from tests.registries.webhooks import payloads

pytestmark = pytest.mark.django_db


def test_webhook_url_creates_then_regenerates_and_the_old_url_stops_working(settings):
    settings.PUBLIC_URL = "https://updater.example.test"
    RegistryFactory(host="quay.io")
    out = io.StringIO()
    call_command("webhook_url", "quay.io", stdout=out)
    first = out.getvalue().strip()
    assert first.startswith("https://updater.example.test/hooks/")
    assert WebhookEndpoint.objects.get().family == "quay"
    with pytest.raises(CommandError, match="--regenerate"):
        call_command("webhook_url", "quay.io")
    out = io.StringIO()
    call_command("webhook_url", "quay.io", "--regenerate", stdout=out)
    second = out.getvalue().strip()
    client = Client()
    path = "/" + second.split("/", 3)[3]
    old = "/" + first.split("/", 3)[3]
    assert client.post(old, payloads.quay("team/app"), content_type="application/json").status_code == 404
    assert client.post(path, payloads.quay("team/app"), content_type="application/json").status_code == 202
