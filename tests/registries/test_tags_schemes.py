"""Classification: each tag's scheme, shape (what candidates must share) and prerelease marker."""

from __future__ import annotations

import pytest

from registries.tags import classify, is_floating
from registries.tags.schemes import SCHEMES

SHA40 = "0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d"
SIG_DIGEST = "sha256-" + "0123456789abcdef" * 4

# tag, scheme, shape, prerelease as written (None for a release)
CLASSIFICATION = [
    ("1.25.3", "semver", "X.Y.Z", None),
    ("0.0.1", "semver", "X.Y.Z", None),
    ("v2.4.0", "v-semver", "vX.Y.Z", None),
    ("V1.2.3", "v-semver", "VX.Y.Z", None),
    ("1.2.3-rc.1", "semver-prerelease", "X.Y.Z", "rc.1"),
    ("v3.0.0-beta5", "semver-prerelease", "vX.Y.Z", "beta5"),
    ("1.0.0RC1", "semver-prerelease", "X.Y.Z", "RC1"),
    ("1.0.0-RC1", "semver-prerelease", "X.Y.Z", "RC1"),
    ("3.8.3-SNAPSHOT", "semver-prerelease", "X.Y.Z", "SNAPSHOT"),
    ("3.8.3-1-SNAPSHOT", "semver-prerelease", "X.Y.Z-N", "SNAPSHOT"),
    ("2.0.0-beta-2", "semver-prerelease", "X.Y.Z", "beta-2"),
    ("1.2.3-dev.4", "semver-prerelease", "X.Y.Z", "dev.4"),
    ("3.13.0a2-slim", "semver-prerelease", "X.Y.Z-slim", "a2"),
    ("3.8.0b1-alpine", "semver-prerelease", "X.Y.Z-alpine", "b1"),
    ("3.13.0-rc.1-management-alpine", "semver-prerelease", "X.Y.Z-management-alpine", "rc.1"),
    ("11.0.0-preview", "semver-prerelease", "X.Y.Z", "preview"),
    ("1.25.3-alpine", "semver-variant", "X.Y.Z-alpine", None),
    ("3.11.7-slim-bookworm", "semver-variant", "X.Y.Z-slim-bookworm", None),
    ("20.11.0-alpine3.19", "semver-variant", "X.Y.Z-alpine3.19", None),
    ("1.2.3-dev", "semver-variant", "X.Y.Z-dev", None),
    ("1.2.3-1", "semver-variant", "X.Y.Z-N", None),
    ("0.6.12-ls132", "semver-variant", "X.Y.Z-lsN", None),
    ("16.1.0-debian-11-r20", "semver-variant", "X.Y.Z-debian-11-rN", None),
    ("10.2.3-security-01", "semver-variant", "X.Y.Z-security-01", None),
    ("version-1.2.3", "semver-variant", "version-X.Y.Z", None),
    ("amd64-1.2.3", "semver-variant", "amd64-X.Y.Z", None),
    ("30.0.1.Final-jdk17", "semver-variant", "X.Y.Z.Final-jdk17", None),
    ("17.0.10_7-jdk-jammy", "semver-variant", "X.Y.Z_N-jdk-jammy", None),
    ("1.2.3_alpine", "semver-variant", "X.Y.Z_alpine", None),
    ("6.4.2-php8.2-apache", "semver-variant", "X.Y.Z-php8.2-apache", None),
    ("16", "partial", "N", None),
    ("v1", "partial", "vN", None),
    ("1.25", "partial", "X.Y", None),
    ("22.04", "partial", "X.Y", None),
    ("16-alpine", "partial", "N-alpine", None),
    ("18beta1", "partial", "N", "beta1"),
    ("8.0-M02", "partial", "X.Y", "M02"),
    ("1.22rc2", "partial", "X.Y", "rc2"),
    ("21-ea-17-jdk", "partial", "N-jdk", "ea-17"),
    ("1.0.post1", "partial", "X.Y.postN", None),
    ("v1.2.3-4-gabc1234", "semver-variant", "vX.Y.Z-N-SHA", None),
    ("1.40.0.7998", "four-part", "W.X.Y.Z", None),
    ("1.40.0.7998-c29d4c0c8-ls209", "four-part", "W.X.Y.Z-SHA-lsN", None),
    ("1.2.3.4.5", "four-part", "N.N.N.N.N", None),
    ("v2.0.6.3-2.0.6.3_beta_2021-06-17-ls112", "four-part", "vW.X.Y.Z-N.N.N.N_beta_N-N-N-lsN", "beta"),
    ("2024.1.0", "calver", "YYYY.M.P", None),
    ("2024.01", "calver", "YYYY.M", None),
    ("2024.1.0b1", "calver", "YYYY.M.P", "b1"),
    ("2024.2.0.dev20240110", "calver", "YYYY.M.P", "dev20240110"),
    ("20240115", "date", "YYYYMMDD", None),
    ("2024-01-15", "date", "YYYY-MM-DD", None),
    ("jammy-20240111", "date", "jammy-YYYYMMDD", None),
    ("bookworm-20240110-slim", "date", "bookworm-YYYYMMDD-slim", None),
    ("20240115-103000", "datetime", "YYYYMMDD-HHMMSS", None),
    ("20240115103000", "datetime", "YYYYMMDDHHMMSS", None),
    ("20240115T1030", "datetime", "YYYYMMDDTHHMM", None),
    ("RELEASE.2024-01-16T16-07-38Z", "datetime", "RELEASE.YYYY-MM-DDTHH-MM-SSZ", None),
    ("1234", "build", "N", None),
    ("build-1234", "build", "build-N", None),
    ("1234567", "build", "N", None),
    ("123098140293", "build", "N", None),
    ("12345678", "build", "N", None),  # 8 digits but month 56: not a date
    ("main-20240110-abc1234", "branch-date-sha", "main-YYYYMMDD-SHA", None),
    ("20240110-abc1234", "branch-date-sha", "YYYYMMDD-SHA", None),
    ("main-abc1234-1704880000", "branch-date-sha", "main-SHA7-EPOCH", None),
    ("abc1234", "git-sha", "SHA7", None),
    ("sha-abc1234", "git-sha", "sha-SHA7", None),
    ("sha-1234567", "git-sha", "sha-SHA7", None),
    ("feature-x-abc1234", "git-sha", "feature-x-SHA7", None),
    (SHA40, "git-sha", "SHA40", None),
    ("latest", "floating", "", None),
    ("stable", "floating", "", None),
    ("edge", "floating", "", None),
    ("mainline", "floating", "", None),
    ("alpine", "floating", "", None),
    ("latest-alpine", "floating", "", None),
    ("lts-alpine3.19", "floating", "", None),
    ("alpine3.19", "floating", "", None),
    ("python3.11-slim", "floating", "", None),
    ("windowsservercore-ltsc2022", "floating", "", None),
    ("nanoserver-1809", "floating", "", None),
    ("debian-11", "floating", "", None),
    ("ubuntu-22.04", "floating", "", None),
    ("pr-123", "floating", "", None),
    ("fix__50", "floating", "", None),
    (f"{SIG_DIGEST}.sig", "artifact", "", None),
    (f"{SIG_DIGEST}.att", "artifact", "", None),
    (f"{SIG_DIGEST}.sbom", "artifact", "", None),
    (SIG_DIGEST, "artifact", "", None),
    ("1.2.3.sig", "artifact", "", None),
    ("1.2.3-alpine.sig", "artifact", "", None),
    ("1.2.3-buildcache", "artifact", "", None),
    ("buildcache", "artifact", "", None),
    ("cache-main", "artifact", "", None),
    ("3206.vb_15dcf73f6a_9-1", "generic", "#.vb_#_#-#", None),
    ("0a1b2C3", "generic", "#C#", None),
    ("1.2.3--alpine", "generic", "#.#.#--alpine", None),
    ("", "invalid", "", None),
    ("-1.2.3", "invalid", "", None),
    (".hidden", "invalid", "", None),
    ("has space", "invalid", "", None),
    ("a" * 129, "invalid", "", None),
    ("1.2.3+build", "invalid", "", None),
]


