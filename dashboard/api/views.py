"""API endpoints: thin views over `dashboard.api.selectors` (reads) and `deployments.services` (actions).

Reads need the viewer role, actions the operator role — for a token, the lower of its role and its
owner's. The services refuse what cannot be done (400) or what changed since it was seen (409).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboard import roles
from dashboard.api import selectors
from dashboard.api import serializers as s
from dashboard.api.permissions import CanOperate, CanView
from dashboard.api.tokens import token_role
from dashboard.models import ApiToken
from deployments import services
from deployments.models import DeploymentRun, Service

ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404, 429)}
ACTION_ERRORS = {**ERRORS, 409: s.ErrorSerializer}


class ApiViewMixin:
    """API views authenticate themselves (token or session): the site's login redirect does not apply."""

    @classmethod
    def as_view(cls, *args: object, **kwargs: object) -> Callable:
        return login_not_required(super().as_view(*args, **kwargs))  # type: ignore[misc]


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # "²" is a digit to str.isdigit, not to int()
        raise s.serializers.ValidationError({name: ["must be a whole number"]})
    return int(value)


@extend_schema_view(list=extend_schema(responses={200: s.ProjectSerializer(many=True), **ERRORS}),
                    retrieve=extend_schema(responses={200: s.ProjectSerializer, **ERRORS}))  # fmt: skip
class ProjectViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Compose projects found on the engine."""

    serializer_class = s.ProjectSerializer
    queryset = selectors.projects()


SERVICE_FILTERS = [
    OpenApiParameter("project", str, description="Only the services of this project (by name)"),
    OpenApiParameter("state", str, description="Only services in this state (its key: synced, update, window…)"),
    OpenApiParameter("q", str, description="Text in PROJECT/SERVICE"),
]
ACTION_RESULT = {202: s.ActionResultSerializer, **ACTION_ERRORS}


class ServiceViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Services with their state, policy and explanation, and the actions on them (operators)."""

    serializer_class = s.ServiceSerializer
    queryset = Service.objects.none()  # for the schema; reads go through the selectors

    def get_permissions(self) -> list:
        return [CanOperate()] if self.action in self.ACTIONS else [CanView()]

    @extend_schema(parameters=SERVICE_FILTERS, responses={200: s.ServiceSerializer(many=True), **ERRORS})
    def list(self, request: Request) -> Response:
        query = s.ServiceQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = selectors.ServiceFilters(
            project=query.validated_data["project"],
            state=query.validated_data["state"],
            query=query.validated_data["q"],
        )
        rows = selectors.service_rows(filters)
        page = self.paginate_queryset(rows)
        context = {**self.get_serializer_context(), "rows": {row.service.pk: row for row in page}}
        data = s.ServiceSerializer([row.service for row in page], many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(responses={200: s.ServiceDetailSerializer, **ERRORS})
    def retrieve(self, request: Request, pk: str) -> Response:
        row = selectors.service_row(_pk(pk))
        if row is None:
            raise NotFound("No such service")
        context = {**self.get_serializer_context(), "rows": {row.service.pk: row}}
        return Response(s.ServiceDetailSerializer(row.service, context=context).data)

    @extend_schema(responses={200: s.RevisionSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"])
    def revisions(self, request: Request, pk: str) -> Response:
        service = self._service(pk)
        page = self.paginate_queryset(selectors.revisions(service.pk))
        return self.get_paginated_response(s.RevisionSerializer(page, many=True).data)

    # --- actions: the same services as the dashboard's controls and the commands --------------------
    ACTIONS = ("check", "deploy", "approve", "dismiss", "rollback", "pin", "unpin", "ignore", "unignore")

    @extend_schema(request=None, responses=ACTION_RESULT, summary="Check the registry for this service now")
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str) -> Response:
        service = self._service(pk)
        services.service_check_now(service=service, user=request.user)
        return _done(f"Checking {service} now")

    @extend_schema(request=s.TagInput, responses=ACTION_RESULT, summary="Deploy a tag (manual: ignores windows)")
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, pk: str) -> Response:
        service, data = self._service(pk), _valid(s.TagInput, request)
        run = services.service_deploy(service=service, tag=data["tag"], user=request.user)
        return _done(f"Deploying {data['tag']} to {service}", run)

    @extend_schema(request=s.ApproveInput, responses=ACTION_RESULT, summary="Approve the offered update")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        service, data = self._service(pk), _valid(s.ApproveInput, request)
        run = services.service_approve(service=service, user=request.user, **data)
        return _done(f"Approved: deploying {data['tag']} to {service}", run)

    @extend_schema(request=s.DismissInput, responses=ACTION_RESULT, summary="Decline the offered update")
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        service, data = self._service(pk), _valid(s.DismissInput, request)
        services.service_dismiss(service=service, user=request.user, **data)
        return _done(f"Dismissed {data['tag']}: it will not be offered again")

    @extend_schema(request=s.RollbackInput, responses=ACTION_RESULT, summary="Roll back to a revision")
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str) -> Response:
        service, data = self._service(pk), _valid(s.RollbackInput, request)
        revision = selectors.revision_of(service, data["revision"])
        if revision is None:
            raise NotFound(f"{service} has no revision {data['revision']}")
        run = services.service_rollback(service=service, revision=revision, user=request.user)
        return _done(f"Rolling {service} back to {revision.tag}", run)

    @extend_schema(request=s.TagInput, responses=ACTION_RESULT, summary="Pin to a tag")
    @action(detail=True, methods=["post"])
    def pin(self, request: Request, pk: str) -> Response:
        service, data = self._service(pk), _valid(s.TagInput, request)
        services.service_pin(service=service, tag=data["tag"], user=request.user)
        return _done(f"Pinned to {data['tag']}")

    @extend_schema(request=None, responses=ACTION_RESULT, summary="Remove the pin")
    @action(detail=True, methods=["post"])
    def unpin(self, request: Request, pk: str) -> Response:
        services.service_unpin(service=self._service(pk), user=request.user)
        return _done("Unpinned")

    @extend_schema(request=s.IgnoreInput, responses=ACTION_RESULT, summary="Never deploy a tag or digest")
    @action(detail=True, methods=["post"])
    def ignore(self, request: Request, pk: str) -> Response:
        return self._ignore(request, pk, "ignore")

    @extend_schema(request=s.IgnoreInput, responses=ACTION_RESULT, summary="Stop ignoring a tag or digest")
    @action(detail=True, methods=["post"])
    def unignore(self, request: Request, pk: str) -> Response:
        return self._ignore(request, pk, "unignore")

    def _ignore(self, request: Request, pk: str, verb: str) -> Response:
        from dashboard.actions import IGNORE_ACTIONS  # the dashboard's table: one mapping for both

        service, data = self._service(pk), _valid(s.IgnoreInput, request)
        IGNORE_ACTIONS[(verb, data["kind"])](service=service, user=request.user, **{data["kind"]: data["value"]})
        done = "Ignoring" if verb == "ignore" else "No longer ignoring"
        return _done(f"{done} {data['kind']} {data['value'][:19]}")

    def _service(self, pk: str) -> Service:
        service = selectors.service_for_action(_pk(pk))
        if service is None:
            raise NotFound("No such service")
        return service


