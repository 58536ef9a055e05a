"""`rank`: pick the tag a service should move to, and say why every other tag was not picked.

Pure and deterministic: the result depends on the set of candidates, never on their order, and the
same input gives the same output. Each tag is classified once (and cached), then screened in one pass.

Push times come in two phases. The core loop calls `rank` with what the tag listing gave; if
`needs_push_time` is not empty it fetches those few times (registry API, else the image config's
`created`) and calls `rank` once more with them. The current tag's own push time, when needed, is read
from the candidate with the same tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from registries.tags.decision import Candidate, Decision
from registries.tags.policy import TagPolicy
from registries.tags.schemes import ARTIFACT, FLOATING, GIT_SHA, INVALID, NOT_CANDIDATES, TagInfo, classify
from registries.tags.strategies import (
    Context,
    Entry,
    Outcome,
    rank_alphabetically,
    rank_by_push_time,
    rank_by_semver,
    rank_by_version,
)

PUSH_TIME_FETCH_LIMIT = 10  # at most this many push times are asked for: each may cost a config fetch
_DEFAULT_POLICY = TagPolicy()
_NOT_A_CANDIDATE = {
    INVALID: "not a valid tag: {note}",
    ARTIFACT: "not an image: {note}",
    FLOATING: "floating tag ({note}): never a candidate",
}


def rank(
    current: str,
    candidates: Iterable[Candidate | str],
    policy: TagPolicy = _DEFAULT_POLICY,
    *,
    push_time_limit: int = PUSH_TIME_FETCH_LIMIT,
    ages: Mapping[str, tuple[datetime, str]] | None = None,
    now: datetime | None = None,
) -> Decision:
    """Decide which of `candidates` the service on `current` should move to under `policy`.

    With a minimum age, `ages` says since when each tag exists (tag -> (time, "pushed" or "first seen"));
    without it a candidate's push time counts, and a tag of unknown age is not a candidate. `now` is the
    clock the ages are judged by (default: the current time).
    """
    times = merge_candidates(candidates)
    info = classify(current)
    if policy.pinned is not None:
        return _follow_pin(info, times, policy)
    if info.scheme in (INVALID, ARTIFACT) or policy.strategy == "digest" or info.scheme == FLOATING:
        return _no_ranking(info, policy)
    ctx = Context(
        current=info,
        policy=policy,
        times=times,
        push_time_limit=push_time_limit,
        ages=ages,
        now=now or datetime.now(UTC),
    )
    entries, sha_shapes = _screen(ctx)
    ctx.current = _read_current(info, sha_shapes)
    outcome = _run_strategy(ctx, entries)
    return Decision(
        current=current,
        scheme=ctx.current.scheme,
        shape=ctx.current.shape,
        strategy=policy.strategy,
        chosen=outcome.chosen,
        ranked=outcome.ranked,
        rejected=_sorted_by_tag(ctx.rejected),
        reason=outcome.reason,
        needs_push_time=outcome.needs_push_time,
        tracks_digest=False,
        held_back=dict(sorted(ctx.held_back.items())),
    )


def merge_candidates(candidates: Iterable[Candidate | str]) -> dict[str, datetime | None]:
    """Tag → push time. A tag listed twice keeps its latest known push time, whatever the order."""
    times: dict[str, datetime | None] = {}
    for candidate in candidates:
        if type(candidate) is str:  # a plain tag list, the common case: no time to compare
            times.setdefault(candidate, None)
            continue
        if isinstance(candidate, Candidate):
            tag, pushed = candidate.tag, candidate.pushed_at
        else:
            tag, pushed = candidate, None
        if not isinstance(tag, str):
            tag = f"<not text: {tag!r}>"  # reported as an invalid tag instead of breaking the sort
        known = times.get(tag)
        if known is None or (pushed is not None and pushed > known):
            times[tag] = pushed
    return times


def _screen(ctx: Context) -> tuple[list[Entry], set[str]]:
    """Drop what can never be a candidate; note which commit-hash shapes the repository uses."""
    entries: list[Entry] = []
    sha_shapes: set[str] = set()
    current, times, rejected = ctx.current.tag, ctx.times, ctx.rejected  # locals: this loop runs per tag
    for tag in sorted(times):  # sorted once here keeps the final sort of `rejected` nearly free
        if tag == current:
            rejected[tag] = "the current tag"
            continue
        info = classify(tag)
        scheme = info.scheme
        if scheme in NOT_CANDIDATES:
            rejected[tag] = _NOT_A_CANDIDATE[scheme].format(note=info.note)
            continue
        if scheme == GIT_SHA:
            sha_shapes.add(info.shape)
        entries.append((tag, info, times[tag]))
    return entries, sha_shapes


def _sorted_by_tag(rejected: dict[str, str]) -> dict[str, str]:
    # Sorting the keys alone is faster than sorting (tag, reason) pairs, and tags are unique.
    return {tag: rejected[tag] for tag in sorted(rejected)}


def _read_current(info: TagInfo, sha_shapes: set[str]) -> TagInfo:
    # An all-digit current tag in a repository of commit-hash tags is a hash without a letter: ranking
    # it as a build number would "update" to whichever hash has the bigger digits.
    if info.sha_shape is not None and info.sha_shape in sha_shapes:
        note = "all digits, read as a commit hash like the repository's other tags"
        return TagInfo(tag=info.tag, scheme=GIT_SHA, shape=info.sha_shape, note=note)
    return info


def _run_strategy(ctx: Context, entries: list[Entry]) -> Outcome:
    strategy = ctx.policy.strategy
    if strategy == "semver":
        return rank_by_semver(ctx, entries)
    if strategy == "newest":
        return rank_by_push_time(ctx, entries)
    if strategy == "alphabetical":
        return rank_alphabetically(ctx, entries)
    if ctx.current.ordered:
        return rank_by_version(ctx, entries)
    return rank_by_push_time(ctx, entries)


def _no_ranking(info: TagInfo, policy: TagPolicy) -> Decision:
    if info.scheme == INVALID:
        reason, tracks = f"the current tag {info.tag!r} is not a valid tag ({info.note})", False
    elif info.scheme == ARTIFACT:
        reason, tracks = f"the current tag {info.tag} is not an image ({info.note})", False
    elif policy.strategy == "digest":
        reason, tracks = f"strategy digest: the check compares the digest of {info.tag}", True
    else:
        reason, tracks = f"{info.tag} is a floating tag ({info.note}): the check compares its digest", True
    return _decision(info, policy, chosen=None, reason=reason, tracks_digest=tracks)


def _follow_pin(info: TagInfo, times: dict[str, datetime | None], policy: TagPolicy) -> Decision:
    """An operator's pin wins over everything: move to it if listed, otherwise stay."""
    pin = policy.pinned
    tracks = policy.strategy == "digest" or info.scheme == FLOATING
    if pin == info.tag:
        return _decision(info, policy, chosen=None, reason=f"pinned to {pin}, the current tag", tracks_digest=tracks)
    if pin not in times:
        reason = f"pinned to {pin}, which the registry does not list"
        return _decision(info, policy, chosen=None, reason=reason, tracks_digest=tracks)
    if classify(pin).scheme == ARTIFACT:
        reason = f"pinned to {pin}, which is not an image"
        return _decision(info, policy, chosen=None, reason=reason, tracks_digest=tracks)
    return _decision(info, policy, chosen=pin, reason=f"pinned to {pin}", tracks_digest=False)


def _decision(info: TagInfo, policy: TagPolicy, *, chosen: str | None, reason: str, tracks_digest: bool) -> Decision:
    return Decision(
        current=info.tag,
        scheme=info.scheme,
        shape=info.shape,
        strategy=policy.strategy,
        chosen=chosen,
        ranked=[chosen] if chosen else [],
        rejected={},
        reason=reason,
        needs_push_time=[],
        tracks_digest=tracks_digest,
    )
