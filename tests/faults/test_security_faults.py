"""Scenarios 23-25 as far as today's code goes: the secret sweep, unauthenticated and cross-site access,
and the updater's own stack. (Login throttling and the live websocket consumers come with the dashboard.)"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.management import CommandError, call_command
from django.test import Client

from deployments import events
from deployments.discovery import discover_services
from deployments.models import DeploymentRun, Service
from registries.models import Registry
from tests.support.docker_env import ImageSpec
from tests.support.invariants import VERIFIED, assert_nothing_lost

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published_events():
    seen: list[events.Event] = []
    events.subscribe(seen.append)
    yield seen
    events.unsubscribe(seen.append)


def test_23_no_secret_in_logs_runs_errors_or_events(make_stack, auth_registry, caplog, published_events):
    caplog.set_level(logging.DEBUG)  # everything, urllib3 and docker included
    password = auth_registry.password
    credentials = {"username": auth_registry.username, "password": password}
    stack = make_stack(
        {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")},
        push_host=auth_registry.host,
        credentials=credentials,
    )
    registry = Registry(host=auth_registry.host, username=auth_registry.username)
    registry.set_secret(password)
    registry.save()

    with pytest.raises(CommandError):
        call_command("deploy", stack.key, "9.9.9")  # a failing pull, its output captured
    call_command("deploy", stack.key, "1.1.0")  # a pull with the credentials
    call_command("rollback", stack.key, "1.0.0")  # a tag listing with them

    basic = base64.b64encode(f"{auth_registry.username}:{password}".encode()).decode()
    secrets = [password, basic, registry.secret_encrypted]
    frames = [json.dumps({"kind": e.kind, **e.data}, default=str) for e in published_events]
    assert len(frames) > 10
    assert assert_nothing_lost(stack.baseline, attempts=3, secrets=secrets, texts=[caplog.text, *frames]) == VERIFIED
    assert "9.9.9" in caplog.text  # the sweep did see the failure's output


def test_24_every_page_needs_a_login_and_csrf(owner):
    anonymous = Client(enforce_csrf_checks=True)
    for url in ["/", "/admin/", "/admin/deployments/service/", "/admin/registries/registry/"]:
        response = anonymous.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url
    refused = anonymous.post("/login/", {"username": "owner", "password": "correct-horse-battery"})
    assert refused.status_code == 403  # no CSRF token
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.get("/login/")
    token = signed_in.cookies["csrftoken"].value
    accepted = signed_in.post(
        "/login/", {"username": "owner", "password": "correct-horse-battery", "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    assert signed_in.get("/").status_code == 200


def test_24_websocket_from_a_foreign_origin_is_refused():
    from updater_project.asgi import application

    async def connect() -> bool:
        communicator = WebsocketCommunicator(application, "/ws/status/", headers=[(b"origin", b"https://evil.example")])
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(connect)() is False


def test_25_the_updaters_own_stack_is_never_touched(make_stack, settings):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")})
    Service.objects.all().delete()
    settings.IGNORED_PROJECTS = [stack.project.name]  # the agent's own Compose project
    discover_services()
    assert not Service.objects.filter(project__name=stack.project.name).exists()
    with pytest.raises(CommandError, match="has been discovered"):
        call_command("deploy", stack.key, "1.1.0")
    assert not DeploymentRun.objects.exists()
