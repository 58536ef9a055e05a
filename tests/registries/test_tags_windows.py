"""Maintenance windows and minimum image age as pure functions of their input and a given `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from registries.tags import PolicyError, TagPolicy, policy_from_labels, rank
from registries.tags.windows import WindowError, describe_opening, format_duration, parse_duration, parse_schedule

PARIS = ZoneInfo("Europe/Paris")


def at(*args: int, tz=UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_durations_read_as_people_write_them(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "24", "h", "-1h", "0m", "1w", "2 h"])
def test_a_bad_duration_is_refused_with_the_syntax(text):
    with pytest.raises(WindowError, match="90m, 24h, 7d"):
        parse_duration(text)


def test_durations_are_shown_short():
    assert [format_duration(timedelta(hours=h)) for h in (3, 24, 36, 72)] == ["3h", "24h", "36h", "3d"]
    assert format_duration(timedelta(minutes=90)) == "1h30m"


def test_a_nightly_window_is_open_from_its_start_for_its_duration_in_its_time_zone():
    schedule = parse_schedule("0 2 * * * 2h Europe/Paris")
    assert not schedule.is_open(at(2026, 1, 10, 0, 59))  # 01:59 in Paris (UTC+1)
    assert schedule.is_open(at(2026, 1, 10, 1, 0))  # 02:00 in Paris: opens exactly at the start
    assert schedule.is_open(at(2026, 1, 10, 2, 59))
    assert not schedule.is_open(at(2026, 1, 10, 3, 0))  # 04:00 in Paris: closed again
    assert schedule.opened_at(at(2026, 1, 10, 2, 0)) == at(2026, 1, 10, 2, 0, tz=PARIS)


def test_the_next_opening_keeps_local_time_across_daylight_saving():
    schedule = parse_schedule("0 2 * * * 2h Europe/Paris")
    before = schedule.next_open(at(2026, 3, 28, 12, 0))  # the night before summer time starts
    after = schedule.next_open(at(2026, 7, 1, 12, 0))
    assert before.astimezone(UTC) == at(2026, 3, 29, 1, 0)  # 02:00 CET does not exist; croniter moves to 03:00 CEST
    assert after.astimezone(PARIS).hour == 2 and after.astimezone(UTC) == at(2026, 7, 2, 0, 0)


def test_several_windows_open_at_the_earliest_and_always_means_no_window():
    schedule = parse_schedule("0 22 * * 1-5 1h UTC; 0 6 * * 6,0 4h UTC")
    friday_noon = at(2026, 1, 9, 12)
    assert schedule.next_open(friday_noon) == at(2026, 1, 9, 22)
    assert schedule.is_open(at(2026, 1, 10, 7))  # Saturday 07:00
    assert parse_schedule("always").always and parse_schedule("").is_open(friday_noon)


def test_the_default_time_zone_applies_when_a_window_names_none():
    assert parse_schedule("30 3 * * * 1h", default_zone="America/New_York").windows[0].zone == "America/New_York"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("0 2 * * 2h", "expected 5 cron fields"), ("0 25 * * * 2h", "cron"), ("0 2 * * * 2x", "duration"),
     ("0 2 * * * 2h Mars/Olympus", "time zone")],
)  # fmt: skip
def test_a_bad_window_says_what_is_wrong(text, problem):
    with pytest.raises(WindowError, match=problem):
        parse_schedule(text)


def test_an_opening_is_described_by_its_time_today_and_by_its_day_later():
    now = at(2026, 1, 10, 12, tz=PARIS)
    assert describe_opening(at(2026, 1, 11, 2, tz=PARIS), now) == "02:00"
    assert describe_opening(at(2026, 1, 13, 2, tz=PARIS), now) == "Tue 13 Jan 02:00"


def test_labels_set_the_window_and_the_minimum_age_and_bad_values_name_the_label():
    policy = policy_from_labels({"updater.window": "0 2 * * * 2h", "updater.min_age": "24h"})
    assert (policy.window, policy.min_age) == ("0 2 * * * 2h", timedelta(hours=24))
    assert policy_from_labels({"updater.min-age": "90m"}).min_age == timedelta(minutes=90)
    assert policy_from_labels({"updater.min_age": "24h"}, {"min_age": "none"}).min_age is None
    with pytest.raises(PolicyError, match=r"updater\.window"):
        policy_from_labels({"updater.window": "every night"})
    with pytest.raises(PolicyError, match=r"updater\.min_age"):
        policy_from_labels({"updater.min_age": "a day"})


NOW = at(2026, 1, 10, 12)
DAY = TagPolicy(min_age=timedelta(hours=24))


def test_a_tag_younger_than_the_minimum_age_is_not_a_candidate_and_an_older_one_is_chosen():
    ages = {"1.1.0": (NOW - timedelta(hours=3), "pushed"), "1.0.1": (NOW - timedelta(days=3), "pushed")}
    decision = rank("1.0.0", ["1.0.1", "1.1.0"], DAY, ages=ages, now=NOW)
    assert decision.chosen == "1.0.1"
    assert decision.rejected["1.1.0"] == "pushed 3h ago, minimum age 24h"


def test_a_tag_without_a_push_time_counts_from_when_it_was_first_seen():
    ages = {"1.1.0": (NOW - timedelta(hours=2), "first seen")}
    decision = rank("1.0.0", ["1.1.0"], DAY, ages=ages, now=NOW)
    assert decision.chosen is None
    assert decision.rejected["1.1.0"] == "first seen 2h ago, minimum age 24h"
    assert "held back by policy: 1 by min-age" in decision.reason
    later = rank("1.0.0", ["1.1.0"], DAY, ages=ages, now=NOW + timedelta(hours=22))
    assert later.chosen == "1.1.0"


def test_without_ages_push_times_count_and_an_unknown_age_is_not_a_candidate():
    from registries.tags import Candidate

    candidates = [Candidate("1.1.0", NOW - timedelta(days=2)), Candidate("1.2.0")]
    decision = rank("1.0.0", candidates, DAY, now=NOW)
    assert decision.chosen == "1.1.0"
    assert decision.rejected["1.2.0"] == "age unknown, minimum age 24h"


def test_a_pin_is_followed_whatever_the_age():
    policy = TagPolicy(min_age=timedelta(days=7), pinned="1.1.0")
    assert rank("1.0.0", ["1.1.0"], policy, ages={"1.1.0": (NOW, "pushed")}, now=NOW).chosen == "1.1.0"
