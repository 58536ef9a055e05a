"""Actions people take on a service: the one write path for the dashboard, the commands and the API.

Every function is keyword-only, takes the acting user, checks nothing about permissions (the caller
does: views answer 403, the API likewise) and records one `Activity` row — in the action's own
transaction when it succeeds, on its own when the action is refused, so the audit log holds both.
Refusals raise `ActionRefused` (or its subclass `ActionConflict` when what the user saw is out of date)
with a message fit to show as is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from deployments.dispatch import enqueue_deploy
from deployments.engine.request import DeployConflict, DeployRequestError, deployment_request
from deployments.events import EventKind, emit
from deployments.models import Activity, DeploymentRun, Revision, Service
from registries.reference import InvalidReference, validate_digest, validate_tag
from updater_project.celery import app

CHECK_SERVICE_TASK = "deployments.tasks.check_service"
T = TypeVar("T")


class ActionRefused(Exception):
    """The action cannot be done as asked; the message says why."""


class ActionConflict(ActionRefused):
    """What the user acted on changed since they saw it (another deploy, a newer check result)."""


def service_check_now(*, service: Service, user: AbstractBaseUser | None) -> None:
    """Queue a registry check of this one service now (discovery runs first, as in every cycle)."""

    def act() -> None:
        _enqueue_check(service.pk)
        activity_record(user, "check_now", service, detail="registry check queued")

    _attempt(user, "check_now", service, act)


def service_deploy(*, service: Service, tag: str, user: AbstractBaseUser | None) -> DeploymentRun:
    """Deploy `tag` (any tag the registry has) as a manual run."""
    return _attempt(user, "deploy", service, lambda: _request(service, tag, "", user, "deploy", f"deploy {tag}"))


def service_approve(
    *, service: Service, tag: str, digest: str, generation: int, user: AbstractBaseUser | None
) -> DeploymentRun:
    """Deploy exactly the update the user saw: `tag` at `digest`, as of the service's `generation`.

    Refused with `ActionConflict` when the check result or the service moved on since the page was
    rendered (a newer tag, a re-pushed digest, another deploy): the user approves again what is current.
    """

    def act() -> DeploymentRun:
        current = _locked(service)
        seen = (tag, digest, generation)
        now = (current.available_tag, current.available_digest, current.deploy_generation)
        if seen != now:
            raise ActionConflict(
                f"{service}: the update changed since you looked "
                f"(now {current.available_tag or 'none'} {_short(current.available_digest)}); review it again"
            )
        detail = f"approve {tag} {_short(digest)}".rstrip()
        return _request(current, tag, digest, user, "approve", detail)

    return _attempt(user, "approve", service, act)


def service_dismiss(*, service: Service, tag: str, digest: str = "", user: AbstractBaseUser | None) -> None:
    """Decline an offered update: ignore its tag (or, for a tag that tracks its digest, that digest)."""

    def act() -> None:
        current = _locked(service)
        if tag == current.current_tag and digest:
            _add(current, "ignored_digests", _digest(digest))
            detail = f"dismissed {tag} {_short(digest)} (digest ignored)"
        else:
            _add(current, "ignored_tags", _tag(tag))
            detail = f"dismissed {tag} (tag ignored)"
        _after_policy_change(current, user, "dismiss", detail)

    _attempt(user, "dismiss", service, act)


def service_rollback(*, service: Service, revision: Revision, user: AbstractBaseUser | None) -> DeploymentRun:
    """Go back to an earlier revision: its tag, digest and (if still on the host) its exact image."""

    def act() -> DeploymentRun:
        if revision.service_id != service.pk:
            raise ActionRefused(f"revision {revision.pk} is not a revision of {service}")
        if (revision.tag, revision.digest) == (service.current_tag, service.current_digest):
            raise ActionRefused(f"{service} already runs {revision.tag}")
        try:
            run = deployment_request(
                service=service,
                tag=revision.tag,
                trigger=DeploymentRun.Trigger.ROLLBACK,
                user=_user(user),
                digest=revision.digest,
                image_id=revision.image_id,
                rollback_of=revision,
            )
        except DeployConflict as exc:
            raise ActionConflict(str(exc)) from None
        except DeployRequestError as exc:
            raise ActionRefused(str(exc)) from None
        enqueue_deploy(run.pk)
        detail = f"roll back to {revision.tag} {_short(revision.digest)}"
        activity_record(user, "rollback", service, run=run, detail=detail)
        return run

    return _attempt(user, "rollback", service, act)


def service_pin(*, service: Service, tag: str, user: AbstractBaseUser | None) -> None:
    """Stay on (or move to) `tag`; no other updates until unpinned."""

    def act() -> None:
        current = _locked(service)
        current.pinned_tag = _tag(tag)
        current.save(update_fields=["pinned_tag"])
        _after_policy_change(current, user, "pin", f"pinned to {tag}")

    _attempt(user, "pin", service, act)


def service_unpin(*, service: Service, user: AbstractBaseUser | None) -> None:
    def act() -> None:
        current = _locked(service)
        if not current.pinned_tag:
            raise ActionRefused(f"{service} is not pinned")
        previous, current.pinned_tag = current.pinned_tag, ""
        current.save(update_fields=["pinned_tag"])
        _after_policy_change(current, user, "unpin", f"unpinned from {previous}")

    _attempt(user, "unpin", service, act)


def service_ignore_tag(*, service: Service, tag: str, user: AbstractBaseUser | None) -> None:
    def act() -> None:
        current = _locked(service)
        _add(current, "ignored_tags", _tag(tag))
        _after_policy_change(current, user, "ignore_tag", f"ignoring tag {tag}")

    _attempt(user, "ignore_tag", service, act)


def service_unignore_tag(*, service: Service, tag: str, user: AbstractBaseUser | None) -> None:
    def act() -> None:
        current = _locked(service)
        _remove(current, "ignored_tags", tag)
        _after_policy_change(current, user, "unignore_tag", f"no longer ignoring tag {tag}")

    _attempt(user, "unignore_tag", service, act)


def service_ignore_digest(*, service: Service, digest: str, user: AbstractBaseUser | None) -> None:
    def act() -> None:
        current = _locked(service)
        _add(current, "ignored_digests", _digest(digest))
        _after_policy_change(current, user, "ignore_digest", f"ignoring digest {_short(digest)}")

    _attempt(user, "ignore_digest", service, act)


def service_unignore_digest(*, service: Service, digest: str, user: AbstractBaseUser | None) -> None:
    def act() -> None:
        current = _locked(service)
        _remove(current, "ignored_digests", digest)
        _after_policy_change(current, user, "unignore_digest", f"no longer ignoring digest {_short(digest)}")

    _attempt(user, "unignore_digest", service, act)


# --- helpers ------------------------------------------------------------------------------------


def _attempt(user: AbstractBaseUser | None, action: str, service: Service, act: Callable[[], T]) -> T:
    """Run `act` in one transaction; a refusal is recorded in the audit log, then re-raised."""
    try:
        with transaction.atomic():
            return act()
    except ActionRefused as exc:
        activity_record(user, action, service, detail=str(exc), outcome=Activity.Outcome.REFUSED)
        raise


def _request(
    service: Service, tag: str, digest: str, user: AbstractBaseUser | None, action: str, detail: str
) -> DeploymentRun:
    try:
        run = deployment_request(
            service=service, tag=tag, trigger=DeploymentRun.Trigger.MANUAL, user=_user(user), digest=digest
        )
    except DeployConflict as exc:
        raise ActionConflict(str(exc)) from None
    except DeployRequestError as exc:
        raise ActionRefused(str(exc)) from None
    enqueue_deploy(run.pk)
    activity_record(user, action, service, run=run, detail=detail)
    return run


def _locked(service: Service) -> Service:
    """The service row, locked until the transaction ends (list fields are read-modify-write)."""
    return Service.objects.select_for_update().select_related("project").get(pk=service.pk)


def _add(service: Service, field: str, value: str) -> None:
    values = list(getattr(service, field))
    if value in values:
        raise ActionRefused(f"{service} already ignores {value}")
    setattr(service, field, sorted([*values, value]))
    service.save(update_fields=[field])


def _remove(service: Service, field: str, value: str) -> None:
    values = list(getattr(service, field))
    if value not in values:
        raise ActionRefused(f"{service} does not ignore {value}")
    setattr(service, field, [item for item in values if item != value])
    service.save(update_fields=[field])


def _after_policy_change(service: Service, user: AbstractBaseUser | None, action: str, detail: str) -> None:
    """A policy change makes the last check result stale: announce it and check again at once."""
    activity_record(user, action, service, detail=detail)
    emit(EventKind.SERVICE_CHANGED, service_id=service.pk)
    _enqueue_check(service.pk)


def _enqueue_check(service_id: int) -> None:
    transaction.on_commit(lambda: app.send_task(CHECK_SERVICE_TASK, args=[service_id]))


def activity_record(
    user: AbstractBaseUser | None,
    action: str,
    service: Service,
    *,
    run: DeploymentRun | None = None,
    detail: str = "",
    outcome: str = Activity.Outcome.OK,
) -> Activity:
    """One line of the audit log for what a person (or, with no user, a command) did to `service`."""
    return Activity.objects.create(
        actor=_user(user),
        actor_name=user.get_username() if _user(user) else "updater",
        action=action,
        service=service,
        target=str(service),
        run=run,
        detail=detail,
        outcome=outcome,
    )


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _tag(tag: str) -> str:
    try:
        return validate_tag(tag)
    except InvalidReference as exc:
        raise ActionRefused(str(exc)) from None


def _digest(digest: str) -> str:
    try:
        return validate_digest(digest)
    except InvalidReference as exc:
        raise ActionRefused(str(exc)) from None


def _short(digest: str) -> str:
    return digest[:19] if digest else ""
