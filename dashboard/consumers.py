"""The one websocket consumer: a browser page subscribes to the fragments that page shows."""

from __future__ import annotations

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dashboard import groups, roles

PERMISSION_RECHECK_SECONDS = 30
CLOSE_UNAUTHENTICATED = 4401  # the browser goes to the login page
CLOSE_FORBIDDEN = 4403
CLOSE_ROLE_CHANGED = 1012  # "service restart": the browser reconnects and joins its new groups


class LiveConsumer(AsyncWebsocketConsumer):
    """Authenticated in `connect()`; sends the HTML that `dashboard.broadcast` rendered for its groups.

    The route names the page (`board`, `service`, `run`) and its object. Permission is checked on
    connect and again at most every 30 s when a fragment arrives: a removed role or a deactivated
    account stops the stream, a changed role reconnects into the right groups.
    """

    async def connect(self) -> None:
        self.joined: list[str] = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        can_view, self.can_operate = await self._permissions()
        if not can_view:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        kwargs = self.scope["url_route"]["kwargs"]
        self.joined = groups.for_page(kwargs["page"], kwargs.get("object_id"), can_operate=self.can_operate)
        for name in self.joined:
            await self.channel_layer.group_add(name, self.channel_name)
        self.checked_at = time.monotonic()
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for name in self.joined:
            await self.channel_layer.group_discard(name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Browsers only listen; anything they send is ignored."""

    async def live_html(self, event: dict) -> None:
        if time.monotonic() - self.checked_at > PERMISSION_RECHECK_SECONDS:
            can_view, can_operate = await self._permissions(fresh=True)
            self.checked_at = time.monotonic()
            if not can_view:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            if can_operate != self.can_operate:
                await self.close(code=CLOSE_ROLE_CHANGED)
                return
        await self.send(text_data=event["html"])

    @database_sync_to_async
    def _permissions(self, *, fresh: bool = False) -> tuple[bool, bool]:
        user = self.scope["user"]
        if fresh:
            user = type(user).objects.filter(pk=user.pk, is_active=True).first()
            if user is None:
                return False, False
        return user.has_perm(roles.VIEW), user.has_perm(roles.OPERATE)
