"""Undo a failed or abandoned deploy: put the compose file back and bring the previous image back up."""

from __future__ import annotations

import re

from django.conf import settings

from deployments import compose_file, docker
from deployments.backups import open_edit
from deployments.engine import backoff
from deployments.engine.state import RunContext, finish_with_retry
from deployments.engine.targets import compose_target
from deployments.engine.verify import OK, assess, wait_until_verified
from deployments.models import DeploymentRun
from registries.reference import InvalidReference, parse_reference
from registries.secrets import CredentialError

State = DeploymentRun.State
RESTORE_ERRORS = (docker.DockerError, compose_file.ComposeFileError, InvalidReference, CredentialError)


def restore_and_fail(ctx: RunContext, error: str, details: str = "") -> None:
    """Record the failure, restore the previous version, and end the run as failed.

    If restoring itself fails, automatic deploys of the service pause until an operator clears it
    (never loop on a broken service).
    """
    ctx.note(f"failed while {ctx.run.get_state_display().lower()}: {error}")
    if details:
        ctx.note(details)
    if ctx.run.state != State.RESTORING:
        ctx.advance(State.RESTORING, error=error, failed_state=ctx.run.state)
    problems = restore_previous(ctx)
    service_fields = backoff.fields_after_failure(ctx.run, error)
    if problems:
        summary = "; ".join(problems)
        ctx.note(f"restore incomplete: {summary}")
        service_fields["automation_paused"] = (
            f"run {ctx.run.pk}: restore after a failed deploy needs attention: {summary}"
        )
    else:
        ctx.note("previous version restored" if _changed_anything(ctx.run) else "nothing had changed")
    finish_with_retry(ctx, State.FAILED, error=error, restored=not problems, service_fields=service_fields)


def _changed_anything(run: DeploymentRun) -> bool:
    return bool(run.file_backup or run.failed_state in (State.REPLACING, State.VERIFYING))


def restore_previous(ctx: RunContext) -> list[str]:
    """Revert the file edit, then recreate the service on its previous image if it was replaced."""
    run = ctx.run
    if run.file_backup:
        try:
            compose_file.revert_edit(open_edit(run.file_backup))
            ctx.note("compose file restored")
        except (compose_file.ComposeFileError, CredentialError) as exc:
            # Someone edited the file after our write (or it cannot be read): what it now says is not
            # ours to run, and pointing its tag at the old image would make the tag lie. Stop here.
            return [f"compose file not restored: {exc}; containers left as they are"]
    if not run.from_image_id:
        return []
    target = compose_target(run.service)
    try:
        # A failed step may be the daemon restarting: what it left is only visible once it answers again.
        waited = docker.wait_for_engine(settings.DEPLOY_ENGINE_WAIT_SECONDS, on_tick=ctx.heartbeat)
        if waited >= 1:
            ctx.note(f"the Docker engine answered again after {waited:.0f}s")
        containers = docker.list_compose_containers(target.project, run.service.name)
        # After an interrupted `up` a "running" old container may be one the daemon is still stopping
        # (the stop outlives the killed client): from the replace step on, always bring it back.
        if run.failed_state not in (State.REPLACING, State.VERIFYING) and _previous_still_running(run, containers):
            ctx.note("the previous containers are still running; nothing to bring back")
            return []
        return _bring_back(ctx, target)
    except RESTORE_ERRORS as exc:
        return [f"previous version not brought back: {exc}"]


def _previous_still_running(run: DeploymentRun, containers: list[docker.ContainerInfo]) -> bool:
    """The same containers as before the deploy, all running the previous image: nothing to do.

    Same IDs are not enough: Compose v1 stops (and renames) the old container before it creates the
    new one, so an `up` that failed or was killed in between leaves the IDs unchanged and the service down.
    """
    if not containers or {c.id for c in containers} != set(run.from_container_ids):
        return False
    status, _ = assess(containers, run.from_image_id, replaced_ids=())
    return status == OK


# Compose names a container it is recreating `<12 hex digits>_<name>` (v1: the old one, renamed before the
# new one is created; v2: the new one, renamed after the old one is removed).
RECREATE_PREFIX = re.compile(r"^[0-9a-f]{12}_")


def _clear_interrupted_recreate(ctx: RunContext, target: docker.ComposeTarget) -> None:
    """Undo what a killed or failed `up` left half-done, so the restore's own `up` starts clean.

    Only while an old container still exists (the recreate was interrupted): then the deploy's new
    containers go and an old container Compose renamed gets its name back; it still holds the
    anonymous volumes, which the restore's recreate carries over. Once the old containers are gone,
    the new ones hold those volumes and are left to Compose's own recreate.
    """
    run = ctx.run
    old_ids = set(run.from_container_ids)
    containers = docker.list_compose_containers(target.project, run.service.name)
    if not any(container.id in old_ids for container in containers):
        return
    for container in containers:
        if container.id not in old_ids:
            docker.remove_container(container.id)
            ctx.note(f"removed {container.name or container.id[:12]}, left by the interrupted deploy")
    taken = {c.name for c in containers if c.id in old_ids}
    for container in containers:
        original = RECREATE_PREFIX.sub("", container.name)
        if container.id in old_ids and original != container.name and original not in taken:
            docker.rename_container(container.id, original)
            taken.add(original)
            ctx.note(f"renamed {container.name} back to {original}")


def _bring_back(ctx: RunContext, target: docker.ComposeTarget) -> list[str]:
    run = ctx.run
    _clear_interrupted_recreate(ctx, target)
    image = compose_file.service_image(
        target.config_files, target.working_dir, run.service.name, environ=docker.interpolation_environ()
    )
    reference = parse_reference(image)
    if docker.image_info(run.from_image_id) is not None and reference.tag and reference.tag == run.from_tag:
        # A mutable tag may now name the new image: point it back at the one that ran before (only the
        # tag the service ran before; never another tag onto the old image).
        docker.tag_image(run.from_image_id, reference.name, reference.tag)
    result = docker.compose_up(target, run.service.name, force_recreate=True, on_tick=ctx.heartbeat)
    ctx.note(result.describe())
    verdict = wait_until_verified(
        target.project,
        run.service.name,
        expected_image_id=run.from_image_id,
        timeout=settings.HEALTH_TIMEOUT,
        stability_window=settings.STABILITY_WINDOW,
        on_tick=ctx.heartbeat,
    )
    if not verdict.ok:
        return [f"previous version did not come back up: {verdict.reason}"]
    ctx.note(f"previous version running: {verdict.reason}")
    return []
