"""Run state transitions with fencing: every write is conditional on the run's state and generation."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.utils import timezone

from deployments.docker import redact
from deployments.events import EventKind, emit
from deployments.models import ComposeProject, DeploymentRun, Service

logger = logging.getLogger(__name__)
State = DeploymentRun.State
T = TypeVar("T")
# Connection lost, server restarting or refusing connections, SQLite busy: worth another try.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
HEARTBEAT_SECONDS = 5.0


def heartbeat_every() -> float:
    """Seconds between heartbeats: often enough that a live run never looks stale to the reconciler."""
    return min(HEARTBEAT_SECONDS, settings.DEPLOY_STALE_AFTER / 4)


class StaleRun(Exception):
    """This worker no longer owns the run (another worker took over, or it already finished)."""


def retry_db(action: Callable[[], T], *, what: str, budget: float | None = None) -> T:
    """Run `action`, retrying transient database errors for up to `budget` seconds (default
    `DEPLOY_DB_RETRY_SECONDS`), reconnecting in between. Inside a transaction nothing can be retried.
    """
    deadline = time.monotonic() + (settings.DEPLOY_DB_RETRY_SECONDS if budget is None else budget)
    delay = 0.5
    while True:
        try:
            return action()
        except TRANSIENT_DB_ERRORS as exc:
            if connection.in_atomic_block or time.monotonic() + delay > deadline:
                raise
            logger.warning("database error while %s (%s); retrying in %.1fs", what, exc, delay)
            drop_connection()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def drop_connection() -> None:
    """Close this thread's (possibly broken) connection so the next query opens a fresh one."""
    if not connection.in_atomic_block:
        with suppress(Exception):
            connection.close()


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
        """Tell the reconciler this worker is alive; raise `StaleRun` if the run is no longer ours.

        It is called from inside long steps (`run_command`'s tick, the verify loop): a database error
        here is logged and skipped, never raised, so a hiccup cannot kill Compose mid-recreate. Only a
        lost run stops the step.
        """
        try:
            updated = DeploymentRun.objects.filter(
                pk=self.run.pk, generation=self.run.generation, state=self.run.state
            ).update(heartbeat_at=timezone.now())
        except TRANSIENT_DB_ERRORS as exc:
            logger.warning("run %s: heartbeat not recorded (%s); trying again on the next tick", self.run.pk, exc)
            drop_connection()
            updated = None
        if updated == 0:
            raise StaleRun(f"run {self.run.pk} was taken over or finished elsewhere")
        if self.on_heartbeat:
            self.on_heartbeat()

    @contextmanager
    def heartbeat_while(self, every: float | None = None) -> Iterator[None]:
        """Heartbeat from a helper thread around a blocking call that has no tick of its own
        (a registry listing honouring Retry-After, a scan). Raises `StaleRun` afterwards if the run was lost.
        """
        every = every or heartbeat_every()
        stop = threading.Event()
        lost: list[StaleRun] = []

        def beat() -> None:
            try:
                while not stop.wait(every):
                    try:
                        self.heartbeat()
                    except StaleRun as exc:
                        lost.append(exc)
                        return
            finally:
                connections.close_all()  # this thread's own connections

        thread = threading.Thread(target=beat, name=f"heartbeat-run-{self.run.pk}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        if lost:
            raise lost[0]

    def _write(self, **fields: object) -> None:
        """One fenced update, retried on transient database errors.

        A retried update may find its own earlier attempt committed (the connection dropped after the
        commit): the row then holds exactly our `heartbeat_at` stamp, and that counts as written.
        """
        now = timezone.now()
        values = {"heartbeat_at": now, "log": self.log_text, **fields}
        attempts = 0

        def attempt() -> int:
            nonlocal attempts
            attempts += 1
            mine = DeploymentRun.objects.filter(pk=self.run.pk, generation=self.run.generation)
            updated = mine.filter(state=self.run.state).update(**values)
            if not updated and attempts > 1:
                updated = mine.filter(state=values.get("state", self.run.state), heartbeat_at=now).count()
            return updated

        updated = retry_db(attempt, what=f"writing run {self.run.pk}")  # in a transaction: its caller retries
        if not updated:
            raise StaleRun(f"run {self.run.pk} was taken over or finished elsewhere")
        for key, value in values.items():
            setattr(self.run, key, value)


def finish(ctx: RunContext, final_state: str, *, service_fields: dict | None = None, **run_fields: object) -> None:
    """End the run, release the service and the project claim, in one transaction (all fenced)."""
    with transaction.atomic():
        ctx.advance(final_state, finished_at=timezone.now(), **run_fields)
        updated = Service.objects.filter(
            pk=ctx.run.service_id, active_run=ctx.run.pk, deploy_generation=ctx.run.generation
        ).update(active_run=None, **(service_fields or {}))
        if not updated:
            raise StaleRun(f"service {ctx.run.service_id} is no longer held by run {ctx.run.pk}")
        ComposeProject.objects.filter(pk=ctx.run.service.project_id, deploy_run=ctx.run.pk).update(deploy_run=None)
        _hand_over(ctx.run)
        _emit_outcome(ctx.run, service_fields or {})


def _hand_over(run: DeploymentRun) -> None:
    """Queue the project's next waiting run (after commit): the project is free now."""
    from deployments.dispatch import enqueue_deploy  # the Celery app, only when a run finishes

    waiting = (
        DeploymentRun.objects.filter(service__project_id=run.service.project_id, state=State.PENDING)
        .exclude(pk=run.pk)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        enqueue_deploy(waiting)


def finish_with_retry(
    ctx: RunContext, final_state: str, *, before: Callable[[], None] | None = None, **kwargs: object
) -> None:
    """`finish`, retried on transient database errors (with `before` in the same transaction).

    If an attempt committed but its connection dropped before the answer, the next attempt finds the
    run already in `final_state` under our generation: that is success, not a lost run.
    """
    snapshot = (ctx.run.state, list(ctx.lines))

    def attempt() -> None:
        ctx.run.state, ctx.lines = snapshot[0], list(snapshot[1])
        try:
            with transaction.atomic():
                if before is not None:
                    before()
                finish(ctx, final_state, **kwargs)
        except StaleRun:
            done = DeploymentRun.objects.filter(pk=ctx.run.pk, generation=ctx.run.generation, state=final_state)
            if not done.exists():
                raise
            ctx.run.state = final_state

    retry_db(attempt, what=f"finishing run {ctx.run.pk}")


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
