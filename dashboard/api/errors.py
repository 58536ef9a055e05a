"""Every API error is JSON: `{"status": 409, "error": "conflict", "message": "…", "fields": {…}}`."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from deployments.services import ActionConflict, ActionRefused

logger = logging.getLogger(__name__)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Refused(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "refused"


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with the services' refusals mapped (409 for a conflict) and one shape for all."""
    if isinstance(exc, ActionConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, ActionRefused):
        exc = Refused(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("API error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(_body(500, "server_error", "Internal error; the server log has the details"), status=500)
    if isinstance(exc, ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = _body(response.status_code, "invalid", _first_message(fields), fields=fields)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = _body(response.status_code, str(code), str(detail))
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """The project's 404 for /api/ paths that match no endpoint."""
    return JsonResponse(_body(404, "not_found", "No such API endpoint"), status=404)


def _body(status_code: int, code: str, message: str, *, fields: dict | None = None) -> dict:
    body: dict = {"status": status_code, "error": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def _first_message(fields: dict) -> str:
    for name, problems in fields.items():
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, dict):
            return f"{name}: {_first_message(first)}"
        return f"{name}: {first}" if name != "non_field_errors" else str(first)
    return "Invalid input"