@pytest.mark.parametrize(
    ("tag", "scheme", "shape", "prerelease"), CLASSIFICATION, ids=[row[0][:40] or "empty" for row in CLASSIFICATION]
)
def test_classify(tag: str, scheme: str, shape: str, prerelease: str | None) -> None:
    info = classify(tag)
    assert (info.scheme, info.shape, info.prerelease) == (scheme, shape, prerelease)


def test_every_scheme_has_an_example() -> None:
    assert {row[1] for row in CLASSIFICATION} == set(SCHEMES)


@pytest.mark.parametrize(
    ("tag", "release"),
    [("1.10.0", (1, 10, 0)), ("18.04", (18, 4)), ("2024.01", (2024, 1)), ("20240115", (2024, 1, 15)), ("v007", (7,))],
)
def test_release_numbers_are_integers(tag: str, release: tuple[int, ...]) -> None:
    assert classify(tag).release == release


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.9.0", "1.10.0"),
        ("1.2.3-rc.9", "1.2.3-rc.10"),
        ("1.2.3-alpha", "1.2.3-beta"),
        ("1.2.3-beta.2", "1.2.3-rc.1"),
        ("1.2.3-rc.1", "1.2.3"),
        ("3.13.0a9", "3.13.0b1"),
        ("2024.2.0.dev20240110", "2024.2.0b0"),
        ("2024.2.0rc1.dev1", "2024.2.0rc1"),
        ("3.8.3-SNAPSHOT", "3.8.3-alpha"),
        ("1.2.3-1", "1.2.3-2"),
        ("1.2.3-9", "1.2.3-10"),
        ("0.6.12-ls99", "0.6.12-ls100"),
        ("0.6.12-ls200", "0.6.13-ls1"),
        ("17.0.10_7-jdk", "17.0.10_10-jdk"),
        ("20240115-235959", "20240116-000000"),
        ("jammy-20231211", "jammy-20240111"),
        ("999", "1000"),
        ("main-aaa1111-1704880000", "main-bbb2222-1704880001"),
    ],
)
def test_order_within_a_shape(lower: str, higher: str) -> None:
    low, high = classify(lower), classify(higher)
    assert low.shape == high.shape
    assert low.key < high.key


