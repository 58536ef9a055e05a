"""Docker Hub, Azure ACR and Google AR/GCR: their token and tag APIs emulated from the documented endpoints
(tests.support.provider_apis), the Distribution part served by the real token-auth registry."""

import base64
import json
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from registries.client import (
    RegistryBadCredentials,
    RegistryError,
    RegistryNotFound,
    RegistryPermissionDenied,
    RegistryTLSError,
    RegistryTokenExpired,
)
from registries.configs import provider_for_host
from registries.models import Registry
from registries.providers import base as providers_base
from registries.services import registry_client_for, registry_docker_auth, repository_tags
from tests.support.fake_registry import FakeResponse
from tests.support.provider_apis import AcrEmulator, GoogleEmulator, basic, bearer, form, registry_users, serve_hub
from tests.support.registry_helpers import unique_repository

HUB_USER, HUB_PAT = "diuthub", "dckr_pat_emulated-1f0c"


def make_row(host, provider, endpoint, *, username="", secret="", ca_certificate="", **options):
    row = Registry(host=host, provider=provider, endpoint=endpoint, username=username, options=options)
    row.ca_certificate = ca_certificate
    row.set_secret(secret)
    row.save()
    return row


def decoded(auth, key):
    return base64.b64decode(auth[key]["auth"]).decode()


# --- Docker Hub ---------------------------------------------------------------------------------------


def hub_tags(digests):
    return [
        {"name": tag, "digest": digest, "tag_last_pushed": f"2026-0{i + 1}-02T10:00:00.123456789Z", "images": []}
        for i, (tag, digest) in enumerate(digests.items())
    ]


def test_docker_hub_private_tags_come_from_the_hub_api_with_push_times(db, token_registry, fake_registry):
    repository = unique_repository("hubns")
    digests = {tag: token_registry.push_image(repository, tag) for tag in ("1.0", "1.1", "2.0")}
    serve_hub(fake_registry, repository, hub_tags(digests), login=(HUB_USER, HUB_PAT))
    make_row(
        "docker.io", "dockerhub", token_registry.host, username=HUB_USER, secret=HUB_PAT, api_url=fake_registry.url
    )
    listing = repository_tags("docker.io", repository)
    assert (listing.source, listing.tags) == ("Docker Hub API", ["1.0", "1.1", "2.0"])
    assert listing.digests == digests
    assert listing.push_times["2.0"].isoformat() == "2026-03-02T10:00:00.123456+00:00"
    pages = fake_registry.requests_to(f"/v2/namespaces/{repository.replace('/', '/repositories/')}/tags")
    assert len(pages) == 2 and all(r.headers["Authorization"].startswith("Bearer ") for r in pages)
    with registry_users(token_registry, {HUB_USER: HUB_PAT}):
        assert registry_client_for("docker.io").head_digest(repository, "2.0") == digests["2.0"]
    assert decoded(registry_docker_auth("docker.io"), "https://index.docker.io/v1/") == f"{HUB_USER}:{HUB_PAT}"


def test_docker_hub_anonymous_reads_public_tags_without_credentials(db, registry, fake_registry):
    repository = unique_repository("hubpublic")
    digest = registry.push_image(repository, "1.0")
    serve_hub(fake_registry, repository, hub_tags({"1.0": digest}))
    make_row("docker.io", "dockerhub", registry.host, api_url=fake_registry.url)
    assert repository_tags("docker.io", repository).tags == ["1.0"]
    assert all("Authorization" not in r.headers for r in fake_registry.requests)
    assert registry_docker_auth("docker.io") is None


def test_docker_hub_api_failure_falls_back_to_the_registry_tag_list(db, registry, fake_registry):
    repository = unique_repository("hubdown")
    registry.push_image(repository, "1.0")
    fake_registry.route("GET", "/v2/namespaces/x/repositories/y/tags", FakeResponse(500))
    make_row("docker.io", "dockerhub", registry.host, api_url=fake_registry.url)
    listing = repository_tags("docker.io", repository)
    assert listing.tags == ["1.0"] and listing.push_times == {}
    assert listing.source.startswith("distribution tag list (Docker Hub API failed:")


