"""Image reference parsing: Docker's normalisation and the OCI grammar as a gate against hostile strings."""

import pytest

from registries.reference import (
    ImageReference,
    InvalidReference,
    parse_reference,
    validate_digest,
    validate_registry_host,
    validate_repository,
    validate_tag,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag"),
    [
        ("nginx", "docker.io", "library/nginx", "latest"),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25"),
        ("library/nginx", "docker.io", "library/nginx", "latest"),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest"),
        ("index.docker.io/library/nginx:1", "docker.io", "library/nginx", "1"),
        ("registry-1.docker.io/bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2"),
        ("bitnami/redis", "docker.io", "bitnami/redis", "latest"),
        ("localhost/app", "localhost", "app", "latest"),
        ("localhost:5000/app", "localhost:5000", "app", "latest"),
        ("localhost:5000/team/app:v2", "localhost:5000", "team/app", "v2"),
        ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000", "app", "1.0"),
        ("ghcr.io/owner/repo/sub:sha-abc", "ghcr.io", "owner/repo/sub", "sha-abc"),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1"),
        ("[fe80::1]/app", "[fe80::1]", "app", "latest"),
        ("registry.example.com/a__b/c-d/e.f:x_Y-1.2", "registry.example.com", "a__b/c-d/e.f", "x_Y-1.2"),
    ],
)
def test_parse_reference_normalises_like_docker(text, registry, repository, tag):
    reference = parse_reference(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry,
        repository,
        tag,
        None,
    )


def test_single_name_is_a_docker_hub_official_image():
    assert str(parse_reference("nginx")) == "docker.io/library/nginx:latest"


def test_api_host_of_docker_hub_is_registry_1():
    assert parse_reference("nginx").api_host == "registry-1.docker.io"
    assert parse_reference("localhost:5000/app").api_host == "localhost:5000"


def test_port_is_kept_in_registry_not_taken_as_tag():
    reference = parse_reference("localhost:5000/app")
    assert reference.registry == "localhost:5000"
    assert reference.tag == "latest"


def test_digest_reference_gets_no_default_tag():
    reference = parse_reference(f"nginx@{DIGEST}")
    assert reference.tag is None
    assert reference.digest == DIGEST
    assert str(reference) == f"docker.io/library/nginx@{DIGEST}"


def test_tag_and_digest_are_both_kept():
    reference = parse_reference(f"localhost:5000/app:1.2@{DIGEST}")
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        "localhost:5000",
        "app",
        "1.2",
        DIGEST,
    )


def test_default_tag_can_be_disabled():
    assert parse_reference("nginx", default_tag=None).tag is None


def test_name_is_registry_and_repository():
    assert parse_reference("ghcr.io/o/r:1").name == "ghcr.io/o/r"


def test_with_tag_replaces_tag_and_drops_digest():
    reference = parse_reference(f"nginx:1@{DIGEST}").with_tag("2")
    assert (reference.tag, reference.digest) == ("2", None)


def test_with_tag_validates():
    with pytest.raises(InvalidReference):
        parse_reference("nginx").with_tag("bad tag")


def test_with_digest_validates_and_keeps_tag():
    reference = parse_reference("nginx:1").with_digest(DIGEST)
    assert (reference.tag, reference.digest) == ("1", DIGEST)
    with pytest.raises(InvalidReference):
        reference.with_digest("sha256:123")


def test_is_docker_hub():
    assert parse_reference("nginx").is_docker_hub
    assert not parse_reference("ghcr.io/o/r").is_docker_hub


