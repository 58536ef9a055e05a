"""Properties of `rank` that must hold for any tag list, checked with hypothesis.

Tags are drawn from realistic shapes (plain, `v`, `-alpine`, partial, prereleases, revisions, dates)
mixed with noise (floating names, hashes, signatures, garbage), so most draws share a shape with the
current tag and the properties are exercised rather than vacuously true.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registries.tags import Candidate, TagPolicy, classify, rank

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small = st.integers(min_value=0, max_value=12)

# Families of tags that share a shape, so drawn tags compare with the current one most of the time.
FAMILIES = [
    [
        lambda a, b, c, n: f"{a}.{b}.{c}",
        lambda a, b, c, n: f"{a}.{b}.{c}-rc.{n}",
        lambda a, b, c, n: f"{a}.{b}.{c}b{n}",
    ],
    [lambda a, b, c, n: f"v{a}.{b}.{c}", lambda a, b, c, n: f"v{a}.{b}.{c}-beta.{n}"],
    [lambda a, b, c, n: f"{a}.{b}.{c}-alpine", lambda a, b, c, n: f"{a}.{b}.{c}rc{n}-alpine"],
    [lambda a, b, c, n: f"{a}.{b}", lambda a, b, c, n: f"{a}.{b}-rc{n}"],
    [lambda a, b, c, n: f"{a}"],
    [lambda a, b, c, n: f"{a}.{b}.{c}-ls{n}"],
    [lambda a, b, c, n: f"{a}.{b}.{c}-{n}"],
    [lambda a, b, c, n: f"2024.{b}.{c}", lambda a, b, c, n: f"2024.{b}.{c}b{n}"],
    [lambda a, b, c, n: f"20{20 + a % 6}{b % 12 + 1:02d}{c % 28 + 1:02d}"],
]


def family_tags(index: int) -> st.SearchStrategy[str]:
    return st.one_of(*(st.builds(make, small, small, small, small) for make in FAMILIES[index]))


version_tags = st.integers(min_value=0, max_value=len(FAMILIES) - 1).flatmap(family_tags)
noise_tags = st.one_of(
    st.sampled_from(["latest", "stable", "alpine", "edge", "main", "pr-12", "buildcache", "bad tag", ""]),
    st.integers(min_value=0x1000000, max_value=0xFFFFFFF).map(lambda n: f"sha-{n:07x}"),
    st.integers(min_value=0, max_value=2**64).map(lambda n: f"sha256-{n:064x}.sig"),
    st.text(alphabet="abc123.-_", max_size=12),
)
tag_lists = st.lists(st.one_of(version_tags, noise_tags), max_size=40)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, list[str], str]:
    """A current tag, a tag list mostly of its family (plus other families and noise), and one more tag."""
    family = family_tags(draw(st.integers(min_value=0, max_value=len(FAMILIES) - 1)))
    tags = draw(st.lists(st.one_of(family, family, family, version_tags, noise_tags), min_size=3, max_size=40))
    return draw(family), tags, draw(family)


def comparable(tag: str, current: str) -> bool:
    """Same shape as the current tag, and both ordered."""
    info, reference = classify(tag), classify(current)
    return info.ordered and reference.ordered and info.shape == reference.shape


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_never_a_downgrade(scenario: tuple[str, list[str], str]) -> None:
    current, tags, _ = scenario
    chosen = rank(current, tags).chosen
    if chosen is not None:
        assert comparable(chosen, current)
        assert classify(chosen).key > classify(current).key


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_the_decision_is_independent_of_input_order(scenario: tuple[str, list[str], str], data: st.DataObject) -> None:
    current, tags, _ = scenario
    shuffled = data.draw(st.permutations(tags))
    assert rank(current, shuffled).to_dict() == rank(current, tags).to_dict()


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_never_chosen_over_a_greater_eligible_tag_of_the_same_shape(scenario: tuple[str, list[str], str]) -> None:
    current, tags, _ = scenario
    decision = rank(current, tags)
    current_info = classify(current)
    bar = classify(decision.chosen).key if decision.chosen else current_info.key
    for tag in tags:
        info = classify(tag)
        eligible = not info.is_prerelease or (current_info.is_prerelease and info.release == current_info.release)
        if tag != current and eligible and comparable(tag, current):
            assert info.key <= bar, (tag, decision.chosen)


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_adding_an_older_tag_never_changes_the_choice(scenario: tuple[str, list[str], str]) -> None:
    current, tags, extra = scenario
    before = rank(current, tags)
    bar = classify(before.chosen).key if before.chosen else classify(current).key
    if comparable(extra, current) and classify(extra).key < bar:
        assert rank(current, [*tags, extra]).chosen == before.chosen


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_ranked_is_best_first_and_starts_with_the_choice(scenario: tuple[str, list[str], str]) -> None:
    current, tags, _ = scenario
    decision = rank(current, tags)
    keys = [classify(tag).key for tag in decision.ranked]
    assert keys == sorted(keys, reverse=True)
    assert decision.chosen == (decision.ranked[0] if decision.ranked else None)
    assert current not in decision.ranked
    assert not set(decision.ranked) & set(decision.rejected)


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_every_candidate_is_either_ranked_or_explained(scenario: tuple[str, list[str], str]) -> None:
    current, tags, _ = scenario
    decision = rank(current, tags)
    if decision.needs_push_time or decision.tracks_digest:
        return
    assert set(tags) <= set(decision.ranked) | set(decision.rejected)


sha_history = st.lists(
    st.tuples(st.integers(min_value=0x1000000, max_value=0xFFFFFFF), st.integers(min_value=0, max_value=500)),
    min_size=1,
    max_size=25,
    unique_by=lambda item: item[0],
)


@PROPERTY_SETTINGS
@given(history=sha_history, data=st.data())
def test_hashes_move_to_the_newest_push_after_the_current_one(history: list[tuple[int, int]], data) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    candidates = [Candidate(f"sha-{value:07x}", start + timedelta(hours=hours)) for value, hours in history]
    current = data.draw(st.sampled_from(candidates))
    chosen = rank(current.tag, candidates).chosen
    later = [candidate for candidate in candidates if candidate.pushed_at > current.pushed_at]
    if not later:
        assert chosen is None
    else:
        newest = max(candidate.pushed_at for candidate in later)
        assert chosen in {candidate.tag for candidate in later if candidate.pushed_at == newest}


@PROPERTY_SETTINGS
@given(
    current=st.text(max_size=30),
    tags=st.lists(st.text(max_size=30), max_size=20),
    policy=st.sampled_from(
        [
            TagPolicy(),
            TagPolicy(strategy="semver"),
            TagPolicy(strategy="newest"),
            TagPolicy(strategy="alphabetical"),
            TagPolicy(allow_prerelease=True, max_bump="minor"),
        ]
    ),
)
def test_arbitrary_text_never_crashes(current: str, tags: list[str], policy: TagPolicy) -> None:
    decision = rank(current, tags, policy)
    assert isinstance(decision.to_dict(), dict)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), max_bump=st.sampled_from(["major", "minor", "patch"]))
def test_max_bump_is_respected(scenario: tuple[str, list[str], str], max_bump: str) -> None:
    current, tags, _ = scenario
    chosen = rank(current, tags, TagPolicy(max_bump=max_bump)).chosen
    if chosen is None or classify(current).scheme in ("build", "date", "datetime"):
        return
    old, new = classify(current).release, classify(chosen).release
    first_change = next((index for index, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    allowed_from = {"major": 0, "minor": 1, "patch": 2}[max_bump]
    assert first_change is None or first_change >= allowed_from
