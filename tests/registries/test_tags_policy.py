"""Tag policy from Compose labels and admin overrides: the vocabulary, precedence and clear errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from registries.tags import LABELS, PolicyError, TagPolicy, policy_from_labels, rank


def test_no_labels_give_the_default_policy() -> None:
    assert policy_from_labels({}) == TagPolicy()


def test_every_label_sets_its_setting() -> None:
    labels = {
        "updater.strategy": "semver",
        "updater.include": "^1\\.",
        "updater.exclude": "-rc",
        "updater.ignore": "1.2.4, 1.2.5",
        "updater.pin": "1.2.3",
        "updater.allow-prerelease": "true",
        "updater.max-bump": "minor",
        "updater.mode": "notify",
        "updater.min_age": "24h",
        "updater.min-age": "24h",  # the same setting, spelled like the other multi-word labels
        "updater.window": "0 2 * * * 2h",
    }
    assert policy_from_labels(labels) == TagPolicy(
        strategy="semver",
        include="^1\\.",
        exclude="-rc",
        ignored=frozenset({"1.2.4", "1.2.5"}),
        pinned="1.2.3",
        allow_prerelease=True,
        max_bump="minor",
        update_mode="notify",
        min_age=timedelta(hours=24),
        window="0 2 * * * 2h",
    )
    assert set(labels) == set(LABELS)


def test_labels_outside_the_vocabulary_are_ignored() -> None:
    labels = {"com.docker.compose.project": "web", "updater.enable": "true", "wud.tag.include": "("}
    assert policy_from_labels(labels) == TagPolicy()


def test_empty_label_values_mean_not_set() -> None:
    assert policy_from_labels({"updater.strategy": "", "updater.include": "  ", "updater.max-bump": ""}) == TagPolicy()


@pytest.mark.parametrize("value", ["true", "True", "YES", "on", "1"])
def test_true_booleans(value: str) -> None:
    assert policy_from_labels({"updater.allow-prerelease": value}).allow_prerelease is True


@pytest.mark.parametrize("value", ["false", "No", "off", "0"])
def test_false_booleans(value: str) -> None:
    assert policy_from_labels({"updater.allow-prerelease": value}).allow_prerelease is False


def test_choices_are_case_insensitive() -> None:
    policy = policy_from_labels({"updater.strategy": "SemVer", "updater.mode": "Manual", "updater.max-bump": "PATCH"})
    assert (policy.strategy, policy.update_mode, policy.max_bump) == ("semver", "manual", "patch")


def test_max_bump_none_means_no_limit() -> None:
    assert policy_from_labels({"updater.max-bump": "none"}).max_bump is None


@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        (
            "updater.strategy",
            "latest",
            "updater.strategy: 'latest' is not one of auto, semver, newest, alphabetical, digest",
        ),
        ("updater.max-bump", "huge", "updater.max-bump: 'huge' is not one of major, minor, patch"),
        ("updater.mode", "yolo", "updater.mode: 'yolo' is not one of auto, notify, manual"),
        ("updater.allow-prerelease", "maybe", "updater.allow-prerelease: 'maybe' is not a boolean"),
        ("updater.include", "([", "updater.include: '([' is not a valid regular expression"),
        ("updater.exclude", "*x", "updater.exclude: '*x' is not a valid regular expression"),
        ("updater.pin", "bad tag", "updater.pin: 'bad tag' is not a valid tag"),
        ("updater.ignore", "1.2.3, -bad", "updater.ignore: '-bad' is not a valid tag"),
    ],
)
def test_bad_label_values_name_the_label_and_the_value(label: str, value: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        policy_from_labels({label: value})
    assert str(error.value).startswith(message)
    assert error.value.setting == label


def test_overrides_win_over_labels() -> None:
    labels = {"updater.strategy": "semver", "updater.max-bump": "major", "updater.allow-prerelease": "true"}
    overrides = {"strategy": "auto", "max_bump": "patch", "allow_prerelease": False}
    policy = policy_from_labels(labels, overrides)
    assert (policy.strategy, policy.max_bump, policy.allow_prerelease) == ("auto", "patch", False)


def test_blank_overrides_fall_back_to_labels() -> None:
    policy = policy_from_labels({"updater.include": "alpine"}, {"include": "", "max_bump": None})
    assert policy.include == "alpine"


def test_ignore_lists_from_every_source_are_merged() -> None:
    policy = policy_from_labels({"updater.ignore": "1.0.1"}, {"ignored": ["1.0.3"]}, ignored=["1.0.2"])
    assert policy.ignored == frozenset({"1.0.1", "1.0.2", "1.0.3"})


def test_stored_pin_wins_over_the_label_and_override_wins_over_both() -> None:
    assert policy_from_labels({"updater.pin": "1.0.0"}, pinned="1.1.0").pinned == "1.1.0"
    assert policy_from_labels({"updater.pin": "1.0.0"}, {"pinned": "1.2.0"}, pinned="1.1.0").pinned == "1.2.0"


def test_override_booleans_may_be_text() -> None:
    assert policy_from_labels({}, {"allow_prerelease": "yes"}).allow_prerelease is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"strategy": "fastest"}, "override strategy: 'fastest' is not one of"),
        ({"colour": "red"}, "override colour: 'red' is not a policy setting"),
        ({"ignored": "1.2.3"}, "override ignored: '1.2.3' must be a list of tags"),
        ({"include": 5}, "override include: 5 must be text"),
        ({"include": "(?P<"}, "override include: '(?P<' is not a valid regular expression"),
    ],
)
def test_bad_overrides_name_the_setting(overrides: dict, message: str) -> None:
    with pytest.raises(PolicyError, match="^" + re.escape(message)):
        policy_from_labels({}, overrides)


def test_bad_stored_pin_is_an_error() -> None:
    with pytest.raises(PolicyError, match="pinned tag"):
        policy_from_labels({}, pinned="not a tag")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strategy": "newest-build"},
        {"update_mode": "auto-ish"},
        {"max_bump": "none"},
        {"include": "["},
        {"exclude": "(?"},
        {"pinned": ""},
        {"allow_prerelease": "yes"},
    ],
)
def test_an_invalid_tag_policy_cannot_be_built(kwargs: dict) -> None:
    with pytest.raises(PolicyError):
        TagPolicy(**kwargs)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


def test_ignored_accepts_any_iterable() -> None:
    assert TagPolicy(ignored=["a1", "a1"]).ignored == frozenset({"a1"})  # type: ignore[arg-type]


def test_update_mode_is_carried_but_does_not_change_ranking() -> None:
    notify = policy_from_labels({"updater.mode": "notify"})
    assert rank("1.0.0", ["1.0.1"], notify).chosen == rank("1.0.0", ["1.0.1"]).chosen == "1.0.1"


def test_labels_drive_ranking_end_to_end() -> None:
    labels = {"updater.max-bump": "minor", "updater.exclude": "-rc", "updater.ignore": "1.3.0"}
    policy = policy_from_labels(labels)
    assert rank("1.2.0", ["2.0.0", "1.3.0", "1.2.9", "1.4.0-rc1"], policy).chosen == "1.2.9"


def test_policy_to_dict_is_json_friendly() -> None:
    data = TagPolicy(ignored=frozenset({"b1", "a1"})).to_dict()
    assert data["ignored"] == ["a1", "b1"]
    assert data["strategy"] == "auto"