# --- Azure ACR ----------------------------------------------------------------------------------------
# azure-identity and azure-containerregistry against the emulated Azure AD and ACR APIs over real TLS (a private
# CA stored in the row, as a user would); the Distribution part is the real token-auth registry.

TENANT, CLIENT_ID, CLIENT_SECRET = "diut-tenant", "11111111-2222-3333-4444-555555555555", "acr~sp-secret-99"
ACR_HOST = "diutacr.azurecr.io"
ADMIN = ("diutacr", "admin-password-1")


@pytest.fixture
def acr(db, token_registry, tls_fake_registry):
    repository = unique_repository("acr")
    digests = {tag: token_registry.push_image(repository, tag) for tag in ("1.0", "1.1", "1.2")}
    emulator = AcrEmulator(
        tls_fake_registry,
        token_registry,
        tenant=TENANT,
        client=(CLIENT_ID, CLIENT_SECRET),
        registry=ACR_HOST,
        admin=ADMIN,
    )
    tags = [
        {
            "name": tag,
            "digest": digest,
            "createdTime": "2026-01-01T00:00:00Z",
            "lastUpdateTime": f"2026-02-0{i + 1}T00:00:00.1234567Z",
        }
        for i, (tag, digest) in enumerate(digests.items())
    ]
    emulator.serve_tags(repository, tags)
    make_row(
        ACR_HOST,
        "acr",
        token_registry.host,
        username=CLIENT_ID,
        secret=CLIENT_SECRET,
        ca_certificate=tls_fake_registry.ca_pem,
        tenant_id=TENANT,
        authority_host=tls_fake_registry.url,
        api_url=tls_fake_registry.url,
    )
    with registry_users(token_registry, {}):
        yield ACR_HOST, repository, digests, emulator


def acr_tag_requests(emulator, repository):
    paths = {f"/acr/v1/{repository}/_tags", f"/acr/v1/{quote(repository, safe='')}/_tags"}
    return [request for request in emulator.fake.requests if request.path in paths]


def acr_provider():
    return provider_for_host(ACR_HOST)[0]


def test_acr_service_principal_goes_through_aad_and_the_exchange(acr):
    host, repository, digests, emulator = acr
    assert registry_client_for(host).head_digest(repository, "1.1") == digests["1.1"]
    user, _, refresh = decoded(registry_docker_auth(host), host).partition(":")
    assert user == AcrEmulator.NULL_GUID and refresh in emulator.refresh_tokens
    fake = emulator.fake
    assert len(fake.requests_to("/oauth2/exchange")) == 1  # cached: one exchange for both
    (aad,) = fake.requests_to(f"/{TENANT}/oauth2/v2.0/token")
    assert form(aad)["scope"] == "https://containerregistry.azure.net/.default"
    assert form(aad)["client_id"] == CLIENT_ID
    assert len(fake.requests_to(f"/{TENANT}/v2.0/.well-known/openid-configuration")) == 1  # MSAL's discovery


def test_acr_tags_come_with_last_update_times_across_link_pages(acr):
    host, repository, digests, emulator = acr
    listing = repository_tags(host, repository)
    assert listing.source == "ACR /acr/v1 tag list"
    assert listing.tags == ["1.2", "1.1", "1.0"]  # orderby=timedesc: newest first
    assert listing.digests == digests and listing.request_count == 2
    assert listing.push_times["1.2"].isoformat() == "2026-02-03T00:00:00.123456+00:00"
    pages = acr_tag_requests(emulator, repository)
    answered = [r for r in pages if r.headers.get("Authorization", "").startswith("Bearer ")]
    assert len(answered) == 2 and all(bearer(r) in emulator.access_tokens for r in answered)
    assert answered[1].query["last"] == "1.1"  # the second page came from the Link header
    # Each page's 401 challenge was answered by the SDK with the documented exchange and token calls.
    scopes = {form(r)["scope"] for r in emulator.fake.requests_to("/oauth2/token")}
    assert scopes == {f"repository:{repository}:metadata_read"}


