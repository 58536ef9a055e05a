"""RegistryClient against the REAL registry (distribution 2.8, anonymous): tags, digests, manifests, created."""

from datetime import UTC, datetime

import pytest

from registries.client import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    KNOWN_SCHEMES,
    OCI_INDEX,
    OCI_MANIFEST,
    RegistryClient,
    RegistryError,
    RegistryInvalidReference,
    RegistryNotFound,
)
from registries.reference import InvalidReference
from tests.support.registry_helpers import client_for, unique_repository
from tests.support.registry_images import sha256_digest

CREATED = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_scheme_cache():
    """Each test meets the registry as a new process would, so request counts include the https probe."""
    KNOWN_SCHEMES.clear()


def test_ping_anonymous_registry(registry):
    client = client_for(registry)
    client.ping()
    # https is tried first on loopback (like Docker) and refused by the plain-HTTP registry, then http.
    assert client.request_count == 2


def test_plain_http_choice_is_remembered(registry):
    client = client_for(registry)
    client.ping()
    client.ping()
    assert client.request_count == 3


def test_second_client_for_the_same_host_makes_no_https_attempt(registry):
    client_for(registry).ping()  # probes https, falls back to http
    second = client_for(registry)
    second.ping()
    assert second.request_count == 1  # straight to http: the scheme is remembered per process, not per client


def test_list_tags_returns_pushed_tags(registry):
    repository = unique_repository()
    for tag in ("1.0", "1.1", "latest"):
        registry.push_image(repository, tag)
    assert sorted(client_for(registry).list_tags(repository)) == ["1.0", "1.1", "latest"]


def test_list_tags_returns_all_of_1500_tags(registry):
    repository = unique_repository()
    digest = registry.push_image(repository, "base")
    many = [f"1.0.{number}" for number in range(1500)]
    registry.add_tags(repository, digest, many)
    client = client_for(registry)
    tags = client.list_tags(repository)
    assert sorted(tags) == sorted([*many, "base"])
    # distribution 2.8 ignores `n` and sends all 1,501 at once: more than a page means "that was all".
    assert client.request_count == 2


def test_list_tags_stops_when_registry_ignores_last(registry):
    repository = unique_repository()
    digest = registry.push_image(repository, "base")
    registry.add_tags(repository, digest, [f"t{number}" for number in range(9)])
    client = client_for(registry)
    client.page_size = 10  # exactly a full page: the client asks for more with `last`, gets the same, stops
    assert len(client.list_tags(repository)) == 10
    assert client.request_count == 3


def test_head_digest_of_oci_manifest_is_the_pushed_digest(registry):
    repository = unique_repository()
    digest = registry.push_image(repository, "1.0", media_type="oci")
    client = client_for(registry)
    assert client.head_digest(repository, "1.0") == digest
    assert client.request_count == 2  # probe + HEAD: no GET needed, the registry sends Docker-Content-Digest


def test_head_digest_of_docker_manifest_is_the_pushed_digest(registry):
    repository = unique_repository()
    digest = registry.push_image(repository, "1.0", media_type="docker")
    assert client_for(registry).head_digest(repository, "1.0") == digest


def test_head_digest_of_oci_index_is_the_index_digest(registry):
    repository = unique_repository()
    amd64 = registry.push_image(repository, "amd64", platform="linux/amd64")
    arm64 = registry.push_image(repository, "arm64", platform="linux/arm64")
    index = registry.push_index(repository, "1.0", [(amd64, "linux/amd64"), (arm64, "linux/arm64")])
    assert client_for(registry).head_digest(repository, "1.0") == index
    assert index not in (amd64, arm64)


def test_head_digest_of_docker_manifest_list_is_the_list_digest(registry):
    repository = unique_repository()
    amd64 = registry.push_image(repository, "amd64", media_type="docker")
    arm64 = registry.push_image(repository, "arm64", media_type="docker", platform="linux/arm64/v8")
    listing = registry.push_index(
        repository, "1.0", [(amd64, "linux/amd64"), (arm64, "linux/arm64/v8")], media_type="docker"
    )
    # Without the list type in Accept, distribution 2.8 would rewrite this to schema 1: a different digest.
    assert client_for(registry).head_digest(repository, "1.0") == listing


def test_head_digest_by_digest_reference(registry):
    repository = unique_repository()
    digest = registry.push_image(repository, "1.0")
    assert client_for(registry).head_digest(repository, digest) == digest


@pytest.mark.parametrize(("kind", "media_type"), [("oci", OCI_MANIFEST), ("docker", DOCKER_MANIFEST)])
def test_get_manifest_returns_type_body_and_verified_digest(registry, kind, media_type):
    repository = unique_repository()
    digest = registry.push_image(repository, "1.0", media_type=kind)
    manifest = client_for(registry).get_manifest(repository, "1.0")
    assert manifest.media_type == media_type
    assert manifest.digest == digest == sha256_digest(manifest.raw)
    assert manifest.body["config"]["digest"].startswith("sha256:")
    assert not manifest.is_index


