"""The registry push webhook endpoint: the one URL without a login, vouched for by its token instead."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from registries.webhooks.base import MAX_BODY_BYTES, Incoming, WebhookRefused
from registries.webhooks.services import webhook_receive


@login_not_required
@csrf_exempt  # registries cannot send a CSRF token; the URL token and the registry's signature stand in
@require_POST
def webhook(request: HttpRequest, token: str) -> JsonResponse:
    """Verify a registry's push notification and queue a check of the repositories it names (202)."""
    try:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise WebhookRefused("the body is too large", status=413)
        incoming = Incoming(body=request.body, headers=request.headers, query=request.GET.dict())
        receipt = webhook_receive(token=token, incoming=incoming, remote_addr=request.META.get("REMOTE_ADDR"))
    except WebhookRefused as exc:
        response = JsonResponse({"error": exc.reason}, status=exc.status)
        if exc.status == 429:
            response["Retry-After"] = "60"
        # Django logs every 4xx with its path, and the path holds the token: the service logged it without.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
    return JsonResponse(receipt.body, status=receipt.status)
