"""Auth details against an EMULATED registry: token response variants, token expiry, challenge forms,
redirects across hosts, plain-HTTP refusal and secrets kept out of messages."""

import base64
import hashlib
import json

import pytest

from registries.client import RegistryAuthError, RegistryClient, RegistryProtocolError
from registries.distribution import auth as auth_module
from tests.support.fake_registry import FakeResponse
from tests.support.registry_helpers import fake_client

TAGS = "/v2/app/tags/list"
PASSWORD = "s3cret:Pass word-41"
BASIC = "Basic " + base64.b64encode(f"bot:{PASSWORD}".encode()).decode()


def bearer_challenge(fake, scope="repository:app:pull"):
    return FakeResponse(
        401,
        {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
        {"WWW-Authenticate": f'Bearer realm="{fake.url}/token",service="fake",scope="{scope}"'},
    )


def authorized_tags(token, tags=("1.0",)):
    """Answers the tag list to requests bearing `token`, the challenge to anyone else."""

    def answer(request):
        if request.headers.get("Authorization") == f"Bearer {token}":
            return FakeResponse(200, {"name": "app", "tags": list(tags)})
        return answer.challenge

    return answer


@pytest.fixture
def bearer_registry(fake_registry):
    """Tag list behind a Bearer challenge; the token endpoint answers only `access_token`, no expiry."""
    answer = authorized_tags("tok-1")
    answer.challenge = bearer_challenge(fake_registry)
    fake_registry.handler("GET", TAGS, answer)
    fake_registry.route("GET", "/token", FakeResponse(200, {"access_token": "tok-1"}))
    return fake_registry


def test_access_token_field_is_accepted(bearer_registry):
    client = fake_client(bearer_registry, username="bot", password=PASSWORD)
    assert client.list_tags("app") == ["1.0"]
    token_request = bearer_registry.requests_to("/token")[0]
    assert token_request.query == {"service": "fake", "scope": "repository:app:pull"}
    assert token_request.headers["Authorization"] == BASIC


def test_anonymous_token_request_carries_no_credentials(bearer_registry):
    client = fake_client(bearer_registry)
    assert client.list_tags("app") == ["1.0"]
    assert "Authorization" not in bearer_registry.requests_to("/token")[0].headers


def test_token_without_expires_in_is_cached_for_60_seconds(bearer_registry, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: now[0])
    client = fake_client(bearer_registry)
    client.list_tags("app")
    now[0] += 50  # within 60 s (minus the early-renewal margin): reused
    client.list_tags("app")
    assert len(bearer_registry.requests_to("/token")) == 1
    now[0] += 11  # past 60 s: renewed before the call, no 401 round trip
    client.list_tags("app")
    assert len(bearer_registry.requests_to("/token")) == 2
    assert client.request_count == 6  # 401 + token + list, list, token + list


def test_expires_in_from_token_response_is_used(fake_registry, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: now[0])
    answer = authorized_tags("long")
    answer.challenge = bearer_challenge(fake_registry)
    fake_registry.handler("GET", TAGS, answer)
    fake_registry.route("GET", "/token", FakeResponse(200, {"token": "long", "expires_in": 3600}))
    client = fake_client(fake_registry)
    client.list_tags("app")
    now[0] += 3000
    client.list_tags("app")
    assert len(fake_registry.requests_to("/token")) == 1


def test_rejected_cached_token_is_renewed_once(fake_registry):
    accepted = {"token": "first"}

    def answer(request):
        if request.headers.get("Authorization") == f"Bearer {accepted['token']}":
            return FakeResponse(200, {"name": "app", "tags": ["1.0"]})
        return bearer_challenge(fake_registry)

    fake_registry.handler("GET", TAGS, answer)
    fake_registry.route("GET", "/token", FakeResponse(200, {"token": "first"}), FakeResponse(200, {"token": "second"}))
    client = fake_client(fake_registry)
    client.list_tags("app")
    accepted["token"] = "second"  # the registry stops accepting the cached token (revoked, key rotated)
    before = client.request_count
    assert client.list_tags("app") == ["1.0"]
    assert client.request_count - before == 3  # refused, new token, accepted


def test_token_response_without_token_is_protocol_error(fake_registry):
    fake_registry.route("GET", TAGS, bearer_challenge(fake_registry))
    fake_registry.route("GET", "/token", FakeResponse(200, {"expires_in": 60}))
    with pytest.raises(RegistryProtocolError, match="no token"):
        fake_client(fake_registry).list_tags("app")


def test_token_endpoint_401_is_auth_error_without_password(fake_registry):
    fake_registry.route("GET", TAGS, bearer_challenge(fake_registry))
    fake_registry.route("GET", "/token", FakeResponse(401, {"details": f"bad password {PASSWORD}"}))
    with pytest.raises(RegistryAuthError) as caught:
        fake_client(fake_registry, username="bot", password=PASSWORD).list_tags("app")
    assert PASSWORD not in str(caught.value)
    assert "authentication failed for" in str(caught.value)


def test_echoed_secret_in_error_body_is_redacted(fake_registry):
    body = {"errors": [{"code": "DENIED", "message": f"user bot with password {PASSWORD} may not pull"}]}
    fake_registry.route("GET", TAGS, FakeResponse(403, body))
    with pytest.raises(RegistryAuthError) as caught:
        fake_client(fake_registry, username="bot", password=PASSWORD).list_tags("app")
    assert PASSWORD not in str(caught.value)
    assert "DENIED" in str(caught.value)


def test_echoed_basic_credentials_are_redacted(fake_registry):
    body = {"errors": [{"code": "DENIED", "message": f"header was {BASIC}"}]}
    fake_registry.route("GET", TAGS, FakeResponse(403, body))
    with pytest.raises(RegistryAuthError) as caught:
        fake_client(fake_registry, username="bot", password=PASSWORD).list_tags("app")
    assert BASIC.removeprefix("Basic ") not in str(caught.value)


def test_repr_has_no_password():
    assert PASSWORD not in repr(RegistryClient("127.0.0.1:1", username="bot", password=PASSWORD))


# --- challenge forms ----------------------------------------------------------------------------


def basic_protected(fake, challenge_header):
    def answer(request):
        if request.headers.get("Authorization") == BASIC:
            return FakeResponse(200, {"name": "app", "tags": ["1.0"]})
        return FakeResponse(401, headers={"WWW-Authenticate": challenge_header})

    fake.handler("GET", TAGS, answer)


def test_basic_challenge_sends_credentials(fake_registry):
    basic_protected(fake_registry, 'Basic realm="fake"')
    client = fake_client(fake_registry, username="bot", password=PASSWORD)
    assert client.list_tags("app") == ["1.0"]
    assert client.list_tags("app") == ["1.0"]
    assert client.request_count == 3  # 401 once, then Basic up front


def test_bearer_realm_that_is_not_a_url_means_basic(fake_registry):
    basic_protected(fake_registry, 'Bearer realm="fake-realm",service="x"')
    assert fake_client(fake_registry, username="bot", password=PASSWORD).list_tags("app") == ["1.0"]
    assert fake_registry.requests_to("/token") == []


def test_bearer_is_preferred_when_both_challenges_are_offered(bearer_registry):
    challenge = (
        f'Bearer realm="{bearer_registry.url}/token",service="fake",scope="repository:app:pull", Basic realm="x"'
    )
    answer = authorized_tags("tok-1")
    answer.challenge = FakeResponse(401, headers={"WWW-Authenticate": challenge})
    bearer_registry.handler("GET", TAGS, answer)
    assert fake_client(bearer_registry).list_tags("app") == ["1.0"]
    assert len(bearer_registry.requests_to("/token")) == 1


def test_401_without_challenge_is_auth_error(fake_registry):
    fake_registry.route("GET", TAGS, FakeResponse(401))
    with pytest.raises(RegistryAuthError, match="no usable challenge"):
        fake_client(fake_registry).list_tags("app")


def test_plain_http_token_realm_off_loopback_is_refused(fake_registry):
    header = 'Bearer realm="http://auth.example.com/token",service="x"'
    fake_registry.route("GET", TAGS, FakeResponse(401, headers={"WWW-Authenticate": header}))
    with pytest.raises(RegistryProtocolError, match="plain HTTP"):
        fake_client(fake_registry, username="bot", password=PASSWORD).list_tags("app")


# --- redirects ----------------------------------------------------------------------------------

BLOB = b'{"created": "2024-01-01T00:00:00Z"}'
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
BLOB_PATH = f"/v2/app/blobs/{BLOB_DIGEST}"


def test_redirect_to_another_host_drops_authorization(fake_registry, other_fake_registry):
    basic_protected(fake_registry, 'Basic realm="fake"')  # teaches the client to send Basic up front
    client = fake_client(fake_registry, username="bot", password=PASSWORD)
    client.list_tags("app")
    fake_registry.route(
        "GET", BLOB_PATH, FakeResponse(307, headers={"Location": f"{other_fake_registry.url}/storage/blob"})
    )
    other_fake_registry.route("GET", "/storage/blob", FakeResponse(200, BLOB))
    assert client.get_blob("app", BLOB_DIGEST) == BLOB
    assert fake_registry.requests_to(BLOB_PATH)[0].headers["Authorization"] == BASIC
    assert "Authorization" not in other_fake_registry.requests_to("/storage/blob")[0].headers


def test_redirect_on_the_same_origin_keeps_authorization(fake_registry):
    basic_protected(fake_registry, 'Basic realm="fake"')
    client = fake_client(fake_registry, username="bot", password=PASSWORD)
    client.list_tags("app")
    fake_registry.route("GET", BLOB_PATH, FakeResponse(302, headers={"Location": "/storage/blob"}))
    fake_registry.route("GET", "/storage/blob", FakeResponse(200, BLOB))
    assert client.get_blob("app", BLOB_DIGEST) == BLOB
    assert fake_registry.requests_to("/storage/blob")[0].headers["Authorization"] == BASIC
    assert client.request_count == 4  # 401 + Basic retry for the list; the redirect and its target


def test_image_created_follows_blob_redirect(fake_registry, other_fake_registry):
    client = fake_client(fake_registry)
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": BLOB_DIGEST, "size": len(BLOB)}, "layers": []})
    fake_registry.route("GET", "/v2/app/manifests/1.0", FakeResponse(200, manifest))
    fake_registry.route("GET", BLOB_PATH, FakeResponse(307, headers={"Location": f"{other_fake_registry.url}/b"}))
    other_fake_registry.route("GET", "/b", FakeResponse(200, BLOB))
    assert client.image_created("app", "1.0").isoformat() == "2024-01-01T00:00:00+00:00"


def test_redirect_to_plain_http_off_loopback_is_refused(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", BLOB_PATH, FakeResponse(307, headers={"Location": "http://storage.example.com/blob"}))
    with pytest.raises(RegistryProtocolError, match="plain HTTP"):
        client.get_blob("app", BLOB_DIGEST)
    assert client.request_count == 1


@pytest.mark.parametrize("location", ["http://[bad/blob", "http://127.0.0.1:99999/blob"])
def test_malformed_redirect_is_protocol_error(fake_registry, location):
    client = fake_client(fake_registry)
    fake_registry.route("GET", BLOB_PATH, FakeResponse(302, headers={"Location": location}))
    with pytest.raises(RegistryProtocolError, match="malformed URL"):
        client.get_blob("app", BLOB_DIGEST)


def test_redirect_loop_is_protocol_error(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", BLOB_PATH, FakeResponse(302, headers={"Location": BLOB_PATH}))
    with pytest.raises(RegistryProtocolError, match="redirects"):
        client.get_blob("app", BLOB_DIGEST)


def test_blob_not_matching_its_digest_is_protocol_error(fake_registry):
    client = fake_client(fake_registry)
    fake_registry.route("GET", BLOB_PATH, FakeResponse(200, BLOB + b" "))
    with pytest.raises(RegistryProtocolError, match="does not match"):
        client.get_blob("app", BLOB_DIGEST)
