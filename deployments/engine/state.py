"""Run state transitions with fencing: every write is conditional on the run's state and generation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from deployments.docker import redact
from deployments.events import EventKind, emit
from deployments.models import DeploymentRun, Service

logger = logging.getLogger(__name__)
State = DeploymentRun.State


class StaleRun(Exception):
    """This worker no longer owns the run (another worker took over, or it already finished)."""


@dataclass
class RunContext:
    """A worker's handle on one run: the row as last written, plus its log kept in memory."""

    run: DeploymentRun
    secrets: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    on_heartbeat: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.run.log:
            self.lines = self.run.log.splitlines()

    @property
    def log_text(self) -> str:
        return "\n".join(self.lines)

    def note(self, message: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        text = redact(message, self.secrets)
        self.lines.append(f"[{stamp}] {text}")
        logger.info("run %s (%s): %s", self.run.pk, self.run.service_id, text.splitlines()[0] if text else "")

    def advance(self, to_state: str, **fields: object) -> None:
        """Move the run from its current state to `to_state`, or raise `StaleRun`."""
        self._write(state=to_state, **fields)
        self.run.state = to_state
        if to_state == State.EDITING:
            emit(EventKind.DEPLOY_STARTED, service_id=self.run.service_id, run_id=self.run.pk, **run_facts(self.run))
        emit(EventKind.RUN_CHANGED, service_id=self.run.service_id, run_id=self.run.pk, state=to_state)

    def save(self, **fields: object) -> None:
        """Persist fields (and the log) without changing state."""
        self._write(**fields)

    def heartbeat(self) -> None:
        updated = DeploymentRun.objects.filter(
            pk=self.run.pk, generation=self.run.generation, state=self.run.state
        ).update(heartbeat_at=timezone.now())
        if not updated:
            raise StaleRun(f"run {self.run.pk} was taken over or finished elsewhere")
        if self.on_heartbeat:
            self.on_heartbeat()

    def _write(self, **fields: object) -> None:
        now = timezone.now()
        values = {"heartbeat_at": now, "log": self.log_text, **fields}
        updated = DeploymentRun.objects.filter(
            pk=self.run.pk, generation=self.run.generation, state=self.run.state
        ).update(**values)
        if not updated:
            raise StaleRun(f"run {self.run.pk} was taken over or finished elsewhere")
        for key, value in values.items():
            setattr(self.run, key, value)


def finish(ctx: RunContext, final_state: str, *, service_fields: dict | None = None, **run_fields: object) -> None:
    """End the run and release the service in one transaction (both writes fenced)."""
    with transaction.atomic():
        ctx.advance(final_state, finished_at=timezone.now(), **run_fields)
        updated = Service.objects.filter(
            pk=ctx.run.service_id, active_run=ctx.run.pk, deploy_generation=ctx.run.generation
        ).update(active_run=None, **(service_fields or {}))
        if not updated:
            raise StaleRun(f"service {ctx.run.service_id} is no longer held by run {ctx.run.pk}")
        _emit_outcome(ctx.run, service_fields or {})


def run_facts(run: DeploymentRun) -> dict[str, object]:
    """What subscribers need to describe a run without loading it (no secrets, JSON-safe)."""
    return {
        "trigger": run.trigger,
        "from_tag": run.from_tag,
        "to_tag": run.to_tag,
        "to_digest": run.to_digest,
        "state": run.state,
    }


def _emit_outcome(run: DeploymentRun, service_fields: dict) -> None:
    facts = run_facts(run)
    if run.state == State.SUCCEEDED:
        kind = EventKind.ROLLED_BACK if run.trigger == DeploymentRun.Trigger.ROLLBACK else EventKind.DEPLOY_SUCCEEDED
        emit(kind, service_id=run.service_id, run_id=run.pk, **facts)
    elif run.state == State.FAILED:
        emit(
            EventKind.DEPLOY_FAILED,
            service_id=run.service_id,
            run_id=run.pk,
            error=run.error,
            failed_state=run.failed_state,
            restored=run.restored,
            **facts,
        )
    if service_fields.get("automation_paused"):
        emit(
            EventKind.AUTOMATION_PAUSED,
            service_id=run.service_id,
            run_id=run.pk,
            reason=service_fields["automation_paused"],
        )
    emit(EventKind.SERVICE_CHANGED, service_id=run.service_id, run_id=run.pk)


def take_over(run: DeploymentRun) -> DeploymentRun:
    """Fence out whoever held `run`: bump the run's and the service's generation together."""
    new_generation = run.generation + 1
    with transaction.atomic():
        run_updated = DeploymentRun.objects.filter(pk=run.pk, generation=run.generation, state=run.state).update(
            generation=new_generation, heartbeat_at=timezone.now()
        )
        service_updated = Service.objects.filter(
            pk=run.service_id, active_run=run.pk, deploy_generation=run.generation
        ).update(deploy_generation=new_generation)
        if not (run_updated and service_updated):
            raise StaleRun(f"run {run.pk} changed while taking it over")
    run.refresh_from_db()
    return run
