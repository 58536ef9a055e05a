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