def test_zero_padding_does_not_change_a_version() -> None:
    assert classify("18.04").key == classify("18.4").key


@pytest.mark.parametrize("tag", ["latest", "stable", "alpine", "latest-alpine", "mainline-alpine3.18-perl", "pr-7"])
def test_is_floating(tag: str) -> None:
    assert is_floating(tag)


@pytest.mark.parametrize("tag", ["1.25.3", "16", "abc1234", "20240115", "sha256-" + "0" * 64 + ".sig", "bad tag"])
def test_is_not_floating(tag: str) -> None:
    assert not is_floating(tag)


def test_all_digit_tags_of_hash_length_remember_the_hash_shape() -> None:
    assert classify("1234567").sha_shape == "SHA7"
    assert classify("123456").sha_shape is None
    assert classify("20240115").sha_shape is None  # a date, not a hash


@pytest.mark.parametrize("text", [None, 12, "\n", "1.2.3\n", "ü1.2", "a" * 1000])
def test_classify_never_raises_on_garbage(text) -> None:
    assert classify(text).scheme == "invalid"


def test_invalid_tags_say_why() -> None:
    assert "[A-Za-z0-9_]" in classify("bad tag").note


@pytest.mark.parametrize(
    ("tag", "note"),
    [("x.sig", "signature"), ("x.att", "attestation"), ("x.sbom", "SBOM"), ("buildcache", "cache")],
)
def test_artifacts_say_what_they_are(tag: str, note: str) -> None:
    assert note in classify(tag).note
