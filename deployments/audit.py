"""What the updater did by itself, recorded from domain events: the audit log's automatic half
(user actions are recorded by `deployments.services`) and the step timings of each run.

Subscribed in `DeploymentsConfig.ready()`, so it records in whichever process emits (worker, web,
a command). Each handler is one or two small queries; a failure is logged by `events.publish`.
"""

from __future__ import annotations

from deployments.events import Event, EventKind, subscribe
from deployments.models import Activity, DeploymentRun, RunStep, Service

OUTCOME_ACTIONS = {
    EventKind.DEPLOY_SUCCEEDED: ("deployed", Activity.Outcome.OK),
    EventKind.ROLLED_BACK: ("rolled_back", Activity.Outcome.OK),
    EventKind.DEPLOY_FAILED: ("deploy_failed", Activity.Outcome.FAILED),
    EventKind.AUTOMATION_PAUSED: ("automation_paused", Activity.Outcome.FAILED),
    EventKind.BLOCKED_BY_SCAN: ("blocked_by_scan", Activity.Outcome.FAILED),
}
CHECK_ACTIONS = ("check_failed", "check_recovered")


def record_step(event: Event) -> None:
    """When a run entered each state (the first time: a retried write does not move the clock)."""
    state = event.data.get("state")
    if event.run_id and state:
        RunStep.objects.get_or_create(run_id=event.run_id, state=state, defaults={"at": event.at})


def record_outcome(event: Event) -> None:
    run = DeploymentRun.objects.select_related("service__project", "requested_by").filter(pk=event.run_id).first()
    service = run.service if run else Service.objects.select_related("project").filter(pk=event.service_id).first()
    if service is None:
        return
    action, outcome = OUTCOME_ACTIONS[event.kind]
    user = run.requested_by if run else None
    Activity.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "updater",
        action=action,
        service=service,
        target=str(service),
        run=run,
        detail=_describe(event, run),
        outcome=outcome,
    )


def record_check_result(event: Event) -> None:
    """A service whose check starts failing (or recovers) is news; the same error every cycle is not."""
    if event.service_id is None:
        return
    service = Service.objects.select_related("project").filter(pk=event.service_id).first()
    if service is None:
        return
    last = Activity.objects.filter(service=service, action__in=CHECK_ACTIONS).order_by("-created_at", "-id").first()
    failing = bool(service.last_check_error)
    if failing and not (last and last.action == "check_failed" and last.detail == service.last_check_error):
        action, outcome, detail = "check_failed", Activity.Outcome.FAILED, service.last_check_error
    elif not failing and last and last.action == "check_failed":
        action, outcome, detail = "check_recovered", Activity.Outcome.OK, "the registry answered again"
    else:
        return
    Activity.objects.create(
        actor_name="updater", action=action, service=service, target=str(service), detail=detail, outcome=outcome
    )


def _describe(event: Event, run: DeploymentRun | None) -> str:
    data = event.data
    if event.kind in (EventKind.AUTOMATION_PAUSED, EventKind.BLOCKED_BY_SCAN):
        return str(data.get("reason") or data.get("summary") or "")
    moved = f"{data.get('from_tag') or '?'} → {data.get('to_tag') or '?'}"
    trigger = run.get_trigger_display().lower() if run else str(data.get("trigger", ""))
    if event.kind == EventKind.DEPLOY_FAILED:
        restored = "previous version restored" if data.get("restored") else "restore needs attention"
        first_line = str(data.get("error") or "").splitlines()[:1]
        return f"{moved} ({trigger}) failed: {''.join(first_line)}; {restored}"
    return f"{moved} ({trigger})"


def connect() -> None:
    subscribe(record_step, [EventKind.RUN_CHANGED])
    subscribe(record_outcome, list(OUTCOME_ACTIONS))
    subscribe(record_check_result, [EventKind.SERVICE_CHANGED])
