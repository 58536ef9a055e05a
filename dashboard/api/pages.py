"""The "API tokens" page: a signed-in user lists, creates (shown once) and revokes their own tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.api.tokens import TokenRefused, api_token_create, api_token_revoke, roles_up_to
from dashboard.models import ApiToken

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]
TEMPLATE = "dashboard/api_tokens.html"


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """GET: the list and the form. POST: create a token and show it, this once."""
    context = {
        "tokens": ApiToken.objects.filter(owner=request.user).order_by("-created_at", "-id"),
        "roles": roles_up_to(request.user),
        "expiry_choices": EXPIRY_CHOICES,
        "now": timezone.now(),
    }
    if request.method == "GET":
        return render(request, TEMPLATE, context)
    days = request.POST.get("expires_in", "").strip()
    try:
        expires_at = timezone.now() + timedelta(days=int(days)) if days else None
        created = api_token_create(
            owner=request.user,
            name=request.POST.get("name", ""),
            role=request.POST.get("role", ""),
            expires_at=expires_at,
        )
    except (TokenRefused, ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, TokenRefused) else "Choose an expiry from the list"
        return render(request, TEMPLATE, {**context, "error": message}, status=400)
    response = render(request, TEMPLATE, {**context, "created": created})
    response["Cache-Control"] = "no-store"  # the plain token is in this page only
    return response


@require_POST
def revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = ApiToken.objects.filter(owner=request.user, pk=token_id).first()
    if token is None:
        raise Http404("no such token")
    api_token_revoke(token=token)
    messages.success(request, f"Revoked {token.name}")
    return redirect("dashboard:api_tokens")
