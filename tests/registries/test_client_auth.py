"""RegistryClient auth against the REAL registry: htpasswd Basic and Bearer tokens from our token server."""

from datetime import UTC, datetime

import pytest

from registries.client import KNOWN_SCHEMES, RegistryAuthError, RegistryNotFound
from tests.support.registry_helpers import client_for, unique_repository
from tests.support.token_server import PUBLIC_PREFIX

WRONG_PASSWORD = "wrong-Passw0rd-9d2c"


@pytest.fixture(autouse=True)
def fresh_scheme_cache():
    """Each test meets the registry as a new process would, so request counts include the https probe."""
    KNOWN_SCHEMES.clear()


# --- htpasswd (Basic) ---------------------------------------------------------------------------


def test_basic_auth_ping_lists_tags_and_digests(auth_registry):
    repository = unique_repository()
    digest = auth_registry.push_image(repository, "1.0")
    client = client_for(auth_registry)
    client.ping()
    assert client.request_count == 3  # https probe, anonymous 401 with the Basic challenge, retry with Basic
    assert client.list_tags(repository) == ["1.0"]
    assert client.head_digest(repository, "1.0") == digest
    assert client.request_count == 5  # credentials are now sent up front: one request each


def test_basic_auth_wrong_password_raises_auth_error_without_the_password(auth_registry):
    client = client_for(auth_registry, password=WRONG_PASSWORD)
    with pytest.raises(RegistryAuthError) as caught:
        client.list_tags(unique_repository())
    message = str(caught.value)
    assert f"authentication failed for {auth_registry.host}" in message
    assert WRONG_PASSWORD not in message
    assert auth_registry.password not in message
    assert caught.value.status == 401


def test_basic_auth_anonymous_raises_auth_error(auth_registry):
    with pytest.raises(RegistryAuthError, match="anonymous"):
        client_for(auth_registry, anonymous=True).ping()


def test_basic_auth_unknown_tag_is_not_found_not_auth_error(auth_registry):
    repository = unique_repository()
    auth_registry.push_image(repository, "1.0")
    with pytest.raises(RegistryNotFound):
        client_for(auth_registry).head_digest(repository, "nope")


def test_basic_auth_image_created(auth_registry):
    repository = unique_repository()
    created = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    auth_registry.push_image(repository, "1.0", created=created)
    assert client_for(auth_registry).image_created(repository, "1.0") == created


# --- Bearer tokens -------------------------------------------------------------------------------


def test_bearer_flow_request_counts_and_token_cache(token_registry):
    repository = unique_repository()
    digest = token_registry.push_image(repository, "1.0")
    tokens = token_registry.token_server.requests
    tokens_before = len(tokens)
    client = client_for(token_registry)

    client.ping()
    assert client.request_count == 4  # https probe, 401 challenge, token (no scope), /v2/ with the token
    assert client.list_tags(repository) == ["1.0"]
    assert client.request_count == 6  # token for repository:<name>:pull (challenge known), tag list
    assert client.head_digest(repository, "1.0") == digest
    assert client.request_count == 7  # cached token: just the HEAD

    client.list_tags(repository)
    client.head_digest(repository, "1.0")
    assert client.request_count == 9  # second round: no token request at all

    new_tokens = tokens[tokens_before:]
    assert [request.scopes for request in new_tokens] == [[], [f"repository:{repository}:pull"]]
    assert all(request.user == token_registry.username for request in new_tokens)


def test_bearer_without_ping_learns_challenge_from_first_call(token_registry):
    repository = unique_repository()
    token_registry.push_image(repository, "1.0")
    client = client_for(token_registry)
    assert client.list_tags(repository) == ["1.0"]
    assert client.request_count == 4  # probe, 401, token, retry


def test_bearer_token_is_per_repository_scope(token_registry):
    first, second = unique_repository(), unique_repository()
    token_registry.push_image(first, "1")
    token_registry.push_image(second, "2")
    client = client_for(token_registry)
    client.list_tags(first)
    before = client.request_count
    assert client.list_tags(second) == ["2"]
    assert client.request_count - before == 2  # a token for the new scope, then the list


def test_bearer_wrong_password_raises_auth_error_without_the_password(token_registry):
    client = client_for(token_registry, password=WRONG_PASSWORD)
    with pytest.raises(RegistryAuthError) as caught:
        client.list_tags(unique_repository())
    message = str(caught.value)
    assert f"authentication failed for {token_registry.host}" in message
    assert WRONG_PASSWORD not in message
    assert token_registry.password not in message
    assert token_registry.token_server.requests[-1].status == 401


def test_bearer_anonymous_pull_of_public_repository(token_registry):
    repository = unique_repository(PUBLIC_PREFIX.rstrip("/"))
    digest = token_registry.push_image(repository, "1.0")
    client = client_for(token_registry, anonymous=True)
    assert client.head_digest(repository, "1.0") == digest
    assert token_registry.token_server.requests[-1].user is None


def test_bearer_anonymous_on_private_repository_raises_auth_error(token_registry):
    repository = unique_repository()
    token_registry.push_image(repository, "1.0")
    with pytest.raises(RegistryAuthError, match="anonymous"):
        client_for(token_registry, anonymous=True).head_digest(repository, "1.0")


def test_bearer_unknown_repository_is_not_found(token_registry):
    with pytest.raises(RegistryNotFound):
        client_for(token_registry).list_tags(unique_repository())


def test_bearer_image_created_of_index(token_registry):
    repository = unique_repository()
    created = datetime(2022, 2, 2, tzinfo=UTC)
    amd64 = token_registry.push_image(repository, "amd64", created=created)
    token_registry.push_index(repository, "1.0", [(amd64, "linux/amd64")])
    client = client_for(token_registry)
    assert client.image_created(repository, "1.0") == created
    # index, manifest and config blob share the repository's cached token: 4 for first contact + 2 more
    assert client.request_count == 6
