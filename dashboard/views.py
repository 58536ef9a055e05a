"""Pages: the board, a service (its revisions), a run, the activity log. Thin: selectors do the reading.

Every page is a full HTML document for a plain request and a named partial for an htmx request that
is not boosted (filters, pagination, resynchronising after a reconnect). The partial is chosen by the
element htmx targets.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard import fragments, roles
from dashboard import selectors as pages
from deployments import selectors
from deployments.models import Activity

view_required = permission_required(roles.VIEW, raise_exception=True)


def render_page(request: HttpRequest, template: str, context: dict, partials: dict[str, str]) -> HttpResponse:
    """The whole page, or the partial for the htmx target (`partials`: target id → partial name)."""
    if request.htmx and not request.htmx.boosted:
        name = partials.get(request.htmx.target or "", partials.get("", ""))
        if name:
            return render(request, f"{template}#{name}", context)
    return render(request, template, context)


def can_operate(request: HttpRequest) -> bool:
    return request.user.has_perm(roles.OPERATE)


@require_GET
@view_required
def board(request: HttpRequest) -> HttpResponse:
    filters = selectors.BoardFilters(
        query=request.GET.get("q", "").strip()[:100],
        state=request.GET.get("state", ""),
        project=request.GET.get("project", ""),
        registry=request.GET.get("registry", ""),
        host=request.GET.get("host", ""),
    )
    context = {
        **fragments.board_context(filters, can_operate=can_operate(request)),
        "live_url": "/ws/board/",
        "last_cycle": selectors.last_check_cycle(),
    }
    return render_page(request, fragments.BOARD, context, {"board": "board", "": "board"})


@require_GET
@view_required
def service(request: HttpRequest, service_id: int) -> HttpResponse:
    found = pages.service_for_page(service_id)
    if found is None:
        raise Http404("no such service")
    page = request.GET.get("page", 1)
    context = {
        **fragments.service_context(found, can_operate=can_operate(request), revisions_page=page),
        "live_url": f"/ws/services/{found.pk}/",
    }
    return render_page(request, fragments.SERVICE, context, {"revisions": "revisions", "": "live"})


@require_GET
@view_required
def run(request: HttpRequest, run_id: int) -> HttpResponse:
    found = pages.run_for_page(run_id)
    if found is None:
        raise Http404("no such run")
    context = {**fragments.run_context(found), "live_url": f"/ws/runs/{found.pk}/"}
    return render_page(request, fragments.RUN, context, {"": "live"})


@require_GET
@view_required
def activity(request: HttpRequest) -> HttpResponse:
    filters = pages.ActivityFilters(
        query=request.GET.get("q", "").strip()[:100],
        action=request.GET.get("action", ""),
        outcome=request.GET.get("outcome", ""),
        actor=request.GET.get("actor", ""),
    )
    actions, actors = pages.activity_choices()
    context = {
        "entries": pages.activity_page(filters, request.GET.get("page")),
        "filters": filters,
        "actions": actions,
        "actors": actors,
        "outcomes": Activity.Outcome.choices,
        "query_string": _without_page(request),
    }
    return render_page(request, "dashboard/activity.html", context, {"activity": "entries", "": "entries"})


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
