"""Writes for registry push webhooks: endpoints and their tokens, receiving a delivery, and the bookkeeping
of the check it queues.

Receiving runs in the web process and does no registry I/O: it verifies, records, collapses and queues
`deployments.tasks.check_pushed` (after commit). The check itself runs in a worker through
`deployments.checks.run_cycle(repositories=...)`, the periodic check's own decision path.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from registries.models import Registry
from registries.reference import DOCKER_HUB, DOCKER_HUB_ALIASES
from registries.secrets import CredentialError
from registries.webhooks import FAMILIES, default_family
from registries.webhooks.base import Delivery, Incoming, WebhookRefused
from registries.webhooks.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
CHECK_TASK = "deployments.tasks.check_pushed"
PENDING_SECONDS = 120  # a queued check whose message was lost stops collapsing pushes after this
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew between the registry and us
State = WebhookDelivery.State


@dataclass(frozen=True)
class Receipt:
    """What the view answers an accepted delivery."""

    status: int
    body: dict[str, object]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def webhook_endpoint_create(*, registry: Registry, family: str = "", secret: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint for `registry`; returns it and its token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        registry=registry,
        family=family or default_family(provider=registry.provider, host=registry.host),
        token_hash=token_hash(token),
        token_hint=token[-4:],
    )
    endpoint.set_secret(secret)
    endpoint.save()
    return endpoint, token


def webhook_token_regenerate(*, endpoint: WebhookEndpoint) -> str:
    """A new URL for `endpoint`; the old one stops working at once. Returns the new token."""
    token = secrets.token_urlsafe(32)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        token_hash=token_hash(token), token_hint=token[-4:], token_changed_at=timezone.now()
    )
    endpoint.refresh_from_db()
    return token


def webhook_receive(*, token: str, incoming: Incoming, remote_addr: str | None = None) -> Receipt:
    """Verify and record one request; queue a check of its repositories unless one is already queued.

    Raises `WebhookRefused` (with the HTTP status to answer) for an unknown token, a flood, a missing or
    wrong signature, a payload that does not parse, a stale or replayed delivery: each is logged, counted
    on the endpoint, and changes nothing else.
    """
    endpoint = _endpoint_for(token)
    try:
        if not endpoint.enabled:
            raise WebhookRefused("this webhook is disabled", status=403)
        if not _within_rate(endpoint):
            raise WebhookRefused(f"more than {settings.WEBHOOK_RATE_LIMIT} requests a minute", status=429)
        family = FAMILIES[endpoint.family]
        try:
            secret = endpoint.get_secret()
        except CredentialError as exc:
            raise WebhookRefused(f"the webhook secret cannot be read: {exc}", status=503) from None
        family.verify(incoming, secret)
        delivery = family.parse(incoming)
        _check_age(delivery)
        record = _record(endpoint, delivery, remote_addr)
    except WebhookRefused as exc:
        _refused(endpoint, exc, remote_addr)
        raise
    return Receipt(202, {"delivery": record.pk, "state": record.state, "repositories": record.repositories})


def webhook_check_begin(*, delivery_id: int) -> list[str] | None:
    """Claim the check a delivery queued; None if it is gone or another task already claimed it.

    Waits out the rest of the debounce first (a push of several tags arrives as several requests), then
    stops collapsing: a push received from now on queues a check of its own, since this one may have
    listed the tags before it.
    """
    delivery = WebhookDelivery.objects.filter(pk=delivery_id, state=State.QUEUED).first()
    if delivery is None:
        return None
    waited = (timezone.now() - delivery.received_at).total_seconds()
    if 0 <= waited < settings.WEBHOOK_DEBOUNCE:
        time.sleep(settings.WEBHOOK_DEBOUNCE - waited)
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, state=State.QUEUED, check_started_at=None).update(
        check_started_at=timezone.now()
    )
    if not claimed:
        return None
    _release_pending(delivery.repositories)
    return list(delivery.repositories)


def webhook_check_done(*, delivery_id: int, result: str) -> None:
    """Record what the check did (the delivery's line in the admin)."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(state=State.CHECKED, checked_at=timezone.now(), result=result)


def webhook_deliveries_prune(keep_days: int | None = None) -> int:
    cutoff = timezone.now() - timedelta(days=keep_days or settings.WEBHOOK_KEEP_DAYS)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted


# --- helpers ------------------------------------------------------------------------------------------


def _endpoint_for(token: str) -> WebhookEndpoint:
    digest = token_hash(token)
    endpoint = WebhookEndpoint.objects.select_related("registry").filter(token_hash=digest).first()
    if endpoint is None or not hmac.compare_digest(endpoint.token_hash, digest):
        logger.warning("webhook refused (404): unknown token …%s", token[-4:])
        raise WebhookRefused("unknown webhook", status=404)
    return endpoint


def _within_rate(endpoint: WebhookEndpoint) -> bool:
    """A fixed one-minute window per endpoint in Redis; with Redis down every request is let through."""
    key = f"updater:webhook:rate:{endpoint.pk}:{int(time.time() // 60)}"
    try:
        client = _redis()
        count = client.incr(key)
        if count == 1:
            client.expire(key, 120)
    except redis.RedisError as exc:
        logger.warning("webhook rate limit not applied, Redis unavailable: %s", exc)
        return True
    return int(count) <= settings.WEBHOOK_RATE_LIMIT


def _check_age(delivery: Delivery) -> None:
    if delivery.sent_at is None:
        return
    now = timezone.now()
    if delivery.sent_at < now - timedelta(seconds=settings.WEBHOOK_MAX_AGE):
        raise WebhookRefused(f"stale: sent at {delivery.sent_at:%Y-%m-%d %H:%M:%S}Z (replayed?)", status=400)
    if delivery.sent_at > now + FUTURE_TOLERANCE:
        raise WebhookRefused(f"sent in the future ({delivery.sent_at:%Y-%m-%d %H:%M:%S}Z)", status=400)


def _record(endpoint: WebhookEndpoint, delivery: Delivery, remote_addr: str | None) -> WebhookDelivery:
    host = DOCKER_HUB if endpoint.registry.host in DOCKER_HUB_ALIASES else endpoint.registry.host
    repositories = sorted({f"{host}/{item.repository}" for item in delivery.pushes})
    try:
        with transaction.atomic():
            record = WebhookDelivery.objects.create(
                endpoint=endpoint,
                delivery_id=delivery.delivery_id[:200],
                sent_at=delivery.sent_at,
                pushes=[[item.repository, item.tag, item.digest] for item in delivery.pushes],
                repositories=repositories,
                state=State.QUEUED if repositories else State.IGNORED,
                note=delivery.note,
                remote_addr=remote_addr or None,
            )
    except IntegrityError:
        raise WebhookRefused("replayed: this delivery was already received", status=409) from None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_accepted_at=timezone.now())
    if repositories and not _claim_pending(repositories, record.pk):
        record.state = State.COLLAPSED
        record.note = "a check of these repositories is already queued"
        record.save(update_fields=["state", "note"])
    if record.state == State.QUEUED:
        _queue_check(record.pk)
    logger.info("webhook delivery %s from %s: %s %s", record.pk, endpoint.registry.host, record.state, repositories)
    return record


