"""The Registries admin: provider settings, write-only secrets, read-only env rows, Test connection."""

import pytest

from registries.models import Registry
from tests.support.registry_helpers import unique_repository

SECRET = "admin-canary-Vq93-secret"


@pytest.fixture
def admin_client(client, owner):
    client.force_login(owner)
    return client


def test_adding_an_ecr_registry_keeps_only_its_own_settings(admin_client):
    response = admin_client.post(
        "/admin/registries/registry/add/",
        {
            "host": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "provider": "ecr",
            "username": "AKIAADMINFORM",
            "secret": SECRET,
            "role_arn": "arn:aws:iam::123456789012:role/r",
            "tenant_id": "ignored-for-ecr",
            "options": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = Registry.objects.get()
    assert row.options == {"role_arn": "arn:aws:iam::123456789012:role/r"}
    assert row.get_secret() == SECRET
    page = admin_client.get(f"/admin/registries/registry/{row.pk}/change/").content.decode()
    assert SECRET not in page and row.secret_encrypted not in page
    assert "Role ARN" in page and "Tenant ID" not in page  # only ECR's settings on its page


def test_provider_is_detected_from_the_host_when_left_blank(admin_client):
    admin_client.post(
        "/admin/registries/registry/add/", {"host": "diutacr.azurecr.io", "provider": "", "options": "{}"}
    )
    assert Registry.objects.get().provider == "acr"


def test_a_blank_secret_keeps_the_stored_one(admin_client):
    row = Registry(host="ghcr.io", provider="generic", username="bot")
    row.set_secret(SECRET)
    row.save()
    admin_client.post(
        f"/admin/registries/registry/{row.pk}/change/",
        {"host": "ghcr.io", "provider": "generic", "username": "bot2", "secret": "", "options": "{}"},
    )
    row.refresh_from_db()
    assert (row.username, row.get_secret()) == ("bot2", SECRET)


def test_a_registry_from_the_environment_is_read_only(admin_client):
    row = Registry(host="docker.io", provider="dockerhub", username="diuthub", managed_by_env=True)
    row.set_secret(SECRET)
    row.save()
    page = admin_client.get(f"/admin/registries/registry/{row.pk}/change/").content.decode()
    assert "the environment (.updater.env)" in page and 'name="secret"' not in page and SECRET not in page
    response = admin_client.post(
        f"/admin/registries/registry/{row.pk}/change/", {"host": "docker.io", "username": "x", "options": "{}"}
    )
    assert response.status_code == 403
    assert admin_client.post(f"/admin/registries/registry/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.username == "diuthub"


def test_test_connection_action_reports_each_step(admin_client, auth_registry):
    repository = unique_repository("adm")
    auth_registry.push_image(repository, "1.0")
    good = Registry(host=auth_registry.host, username=auth_registry.username)
    good.set_secret(auth_registry.password)
    good.save()
    response = admin_client.post(
        "/admin/registries/registry/",
        {"action": "test_connection", "_selected_action": [good.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "ok   registry API" in page or "ok registry API" in page
    good.set_secret("wrong-" + SECRET)
    good.save()
    page = admin_client.post(
        "/admin/registries/registry/", {"action": "test_connection", "_selected_action": [good.pk]}, follow=True
    ).content.decode()
    assert "401 bad credentials" in page and SECRET not in page


def test_bad_endpoint_and_certificate_are_refused_with_a_reason(admin_client):
    response = admin_client.post(
        "/admin/registries/registry/add/",
        {
            "host": "ghcr.io",
            "provider": "generic",
            "endpoint": "not a host/",
            "ca_certificate": "garbage",
            "options": "{}",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and not Registry.objects.exists()
    assert "invalid registry host" in page and "not a PEM certificate" in page
