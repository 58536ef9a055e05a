"""Reads the service, run and activity pages need (the board's are in `deployments.selectors`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from deployments.models import Activity, DeploymentRun, Revision, RunStep, Service
from deployments.policy import service_policy
from registries.tags import LABELS, PolicyError

REVISIONS_UP_FRONT = 5
REVISIONS_PER_PAGE = 20
RUNS_SHOWN = 10
ACTIVITY_PER_PAGE = 50
RANKED_SHOWN = 8

SETTING_NAMES = {
    "strategy": "Strategy",
    "include": "Include pattern",
    "exclude": "Exclude pattern",
    "ignored": "Ignored tags",
    "pinned": "Pinned tag",
    "allow_prerelease": "Pre-releases",
    "max_bump": "Largest bump",
    "update_mode": "Update mode",
    "min_age": "Minimum age",
    "window": "Maintenance window",
}
DEFAULTS = {
    "strategy": "auto",
    "include": "—",
    "exclude": "—",
    "ignored": "none",
    "pinned": "—",
    "allow_prerelease": "no",
    "max_bump": "any",
    "update_mode": "auto",
    "min_age": "none",
    "window": "always",
}


def service_for_page(service_id: int) -> Service | None:
    return Service.objects.select_related("project__host", "active_run").filter(pk=service_id).first()


def revision_page(service: Service, number: int | str | None) -> Page:
    """Revisions newest first: page 1 is the five shown up front, later pages hold twenty each."""
    revisions = service.revisions.select_related("user", "run").order_by("-created_at", "-id")
    number = _page_number(number)
    if number == 1:
        paginator = Paginator(revisions, REVISIONS_UP_FRONT)
        return paginator.get_page(1)
    rest = revisions[REVISIONS_UP_FRONT:]
    return Paginator(rest, REVISIONS_PER_PAGE).get_page(number - 1)


def revision_count(service: Service) -> int:
    return service.revisions.count()


def recent_runs(service: Service, limit: int = RUNS_SHOWN) -> list[DeploymentRun]:
    return list(service.runs.select_related("requested_by").order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class PolicyRow:
    setting: str
    value: str
    source: str  # "label", "override", "set here" or "default"
    origin: str  # the label name or admin field it came from


def policy_rows(service: Service) -> tuple[list[PolicyRow], str]:
    """The effective policy with where each setting comes from; and the policy error, if any."""
    try:
        policy = service_policy(service).to_dict()
        error = ""
    except PolicyError as exc:
        policy, error = {}, str(exc)
    labels_by_setting: dict[str, str] = {}
    for label, name in LABELS.items():  # a setting with two spellings shows the one the service uses
        if name not in labels_by_setting or str(service.labels.get(label, "")).strip():
            labels_by_setting[name] = label
    overrides = service.policy_overrides or {}
    rows = []
    for name, title in SETTING_NAMES.items():
        label = labels_by_setting[name]
        value = policy.get(name)
        if name == "update_mode" and service.update_mode:
            source, origin = "override", "admin: update mode"
        elif name == "pinned" and service.pinned_tag:
            source, origin = "set here", "pin"
        elif name == "ignored" and service.ignored_tags:
            source, origin = "set here", "ignored tags" + (f" + {label}" if service.labels.get(label) else "")
        elif overrides.get(name) not in (None, "", []):
            source, origin = "override", f"admin: {title.lower()}"
        elif str(service.labels.get(label, "")).strip():
            source, origin = "label", label
        elif name == "window" and (inherited := _inherited_window(service)):
            value, source, origin = inherited
        else:
            source, origin = "default", ""
        rows.append(PolicyRow(title, _show(name, value), source, origin))
    return rows, error


def _inherited_window(service: Service) -> tuple[str, str, str] | None:
    """(window, source, origin) when the service has no window of its own but its project or UPDATER_WINDOW has."""
    if service.project.maintenance_window:
        return service.project.maintenance_window, "project", "admin: project window"
    if settings.MAINTENANCE_WINDOW:
        return settings.MAINTENANCE_WINDOW, "global", "UPDATER_WINDOW"
    return None


def _show(name: str, value: object) -> str:
    if value in (None, "", [], ()):
        return DEFAULTS[name]
    if isinstance(value, bool):
        return "allowed" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(sorted(map(str, value)))
    return str(value)


@dataclass(frozen=True)
class Explanation:
    reason: str
    chosen: str
    scheme: str
    shape: str
    strategy: str
    tracks_digest: bool
    ranked: list[str]
    more_ranked: int
    held_back: dict[str, int]
    rejected: list[tuple[str, str]]
    rejected_omitted: int


def explanation(service: Service) -> Explanation | None:
    """The last check's "why this tag", shaped for the page."""
    data = service.check_explanation or {}
    if not data:
        return None
    ranked = list(data.get("ranked") or [])
    rejected = sorted((data.get("rejected") or {}).items())
    return Explanation(
        reason=str(data.get("reason", "")),
        chosen=str(data.get("chosen") or ""),
        scheme=str(data.get("scheme") or ""),
        shape=str(data.get("shape") or ""),
        strategy=str(data.get("strategy") or ""),
        tracks_digest=bool(data.get("tracks_digest")),
        ranked=ranked[:RANKED_SHOWN],
        more_ranked=max(0, len(ranked) - RANKED_SHOWN),
        held_back=dict(data.get("held_back") or {}),
        rejected=rejected,
        rejected_omitted=int(data.get("rejected_omitted") or 0),
    )


