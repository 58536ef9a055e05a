"""AWS ECR against moto's server (a real AWS API emulator over HTTP) with the real registry for the OCI part."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from registries.client import RegistryBadCredentials, RegistryNotFound
from registries.configs import provider_for_host
from registries.models import Registry
from registries.providers import Credentials, ProviderCredentials
from registries.providers import base as providers_base
from registries.providers.ecr import EcrProvider, parse_ecr_host
from registries.services import registry_client_for, registry_docker_auth, repository_tags
from tests.support.moto_server import ACCOUNT, REGION, ecr_client
from tests.support.provider_apis import registry_users
from tests.support.registry_helpers import unique_repository

HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
TOKEN_PASSWORD = f"{ACCOUNT}-auth-token"  # what moto's GetAuthorizationToken hands out for the account


@pytest.fixture
def ecr(db, moto_server, token_registry):
    """An ECR registry row: AWS API = moto, Distribution API = the real token registry accepting ECR's user."""
    repository = unique_repository("ecr")
    aws = ecr_client(moto_server)
    aws.create_repository(repositoryName=repository)
    digests = {}
    for tag in ("1.0.0", "1.1.0", "latest"):
        digest = token_registry.push_image(repository, tag, files={"v": tag.encode()})
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "t": tag})
        aws.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag, imageDigest=digest)
        digests[tag] = digest
    row = Registry(
        host=HOST,
        provider="ecr",
        endpoint=token_registry.host,
        username="AKIAEMULATED0000001",
        options={"api_url": moto_server},
    )
    row.set_secret("emulated-secret-access-key")
    row.save()
    with registry_users(token_registry, {"AWS": TOKEN_PASSWORD}):
        yield repository, digests, token_registry


def test_tags_come_with_push_times_and_digests_from_describe_images(ecr):
    repository, digests, _ = ecr
    listing = repository_tags(HOST, repository)
    assert listing.source == "ECR DescribeImages"
    assert sorted(listing.tags) == ["1.0.0", "1.1.0", "latest"]
    assert listing.digests == digests  # the same digests the registry serves
    now = datetime.now(UTC)
    assert all(now - timedelta(minutes=5) < listing.push_times[tag] <= now + timedelta(seconds=5) for tag in digests)


def test_authorization_token_opens_the_registry_and_docker_pull(ecr):
    repository, digests, registry = ecr
    client = registry_client_for(HOST)
    assert client.host == registry.host
    assert client.head_digest(repository, "1.1.0") == digests["1.1.0"]
    assert {r.user for r in registry.token_server.requests if r.status == 200} >= {"AWS"}
    auth = registry_docker_auth(HOST)
    assert base64.b64decode(auth[HOST]["auth"]).decode() == f"AWS:{TOKEN_PASSWORD}"


def test_token_is_fetched_once_and_renewed_shortly_before_its_12_hours(ecr, monkeypatch):
    calls = []
    original = EcrProvider.fetch_credentials

    def counting(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(EcrProvider, "fetch_credentials", counting)
    for _ in range(3):
        registry_docker_auth(HOST)
    assert len(calls) == 1  # cached (moto's expiresAt lies in 2015: the documented 12 h applies)
    start = providers_base.now()
    monkeypatch.setattr(providers_base, "now", lambda: start + 11.5 * 3600)
    registry_docker_auth(HOST)
    assert len(calls) == 1  # 30 minutes left: still good
    monkeypatch.setattr(providers_base, "now", lambda: start + 12 * 3600 - 240)
    registry_docker_auth(HOST)
    assert len(calls) == 2  # 4 minutes left: renewed before it expires


def test_a_token_the_registry_refuses_mid_run_is_renewed_not_a_401(ecr):
    repository, _, registry = ecr
    provider, _ = provider_for_host(HOST)
    source = ProviderCredentials(provider)
    # A token issued hours ago that the registry no longer accepts (expired or revoked early).
    hours_ago = providers_base.now() - 6 * 3600
    providers_base._CACHE[source._key] = Credentials("AWS", "stale-token", hours_ago + 12 * 3600, hours_ago)
    client = registry_client_for(HOST)
    assert sorted(client.list_tags(repository)) == ["1.0.0", "1.1.0", "latest"]
    statuses = [(r.user, r.status) for r in registry.token_server.requests[-2:]]
    assert statuses == [(None, 401), ("AWS", 200)]
    assert source.credentials() == ("AWS", TOKEN_PASSWORD)


def test_role_arn_is_assumed_through_sts(ecr, moto_server):
    role_account = "210987654321"
    Registry.objects.filter(host=HOST).update(
        options={"api_url": moto_server, "role_arn": f"arn:aws:iam::{role_account}:role/updater-ecr-read"}
    )
    auth = registry_docker_auth(HOST)
    # moto attributes the assumed role's calls to the role's account: its token names that account.
    assert base64.b64decode(auth[HOST]["auth"]).decode() == f"AWS:{role_account}-auth-token"


def test_default_credential_chain_is_used_without_a_stored_key(ecr, monkeypatch):
    repository, _, _ = ecr
    Registry.objects.filter(host=HOST).update(username="", secret_encrypted="")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-environment")
    assert sorted(repository_tags(HOST, repository).tags) == ["1.0.0", "1.1.0", "latest"]


def test_no_credentials_anywhere_says_where_they_are_looked_for(ecr, monkeypatch, tmp_path):
    Registry.objects.filter(host=HOST).update(username="", secret_encrypted="")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(RegistryBadCredentials, match=r"no credentials found.*AWS_ROLE_ARN"):
        registry_docker_auth(HOST)


def test_unknown_repository_is_not_found(ecr):
    with pytest.raises(RegistryNotFound):
        repository_tags(HOST, "ecr/does-not-exist")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", ("123456789012", "eu-west-1")),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ("123456789012", "us-gov-west-1")),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ("123456789012", "cn-north-1")),
        ("123456789012.dkr-ecr.eu-west-1.amazonaws.com", ("123456789012", "eu-west-1")),
        ("12345.dkr.ecr.eu-west-1.amazonaws.com", None),
        ("public.ecr.aws", None),
    ],
)
def test_account_and_region_are_parsed_from_the_host(host, expected):
    assert parse_ecr_host(host) == expected
