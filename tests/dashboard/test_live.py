"""The live channel: a websocket needs a session and a role; events become out-of-band row swaps."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from dashboard import broadcast, groups
from deployments.events import Event, EventKind
from tests.factories import ServiceFactory
from updater_project.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def communicator(path: str, *, user=None, origin=ORIGIN) -> WebsocketCommunicator:
    """Built outside the event loop: the session is created with the ORM."""
    headers = [origin, (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", session_cookie(user)))
    return WebsocketCommunicator(application, path, headers=headers)


def connect(path: str, **kwargs) -> tuple[bool, object]:
    socket = communicator(path, **kwargs)

    async def go():
        connected, code = await socket.connect(timeout=10)
        if connected:
            await socket.disconnect()
        return connected, code

    return async_to_sync(go)()


def test_websocket_without_a_session_is_closed(db):
    connected, code = connect("/ws/board/")
    assert not connected and code == 4401


def test_websocket_of_a_user_without_a_role_is_closed(outsider):
    connected, code = connect("/ws/board/", user=outsider)
    assert not connected and code == 4403


def test_websocket_from_another_origin_is_refused(viewer):
    connected, _ = connect("/ws/board/", user=viewer, origin=(b"origin", b"http://evil.example"))
    assert not connected


def test_a_changed_service_reaches_the_board_as_an_oob_row_per_role(viewer, op):
    service = ServiceFactory(labels={"updater.mode": "notify"}, available_tag="1.1.0", last_checked_at=timezone.now())

    watching = communicator("/ws/board/", user=viewer)
    operating = communicator("/ws/board/", user=op)

    async def go():
        assert (await watching.connect(timeout=10))[0] and (await operating.connect(timeout=10))[0]
        from channels.db import database_sync_to_async

        await database_sync_to_async(broadcast.on_event)(Event(EventKind.SERVICE_CHANGED, service_id=service.pk))
        seen = await watching.receive_from(timeout=5)
        operated = await operating.receive_from(timeout=5)
        await watching.disconnect()
        await operating.disconnect()
        return seen, operated

    seen, operated = async_to_sync(go)()
    for html in (seen, operated):
        assert f'id="svc-{service.pk}"' in html and 'hx-swap-oob="true"' in html and "Awaiting approval" in html
    assert "/approve/" in operated and "/approve/" not in seen


def test_counters_are_pushed_once_per_burst(viewer):
    service = ServiceFactory(available_tag="1.1.0", last_checked_at=timezone.now())

    socket = communicator("/ws/board/", user=viewer)

    async def go():
        assert (await socket.connect(timeout=10))[0]
        from channels.db import database_sync_to_async

        await database_sync_to_async(broadcast.counters.flush_now)()
        html = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return html

    html = async_to_sync(go)()
    assert 'id="counters"' in html and 'data-attention="1"' in html
    assert service.pk


def test_group_names_depend_on_page_and_role():
    assert groups.for_page("board", None, can_operate=False) == ["board.view"]
    assert groups.for_page("service", 7, can_operate=True) == ["service.7.operate"]
    assert groups.for_page("run", 9, can_operate=False) == ["run.9"]
