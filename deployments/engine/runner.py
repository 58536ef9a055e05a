"""Run one deploy: edit → pull → scan gate → replace → verify → sync; any failure restores."""

from __future__ import annotations

import logging
from functools import cached_property

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from deployments import compose_file, docker, hosts
from deployments.backups import seal_edit
from deployments.engine import claims, restore, sync
from deployments.engine.faults import fault_point
from deployments.engine.state import TRANSIENT_DB_ERRORS, RunContext, StaleRun
from deployments.engine.targets import compose_target, image_digest_for, reference_for
from deployments.engine.verify import wait_until_verified
from deployments.locks import project_lease
from deployments.models import DeploymentRun
from registries.client import RegistryError
from registries.reference import ImageReference, InvalidReference
from registries.secrets import CredentialError
from registries.services import registry_docker_auth
from scanning.gate import image_scan_gate, scan_gate_applies

logger = logging.getLogger(__name__)
State = DeploymentRun.State

# Errors a step reports as a failed deploy (anything else is a bug, still restored, with a traceback).
STEP_ERRORS = (docker.DockerError, compose_file.ComposeFileError, RegistryError, CredentialError, InvalidReference)


class StepFailed(Exception):
    """A step found the deploy cannot succeed; `details` goes to the run log."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def execute(run_id: int, *, reroute_from: str | None = None) -> bool:
    """Entry point for the deploy task and the `deploy` command: run a pending deploy to its end.

    Returns False, doing nothing, while another deploy of the same Compose project holds it (the
    caller retries later); the waiting run is stamped so the reconciler knows its task is alive.
    The project is serialised by a database claim; the Redis lease only spares that query. A run
    that is no longer pending (a redelivered or duplicated message) is handed to recovery, which
    only acts if its worker is gone.

    A run of another host is not touched here: it is queued to that host's agent (unless the message
    came from that host's queue already, `reroute_from`, which means a misconfigured worker: then the
    run waits for its agent's reconciler).
    """
    run = DeploymentRun.objects.select_related("service__project__host", "requested_by").filter(pk=run_id).first()
    if run is None:
        return True
    host = run.service.project.host
    if not hosts.serves(host):
        if reroute_from != host.queue:
            from deployments.dispatch import enqueue_deploy

            enqueue_deploy(run_id, host=host.name)
        else:
            logger.error("run %s belongs to host %s, which this worker does not serve", run_id, host)
        return True
    if run.state != State.PENDING:
        from deployments.engine.recovery import recover_run

        recover_run(run_id)
        return True
    with project_lease(run.service.project_id) as held:
        if held is None:
            logger.info("run %s: project %s is busy with another deploy", run_id, run.service.project)
            claims.touch_waiting(run)
            return False
        ctx = RunContext(run, on_heartbeat=held.renew)
        ctx.note(f"{run.get_trigger_display()} deploy of {run.service} to {run.to_tag} on host {host}")
        try:
            if not claims.start_run(ctx):
                logger.info("run %s: project %s is claimed by another deploy", run_id, run.service.project)
                claims.touch_waiting(run)
                return False
        except StaleRun:
            return True
        Pipeline(ctx).run_steps()
    return True


class Pipeline:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.run = ctx.run
        self.service = ctx.run.service
        self.target = compose_target(self.service)

    @cached_property
    def reference(self) -> ImageReference:
        """The target image; raises InvalidReference inside the steps, so it fails the run cleanly."""
        return reference_for(self.service, self.run.to_tag)

    def run_steps(self) -> None:
        try:
            self.prepare()
            self.snapshot()
            self.edit()
            self.pull()
            self.scan_gate()
            self.replace()
            self.verify()
        except StaleRun as exc:
            logger.warning("run %s: stopping, %s", self.run.pk, exc)
        except StepFailed as exc:
            self.fail(str(exc), exc.details)
        except STEP_ERRORS as exc:
            self.fail(str(exc), getattr(exc, "output", ""))
        except SoftTimeLimitExceeded:
            self.fail("the deploy ran out of time (task soft time limit)")
        except Exception as exc:
            logger.exception("run %s: unexpected error", self.run.pk)
            self.fail(f"unexpected error: {exc.__class__.__name__}: {exc}")
        else:
            self.record()

    def record(self) -> None:
        """Verified: record that first, then the revision. A database error here never undoes the deploy:
        both writes are retried, and a run left with `verified_at` is recorded, not undone, by recovery.
        """
        try:
            self.ctx.save(verified_at=timezone.now())
            self.pause_at("verified")
            sync.record_success(self.ctx)
        except StaleRun as exc:
            logger.warning("run %s: stopping after verification, %s", self.run.pk, exc)
        except TRANSIENT_DB_ERRORS as exc:
            logger.error("run %s: verified, but the database is down (%s); recovery records it", self.run.pk, exc)

    def pause_at(self, step: str) -> None:
        fault_point(step, self.run.pk, self.ctx.heartbeat)

    def fail(self, error: str, details: str = "") -> None:
        try:
            self.pause_at("restoring")
            restore.restore_and_fail(self.ctx, error, details)
        except StaleRun as exc:
            logger.warning("run %s: stopping during restore, %s", self.run.pk, exc)

    def prepare(self) -> None:
        """Detect Compose and settle policy before anything changes (nothing of this at the end of the run)."""
        self.pause_at("started")
        self.ctx.note(f"compose: {docker.compose_command(self.ctx.heartbeat).describe()}")
        if self.run.trigger == DeploymentRun.Trigger.ROLLBACK:
            with self.ctx.heartbeat_while():  # a registry honouring Retry-After can take minutes
                ignored = sync.rollback_ignores(self.run, self.ctx.note)
            self.ctx.save(ignore_tags_on_success=ignored)

    def snapshot(self) -> None:
        """Record what runs now, so a failure can bring exactly that back."""
        containers = docker.list_compose_containers(self.target.project, self.service.name)
        running = [c for c in containers if c.status == "running"]
        from_image_id = running[0].image_id if running else self.service.current_image_id
        self.ctx.save(from_image_id=from_image_id, from_container_ids=[c.id for c in containers])

    def edit(self) -> None:
        edit = compose_file.plan_tag_change(
            self.target.config_files,
            self.target.working_dir,
            self.service.name,
            self.run.to_tag,
            environ=docker.interpolation_environ(),
        )
        # Persist the backup before the write: a worker killed after it can still be undone.
        self.ctx.save(file_backup=seal_edit(edit))
        self.pause_at("planned")
        try:
            compose_file.apply_edit(edit)
        except compose_file.ComposeDriftError:
            self.ctx.save(file_backup="")  # nothing was written: there is nothing of ours to restore
            raise
        if edit.changes:
            files = ", ".join(change.path for change in edit.changes)
            self.ctx.note(f"image {edit.old_image} → {edit.new_image} in {files}")
        else:
            self.ctx.note(f"compose file already names {edit.new_image}")
        self.pause_at("edited")
        docker.compose_config_check(self.target, on_tick=self.ctx.heartbeat)

    def pull(self) -> None:
        self.ctx.advance(State.PULLING)
        repository, tag = str(self.reference.name), self.run.to_tag
        local = docker.image_info(self.run.to_image_id) if self.run.to_image_id else None
        if local is not None:
            # Rollbacks use the exact image recorded in the revision, still on this host.
            docker.tag_image(local.id, repository, tag)
            self.ctx.note(f"using local image {local.id[:19]} for {tag}")
        else:
            auths = registry_docker_auth(self.reference.registry)
            result = docker.compose_pull(self.target, self.service.name, auths=auths, on_tick=self.ctx.heartbeat)
            self.ctx.note(result.describe())
        image = docker.image_info(f"{repository}:{tag}")
        if image is None:
            raise StepFailed(f"image {repository}:{tag} is not on the host after the pull")
        digest = image_digest_for(image, self.reference)
        expected = self.run.to_digest
        if self.run.trigger == DeploymentRun.Trigger.ROLLBACK and expected and digest and digest != expected:
            raise StepFailed(f"{tag} now points to {digest}, not the revision's {expected}, and that image is gone")
        if self.run.trigger == DeploymentRun.Trigger.MANUAL and expected and digest and digest != expected:
            # An approval names one image: a tag re-pushed since is a different update, approved separately.
            raise StepFailed(f"{tag} now points to {digest}, not the approved {expected}; approve the new image")
        if expected and digest and digest != expected:
            self.ctx.note(
                f"registry now serves {digest} for {tag} (the check saw {expected}); deploying the pulled image"
            )
        self.ctx.save(to_image_id=image.id, to_digest=digest or expected)
        self.pause_at("pulled")

    def scan_gate(self) -> None:
        if not scan_gate_applies(trigger=self.run.trigger):
            return
        self.ctx.advance(State.SCANNING)
        verdict = image_scan_gate(
            run=self.run, image_reference=f"{self.reference.name}:{self.run.to_tag}", on_tick=self.ctx.heartbeat
        )
        self.ctx.note(f"scan gate: {verdict.summary}")
        if not verdict.allowed:
            raise StepFailed(f"blocked by scan: {verdict.summary}", verdict.details)

    def replace(self) -> None:
        self.ctx.advance(State.REPLACING)
        self.pause_at("replacing")
        force = self.run.trigger == DeploymentRun.Trigger.ROLLBACK
        result = docker.compose_up(self.target, self.service.name, force_recreate=force, on_tick=self.ctx.heartbeat)
        self.ctx.note(result.describe())

    def verify(self) -> None:
        self.ctx.advance(State.VERIFYING)
        must_replace = (
            self.run.to_image_id != self.run.from_image_id or self.run.trigger == DeploymentRun.Trigger.ROLLBACK
        )
        verdict = wait_until_verified(
            self.target.project,
            self.service.name,
            expected_image_id=self.run.to_image_id,
            replaced_ids=self.run.from_container_ids if must_replace else (),
            timeout=settings.HEALTH_TIMEOUT,
            stability_window=settings.STABILITY_WINDOW,
            on_tick=self.ctx.heartbeat,
        )
        if not verdict.ok:
            raise StepFailed(f"verification failed: {verdict.reason}", self._container_logs())
        self.ctx.note(f"verified: {verdict.reason}")

    def _container_logs(self) -> str:
        with self.ctx.heartbeat_while():
            return docker.service_logs(self.target.project, self.service.name, tail=40)
