"""A distinctive secret planted for every provider shows up in no log, page, exception or check result."""

import logging

import pytest

from deployments.checks import check_services
from registries.connection_test import registry_test_connection
from registries.models import Registry
from registries.services import registry_client_for, registry_docker_auth, repository_tags
from tests.factories import ServiceFactory
from tests.support.fake_registry import FakeResponse
from tests.support.moto_server import ACCOUNT, moto_server  # noqa: F401 - fixture
from tests.support.provider_apis import fake_jwt, serve_aad_discovery

CANARY = "CANARY-7f3a9-do-not-leak"
DENIED = FakeResponse(
    401,
    {"errors": [{"code": "UNAUTHORIZED", "message": f"echo {CANARY}"}]},
    headers={"WWW-Authenticate": 'Basic realm="emulated"'},
)


def providers(api_url, moto_url, tls_url):
    return [
        ("generic", "ghcr.io", "bot", {}),
        ("dockerhub", "docker.io", "diuthub", {"api_url": api_url}),
        ("ecr", f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com", "AKIACANARY", {"api_url": moto_url}),
        ("acr", "diutacr.azurecr.io", "client-id", {"tenant_id": "t", "authority_host": tls_url, "api_url": tls_url}),
        ("gcp", "europe-west1-docker.pkg.dev", "", {"api_url": api_url}),
        ("harbor", "harbor.diut.test", "robot$p+canary", {"api_url": api_url}),
        ("swr", "swr.cn-north-4.myhuaweicloud.com", "AKCANARY", {"api_url": api_url}),
        ("docr", "registry.digitalocean.com", "", {"api_url": api_url}),
    ]


@pytest.mark.parametrize("index", range(8))
def test_canary_secret_never_leaks(
    index,
    db,
    fake_registry,
    tls_fake_registry,
    moto_server,  # noqa: F811
    caplog,
    client,
    owner,
):
    caplog.set_level(logging.DEBUG)
    for path in ("/v2/", "/v2/team/app/tags/list", "/v2/team/app/manifests/1.0.0"):
        fake_registry.route("GET", path, DENIED)
    # Provider APIs echo the credentials they were sent in their error bodies, as some do.
    echo = lambda r: FakeResponse(401, {"error": "invalid_client", "error_description": r.body.decode()})  # noqa: E731
    serve_aad_discovery(tls_fake_registry, "t")  # Azure AD (HTTPS, as the Azure SDK requires)
    tls_fake_registry.handler("POST", "/t/oauth2/v2.0/token", echo)
    fake_registry.route("POST", "/v2/auth/token", FakeResponse(401, {"detail": f"bad secret {CANARY}"}))
    name, host, username, options = providers(fake_registry.url, moto_server, tls_fake_registry.url)[index]
    secret = CANARY if name != "gcp" else f'{{"type": "service_account", "private_key": "{CANARY}"}}'
    row = Registry(host=host, provider=name, endpoint=fake_registry.host, username=username, options=options)
    row.ca_certificate = tls_fake_registry.ca_pem
    row.set_secret(secret)
    row.save()

    seen: list[str] = []
    for action in (
        lambda: registry_client_for(host).list_tags("team/app"),
        lambda: repository_tags(host, "team/app"),
        lambda: registry_docker_auth(host) and None,
    ):
        try:
            action()
        except Exception as exc:  # every failure is reported as text: that text is what must be clean
            seen.append(f"{type(exc).__name__}: {exc}")
    seen.extend(registry_test_connection(host, "team/app", timeout=2).lines())
    outcomes, _ = check_services([ServiceFactory(repository=f"{host}/team/app", image=f"{host}/team/app:1.0.0")])
    seen.append(outcomes[0].error)
    client.force_login(owner)
    seen.append(client.get(f"/admin/registries/registry/{row.pk}/change/").content.decode())
    seen.append(client.get("/admin/registries/registry/").content.decode())
    seen.append(caplog.text)
    leaked = [text[:300] for text in seen if CANARY in text or f"{ACCOUNT}-auth-token" in text]
    assert not leaked, leaked
    assert any("bad credentials" in text or "unusable" in text or "expired" in text for text in seen)


def test_issued_tokens_are_redacted_when_a_registry_echoes_them(db, fake_registry):
    token = fake_jwt(600)
    body = {"errors": [{"code": "DENIED", "message": f"token {token} lacks access"}]}
    fake_registry.route("GET", "/v2/", FakeResponse(200, {}))
    fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(403, body))
    row = Registry(host="registry.digitalocean.com", provider="docr", endpoint=fake_registry.host)
    row.set_secret(token)
    row.save()
    with pytest.raises(Exception) as caught:
        registry_client_for("registry.digitalocean.com").list_tags("team/app")
    assert token not in str(caught.value) and "***" in str(caught.value)
