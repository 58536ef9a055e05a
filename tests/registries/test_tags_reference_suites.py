"""The anchors' own test cases (registries.md §6), read through our API.

Where we decide differently on purpose the row says so: Renovate compares `10.1` with `10.1.2`, we do
not compare different precisions at all; WUD reads `-ls132` as a prerelease, we read it as a revision.
"""

from __future__ import annotations

import pytest

from registries.tags import classify, rank


def is_version(tag: str) -> bool:
    """Renovate's `isValid`: the tag has an order of its own and is not a commit hash."""
    info = classify(tag)
    return info.ordered and info.scheme not in ("git-sha", "branch-date-sha")


def compatible(candidate: str, current: str) -> bool:
    return classify(candidate).shape == classify(current).shape


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("1.2.3", True),
        ("18.04", True),
        ("10.1", True),
        ("3", True),
        ("foo", False),
        ("0a1b2c3", False),
        ("0a1b2c3d", False),
        ("0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d", False),
        ("123098140293", True),
        ("01aecc#v2.1.0", False),
        # Renovate reads these as version 0 with a prerelease; to us they are hash-like or generic,
        # with no order of their own (deliberate: "0" plus a random suffix is not a release).
        ("0a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0", False),
        ("0a1b2C3", False),
        ("0z1b2c3", False),
        ("0A1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d", False),
    ],
)
def test_renovate_is_valid(tag: str, expected: bool) -> None:
    assert is_version(tag) is expected


def test_renovate_is_valid_rejects_null() -> None:
    assert classify(None).scheme == "invalid"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tag", "release"), [("1.2.3", (1, 2, 3)), ("18.04", (18, 4)), ("10.1", (10, 1)), ("3", (3,)), ("foo", ())]
)
def test_renovate_major_minor_patch(tag: str, release: tuple[int, ...]) -> None:
    assert classify(tag).release == release


@pytest.mark.parametrize(
    ("a", "b", "greater"),
    [("18.04", "18.1", True), ("3", "2", True), ("1.2.3", "1.2.3", False)],
)
def test_renovate_is_greater_than(a: str, b: str, greater: bool) -> None:
    assert (classify(a).key > classify(b).key) is greater


@pytest.mark.parametrize(("a", "b"), [("1.2.3", "1.2"), ("10.1", "10.1.2")])
def test_different_precisions_are_not_compared(a: str, b: str) -> None:
    # Renovate: `1.2.3` < `1.2` and `10.1` > `10.1.2` ("a missing part is greater"). We keep precision
    # instead, so a service on `10.1` is offered `10.2`, never `10.1.2`.
    assert not compatible(a, b)
    assert rank(b, [a]).chosen is None


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("1.2.3", "1.2.3", True),
        ("18.04", "18.4", True),
        ("10.0", "10.0.4", False),
        ("3", "4.0", False),
        ("1.2", "1.2.3", False),
    ],
)
def test_renovate_equals(a: str, b: str, equal: bool) -> None:
    assert (compatible(a, b) and classify(a).key == classify(b).key) is equal


VERSIONS = ["0.9.8", "1.1.1", "1.1", "1.2.3", "1.2", "1", "2.2.2", "2.2", "2"]


@pytest.mark.parametrize(("current", "chosen"), [("1.2.3", "2.2.2"), ("1.2", "2.2"), ("1", "2"), ("0.9", "2.2")])
def test_precision_is_kept_over_renovates_version_list(current: str, chosen: str) -> None:
    assert rank(current, VERSIONS).chosen == chosen


def test_renovate_sorts_unstable_within_each_shape() -> None:
    tags = ["3.7.0", "3.7-alpine", "3.7.0b1", "3.7.0b5", "3.8.0b1-alpine", "3.8.0-alpine", "3.8.2", "3.8.0"]
    plain = sorted((tag for tag in tags if classify(tag).shape == "X.Y.Z"), key=lambda tag: classify(tag).key)
    alpine = sorted((tag for tag in tags if classify(tag).shape == "X.Y.Z-alpine"), key=lambda tag: classify(tag).key)
    assert plain == ["3.7.0b1", "3.7.0b5", "3.7.0", "3.8.0", "3.8.2"]
    assert alpine == ["3.8.0b1-alpine", "3.8.0-alpine"]


@pytest.mark.parametrize(
    ("tag", "stable"),
    [
        ("3.7.0", True),
        ("3.7.0b1", False),
        ("3.7-alpine", True),
        ("3.8.0-alpine", True),
        ("3.8.0b1-alpine", False),
        ("3.8.2", True),
    ],
)
def test_renovate_is_stable(tag: str, stable: bool) -> None:
    assert classify(tag).is_prerelease is not stable


@pytest.mark.parametrize(
    ("candidate", "current", "expected"),
    [
        ("3.7.0", "3.7.0", True),
        ("3.7.0b1", "3.7.0", True),
        ("3.7-alpine", "3.7.0", False),
        ("3.8.0-alpine", "3.7.0", False),
        ("3.8.0b1-alpine", "3.7.0", False),
        ("3.8.2", "3.7.0", True),
        ("3.7.0", "3.7.0-alpine", False),
        ("3.7.0b1", "3.7.0-alpine", False),
        ("3.7-alpine", "3.7.0-alpine", False),
        ("3.8.0-alpine", "3.7.0-alpine", True),
        ("3.8.0b1-alpine", "3.7.0-alpine", True),
        ("3.8.2", "3.7.0-alpine", False),
    ],
)
def test_renovate_is_compatible(candidate: str, current: str, expected: bool) -> None:
    assert compatible(candidate, current) is expected


@pytest.mark.parametrize(
    ("tag", "release", "prerelease"),
    [
        ("1.2.3", (1, 2, 3), None),
        ("v1.2.3", (1, 2, 3), None),
        ("v1.2.3-alpha1", (1, 2, 3), "alpha1"),
        ("version-zobi-1.2.3-alpha1", (1, 2, 3), "alpha1"),
        ("v2.0.6.3-2.0.6.3_beta_2021-06-17-ls112", (2, 0, 6, 3), "beta"),
        # WUD: prerelease `ls132`. Ours: a linuxserver build revision, so `-ls133` is an update.
        ("0.6.12-ls132", (0, 6, 12), None),
    ],
)
def test_wud_parse_cases(tag: str, release: tuple[int, ...], prerelease: str | None) -> None:
    info = classify(tag)
    assert (info.release, info.prerelease) == (release, prerelease)


@pytest.mark.parametrize("tag", ["latest", "stable", "main", "invalid", "fix__50"])
def test_wud_non_versions_are_floating(tag: str) -> None:
    # WUD coerces `fix__50` to 50.0.0; a name with a number glued on is not a release line to us.
    assert classify(tag).scheme == "floating"


def test_diun_faq_list_picks_within_each_shape() -> None:
    tags = [
        "0.1.0",
        "0.4.0",
        "3.0.0-beta.1",
        "3.0.0-beta.4",
        "4",
        "4.0.0",
        "4.0.0-beta.1",
        "4.1.0",
        "4.1.1",
        "4.10.0",
        "4.11.0",
        "4.20",
        "4.20.0",
        "4.20.1",
        "4.3.0",
        "4.3.1",
        "4.9.0",
        "edge",
        "latest",
    ]
    assert rank("4.3.1", tags).chosen == "4.20.1"
    assert rank("4", tags).chosen is None  # no other bare major
    assert rank("4.20", tags).chosen is None
    assert rank("3.0.0-beta.1", tags).chosen == "4.20.1"