def test_acr_refresh_token_is_renewed_before_it_expires(acr, monkeypatch):
    host, _, _, emulator = acr
    first = registry_docker_auth(host)
    start = providers_base.now()
    monkeypatch.setattr(providers_base, "now", lambda: start + 3 * 3600 - 200)
    second = registry_docker_auth(host)
    assert len(emulator.fake.requests_to("/oauth2/exchange")) == 2 and first != second


def test_acr_wrong_client_secret_names_the_client_and_tenant(acr):
    host, repository, *_ = acr
    row = Registry.objects.get(host=host)
    row.set_secret("wrong-secret")
    row.save()
    with pytest.raises(RegistryBadCredentials, match=f"client '{CLIENT_ID}' in tenant '{TENANT}'") as caught:
        registry_docker_auth(host)
    assert "wrong-secret" not in str(caught.value)
    with pytest.raises(RegistryBadCredentials, match="Azure AD: 401 bad credentials"):
        acr_provider().list_tags_with_times(repository, registry_client_for(host))


def test_acr_principal_without_read_on_the_repository_gets_403(acr):
    host, repository, _, emulator = acr
    emulator.denied.add(repository)
    with pytest.raises(RegistryPermissionDenied, match=f"403 missing permission for ACR tags of {repository}"):
        acr_provider().list_tags_with_times(repository, registry_client_for(host))


def test_acr_unknown_repository_is_not_found(acr):
    host, _, _, emulator = acr
    emulator.serve_tags("team/missing", None)
    with pytest.raises(RegistryNotFound, match="ACR tags of team/missing not found"):
        acr_provider().list_tags_with_times("team/missing", registry_client_for(host))


def test_acr_audience_is_what_azure_ad_is_asked_for_and_the_registry_must_accept(acr):
    host, repository, _, emulator = acr
    row = Registry.objects.get(host=host)
    row.options = {**row.options, "audience": "https://management.azure.com"}
    row.save()
    with pytest.raises(RegistryBadCredentials, match="401 bad credentials for ACR token exchange"):
        registry_docker_auth(host)
    emulator.audiences.add("https://management.azure.com")  # a registry that accepts ARM tokens
    assert repository_tags(host, repository).tags == ["1.2", "1.1", "1.0"]
    scopes = {form(r)["scope"] for r in emulator.fake.requests_to(f"/{TENANT}/oauth2/v2.0/token")}
    assert scopes == {"https://management.azure.com/.default"}


def test_acr_admin_user_uses_basic_on_the_tag_api_and_for_docker(acr):
    host, repository, digests, emulator = acr
    row = Registry.objects.get(host=host)
    row.username = ADMIN[0]
    row.options = {"api_url": row.options["api_url"]}
    row.set_secret(ADMIN[1])
    row.save()
    listing = repository_tags(host, repository)
    assert listing.tags == ["1.2", "1.1", "1.0"] and listing.digests == digests
    pages = acr_tag_requests(emulator, repository)
    assert len(pages) == 2 and all(basic(r) == ADMIN for r in pages)  # Basic at once: no challenge, no exchange
    assert not emulator.fake.requests_to("/oauth2/exchange") and not emulator.fake.requests_to("/oauth2/token")
    assert decoded(registry_docker_auth(host), host) == ":".join(ADMIN)
    row.set_secret("wrong-password")
    row.save()
    with pytest.raises(RegistryBadCredentials, match="401 bad credentials") as caught:
        acr_provider().list_tags_with_times(repository, registry_client_for(host))
    assert "wrong-password" not in str(caught.value)


