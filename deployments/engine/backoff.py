"""Backoff for deploys that fail before replacing anything (pull, edit, Compose, scan gate).

Such a failure says nothing about the image itself (a pull-only auth problem, a platform mismatch, a
full disk), so the target is retried, but not on every check: per (service, tag, digest) the wait
doubles from `DEPLOY_BACKOFF_BASE` up to `DEPLOY_BACKOFF_MAX`. While it waits no run is created, so
the user's Compose file is left alone. A new digest for the tag, another tag, a success or a manual
deploy starts over. Failures after the replace are handled by the check's "failed before" rule.

The state lives on the service (written with the run's finish, in one transaction), so the check
reads it without a query and the board can show `backoff_message(service)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from deployments.models import DeploymentRun, Service

State = DeploymentRun.State
AFTER_REPLACE = (State.REPLACING, State.VERIFYING)
REASON_MAX = 300


def backoff_delay(failures: int) -> timedelta:
    """Wait after `failures` consecutive failures of one target: base, 2 x base, 4 x base… capped."""
    seconds = settings.DEPLOY_BACKOFF_BASE * 2 ** max(0, failures - 1)
    return timedelta(seconds=min(seconds, settings.DEPLOY_BACKOFF_MAX))


def fields_after_failure(run: DeploymentRun, error: str, *, now: datetime | None = None) -> dict[str, object]:
    """The service's backoff fields once `run` failed with `error` (written with the run's finish)."""
    if run.failed_state in AFTER_REPLACE:
        return cleared_fields()  # the image itself failed: the check never retries it on its own
    service = run.service
    same_target = (service.backoff_tag, service.backoff_digest) == (run.to_tag, run.to_digest)
    failures = service.backoff_failures + 1 if same_target else 1
    first_line = (error.splitlines() or [""])[0]
    started = run.failed_state not in ("", State.PENDING)
    step = State(run.failed_state).label.lower() if started else "starting"
    return {
        "backoff_tag": run.to_tag,
        "backoff_digest": run.to_digest,
        "backoff_failures": failures,
        "backoff_until": (now or timezone.now()) + backoff_delay(failures),
        "backoff_reason": f"{step} failed: {first_line}"[:REASON_MAX],
    }


def cleared_fields() -> dict[str, object]:
    return {"backoff_tag": "", "backoff_digest": "", "backoff_failures": 0, "backoff_until": None, "backoff_reason": ""}


def deploy_backoff(service: Service, tag: str, digest: str, *, now: datetime | None = None) -> str | None:
    """Why the check must not deploy `tag`/`digest` now (None: go ahead). No query: reads the service."""
    if not service.backoff_until or service.backoff_tag != tag:
        return None
    if service.backoff_digest and digest and service.backoff_digest != digest:
        return None  # the tag points to another image now: a fresh attempt
    now = now or timezone.now()
    if now >= service.backoff_until:
        return None
    return backoff_message(service, now=now)


def backoff_message(service: Service, *, now: datetime | None = None) -> str:
    """E.g. "retrying 1.2.0 in 40 min (attempt 4, after 3 failures): pulling image failed: …"."""
    if not service.backoff_until:
        return ""
    now = now or timezone.now()
    minutes = max(0, round((service.backoff_until - now).total_seconds() / 60))
    when = f"in {minutes} min" if minutes else "at the next check"
    failures = service.backoff_failures
    plural = "s" if failures != 1 else ""
    return f"retrying {service.backoff_tag} {when} (after {failures} failed attempt{plural}): {service.backoff_reason}"
