"""The one seam to Apprise: every notification goes out through `send()`, where its failures get names.

Apprise never raises on a failed delivery, it logs and returns False; its log lines (captured here, never
passed on to our own logs: they can name a URL's token) become the error, with every secret-looking part
of the channel's URL masked.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

ASSET_OPTIONS = {"app_id": "Docker Image Updater", "app_desc": "Docker Image Updater", "async_mode": False}
_PIECES = re.compile(r"[/:@?&=#,+;\s]+")
_LOGGER = logging.getLogger("apprise")
_LOGGER.propagate = False  # Apprise's own lines may hold a URL's secret parts: only captured, then masked


class ChannelError(Exception):
    """Sending to a channel failed; the message is masked of the channel's secrets."""


class ChannelMisconfigured(ChannelError):
    """The URL is not one Apprise can use: retrying will not help."""


class ChannelSendFailed(ChannelError):
    """The service did not take the message (refused, timed out, 4xx/5xx): transient, retried with backoff."""


def describe(url: str) -> str:
    """`scheme://host/…` with Apprise's own masking, for lists: never the path or query (they hold tokens)."""
    plugin = _plugin(url)
    masked = plugin.url(privacy=True)
    scheme, _, rest = masked.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}/…"[:120]


def validate(url: str) -> str:
    """The service name (e.g. "Slack") if Apprise can use `url`; else `ChannelMisconfigured`."""
    return str(_plugin(url).service_name)


def send(url: str, *, title: str, body: str, level: str, timeout: float) -> None:
    """Deliver one message, or raise `ChannelSendFailed` / `ChannelMisconfigured`."""
    import apprise

    plugin = _plugin(url)
    plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout
    notify_type = {
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }.get(level, apprise.NotifyType.INFO)
    with apprise.LogCapture(level=logging.INFO) as captured:
        try:
            sent = plugin.notify(body=body, title=title, notify_type=notify_type)
        except Exception as exc:  # a plugin bug: report it like a refusal, masked
            raise ChannelSendFailed(mask(f"{exc.__class__.__name__}: {exc}", url)) from None
        log = captured.getvalue()
    if not sent:
        lines = [line.split(" - ", 2)[-1] for line in log.splitlines() if " - " in line]
        reason = "; ".join(lines[-3:]) or "the service did not accept the message"
        raise ChannelSendFailed(mask(reason, url)[:1000])


def mask(text: str, url: str) -> str:
    """`text` with every part of `url` that could be a secret (any piece of 6+ characters that is not a
    host name or a number) replaced by ***, in plain and %-decoded form."""
    _, _, rest = url.partition("://")
    pieces = {piece for piece in _PIECES.split(rest) if len(piece) >= 6}
    pieces |= {unquote(piece) for piece in pieces}
    secrets = [piece for piece in pieces if not _harmless(piece)]
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _harmless(piece: str) -> bool:
    return piece.isdigit() or piece == "localhost" or bool(re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", piece))


def _plugin(url: str):  # type: ignore[no-untyped-def]  # apprise's NotifyBase
    import apprise

    plugin = apprise.Apprise.instantiate(url.strip(), asset=apprise.AppriseAsset(**ASSET_OPTIONS))
    if plugin is None:
        raise ChannelMisconfigured("Apprise cannot use this URL (unknown scheme, or a required part is missing)")
    return plugin
