"""Registry services: clients configured from Registry rows, and Docker config.json credentials."""

import base64

import pytest
from cryptography.fernet import Fernet

from registries.client import RegistryAuthError
from registries.reference import InvalidReference
from registries.secrets import CredentialUndecryptable
from registries.services import registry_client_for, registry_docker_auth
from tests.factories import RegistryFactory
from tests.support.registry_helpers import unique_repository


def make_registry(host, *, username="bot", secret="", insecure=False):
    row = RegistryFactory.build(host=host, username=username, insecure=insecure)
    row.set_secret(secret)
    row.save()
    return row


def test_client_without_row_is_anonymous(db):
    client = registry_client_for("ghcr.io")
    assert (client.host, client.username, client.insecure) == ("ghcr.io", "", False)


def test_docker_hub_client_talks_to_registry_1(db):
    assert registry_client_for("docker.io").host == "registry-1.docker.io"


@pytest.mark.parametrize("alias", ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])
def test_docker_hub_alias_finds_the_row_stored_as_docker_io(db, alias):
    make_registry("docker.io", username="hubuser", secret="pat_123")
    client = registry_client_for(alias)
    assert (client.host, client.username) == ("registry-1.docker.io", "hubuser")


@pytest.mark.parametrize("alias", ["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])
def test_docker_io_finds_the_row_stored_under_an_alias(db, alias):
    make_registry(alias, username="hubuser", secret="pat_123")
    client = registry_client_for("docker.io")
    assert (client.host, client.username) == ("registry-1.docker.io", "hubuser")


def test_exact_docker_hub_row_wins_over_an_alias_row(db):
    make_registry("docker.io", username="main")
    make_registry("index.docker.io", username="index")
    assert registry_client_for("docker.io").username == "main"
    assert registry_client_for("index.docker.io").username == "index"
    assert registry_client_for("registry.hub.docker.com").username == "main"


def test_docker_auth_for_an_alias_row_uses_the_index_key(db):
    make_registry("registry-1.docker.io", username="hubuser", secret="pat_123")
    assert list(registry_docker_auth("docker.io")) == ["https://index.docker.io/v1/"]


def test_api_host_overrides_the_host(db):
    assert registry_client_for("docker.io", api_host="mirror.example.com").host == "mirror.example.com"


def test_invalid_registry_host_is_refused(db):
    with pytest.raises(InvalidReference):
        registry_client_for("evil.example.com/path")


def test_client_uses_row_credentials_against_real_registry(db, auth_registry):
    repository = unique_repository()
    digest = auth_registry.push_image(repository, "1.0")
    make_registry(auth_registry.host, username=auth_registry.username, secret=auth_registry.password)
    client = registry_client_for(auth_registry.host)
    assert client.head_digest(repository, "1.0") == digest


def test_row_with_wrong_secret_gives_auth_error_without_it(db, auth_registry):
    make_registry(auth_registry.host, username=auth_registry.username, secret="not-the-password-55")
    with pytest.raises(RegistryAuthError) as caught:
        registry_client_for(auth_registry.host).ping()
    assert "not-the-password-55" not in str(caught.value)


def test_insecure_flag_is_passed_on(db):
    make_registry("registry.internal:5000", insecure=True)
    assert registry_client_for("registry.internal:5000").insecure is True


def test_undecryptable_secret_raises_and_never_becomes_a_password(db, settings):
    make_registry("private.example.com", secret="pw")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone
    with pytest.raises(CredentialUndecryptable):
        registry_client_for("private.example.com")
    with pytest.raises(CredentialUndecryptable):
        registry_docker_auth("private.example.com")


def test_docker_auth_is_none_without_row(db):
    assert registry_docker_auth("ghcr.io") is None


def test_docker_auth_is_none_without_credentials(db):
    make_registry("open.example.com", username="", secret="")
    assert registry_docker_auth("open.example.com") is None


def test_docker_auth_entry_for_private_registry(db):
    make_registry("127.0.0.1:5000", username="bot", secret="p:w d")
    entry = registry_docker_auth("127.0.0.1:5000")
    assert list(entry) == ["127.0.0.1:5000"]
    assert base64.b64decode(entry["127.0.0.1:5000"]["auth"]).decode() == "bot:p:w d"


def test_docker_auth_for_docker_hub_uses_the_index_key(db):
    make_registry("docker.io", username="hubuser", secret="pat_123")
    entry = registry_docker_auth("docker.io")
    assert list(entry) == ["https://index.docker.io/v1/"]
    assert base64.b64decode(entry["https://index.docker.io/v1/"]["auth"]).decode() == "hubuser:pat_123"
