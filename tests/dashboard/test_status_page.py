import pytest


@pytest.mark.django_db
def test_status_page_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


@pytest.mark.django_db
def test_status_page_lists_nothing_before_discovery(client, owner):
    client.force_login(owner)
    response = client.get("/")
    assert response.status_code == 200
    assert b"No running Compose service has been discovered yet." in response.content


@pytest.mark.django_db
def test_status_page_shows_each_service_with_tag_digest_and_state(client, owner):
    from django.utils import timezone

    from tests.factories import DeploymentRunFactory, ServiceFactory

    synced = ServiceFactory(name="api", current_tag="1.0.0", available_tag="1.0.0", last_checked_at=timezone.now())
    ServiceFactory(name="worker", current_tag="1.0.0", available_tag="1.1.0", last_checked_at=timezone.now())
    deploying = ServiceFactory(name="web")
    run = DeploymentRunFactory(service=deploying, to_tag="2.0.0")
    deploying.active_run = run
    deploying.save()
    ServiceFactory(name="db", labels={"updater.mode": "notify"}, available_tag="16.2", last_checked_at=timezone.now())

    client.force_login(owner)
    page = client.get("/").content.decode()

    assert str(synced) in page and synced.current_digest[:19] in page
    assert "Synced" in page
    assert "Update available" in page and "1.1.0" in page
    assert "Deploying…" in page and "to 2.0.0" in page
    assert "update mode notify: deploy it manually" in page


@pytest.mark.django_db
def test_htmx_refresh_returns_only_the_table(client, owner):
    client.force_login(owner)
    response = client.get("/", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith("<table")
    assert "<html" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/admin/", "/admin/deployments/service/", "/admin/registries/registry/add/"])
def test_every_page_needs_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response.url


@pytest.mark.django_db
def test_registry_secret_is_never_rendered_back(client, owner):
    from registries.models import Registry

    registry = Registry(host="registry.example.com", username="bot")
    registry.set_secret("canary-secret-123")
    registry.save()
    client.force_login(owner)
    page = client.get(f"/admin/registries/registry/{registry.pk}/change/").content.decode()
    assert "canary-secret-123" not in page
    assert registry.secret_encrypted not in page
    assert "canary-secret-123" not in registry.secret_encrypted