def test_acr_sdk_refuses_plain_http_and_an_untrusted_certificate(acr, fake_registry, settings):
    settings.REGISTRY_RETRIES = 0  # the SDK retries connection failures, TLS ones included
    host, repository, *_ = acr
    row = Registry.objects.get(host=host)
    tls_url = row.options["api_url"]
    row.username, row.options, row.ca_certificate = ADMIN[0], {"api_url": fake_registry.url}, ""
    row.set_secret(ADMIN[1])
    row.save()
    with pytest.raises(RegistryError, match="HTTPS only"):
        acr_provider().list_tags_with_times(repository, registry_client_for(host))
    assert not fake_registry.requests  # refused before anything was sent
    row.options = {"api_url": tls_url}
    row.save()
    with pytest.raises(RegistryTLSError):
        acr_provider().list_tags_with_times(repository, registry_client_for(host))


# --- Google Artifact Registry and GCR -----------------------------------------------------------------

AR_HOST = "europe-west1-docker.pkg.dev"
AR_PARENT = "projects/demo-project/locations/europe-west1/repositories/apps"
AR_IMAGES = f"/v1/{AR_PARENT}/dockerImages"


@pytest.fixture
def artifact_registry(db, token_registry, fake_registry):
    """google-auth and the Artifact Registry SDK (REST) against the emulated OAuth and AR APIs; the real
    token-auth registry for the Distribution part."""
    google = GoogleEmulator(fake_registry, token_registry)
    repository = "demo-project/apps/web"
    digest = token_registry.push_image(repository, "3.1.0")
    other = token_registry.push_image("demo-project/apps/worker", "9.9.9")
    google.serve_images(
        AR_PARENT,
        [
            {
                "name": f"{AR_PARENT}/dockerImages/worker@{other}",
                "uri": f"{AR_HOST}/demo-project/apps/worker@{other}",
                "tags": ["9.9.9"],
                "uploadTime": "2026-05-01T00:00:00Z",
            },
            {
                "name": f"{AR_PARENT}/dockerImages/web@{digest}",
                "uri": f"{AR_HOST}/{repository}@{digest}",
                "tags": ["3.1.0", "stable"],
                "uploadTime": "2026-04-01T12:00:00.5Z",
                "updateTime": "2026-04-02T00:00:00Z",
            },
        ],
    )
    make_row(AR_HOST, "gcp", token_registry.host, secret=google.service_account_json(), api_url=fake_registry.url)
    with registry_users(token_registry, {}):
        yield google, repository, digest


def ar_provider():
    return provider_for_host(AR_HOST)[0]


def test_artifact_registry_sdk_lists_upload_times_with_a_self_signed_jwt_of_the_key(artifact_registry):
    google, repository, digest = artifact_registry
    fake = google.fake
    listing = repository_tags(AR_HOST, repository)
    assert listing.source == "Artifact Registry dockerImages.list"
    assert (listing.tags, listing.digests) == (["3.1.0", "stable"], {"3.1.0": digest, "stable": digest})
    assert listing.push_times["3.1.0"].isoformat() == "2026-04-01T12:00:00.500000+00:00"
    assert listing.request_count == 2  # one image per emulated page: the second came from nextPageToken
    pages = fake.requests_to(AR_IMAGES)
    assert [r.query.get("pageToken") for r in pages] == [None, "1"] and pages[0].query["pageSize"] == "1000"
    # With a key the SDK signs its own JWT (AIP-4111): no token endpoint call, an hour's lifetime.
    assert not fake.requests_to("/token") and len(google.self_signed) == 2
    claims = google.self_signed[0]
    assert claims["sub"] == claims["iss"] == "updater@demo-project.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform" and claims["exp"] - claims["iat"] == 3600