def _claim_pending(repositories: list[str], delivery_id: int) -> bool:
    """Mark a check pending for each repository; False if every one already had one (collapsed)."""
    try:
        client = _redis()
        claimed = [
            client.set(f"updater:webhook:pending:{name}", delivery_id, nx=True, ex=PENDING_SECONDS)
            for name in repositories
        ]
    except redis.RedisError as exc:
        logger.warning("webhook pushes not collapsed, Redis unavailable: %s", exc)
        return True
    return any(claimed)


def _release_pending(repositories: list[str]) -> None:
    try:
        if repositories:
            _redis().delete(*(f"updater:webhook:pending:{name}" for name in repositories))
    except redis.RedisError as exc:
        logger.warning("could not release pending webhook checks (they expire by themselves): %s", exc)


def _queue_check(delivery_id: int) -> None:
    from updater_project.celery import app

    # robust: with the broker down the message is lost; the next periodic check still sees the push
    transaction.on_commit(lambda: app.send_task(CHECK_TASK, args=[delivery_id]), robust=True)


def _refused(endpoint: WebhookEndpoint, exc: WebhookRefused, remote_addr: str | None) -> None:
    logger.warning(
        "webhook of %s refused (%s) from %s: %s", endpoint.registry.host, exc.status, remote_addr or "?", exc.reason
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        last_refused_at=timezone.now(), last_refused_reason=exc.reason[:500], refused_count=F("refused_count") + 1
    )


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