def deployable_tags(service: Service) -> list[str]:
    """Suggestions for "deploy a tag": the check's ranked candidates, then the revisions' tags."""
    ranked = list((service.check_explanation or {}).get("ranked") or [])
    earlier = list(service.revisions.order_by("-created_at").values_list("tag", flat=True)[:20])
    return list(dict.fromkeys([*ranked, *earlier]))[:30]


def run_for_page(run_id: int) -> DeploymentRun | None:
    return (
        DeploymentRun.objects.select_related("service__project", "requested_by", "rollback_of")
        .filter(pk=run_id)
        .first()
    )


@dataclass(frozen=True)
class StepTiming:
    state: str
    label: str
    started: datetime
    duration: timedelta | None  # None while it is the current step
    current: bool


def run_steps(run: DeploymentRun) -> list[StepTiming]:
    """Each state the run went through, when it started and how long it took."""
    steps = list(RunStep.objects.filter(run=run).order_by("at", "id"))
    labels = dict(DeploymentRun.State.choices)
    timings = []
    for index, step in enumerate(steps):
        following = steps[index + 1].at if index + 1 < len(steps) else None
        final = step.state in DeploymentRun.FINAL_STATES
        timings.append(
            StepTiming(
                state=step.state,
                label=labels.get(step.state, step.state),
                started=step.at,
                duration=(following - step.at) if following else None,
                current=following is None and not final,
            )
        )
    return timings


@dataclass(frozen=True)
class ActivityFilters:
    query: str = ""
    action: str = ""
    outcome: str = ""
    actor: str = ""

    @property
    def active(self) -> bool:
        return bool(self.query or self.action or self.outcome or self.actor)


def activity_page(filters: ActivityFilters, number: int | str | None) -> Page:
    entries: QuerySet[Activity] = Activity.objects.select_related("run").order_by("-created_at", "-id")
    if filters.query:
        entries = entries.filter(Q(target__icontains=filters.query) | Q(detail__icontains=filters.query))
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    if filters.actor:
        entries = entries.filter(actor_name=filters.actor)
    return Paginator(entries, ACTIVITY_PER_PAGE).get_page(_page_number(number))


def activity_choices() -> tuple[list[str], list[str]]:
    """The actions and actors that occur in the log, for the filter menus."""
    actions = sorted(set(Activity.objects.values_list("action", flat=True).distinct()))
    actors = sorted(set(Activity.objects.values_list("actor_name", flat=True).distinct()))
    return actions, actors


def service_activity(service: Service, limit: int = 8) -> list[Activity]:
    return list(Activity.objects.filter(service=service).order_by("-created_at", "-id")[:limit])


def _page_number(number: int | str | None) -> int:
    try:
        return max(1, int(number or 1))
    except (TypeError, ValueError):
        return 1


def revision_by_id(service: Service, revision_id: int) -> Revision | None:
    return service.revisions.select_related("user", "run").filter(pk=revision_id).first()
