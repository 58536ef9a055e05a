"""Shared behaviour of the ops commands: errors are one clear line and a non-zero exit."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from deployments import engine
from deployments.dispatch import enqueue_deploy
from deployments.models import DeploymentRun

BUSY_WAIT_SECONDS = 300


class OpsCommand(BaseCommand):
    requires_system_checks: list = []

    def execute(self, *args: object, **options: object) -> str | None:
        try:
            return super().execute(*args, **options)
        except CommandError:
            raise
        except Exception as exc:  # every known error class has a clear message of its own
            raise CommandError(f"{exc.__class__.__name__}: {exc}") from exc

    def carry_out(self, run: DeploymentRun, *, queue: bool, queued: str) -> None:
        """Hand the run to a worker (`--queue`), or run it here and report how it ended."""
        if queue:
            enqueue_deploy(run.pk)
            self.stdout.write(f"queued run {run.pk}: {queued}")
            return
        self.run_inline(run)

    def run_inline(self, run: DeploymentRun) -> None:
        """Execute the run here, waiting while another deploy of the same project finishes."""
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        while not engine.execute(run.pk):
            if time.monotonic() > deadline:
                enqueue_deploy(run.pk)
                raise CommandError(f"project {run.service.project} stayed busy; run {run.pk} was queued for a worker")
            time.sleep(2)
        self.report_run(run)

    def report_run(self, run: DeploymentRun) -> None:
        run.refresh_from_db()
        if run.state == DeploymentRun.State.SUCCEEDED:
            self.stdout.write(f"run {run.pk}: {run.service} now runs {run.to_tag} ({run.to_digest or 'no digest'})")
            return
        restored = "previous version restored" if run.restored else "restore needs attention"
        raise CommandError(f"run {run.pk} {run.state}: {run.error} ({restored}; see the run log)")
