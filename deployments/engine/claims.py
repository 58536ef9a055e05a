"""The project claim: one deploy at a time per Compose project, decided by the database.

Services of one project share the Compose file and `.env`, so their deploys must not interleave.
Redis leases only save work (they are granted to everyone when Redis is down); this row claim is
what serialises. A run takes it with a conditional update in the transaction that starts it, and
`state.finish` releases it in the transaction that ends the run. The run's generation is the fencing
token: the reconciler takes an abandoned run over (bumping its generation) and keeps its claim.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments.engine.state import RunContext, StaleRun
from deployments.models import ComposeProject, DeploymentRun

State = DeploymentRun.State


def claim_project(run: DeploymentRun) -> bool:
    """Take the run's project claim (idempotent for the holder); False while another run holds it.

    The conditions are on the project row's own column, so Postgres re-checks them on the row a
    concurrent claim just wrote (a join or subquery would not be re-checked, and both would win).
    """
    project = ComposeProject.objects.filter(pk=run.service.project_id)
    holder = project.values_list("deploy_run", "deploy_run__state").first()
    if holder and holder[0] not in (None, run.pk) and holder[1] in DeploymentRun.FINAL_STATES:
        # Left by a finished run (code before claims existed, or a crash): a finished run never
        # becomes active again, so releasing exactly that holder is safe.
        project.filter(deploy_run=holder[0]).update(deploy_run=None)
    return bool(project.filter(Q(deploy_run__isnull=True) | Q(deploy_run=run.pk)).update(deploy_run=run))


def start_run(ctx: RunContext) -> bool:
    """Claim the project and move the pending run to editing, atomically.

    False (nothing written) while another deploy holds the project. Raises `StaleRun` if the run is
    no longer pending under this generation (a duplicate message already started it).
    """
    with transaction.atomic():
        if not claim_project(ctx.run):
            return False
        ctx.advance(State.EDITING, started_at=timezone.now())
    return True


def touch_waiting(run: DeploymentRun) -> None:
    """A pending run whose task is alive but waiting for its project: not lost, so not re-queued."""
    DeploymentRun.objects.filter(pk=run.pk, state=State.PENDING, generation=run.generation).update(
        heartbeat_at=timezone.now(), requeue_count=0
    )


def holder_of(run: DeploymentRun) -> DeploymentRun | None:
    """The active run holding `run`'s project, if it is another one."""
    project = ComposeProject.objects.select_related("deploy_run").get(pk=run.service.project_id)
    holder = project.deploy_run
    if holder is None or holder.pk == run.pk or holder.state in DeploymentRun.FINAL_STATES:
        return None
    return holder


__all__ = ["StaleRun", "claim_project", "holder_of", "start_run", "touch_waiting"]
