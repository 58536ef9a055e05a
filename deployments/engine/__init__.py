"""The deploy pipeline: request → edit → pull → (scan) → replace → verify → sync, or restore on failure.

Each step persists its state on the `DeploymentRun` row before it acts, with a conditional update on
(state, generation), so a duplicated or stale task changes nothing and a killed worker leaves a row the
reconciler can undo.
"""

from deployments.engine.recovery import reconcile, recover_run, release_finished_claims
from deployments.engine.request import DeployConflict, DeployRequestError, deployment_request, rollback_request
from deployments.engine.runner import execute

__all__ = [
    "DeployConflict",
    "DeployRequestError",
    "deployment_request",
    "execute",
    "reconcile",
    "recover_run",
    "release_finished_claims",
    "rollback_request",
]