def test_artifact_registry_docker_token_is_minted_from_the_key_and_renewed(artifact_registry, monkeypatch):
    google, repository, digest = artifact_registry
    fake = google.fake
    assert registry_client_for(AR_HOST).head_digest(repository, "3.1.0") == digest
    user, _, token = decoded(registry_docker_auth(AR_HOST), AR_HOST).partition(":")
    assert user == "oauth2accesstoken" and token in google.tokens
    assert len(fake.requests_to("/token")) == 1  # cached: one token for the Distribution API and docker
    start = providers_base.now()
    monkeypatch.setattr(providers_base, "now", lambda: start + 3600 - 100)
    assert registry_client_for(AR_HOST).head_digest(repository, "3.1.0") == digest
    assert len(fake.requests_to("/token")) == 2  # renewed before its hour was up


def test_artifact_registry_missing_permission_and_unknown_repository_are_named(artifact_registry):
    google, repository, _ = artifact_registry
    google.denied.add("updater@demo-project.iam.gserviceaccount.com")
    with pytest.raises(RegistryPermissionDenied, match=r"403 missing permission .*updater@demo-project"):
        ar_provider().list_tags_with_times(repository, registry_client_for(AR_HOST))
    google.serve_images("projects/demo-project/locations/europe-west1/repositories/gone", None)
    google.denied.clear()
    with pytest.raises(RegistryNotFound, match="Artifact Registry images of demo-project/gone/web not found"):
        ar_provider().list_tags_with_times("demo-project/gone/web", registry_client_for(AR_HOST))


def test_artifact_registry_key_google_refuses_is_bad_credentials(artifact_registry):
    google, repository, _ = artifact_registry
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    row = Registry.objects.get(host=AR_HOST)
    row.set_secret(json.dumps({**json.loads(google.service_account_json()), "private_key": pem}))
    row.save()
    refused = "401 bad credentials for Artifact Registry images.*: Request had invalid authentication credentials"
    with pytest.raises(RegistryBadCredentials, match=refused) as caught:
        ar_provider().list_tags_with_times(repository, registry_client_for(AR_HOST))
    assert "PRIVATE KEY" not in str(caught.value)
    assert len(google.fake.requests_to(AR_IMAGES)) == 3  # google-auth re-signed and retried twice
    with pytest.raises(RegistryBadCredentials, match="Google refused the service-account key"):
        registry_docker_auth(AR_HOST)


def test_artifact_registry_refused_pasted_token_is_reported_as_expired(artifact_registry):
    _, repository, _ = artifact_registry
    row = Registry.objects.get(host=AR_HOST)
    row.set_secret("ya29.an-hour-old-token")
    row.save()
    with pytest.raises(RegistryTokenExpired, match="service-account JSON key") as caught:
        ar_provider().list_tags_with_times(repository, registry_client_for(AR_HOST))
    assert "ya29.an-hour-old-token" not in str(caught.value)


def test_gcr_upload_times_come_from_the_tag_list_manifest_map(db, fake_registry):
    digest = "sha256:" + "a" * 64
    body = {
        "name": "demo-project/web",
        "tags": ["1.0", "latest"],
        "manifest": {digest: {"tag": ["1.0", "latest"], "timeUploadedMs": "1767225600000", "timeCreatedMs": "1"}},
    }
    fake_registry.route("GET", "/v2/demo-project/web/tags/list", FakeResponse(200, body))
    make_row("gcr.io", "gcp", fake_registry.host, secret="ya29.pasted-token")
    listing = repository_tags("gcr.io", "demo-project/web")
    assert listing.tags == ["1.0", "latest"] and listing.digests == {"1.0": digest, "latest": digest}
    assert listing.push_times["1.0"].isoformat() == "2026-01-01T00:00:00+00:00"


def test_a_refused_pasted_access_token_is_reported_as_expired(db, token_registry):
    make_row(AR_HOST, "gcp", token_registry.host, secret="ya29.an-hour-old-token")
    with pytest.raises(RegistryTokenExpired, match="service-account JSON key") as caught:
        registry_client_for(AR_HOST).list_tags("demo-project/apps/web")
    assert "ya29.an-hour-old-token" not in str(caught.value)
