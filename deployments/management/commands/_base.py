"""Shared behaviour of the ops commands: errors are one clear line and a non-zero exit."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deployments import engine, hosts
from deployments.dispatch import enqueue_deploy
from deployments.models import DeploymentRun, DockerHost

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
        """Execute the run here, waiting while another deploy of the same project finishes.

        A service of another host is deployed by that host's agent (its engine and files are there):
        the run is queued to it and this command waits for the run to end.
        """
        host = DockerHost.objects.get(projects__services__runs=run)
        if not hosts.serves(host):
            self.wait_for_agent(run, host)
            return
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        while not engine.execute(run.pk):
            if time.monotonic() > deadline:
                enqueue_deploy(run.pk)
                raise CommandError(f"project {run.service.project} stayed busy; run {run.pk} was queued for a worker")
            time.sleep(2)
        self.report_run(run)

    def wait_for_agent(self, run: DeploymentRun, host: DockerHost) -> None:
        enqueue_deploy(run.pk, host=host.name)
        self.stdout.write(f"run {run.pk} queued to the agent of host {host}; waiting for it to finish")
        deadline = time.monotonic() + settings.CELERY_TASK_TIME_LIMIT + BUSY_WAIT_SECONDS
        while DeploymentRun.objects.filter(pk=run.pk, state__in=DeploymentRun.ACTIVE_STATES).exists():
            if time.monotonic() > deadline:
                raise CommandError(f"run {run.pk} did not finish; host {host}'s agent may be offline")
            time.sleep(1)
        self.report_run(run)

    def report_run(self, run: DeploymentRun) -> None:
        run.refresh_from_db()
        if run.state == DeploymentRun.State.SUCCEEDED:
            self.stdout.write(f"run {run.pk}: {run.service} now runs {run.to_tag} ({run.to_digest or 'no digest'})")
            return
        restored = "previous version restored" if run.restored else "restore needs attention"
        raise CommandError(f"run {run.pk} {run.state}: {run.error} ({restored}; see the run log)")
