"""What each domain event says to people: title, body, level, and the key that makes it one message.

The key is (service, target, outcome): the same update found every cycle, or a deploy of the same image
retried after a backoff, is one message. A registry outage is one message when it starts and one when it
ends (`registries.health` reports each change once).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from deployments.events import Event, EventKind
from deployments.models import DeploymentRun, Service

INFO, SUCCESS, WARNING, FAILURE = "info", "success", "warning", "failure"
ERROR_LINES = 6


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    level: str
    dedup_key: str
    service_id: int | None = None
    projects: frozenset[str] | None = None  # None: about no project in particular (a registry host)
    host: str = ""


def public_url(path: str) -> str:
    base = settings.PUBLIC_URL or f"http://localhost:{settings.HTTP_PORT}"
    return f"{base}{path}"


def describe(event: Event) -> Message | None:
    """The message for `event`, or None if there is nothing to say (its service is gone)."""
    if event.kind in (EventKind.REGISTRY_UNREACHABLE, EventKind.REGISTRY_RECOVERED):
        return _registry(event)
    service = Service.objects.select_related("project").filter(pk=event.service_id).first()
    if service is None:
        return None
    describer = _SERVICE_MESSAGES.get(event.kind)
    return describer(event, service) if describer else None


def _registry(event: Event) -> Message:
    host = str(event.data.get("host", "?"))
    error = str(event.data.get("error") or "")
    stamp = event.at.isoformat()
    if event.kind == EventKind.REGISTRY_UNREACHABLE:
        title = f"Registry unreachable: {host}"
        body = f"The check cannot use {host}: {error}\nIts services are not checked until it answers again."
        return Message(event.kind, title, body, FAILURE, f"registry:{host}:down:{stamp}", host=host)
    body = f"{host} answers again; its services are checked as usual."
    return Message(event.kind, f"Registry recovered: {host}", body, SUCCESS, f"registry:{host}:up:{stamp}", host=host)


def _target(tag: object, digest: object) -> str:
    return f"{tag or '?'}@{digest}" if digest else str(tag or "?")


def _key(service: Service, target: str, outcome: str) -> str:
    return f"service:{service.pk}:{target}:{outcome}"[:255]


def _message(event: Event, service: Service, title: str, body: str, level: str, target: str) -> Message:
    return Message(
        event.kind,
        title,
        body,
        level,
        _key(service, target, str(event.kind)),
        service_id=service.pk,
        projects=frozenset({service.project.name}),
    )


def _run_link(event: Event) -> str:
    return public_url(reverse("dashboard:run", args=[event.run_id])) if event.run_id else ""


def _service_link(service: Service) -> str:
    return public_url(reverse("dashboard:service", args=[service.pk]))


def _update_available(event: Event, service: Service) -> Message:
    data = event.data
    current, available = data.get("current_tag") or service.current_tag, data.get("available_tag")
    moved = f"{current} → {available}" if available != current else f"{available} has a new digest"
    body = (
        f"{service} can move {moved} (update mode: {data.get('update_mode') or 'manual'}).\n"
        f"Approve it: {_service_link(service)}"
    )
    target = _target(available, data.get("available_digest"))
    return _message(event, service, f"Update available: {service} {moved}", body, INFO, target)


def _trigger(data: dict) -> str:
    return {"auto": "automatic", "manual": "manual", "rollback": "rollback"}.get(str(data.get("trigger")), "")


def _started(event: Event, service: Service) -> Message:
    data = dict(event.data)
    title = f"Deploying {service}: {data.get('from_tag') or '?'} → {data.get('to_tag')}"
    body = f"{title} ({_trigger(data)}).\n{_run_link(event)}"
    return _message(event, service, title, body, INFO, _target(data.get("to_tag"), data.get("to_digest")))


def _succeeded(event: Event, service: Service) -> Message:
    data = dict(event.data)
    title = f"Deployed {service} {data.get('to_tag')}"
    was = data.get("from_tag") or "?"
    body = f"{service} runs {data.get('to_tag')} (was {was}, {_trigger(data)}).\n{_run_link(event)}"
    return _message(event, service, title, body, SUCCESS, _target(data.get("to_tag"), data.get("to_digest")))


def _failed(event: Event, service: Service) -> Message:
    data = dict(event.data)
    state = DeploymentRun.State(data["failed_state"]).label.lower() if data.get("failed_state") else "deploying"
    reason = "\n".join(str(data.get("error") or "no reason recorded").splitlines()[:ERROR_LINES])
    if data.get("restored"):
        restored = f"The previous version ({data.get('from_tag') or '?'}) was restored and is running."
    else:
        restored = "Nothing was restored: the previous version may not be running. The service needs attention."
    title = f"Deploy failed: {service} {data.get('to_tag')}"
    body = f"{service} → {data.get('to_tag')} failed while {state}:\n{reason}\n{restored}\n{_run_link(event)}"
    return _message(event, service, title, body, FAILURE, _target(data.get("to_tag"), data.get("to_digest")))


def _rolled_back(event: Event, service: Service) -> Message:
    data = dict(event.data)
    title = f"Rolled back {service} to {data.get('to_tag')}"
    body = f"{service} runs {data.get('to_tag')} again (from {data.get('from_tag') or '?'}).\n{_run_link(event)}"
    return _message(event, service, title, body, WARNING, _target(data.get("to_tag"), data.get("to_digest")))


def _blocked(event: Event, service: Service) -> Message:
    data = dict(event.data)
    run = DeploymentRun.objects.filter(pk=event.run_id).only("to_tag").first()
    tag = run.to_tag if run else "?"
    findings = [str(f.get("id") or f.get("title") or "") for f in data.get("findings") or [] if isinstance(f, dict)]
    lines = [f"{service} → {tag} was not deployed: {data.get('summary') or 'the scan gate refused it'}."]
    if findings:
        lines.append("Findings: " + ", ".join(name for name in findings if name))
    if data.get("report_id"):
        lines.append(public_url(reverse("scanning:report", args=[data["report_id"]])))
    target = _target(tag, data.get("digest"))
    return _message(event, service, f"Blocked by scan: {service} {tag}", "\n".join(lines), FAILURE, target)


def _paused(event: Event, service: Service) -> Message:
    body = (
        f"Automatic deploys of {service} are paused: {event.data.get('reason') or 'a restore failed'}.\n"
        f"Look at it, then clear the pause in the admin: {_service_link(service)}"
    )
    target = f"run{event.run_id}" if event.run_id else event.at.isoformat()
    return _message(event, service, f"Automation paused: {service}", body, FAILURE, target)


_SERVICE_MESSAGES = {
    EventKind.UPDATE_AVAILABLE: _update_available,
    EventKind.DEPLOY_STARTED: _started,
    EventKind.DEPLOY_SUCCEEDED: _succeeded,
    EventKind.DEPLOY_FAILED: _failed,
    EventKind.ROLLED_BACK: _rolled_back,
    EventKind.BLOCKED_BY_SCAN: _blocked,
    EventKind.AUTOMATION_PAUSED: _paused,
}
NOTIFY_KINDS = [*_SERVICE_MESSAGES, EventKind.REGISTRY_UNREACHABLE, EventKind.REGISTRY_RECOVERED]