@pytest.mark.parametrize(("kind", "media_type"), [("oci", OCI_INDEX), ("docker", DOCKER_MANIFEST_LIST)])
def test_get_manifest_of_index(registry, kind, media_type):
    repository = unique_repository()
    child = registry.push_image(repository, "child", media_type=kind)
    index = registry.push_index(repository, "1.0", [(child, "linux/amd64")], media_type=kind)
    manifest = client_for(registry).get_manifest(repository, "1.0")
    assert (manifest.media_type, manifest.digest, manifest.is_index) == (media_type, index, True)
    assert manifest.body["manifests"][0]["digest"] == child


def test_unknown_tag_raises_not_found(registry):
    repository = unique_repository()
    registry.push_image(repository, "1.0")
    client = client_for(registry)
    with pytest.raises(RegistryNotFound, match=f"{repository}:2.0"):
        client.head_digest(repository, "2.0")
    with pytest.raises(RegistryNotFound, match="MANIFEST_UNKNOWN"):
        client.get_manifest(repository, "2.0")


def test_unknown_repository_raises_not_found(registry):
    client = client_for(registry)
    with pytest.raises(RegistryNotFound, match="NAME_UNKNOWN"):
        client.list_tags(unique_repository())
    with pytest.raises(RegistryNotFound):
        client.head_digest(unique_repository(), "latest")


def test_invalid_arguments_are_refused_before_any_request(registry):
    client = client_for(registry)
    with pytest.raises(InvalidReference):
        client.list_tags("../../v2/_catalog")
    with pytest.raises(RegistryError):  # the same exception is both, so a check cycle carries on
        client.head_digest("app", "latest?x=1")
    with pytest.raises(RegistryInvalidReference):
        client.get_blob("app", "sha256:../../x")
    assert client.request_count == 0


def test_image_created_from_oci_config(registry):
    repository = unique_repository()
    registry.push_image(repository, "1.0", created=CREATED)
    assert client_for(registry).image_created(repository, "1.0") == CREATED


def test_image_created_from_docker_config(registry):
    repository = unique_repository()
    registry.push_image(repository, "1.0", created=CREATED, media_type="docker")
    assert client_for(registry).image_created(repository, "1.0") == CREATED


def test_image_created_of_index_uses_linux_amd64_entry(registry):
    repository = unique_repository()
    arm64_created = datetime(2024, 6, 1, tzinfo=UTC)
    arm64 = registry.push_image(repository, "arm64", created=arm64_created, platform="linux/arm64")
    amd64 = registry.push_image(repository, "amd64", created=CREATED, platform="linux/amd64")
    registry.push_index(repository, "1.0", [(arm64, "linux/arm64"), (amd64, "linux/amd64")])
    client = client_for(registry)
    assert client.image_created(repository, "1.0") == CREATED
    assert client.image_created(repository, "1.0", platform="linux/arm64") == arm64_created


def test_image_created_counts_index_manifest_and_config_requests(registry):
    repository = unique_repository()
    amd64 = registry.push_image(repository, "amd64", created=CREATED)
    registry.push_index(repository, "1.0", [(amd64, "linux/amd64")])
    client = client_for(registry)
    client.ping()
    before = client.request_count
    client.image_created(repository, "1.0")
    assert client.request_count - before == 3  # index, amd64 manifest, config blob


def test_image_created_is_none_for_missing_platform(registry):
    repository = unique_repository()
    arm64 = registry.push_image(repository, "arm64", created=CREATED, platform="linux/arm64")
    registry.push_index(repository, "1.0", [(arm64, "linux/arm64")])
    assert client_for(registry).image_created(repository, "1.0") is None


def test_image_created_is_none_without_created_field(registry):
    repository = unique_repository()
    registry.push_image(repository, "1.0", created=None)
    assert client_for(registry).image_created(repository, "1.0") is None


def test_get_blob_returns_verified_config(registry):
    repository = unique_repository()
    registry.push_image(repository, "1.0", created=CREATED)
    client = client_for(registry)
    config_digest = client.get_manifest(repository, "1.0").body["config"]["digest"]
    assert sha256_digest(client.get_blob(repository, config_digest)) == config_digest


def test_deleted_tag_is_gone_but_manifest_stays(registry):
    repository = unique_repository()
    digest = registry.push_image(repository, "1.0")
    registry.push_image(repository, "keep")
    registry.delete_tag(repository, "1.0")
    client = client_for(registry)
    assert client.list_tags(repository) == ["keep"]
    assert client.head_digest(repository, digest) == digest
    with pytest.raises(RegistryNotFound):
        client.head_digest(repository, "1.0")


def test_client_uses_settings_defaults(settings, registry):
    settings.REGISTRY_TIMEOUT = 7.5
    settings.REGISTRY_RETRIES = 4
    client = RegistryClient(registry.host)
    assert (client.timeout, client.retries) == (7.5, 4)
