"""Controls: POST-only views that call `deployments.services` and say what happened.

Operators only (anyone else gets 403, and never sees the control). With htmx the answer is a toast
plus an `HX-Trigger` that makes the page's live regions re-read themselves; without JavaScript it is
a redirect back with a message. A refused action answers 409 (stale view) or 400 with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import roles
from dashboard import selectors as pages
from deployments import services
from deployments.engine import DeployConflict, DeployRequestError
from deployments.models import Service
from scanning import services as scan_services

operate_required = permission_required(roles.OPERATE, raise_exception=True)
RESYNC_EVENT = "dashboard:resync"


def _service(service_id: int) -> Service:
    found = pages.service_for_page(service_id)
    if found is None:
        raise Http404("no such service")
    return found


def _answer(request: HttpRequest, service: Service, message: str, *, status: int = 200) -> HttpResponse:
    level = "success" if status < 400 else "error"
    if request.htmx:
        response = render(request, "includes/toast.html", {"message": message, "level": level}, status=status)
        response["HX-Trigger"] = RESYNC_EVENT
        return response
    messages.add_message(request, messages.SUCCESS if status < 400 else messages.ERROR, message)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        back = reverse("dashboard:service", args=[service.pk])
    return redirect(back)


def _act(request: HttpRequest, service: Service, action: Callable[[], object], success: str) -> HttpResponse:
    try:
        action()
    except services.ActionConflict as exc:
        return _answer(request, service, str(exc), status=409)
    except services.ActionRefused as exc:
        return _answer(request, service, str(exc), status=400)
    return _answer(request, service, success)


def _field(request: HttpRequest, name: str) -> str:
    return request.POST.get(name, "").strip()


@require_POST
@operate_required
def check_now(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    return _act(
        request,
        service,
        lambda: services.service_check_now(service=service, user=request.user),
        f"Checking {service} now",
    )


@require_POST
@operate_required
def deploy(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    tag = _field(request, "tag")
    return _act(
        request,
        service,
        lambda: services.service_deploy(service=service, tag=tag, user=request.user),
        f"Deploying {tag} to {service}",
    )


@require_POST
@operate_required
def approve(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    tag, digest = _field(request, "tag"), _field(request, "digest")
    try:
        generation = int(_field(request, "generation"))
    except ValueError:
        return _answer(request, service, "The approval form is incomplete; reload the page", status=400)
    return _act(
        request,
        service,
        lambda: services.service_approve(
            service=service, tag=tag, digest=digest, generation=generation, user=request.user
        ),
        f"Approved: deploying {tag} to {service}",
    )


@require_POST
@operate_required
def dismiss(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    tag, digest = _field(request, "tag"), _field(request, "digest")
    return _act(
        request,
        service,
        lambda: services.service_dismiss(service=service, tag=tag, digest=digest, user=request.user),
        f"Dismissed {tag}: it will not be offered again",
    )


@require_http_methods(["GET", "POST"])
@operate_required
def rollback(request: HttpRequest, service_id: int, revision_id: int) -> HttpResponse:
    """GET: the confirmation (a page, or the dialog's body for htmx). POST: roll back."""
    service = _service(service_id)
    revision = pages.revision_by_id(service, revision_id)
    if revision is None:
        raise Http404("no such revision")
    if request.method == "GET":
        template = "dashboard/rollback_confirm.html"
        if request.htmx:
            template += "#confirm"
        return render(request, template, {"service": service, "revision": revision})
    return _act(
        request,
        service,
        lambda: services.service_rollback(service=service, revision=revision, user=request.user),
        f"Rolling {service} back to {revision.tag}",
    )


@require_POST
@operate_required
def pin(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    tag = _field(request, "tag")
    return _act(
        request, service, lambda: services.service_pin(service=service, tag=tag, user=request.user), f"Pinned to {tag}"
    )


@require_POST
@operate_required
def unpin(request: HttpRequest, service_id: int) -> HttpResponse:
    service = _service(service_id)
    return _act(request, service, lambda: services.service_unpin(service=service, user=request.user), "Unpinned")


IGNORE_ACTIONS = {
    ("ignore", "tag"): services.service_ignore_tag,
    ("ignore", "digest"): services.service_ignore_digest,
    ("unignore", "tag"): services.service_unignore_tag,
    ("unignore", "digest"): services.service_unignore_digest,
}


def _ignore_view(verb: str) -> Callable[[HttpRequest, int], HttpResponse]:
    @require_POST
    @operate_required
    def view(request: HttpRequest, service_id: int) -> HttpResponse:
        service = _service(service_id)
        kind, value = _field(request, "kind"), _field(request, "value")
        action = IGNORE_ACTIONS.get((verb, kind))
        if action is None or not value:
            return _answer(request, service, "Say which tag or digest", status=400)
        done = f"{'Ignoring' if verb == 'ignore' else 'No longer ignoring'} {kind} {value[:19]}"
        return _act(request, service, lambda: action(service=service, user=request.user, **{kind: value}), done)

    view.__name__ = verb
    return view


ignore = _ignore_view("ignore")
unignore = _ignore_view("unignore")


@require_POST
@operate_required
def scan(request: HttpRequest, service_id: int) -> HttpResponse:
    """Scan the image the service runs now (a fresh scan: the database may know more than last time)."""
    service = _service(service_id)
    try:
        report = scan_services.scan_request(service, user=request.user, fresh=bool(_field(request, "fresh")))
    except scan_services.ScanRequestError as exc:
        return _answer(request, service, str(exc), status=400)
    done = "finished" if report.status == report.Status.SUCCEEDED else "queued"
    return _answer(request, service, f"Scan {report.pk} of {service} {done}")


@require_POST
@operate_required
def scan_allow(request: HttpRequest, service_id: int) -> HttpResponse:
    """Let the image the scan gate refused through once, and deploy it again."""
    service = _service(service_id)
    try:
        allowed = scan_services.scan_allow_once(service=service, digest=_field(request, "digest"), user=request.user)
    except scan_services.ScanRequestError as exc:
        return _answer(request, service, str(exc), status=400)
    except DeployConflict as exc:
        return _answer(request, service, f"Allowed once, but {exc}", status=409)
    except DeployRequestError as exc:
        return _answer(request, service, f"Allowed once, but the deploy did not start: {exc}", status=400)
    if allowed.run is None:
        return _answer(request, service, f"{allowed.allowance.digest[:19]} may pass the scan gate once")
    return _answer(request, service, f"Allowed once: deploying {allowed.run.to_tag} to {service}")
