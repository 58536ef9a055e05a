"""What every webhook family shares: the request as received, what it says was pushed, and refusals.

A payload is only a hint that a repository changed: the check it triggers asks the registry itself what is
there, through the same decision path as the periodic check. So a payload that passes verification can at
worst cause one more (rate-limited) check; it never names what gets deployed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from registries.reference import InvalidReference, validate_digest, validate_repository, validate_tag

MAX_BODY_BYTES = 1024 * 1024  # the largest push payload seen (GitHub's) is a few tens of kB


class WebhookRefused(Exception):
    """The request is not a delivery we act on. `reason` is safe to log and show: it never holds a secret."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Incoming:
    """An HTTP request as the view received it (headers are case-insensitive, as Django's)."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError):
            raise WebhookRefused("the body is not JSON") from None


@dataclass(frozen=True)
class Push:
    """One pushed image: a repository path inside the registry (`team/app`) and its tag and/or digest."""

    repository: str
    tag: str = ""
    digest: str = ""


@dataclass(frozen=True)
class Delivery:
    """What one request says. `delivery_id` tells a replay from a new delivery ("" when the sender gives
    nothing to tell them apart); `sent_at` is when the sender says the push happened, if it says."""

    pushes: tuple[Push, ...]
    delivery_id: str = ""
    sent_at: datetime | None = None
    note: str = ""  # why a valid delivery carries no push (a ping, a pull event), for the log


class Family(Protocol):
    """One registry family's webhook format: verify the sender, then parse."""

    name: str
    label: str
    signs: bool  # the sender can prove itself beyond the URL token (a header or a signature)

    def verify(self, incoming: Incoming, secret: str) -> None: ...

    def parse(self, incoming: Incoming) -> Delivery: ...


def push(repository: object, tag: object = "", digest: object = "") -> Push:
    """A `Push` from untrusted fields, each checked against the OCI grammar (so nothing odd reaches a query)."""
    try:
        path = validate_repository(str(repository or "").strip().lower())
        tag_text = validate_tag(str(tag)) if tag else ""
        digest_text = validate_digest(str(digest)) if digest else ""
    except InvalidReference as exc:
        raise WebhookRefused(f"invalid image reference in the payload: {exc}") from None
    return Push(path, tag_text, digest_text)


def body_id(incoming: Incoming) -> str:
    """A delivery id for senders that give none: the same body twice is the same delivery."""
    return "sha256:" + hashlib.sha256(incoming.body).hexdigest()


def from_epoch(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_iso(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Go writes nanoseconds; Python reads at most microseconds
        head, _, rest = text.partition(".")
        fraction = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:fraction][:6]}{rest[fraction:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def require_header_secret(incoming: Incoming, secret: str, header: str = "Authorization") -> None:
    """The sender's static header must hold the secret (as-is or as `Bearer <secret>`), compared in
    constant time. No secret configured: only the URL token vouches for the sender."""
    if not secret:
        return
    presented = incoming.headers.get(header, "")
    if not presented:
        raise WebhookRefused(f"unsigned: the {header} header is missing", status=401)
    candidates = (secret, f"Bearer {secret}")
    if not any(hmac.compare_digest(presented.encode(), value.encode()) for value in candidates):
        raise WebhookRefused(f"forged: the {header} header does not match", status=403)


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