def test_reference_is_hashable_value():
    assert parse_reference("nginx") == ImageReference("docker.io", "library/nginx", "latest")
    assert len({parse_reference("nginx"), parse_reference("docker.io/library/nginx:latest")}) == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        " nginx",
        "nginx ",
        "Nginx",  # repository paths are lower-case only
        "docker.io/Library/nginx",
        "team/App",
        "nginx:$(reboot)",
        "$(reboot)",
        "nginx;rm -rf /",
        "nginx:1;rm -rf /",
        "nginx:latest && reboot",
        "nginx:`id`",
        "../etc/passwd",
        "registry.example.com/../app",
        "registry.example.com/app/..",
        "registry.example.com//app",
        "app/",
        "nginx\n",
        "nginx\n:latest",  # a newline in the middle passes a strip() check
        f"nginx:latest\n@{DIGEST}",
        "nginx:latest\nreboot",
        "nginx:latest\r",
        "nginx\x00:latest",
        "nginx:" + "a" * 129,
        "nginx:",
        "nginx:-leading-dash",
        "nginx:.leading-dot",
        "nginx@sha256:short",
        "nginx@" + DIGEST.upper(),
        "nginx@" + DIGEST + "\n",
        "ng\u0456nx",  # Cyrillic i
        "nginx:l\u0430test",  # Cyrillic a
        "\uff4e\uff47\uff49\uff4e\uff58",  # full-width "nginx"
        "nginx:\uff11.0",  # full-width digit one
        "ex\u0430mple.com/app",  # Cyrillic a in the host
        "example.com:5000x/app",
        "-bad.example.com/app",
        "[::1/app",
        "a" * 256,
        "nginx@@" + DIGEST,
    ],
)
def test_parse_reference_rejects_invalid_or_hostile_strings(text):
    with pytest.raises(InvalidReference):
        parse_reference(text)


def test_invalid_reference_is_a_value_error_with_the_reason():
    with pytest.raises(ValueError, match="repository component"):
        parse_reference("team/App")


@pytest.mark.parametrize("tag", ["latest", "1.25.3", "v1.0.0-rc.1", "_internal", "A_B-c.d", "a" * 128, "1"])
def test_validate_tag_accepts_oci_tags(tag):
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "a" * 129,
        "-x",
        ".x",
        "x y",
        "x/y",
        "x:y",
        "$(reboot)",
        ";rm -rf",
        "../x",
        "latest\n",
        "\nlatest",
        "l\u0430test",  # Cyrillic a
        "\uff11",  # full-width digit one
        None,
        1,
    ],
)
def test_validate_tag_rejects(tag):
    with pytest.raises(InvalidReference):
        validate_tag(tag)


def test_validate_digest_accepts_sha256_and_other_algorithms():
    assert validate_digest(DIGEST) == DIGEST
    sha512 = "sha512:" + "ab" * 64
    assert validate_digest(sha512) == sha512


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "a" * 63,
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "sha256:" + "a" * 65,
        DIGEST + "\n",
        "sha256" + "a" * 64,
        ":" + "a" * 64,
        "SHA256:" + "a" * 64,
        "sha256:",
        None,
    ],
)
def test_validate_digest_rejects(digest):
    with pytest.raises(InvalidReference):
        validate_digest(digest)


@pytest.mark.parametrize("host", ["docker.io", "localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000", "a-b.c"])
def test_validate_registry_host_accepts(host):
    assert validate_registry_host(host) == host


@pytest.mark.parametrize(
    "host", ["", "exa mple.com", "example.com\n", "example.com/x", "-a.com", "a.com:", "a.com:x", "user@a.com", "[::1"]
)
def test_validate_registry_host_rejects(host):
    with pytest.raises(InvalidReference):
        validate_registry_host(host)


@pytest.mark.parametrize("path", ["app", "library/nginx", "a/b/c", "a__b", "a-b", "a--b", "a.b"])
def test_validate_repository_accepts(path):
    assert validate_repository(path) == path


@pytest.mark.parametrize(
    "path", ["", "App", "../app", "a/../b", "a//b", "/a", "a/", "a?b", "a#b", "a%2fb", "a\n", "a" * 256]
)
def test_validate_repository_rejects_what_could_change_a_url(path):
    with pytest.raises(InvalidReference):
        validate_repository(path)
