"""Personal API tokens: created on a page or in the admin and shown once, stored hashed, capped by the
owner's role, refused once revoked or expired; requests are rate-limited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from dashboard.api.tokens import TokenRefused, api_token_authenticate, api_token_create
from dashboard.models import ApiToken

pytestmark = pytest.mark.django_db
TOKEN_RE = re.compile(r"diu_[0-9a-f]{12}_[A-Za-z0-9_-]{32}")


def bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


def test_a_token_made_on_its_page_is_shown_once_and_only_its_hash_is_kept(client, op):
    client.force_login(op)
    response = client.post("/account/tokens/", {"name": "CI", "role": "operator", "expires_in": "30"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    [plaintext] = TOKEN_RE.findall(response.content.decode())
    token = ApiToken.objects.get()
    assert (token.owner, token.role, token.name) == (op, "operator", "CI")
    assert plaintext not in str(ApiToken.objects.values().get()) and len(token.token_hash) == 64
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert plaintext not in client.get("/account/tokens/").content.decode()  # never again
    assert client.get("/api/v1/me/", headers=bearer(plaintext)).json()["role"] == "operator"


def test_a_token_cannot_have_a_higher_role_than_its_owner(client, viewer):
    with pytest.raises(TokenRefused, match="higher than its owner"):
        api_token_create(owner=viewer, name="x", role="operator")
    client.force_login(viewer)
    page = client.get("/account/tokens/").content.decode()
    assert "<option selected>viewer</option>" in page and ">operator<" not in page
    response = client.post("/account/tokens/", {"name": "sneaky", "role": "admin", "expires_in": ""})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_revoked_expired_unknown_and_malformed_tokens_are_refused(client, viewer):
    revoked = api_token_create(owner=viewer, name="old", role="viewer")
    expiring = api_token_create(
        owner=viewer, name="short", role="viewer", expires_at=timezone.now() + timedelta(hours=1)
    )
    client.force_login(viewer)
    client.post(f"/account/tokens/{revoked.token.pk}/revoke/")
    client.logout()
    later = timezone.now() + timedelta(hours=2)
    assert api_token_authenticate(expiring.plaintext, now=later) is None
    assert api_token_authenticate(expiring.plaintext) is not None
    for presented in (revoked.plaintext, expiring.plaintext[:-1] + "x", "diu_nope_nope", "Bearer"):
        response = client.get("/api/v1/me/", headers=bearer(presented))
        assert response.status_code == 401, presented
        assert response.json()["error"] == "authentication_failed"
    viewer.is_active = False
    viewer.save()
    assert api_token_authenticate(expiring.plaintext) is None


def test_someone_elses_token_cannot_be_revoked_from_the_page(client, viewer, op):
    theirs = api_token_create(owner=op, name="theirs", role="viewer")
    client.force_login(viewer)
    assert client.post(f"/account/tokens/{theirs.token.pk}/revoke/").status_code == 404
    assert not ApiToken.objects.get().is_revoked


def test_last_use_is_recorded_at_most_once_a_minute(client, viewer):
    created = api_token_create(owner=viewer, name="t", role="viewer")
    client.get("/api/v1/me/", headers=bearer(created.plaintext))
    first = ApiToken.objects.get().last_used_at
    client.get("/api/v1/me/", headers=bearer(created.plaintext))
    assert first is not None and ApiToken.objects.get().last_used_at == first


def test_an_admin_creates_a_token_for_a_user_in_the_admin_and_sees_it_once(client, admin_user, op):
    client.force_login(admin_user)
    response = client.post("/admin/dashboard/apitoken/add/", {"owner": op.pk, "name": "grafana", "role": "viewer"})
    assert response.status_code == 200
    [plaintext] = TOKEN_RE.findall(response.content.decode())
    assert api_token_authenticate(plaintext).owner == op
    too_high = client.post("/admin/dashboard/apitoken/add/", {"owner": op.pk, "name": "x", "role": "admin"})
    assert "cannot be higher than its owner" in too_high.content.decode()
    token = ApiToken.objects.get()
    client.post("/admin/dashboard/apitoken/", {"action": "revoke_selected", "_selected_action": [token.pk]})
    assert api_token_authenticate(plaintext) is None


def test_requests_over_the_rate_limit_get_a_json_429(client, viewer, settings):
    settings.API_RATE = "3/minute"
    created = api_token_create(owner=viewer, name="t", role="viewer")
    cache.delete(f"throttle_user_{viewer.pk}")
    answers = [client.get("/api/v1/me/", headers=bearer(created.plaintext)) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["error"] == "throttled" and int(answers[-1]["Retry-After"]) > 0