RUN_FILTERS = [
    OpenApiParameter("service", int, description="Only this service's runs (its id)"),
    OpenApiParameter("state", str, enum=[choice for choice, _ in DeploymentRun.State.choices]),
]


@extend_schema_view(
    list=extend_schema(parameters=RUN_FILTERS, responses={200: s.RunSerializer(many=True), **ERRORS}),
    retrieve=extend_schema(responses={200: s.RunDetailSerializer, **ERRORS}),
)
class RunViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Deploy runs (automatic, manual, rollback); one run with its log and step timings."""

    def get_queryset(self):
        if self.action == "retrieve":
            return selectors.run_detail()
        state = self.request.query_params.get("state", "")
        if state and state not in DeploymentRun.State.values:
            raise s.serializers.ValidationError({"state": [f"must be one of {', '.join(DeploymentRun.State.values)}"]})
        return selectors.runs(service_id=_int_param(self.request, "service"), state=state)

    def get_serializer_class(self) -> type:
        return s.RunDetailSerializer if self.action == "retrieve" else s.RunSerializer


@extend_schema_view(list=extend_schema(responses={200: s.CheckCycleSerializer(many=True), **ERRORS}),
                    retrieve=extend_schema(responses={200: s.CheckCycleSerializer, **ERRORS}))  # fmt: skip
class CheckCycleViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    """Registry check cycles of the last week: what each looked at, cost and found."""

    serializer_class = s.CheckCycleSerializer
    queryset = selectors.check_cycles()


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("service", int, description="Only this service's scans (its id)")],
        responses={200: s.ScanSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(responses={200: s.ScanSerializer, **ERRORS}),
)
class ScanViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Trivy scan reports: counts by kind and severity (the full report: /scans/<id>/download/json/)."""

    serializer_class = s.ScanSerializer

    def get_queryset(self):
        return selectors.scans(service_id=_int_param(self.request, "service") if self.action == "list" else None)


class MeView(ApiViewMixin, APIView):
    """Who the request acts as, and with which role."""

    @extend_schema(responses={200: s.MeSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        role = token_role(token) if token else roles.role_of(request.user)
        data = {
            "username": request.user.get_username(),
            "role": role,
            "authenticated_by": "token" if token else "session",
            "token": token.name if token else None,
        }
        return Response(data)


def _pk(value: str) -> int:
    if not (str(value).isascii() and str(value).isdigit()) or len(str(value)) > 18:
        raise NotFound("No such object")
    return int(value)


def _valid(serializer_class: type[s.serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _done(message: str, run: DeploymentRun | None = None) -> Response:
    body = {"message": message, "run": s.RunSerializer(run).data if run is not None else None}
    return Response(body, status=status.HTTP_202_ACCEPTED)
