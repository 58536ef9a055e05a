"""What each page and fragment is rendered from: shared by the views and by `broadcast`, so a pushed
fragment is byte-for-byte what a reload would show (minus the CSRF field; htmx sends the header)."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from dashboard import selectors as pages
from deployments import selectors
from deployments.models import DeploymentRun, Service
from scanning import selectors as scan_selectors

BOARD = "dashboard/board.html"
SERVICE = "dashboard/service.html"
RUN = "dashboard/run.html"


def board_context(filters: selectors.BoardFilters, *, can_operate: bool) -> dict:
    board = selectors.board(filters)
    scans = scan_selectors.latest_reports_for_services() if board.shown else {}
    return {"board": board, "filters": filters, "can_operate": can_operate, "styles": _style_menu(), "scans": scans}


def service_context(service: Service, *, can_operate: bool, revisions_page: int | str | None = 1) -> dict:
    policy, policy_error = pages.policy_rows(service)
    row = selectors.board_row(service.pk)
    return {
        "service": service,
        "row": row,
        "can_operate": can_operate,
        "revisions": pages.revision_page(service, revisions_page),
        "revision_total": pages.revision_count(service),
        "runs": pages.recent_runs(service),
        "policy": policy,
        "policy_error": policy_error,
        "why": pages.explanation(service),
        "deployable_tags": pages.deployable_tags(service),
        "activity": pages.service_activity(service),
        **_scan_context(service, row),
    }


def _scan_context(service: Service, row: selectors.BoardRow | None) -> dict:
    """The service's scans, and why the gate blocked its last deploy when it did."""
    blocked = row is not None and row.style.key == "blocked" and row.last_run is not None
    return {
        "scan": scan_selectors.latest_reports_for_services([service.pk]).get(service.pk),
        "scans": list(scan_selectors.reports_for_service(service, limit=6)),
        "scan_enabled": settings.SCAN_ENABLED,
        "gate": scan_selectors.gate_decision_for_run(row.last_run) if blocked else None,
    }


def run_context(run: DeploymentRun) -> dict:
    return {
        "run": run,
        "steps": pages.run_steps(run),
        "service": run.service,
        "run_scans": scan_selectors.reports_for_run(run),
        "gate": scan_selectors.gate_decision_for_run(run),
    }


def render_row(service_id: int, *, can_operate: bool) -> str:
    row = selectors.board_row(service_id)
    if row is None:
        return ""
    scans = scan_selectors.latest_reports_for_services([service_id])
    return render_to_string(f"{BOARD}#row", {"row": row, "can_operate": can_operate, "oob": True, "scans": scans})


def render_counters() -> str:
    board = selectors.board()
    return render_to_string(f"{BOARD}#counters", {"board": board, "oob": True, "styles": _style_menu()})


def render_service(service_id: int, *, can_operate: bool) -> str:
    service = pages.service_for_page(service_id)
    if service is None:
        return ""
    context = {**service_context(service, can_operate=can_operate), "oob": True}
    return render_to_string(f"{SERVICE}#live", context)


def render_run(run_id: int) -> str:
    run = pages.run_for_page(run_id)
    if run is None:
        return ""
    return render_to_string(f"{RUN}#live", {**run_context(run), "oob": True})


def _style_menu() -> list[tuple[str, str, str]]:
    """(key, label, icon) per state for the filter menu and counters, in board order, keys unique."""
    seen: dict[str, tuple[str, str, str]] = {}
    for label in selectors.STATE_ORDER:
        style = selectors.STATE_STYLES[label]
        seen.setdefault(style.key, (style.key, label, style.icon))
    return list(seen.values())
