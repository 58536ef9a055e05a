"""Trigger: validate a deploy request and claim the service in the database before anything else."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from deployments.events import EventKind, emit
from deployments.models import DeploymentRun, Revision, Service
from registries.reference import InvalidReference, validate_tag


class DeployRequestError(Exception):
    """The deploy cannot be requested (bad tag, unknown revision…)."""


class DeployConflict(DeployRequestError):
    """Another deploy of this service is in progress."""


class StaleDecision(DeployConflict):
    """The service changed (another deploy was claimed) after the caller read it: its decision no longer holds."""


def deployment_request(
    *,
    service: Service,
    tag: str,
    trigger: str,
    user: AbstractBaseUser | None = None,
    digest: str = "",
    image_id: str = "",
    rollback_of: Revision | None = None,
    expected_generation: int | None = None,
) -> DeploymentRun:
    """Create a pending run and mark the service as deploying, atomically.

    The partial unique index (one unfinished run per service) and the conditional update on the
    service's generation both refuse a second concurrent request with `DeployConflict`. A caller that
    decided from an earlier read (a check cycle) passes the `deploy_generation` it read: if a deploy or
    rollback was claimed since, the claim is refused with `StaleDecision`.
    """
    try:
        validate_tag(tag)
    except InvalidReference as exc:
        raise DeployRequestError(str(exc)) from None
    if not service.repository:
        raise DeployRequestError(f"{service}: image {service.image!r} cannot be updated (no repository)")
    try:
        with transaction.atomic():
            generation = Service.objects.values_list("deploy_generation", flat=True).get(pk=service.pk)
            if expected_generation is not None and generation != expected_generation:
                raise StaleDecision(f"{service}: changed since it was checked (another deploy or a rollback)")
            run = DeploymentRun.objects.create(
                service=service,
                generation=generation + 1,
                trigger=trigger,
                requested_by=user if user is not None and user.is_authenticated else None,
                from_tag=service.current_tag,
                from_digest=service.current_digest,
                to_tag=tag,
                to_digest=digest,
                to_image_id=image_id,
                rollback_of=rollback_of,
            )
            claimed = Service.objects.filter(
                pk=service.pk, active_run__isnull=True, deploy_generation=generation
            ).update(active_run=run, deploy_generation=generation + 1)
            if not claimed:
                raise DeployConflict(f"{service}: a deploy is already in progress")
            emit(EventKind.RUN_CHANGED, service_id=service.pk, run_id=run.pk, state=run.state)
            emit(EventKind.SERVICE_CHANGED, service_id=service.pk, run_id=run.pk)
    except IntegrityError:
        raise DeployConflict(f"{service}: a deploy is already in progress") from None
    service.active_run = run
    service.deploy_generation = generation + 1
    return run


def rollback_target(service: Service, tag: str | None = None) -> Revision:
    """The revision a rollback returns to: the given tag's latest revision, else the one before now."""
    revisions = service.revisions.order_by("-created_at", "-id")
    if tag:
        revision = revisions.filter(tag=tag).first()
        if revision is None:
            known = ", ".join(dict.fromkeys(revisions.values_list("tag", flat=True))) or "none"
            raise DeployRequestError(f"{service}: no revision with tag {tag!r} (known: {known})")
        return revision
    for revision in revisions:
        if (revision.tag, revision.digest) != (service.current_tag, service.current_digest):
            return revision
    raise DeployRequestError(f"{service}: no earlier revision to roll back to")


def rollback_request(
    *, service: Service, tag: str | None = None, user: AbstractBaseUser | None = None
) -> DeploymentRun:
    revision = rollback_target(service, tag)
    return deployment_request(
        service=service,
        tag=revision.tag,
        trigger=DeploymentRun.Trigger.ROLLBACK,
        user=user,
        digest=revision.digest,
        image_id=revision.image_id,
        rollback_of=revision,
    )
