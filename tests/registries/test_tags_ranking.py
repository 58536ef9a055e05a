"""`rank` semantics the core loop relies on: explanations, pins, digests, the two push-time phases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from registries.tags import PUSH_TIME_FETCH_LIMIT, Candidate, Decision, TagPolicy, classify, rank

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def at(day: int) -> datetime:
    return T0 + timedelta(days=day)


def test_the_current_tag_is_never_chosen_nor_ranked() -> None:
    decision = rank("1.2.3", ["1.2.3", "1.2.2"])
    assert decision.chosen is None
    assert decision.ranked == []
    assert decision.rejected == {"1.2.2": "older than 1.2.3", "1.2.3": "the current tag"}


def test_ranked_lists_eligible_candidates_best_first() -> None:
    decision = rank("1.2.3", ["1.2.4", "1.10.0", "1.9.0", "2.0.0-rc.1"])
    assert decision.ranked == ["1.10.0", "1.9.0", "1.2.4"]
    assert decision.chosen == "1.10.0"
    assert decision.reason == "1.10.0 is the highest X.Y.Z release above 1.2.3"


def test_the_explanation_names_the_current_scheme_and_shape() -> None:
    decision = rank("1.25.3-alpine", ["1.26.0-alpine"])
    assert (decision.scheme, decision.shape) == ("semver-variant", "X.Y.Z-alpine")


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("bad tag", "not a valid tag: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
        ("1.2.4.sig", "not an image: a cosign signature"),
        ("latest", "floating tag (a name, not a version): never a candidate"),
        ("2024.1.0", "different scheme: calver YYYY.M.P"),
        ("1.2.4-alpine", "different scheme: semver-variant X.Y.Z-alpine"),
        ("1.3", "different scheme: partial X.Y"),
        ("1.2.2", "older than 1.2.3"),
        ("1.2.03", "the same version as 1.2.3"),
        ("1.3.0-rc.1", "prerelease (rc.1); the current tag is a release"),
    ],
)
def test_each_rejection_says_why(tag: str, reason: str) -> None:
    assert rank("1.2.3", [tag, "1.2.4"]).rejected[tag] == reason


def test_different_shape_within_the_same_scheme_is_named() -> None:
    decision = rank("1.25.3-alpine", ["1.26.0-slim"])
    assert decision.rejected["1.26.0-slim"] == "different shape: X.Y.Z-slim"


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (TagPolicy(ignored=frozenset({"1.3.0"})), "ignored by policy"),
        (TagPolicy(exclude=r"^1\.3"), r"matches exclude /^1\.3/"),
        (TagPolicy(include=r"^1\.2\."), r"does not match include /^1\.2\./"),
        (TagPolicy(max_bump="patch"), "minor bump 1.2.3 → 1.3.0 exceeds max-bump patch"),
    ],
)
def test_policy_rejections_name_their_rule(policy: TagPolicy, reason: str) -> None:
    decision = rank("1.2.3", ["1.3.0", "1.2.4"], policy)
    assert decision.rejected["1.3.0"] == reason
    assert decision.chosen == "1.2.4"


def test_held_back_counts_newer_tags_the_policy_kept_out() -> None:
    decision = rank("1.2.3", ["2.0.0", "1.3.0", "1.4.0-rc.1", "1.0.0"], TagPolicy(max_bump="patch"))
    assert decision.chosen is None
    assert decision.held_back == {"max-bump": 2, "prerelease": 1}
    assert decision.reason == "no X.Y.Z release newer than 1.2.3 (held back by policy: 2 by max-bump, 1 by prerelease)"


def test_include_is_a_search_not_a_full_match() -> None:
    assert rank("1.2.3-alpine", ["1.2.4-alpine"], TagPolicy(include="alpine")).chosen == "1.2.4-alpine"


def test_a_prerelease_current_may_move_along_its_own_release_only() -> None:
    decision = rank("1.2.0-rc.1", ["1.2.0-rc.2", "1.3.0-beta.1"])
    assert decision.chosen == "1.2.0-rc.2"
    assert decision.rejected["1.3.0-beta.1"] == "prerelease (beta.1) of another release than the current one"


def test_floating_current_is_tracked_by_digest() -> None:
    decision = rank("latest", ["1.2.3", "latest"])
    assert (decision.tracks_digest, decision.chosen, decision.ranked) == (True, None, [])
    assert "floating" in decision.reason


def test_digest_strategy_tracks_the_digest_of_any_tag() -> None:
    decision = rank("1.2.3", ["1.2.4"], TagPolicy(strategy="digest"))
    assert (decision.tracks_digest, decision.chosen) == (True, None)


def test_versioned_current_does_not_track_the_digest() -> None:
    assert rank("1.2.3", ["1.2.4"]).tracks_digest is False


def test_pin_moves_to_the_pinned_tag_even_if_older() -> None:
    decision = rank("1.2.3", ["1.2.0", "1.3.0"], TagPolicy(pinned="1.2.0"))
    assert (decision.chosen, decision.ranked, decision.reason) == ("1.2.0", ["1.2.0"], "pinned to 1.2.0")


def test_pin_wins_over_ignore_and_exclude() -> None:
    policy = TagPolicy(pinned="1.2.0", ignored=frozenset({"1.2.0"}), exclude="1.2.0")
    assert rank("1.2.3", ["1.2.0"], policy).chosen == "1.2.0"


def test_pin_to_an_unlisted_tag_stays_put() -> None:
    decision = rank("1.2.3", ["1.3.0"], TagPolicy(pinned="1.2.0"))
    assert decision.chosen is None
    assert decision.reason == "pinned to 1.2.0, which the registry does not list"


def test_pin_equal_to_current_stays_and_keeps_digest_tracking_of_floating_tags() -> None:
    decision = rank("latest", ["latest", "1.3.0"], TagPolicy(pinned="latest"))
    assert (decision.chosen, decision.tracks_digest, decision.reason) == (
        None,
        True,
        "pinned to latest, the current tag",
    )


def test_pin_moves_a_floating_service_onto_a_version() -> None:
    decision = rank("latest", ["latest", "1.3.0"], TagPolicy(pinned="1.3.0"))
    assert (decision.chosen, decision.tracks_digest) == ("1.3.0", False)


def test_pin_to_an_artifact_is_refused() -> None:
    tag = "sha256-" + "a" * 64 + ".sig"
    assert rank("1.2.3", [tag], TagPolicy(pinned=tag)).chosen is None


def test_two_phases_first_asks_for_push_times_then_decides() -> None:
    tags = ["sha-aaa1111", "sha-bbb2222", "sha-ccc3333", "1.2.3", "latest"]
    first = rank("sha-aaa1111", tags)
    assert first.chosen is None
    assert first.needs_push_time == ["sha-aaa1111", "sha-bbb2222", "sha-ccc3333"]
    assert first.reason == "git-sha tags have no order of their own: 3 push times needed"
    times = {"sha-aaa1111": at(1), "sha-bbb2222": at(3), "sha-ccc3333": at(2)}
    second = rank("sha-aaa1111", [Candidate(tag, times.get(tag)) for tag in tags])
    assert (second.chosen, second.ranked, second.needs_push_time) == ("sha-bbb2222", ["sha-bbb2222", "sha-ccc3333"], [])


def test_unordered_tags_are_not_ranked_without_push_times_and_say_why() -> None:
    decision = rank("abc1234", ["abc1234", "def5678"])
    assert decision.chosen is None
    assert "no order of their own" in decision.reason


def test_push_time_requests_are_capped() -> None:
    tags = [f"sha-{index:03d}abcd" for index in range(PUSH_TIME_FETCH_LIMIT + 5)]
    decision = rank(tags[0], tags)
    assert decision.needs_push_time == []
    assert "a registry that reports push times" in decision.reason


def test_push_time_limit_is_adjustable() -> None:
    tags = [f"sha-{index:03d}abcd" for index in range(4)]
    assert rank(tags[0], tags, push_time_limit=3).needs_push_time == []
    assert len(rank(tags[0], tags, push_time_limit=4).needs_push_time) == 4


def test_unlisted_current_sha_asks_for_its_own_push_time() -> None:
    decision = rank("sha-aaa1111", [Candidate("sha-bbb2222", at(2))])
    assert decision.needs_push_time == ["sha-aaa1111"]
    assert "does not list sha-aaa1111" in decision.reason


def test_shas_pushed_before_the_current_one_are_not_updates() -> None:
    decision = rank("abc1234", [Candidate("abc1234", at(5)), Candidate("def5678", at(2)), Candidate("aaa1111", at(5))])
    assert decision.chosen is None
    assert decision.rejected == {
        "aaa1111": "pushed with abc1234",
        "abc1234": "the current tag",
        "def5678": "pushed before abc1234",
    }


def test_tie_at_the_top_asks_only_for_the_tied_tags() -> None:
    tags = ["main-20240110-aaa1111", "main-20240111-bbb2222", "main-20240111-ccc3333", "main-20240105-ddd4444"]
    decision = rank("main-20240110-aaa1111", tags)
    assert (decision.chosen, decision.ranked) == (None, [])
    assert decision.needs_push_time == ["main-20240111-bbb2222", "main-20240111-ccc3333"]


def test_same_day_build_after_the_current_one_is_an_update_by_push_time() -> None:
    tags = [Candidate("main-20240110-aaa1111", at(1)), Candidate("main-20240110-bbb2222", at(2))]
    assert rank("main-20240110-aaa1111", tags).chosen == "main-20240110-bbb2222"


def test_push_time_never_reorders_versions() -> None:
    # The seed's literal order would deploy the later-pushed backport.
    tags = [Candidate("2.0.0", at(1)), Candidate("1.9.9", at(9)), Candidate("2.0.1", at(2))]
    assert rank("1.9.8", tags).chosen == "2.0.1"
    assert rank("2.0.0", tags).chosen == "2.0.1"


def test_all_digit_current_in_a_repository_of_hashes_is_read_as_a_hash() -> None:
    tags = [Candidate("1234567", at(1)), Candidate("9234567", at(0)), Candidate("abc1234", at(3))]
    decision = rank("1234567", tags)
    assert (decision.scheme, decision.shape, decision.chosen) == ("git-sha", "SHA7", "abc1234")
    assert "9234567" in decision.rejected  # bigger digits, pushed earlier: not an update


def test_all_digit_current_without_hashes_around_is_a_build_number() -> None:
    decision = rank("1234567", ["1234568", "1234566"])
    assert (decision.scheme, decision.chosen) == ("build", "1234568")


def test_all_digit_hash_is_a_peer_of_hex_hashes() -> None:
    tags = [Candidate("abc1234", at(1)), Candidate("1234567", at(4))]
    assert rank("abc1234", tags).chosen == "1234567"


def test_duplicate_candidates_keep_the_latest_push_time_in_any_order() -> None:
    listed = [Candidate("sha-bbb2222", at(2)), Candidate("sha-bbb2222", None), Candidate("sha-bbb2222", at(4))]
    others = [Candidate("sha-aaa1111", at(1)), Candidate("sha-ccc3333", at(3))]
    forward = rank("sha-aaa1111", others + listed)
    backward = rank("sha-aaa1111", list(reversed(others + listed)))
    assert forward.chosen == backward.chosen == "sha-bbb2222"


def test_naive_push_times_are_utc_and_mix_with_aware_ones() -> None:
    tags = [
        Candidate("sha-aaa1111", datetime(2024, 1, 1, 12)),
        Candidate("sha-bbb2222", datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=2)))),  # 11:00 UTC
        Candidate("sha-ccc3333", datetime(2024, 1, 1, 12, 30, tzinfo=UTC)),
    ]
    assert rank("sha-aaa1111", tags).chosen == "sha-ccc3333"


def test_non_text_candidates_are_rejected_not_raised() -> None:
    decision = rank("1.2.3", [None, 5, "1.2.4"])  # type: ignore[list-item]
    assert decision.chosen == "1.2.4"
    assert decision.rejected["<not text: None>"].startswith("not a valid tag")


def test_strings_and_candidates_mix() -> None:
    assert rank("1.2.3", ["1.2.4", Candidate("1.2.5")]).chosen == "1.2.5"


@pytest.mark.parametrize("current", ["", "bad tag", "a" * 200, "-x"])
def test_invalid_current_tag_is_explained_not_raised(current: str) -> None:
    decision = rank(current, ["1.2.3"])
    assert (decision.scheme, decision.chosen, decision.tracks_digest) == ("invalid", None, False)
    assert "not a valid tag" in decision.reason


def test_semver_strategy_needs_a_semver_current_tag() -> None:
    decision = rank("16", ["17"], TagPolicy(strategy="semver"))
    assert decision.chosen is None
    assert "not a SemVer version" in decision.reason


def test_semver_strategy_prefers_the_current_spelling_on_equal_precedence() -> None:
    assert rank("v1.2.3", ["1.3.0", "v1.3.0"], TagPolicy(strategy="semver")).chosen == "v1.3.0"
    assert rank("1.2.3", ["1.3.0", "v1.3.0"], TagPolicy(strategy="semver")).chosen == "1.3.0"


def test_semver_strategy_treats_any_suffix_as_a_prerelease() -> None:
    decision = rank("1.2.3", ["1.3.0-alpine", "1.2.4"], TagPolicy(strategy="semver"))
    assert decision.chosen == "1.2.4"
    assert decision.rejected["1.3.0-alpine"].startswith("prerelease (alpine)")


def test_newest_strategy_needs_push_times() -> None:
    decision = rank("1.2.3", ["1.2.3", "1.2.4"], TagPolicy(strategy="newest"))
    assert decision.needs_push_time == ["1.2.3", "1.2.4"]


def test_alphabetical_strategy_uses_plain_string_order() -> None:
    alphabetical = TagPolicy(strategy="alphabetical")
    assert rank("1.9.0", ["1.10.0"], alphabetical).chosen is None  # "1.10.0" < "1.9.0" as text
    assert rank("1.9.0", ["1.10.0"]).chosen == "1.10.0"
    assert rank("2024-01-09", ["2024-01-10", "2024-01-08"], alphabetical).chosen == "2024-01-10"


def test_to_dict_is_json_and_carries_the_promised_keys() -> None:
    data = rank("1.2.3", ["1.2.4", "latest"]).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert {"current", "scheme", "chosen", "ranked", "rejected", "reason", "needs_push_time", "tracks_digest"} <= set(
        data
    )
    assert (data["chosen"], data["ranked"]) == ("1.2.4", ["1.2.4"])


def test_to_dict_can_trim_the_rejections_for_storage() -> None:
    decision = rank("1.2.3", [f"1.1.{patch}" for patch in range(50)])
    data = decision.to_dict(max_rejected=5)
    assert len(data["rejected"]) == 5
    assert data["rejected_omitted"] == 45
    assert "rejected_omitted" not in decision.to_dict()


def test_rejected_is_sorted_by_tag_for_stable_output() -> None:
    decision = rank("1.2.3", ["1.0.0", "0.1.0", "latest", "1.1.0"])
    assert list(decision.rejected) == sorted(decision.rejected)


def test_decision_is_a_plain_dataclass_the_core_loop_can_build() -> None:
    decision = Decision("a", "floating", None, [], {}, "r", [], True)
    assert decision.to_dict()["tracks_digest"] is True


@pytest.mark.parametrize("tag", ["\u0661\u0662\u0663", "1.2.\u0663", "v\u0661.2.3", "\u0661\u0662\u0663-alpine"])
def test_tags_with_non_ascii_digits_are_invalid_and_never_chosen(tag: str) -> None:
    assert classify(tag).scheme == "invalid"
    assert rank("122", [tag]).chosen is None
    assert rank("1.2.2", [tag]).chosen is None
