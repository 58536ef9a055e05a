"""The ranking strategies. Each takes the screened candidates and returns an `Outcome`.

* `auto` — by version within the current tag's shape; push time only breaks ties between builds of the
  same version (commit hashes in the tag) and orders tags with no order of their own (git shas, generic).
* `semver` — SemVer 2.0 precedence over every SemVer tag; any `-suffix` is a prerelease.
* `newest` — by push time within the current tag's shape (like Argo CD's `newest-build`).
* `alphabetical` — by plain string order within the current tag's shape (like Argo CD's `alphabetical`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from registries.tags.policy import TagPolicy, compile_pattern
from registries.tags.schemes import (
    CALVER,
    FOUR_PART,
    PARTIAL,
    SEMVER,
    SEMVER_PRERELEASE,
    SEMVER_VARIANT,
    V_SEMVER,
    TagInfo,
)
from registries.tags.versions import bump_exceeds, bump_level, semver_is_prerelease, semver_key
from registries.tags.windows import format_duration

Entry = tuple[str, TagInfo, datetime | None]
_OLDEST = datetime.min.replace(tzinfo=UTC)
# Schemes whose numbers are major.minor.patch-like, so `max_bump` means something for them.
_BUMP_SCHEMES = frozenset({SEMVER, V_SEMVER, SEMVER_PRERELEASE, SEMVER_VARIANT, PARTIAL, FOUR_PART, CALVER})


@dataclass
class Context:
    """One ranking run: the current tag, the policy, every listed tag's push time, and the findings."""

    current: TagInfo
    policy: TagPolicy
    times: dict[str, datetime | None]
    push_time_limit: int
    rejected: dict[str, str] = field(default_factory=dict)
    held_back: Counter[str] = field(default_factory=Counter)
    # For a minimum age: tag -> (since when it exists, "pushed" or "first seen"); else the push times count.
    ages: Mapping[str, tuple[datetime, str]] | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def reject(self, tag: str, reason: str) -> None:
        self.rejected[tag] = reason

    def age_of(self, tag: str) -> tuple[datetime, str] | None:
        if self.ages is not None and tag in self.ages:
            return self.ages[tag]
        pushed = self.times.get(tag)
        return (pushed, "pushed") if pushed is not None else None


@dataclass
class Outcome:
    """A strategy's answer. `chosen` is `ranked[0]`, or None with `ranked` empty."""

    chosen: str | None
    ranked: list[str]
    reason: str
    needs_push_time: list[str] = field(default_factory=list)


def members_of_shape(ctx: Context, entries: list[Entry]) -> list[Entry]:
    """Keep the candidates with the current tag's shape (plus all-digit hashes next to hex ones)."""
    shape, scheme, rejected = ctx.current.shape, ctx.current.scheme, ctx.rejected  # locals: this loop runs per tag
    members = []
    for entry in entries:
        info = entry[1]
        if info.shape == shape or info.sha_shape == shape:
            members.append(entry)
        elif info.scheme != scheme:
            rejected[entry[0]] = f"different scheme: {info.scheme} {info.shape}"
        else:
            rejected[entry[0]] = f"different shape: {info.shape}"
    return members


def policy_gate(ctx: Context, entries: list[Entry]) -> list[Entry]:
    """Apply the policy's filters in a fixed order; each rejection names its rule."""
    policy = ctx.policy
    include = compile_pattern(policy.include) if policy.include is not None else None
    exclude = compile_pattern(policy.exclude) if policy.exclude is not None else None
    kept = []
    for entry in entries:
        rule, reason = _first_failed_rule(ctx, entry[0], entry[1], include, exclude)
        if rule is None:
            kept.append(entry)
        else:
            ctx.held_back[rule] += 1
            ctx.reject(entry[0], reason)
    return kept


def _first_failed_rule(
    ctx: Context, tag: str, info: TagInfo, include: re.Pattern[str] | None, exclude: re.Pattern[str] | None
) -> tuple[str | None, str]:
    policy, current = ctx.policy, ctx.current
    if tag in policy.ignored:
        return "ignored", "ignored by policy"
    if exclude is not None and exclude.search(tag):
        return "exclude", f"matches exclude /{policy.exclude}/"
    if include is not None and not include.search(tag):
        return "include", f"does not match include /{policy.include}/"
    if info.is_prerelease and not policy.allow_prerelease:
        if not current.is_prerelease:
            return "prerelease", f"prerelease ({info.prerelease}); the current tag is a release"
        if info.release != current.release:
            return "prerelease", f"prerelease ({info.prerelease}) of another release than the current one"
    if policy.max_bump is not None and current.scheme in _BUMP_SCHEMES:
        level = bump_level(current.release, info.release)
        if bump_exceeds(level, policy.max_bump):
            change = f"{_dotted(current.release)} → {_dotted(info.release)}"
            return "max-bump", f"{level} bump {change} exceeds max-bump {policy.max_bump}"
    if policy.min_age is not None:
        return _min_age_rule(ctx, tag, policy.min_age)
    return None, ""


def _min_age_rule(ctx: Context, tag: str, min_age: timedelta) -> tuple[str | None, str]:
    """Renovate's minimum release age: a tag pushed within the last `min_age` is not a candidate yet."""
    age = ctx.age_of(tag)
    if age is None:
        return "min-age", f"age unknown, minimum age {format_duration(min_age)}"
    since, how = age
    if ctx.now - since < min_age:
        return "min-age", f"{how} {format_duration(max(ctx.now - since, timedelta(0)))} ago, minimum age " + (
            format_duration(min_age)
        )
    return None, ""


def _dotted(release: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in release)


def _held_back_note(ctx: Context) -> str:
    if not ctx.held_back:
        return ""
    counts = ", ".join(f"{count} by {rule}" for rule, count in sorted(ctx.held_back.items()))
    return f" (held back by policy: {counts})"


def rank_by_version(ctx: Context, entries: list[Entry]) -> Outcome:
    """`auto` for ordered shapes: the highest version above the current one wins."""
    current = ctx.current
    greater, same_build_key = [], []
    for entry in members_of_shape(ctx, entries):
        key = entry[1].key
        if key > current.key:
            greater.append(entry)
        elif key == current.key and current.coarse:
            same_build_key.append(entry)  # same version or date, another commit: push time decides
        elif key == current.key:
            ctx.reject(entry[0], f"the same version as {current.tag}")
        else:
            ctx.reject(entry[0], f"older than {current.tag}")
    greater = policy_gate(ctx, greater)
    if not greater:
        if same_build_key:
            return rank_by_push_time(ctx, same_build_key, screened=False)
        noun = "release" if current.scheme in _BUMP_SCHEMES else "tag"
        return Outcome(None, [], f"no {current.shape} {noun} newer than {current.tag}{_held_back_note(ctx)}")
    greater.sort(key=lambda entry: (entry[1].key, entry[2] or _OLDEST, entry[0]), reverse=True)
    ranked = [entry[0] for entry in greater]
    top = [entry for entry in greater if entry[1].key == greater[0][1].key]
    missing = [tag for tag, _, pushed in top if pushed is None]
    noun = "release" if current.scheme in _BUMP_SCHEMES else "tag"
    if len(top) > 1 and current.coarse:
        if missing:
            reason = f"{len(top)} {current.shape} tags tie at the highest {noun}; push times needed to pick one"
            return Outcome(None, [], reason, needs_push_time=_capped(ctx, missing))
        reason = f"{ranked[0]} is the newest by push time of {len(top)} {current.shape} tags tied at the highest {noun}"
        return Outcome(ranked[0], ranked, reason)
    return Outcome(ranked[0], ranked, f"{ranked[0]} is the highest {current.shape} {noun} above {current.tag}")


def rank_by_push_time(ctx: Context, entries: list[Entry], *, screened: bool = True) -> Outcome:
    """Tags with no order of their own: those pushed after the current tag, newest first."""
    current = ctx.current
    members = policy_gate(ctx, members_of_shape(ctx, entries) if screened else entries)
    if not members:
        return Outcome(None, [], f"no other {current.shape} tag to move to{_held_back_note(ctx)}")
    current_time = ctx.times.get(current.tag)
    missing = sorted(tag for tag, _, pushed in members if pushed is None)
    if current_time is None:
        missing = sorted([*missing, current.tag])
    if missing:
        return _needs_push_times(ctx, missing)
    newer = []
    for entry in members:
        if entry[2] > current_time:
            newer.append(entry)
        else:
            ctx.reject(entry[0], f"pushed {'with' if entry[2] == current_time else 'before'} {current.tag}")
    if not newer:
        return Outcome(None, [], f"no {current.shape} tag pushed after {current.tag}{_held_back_note(ctx)}")
    newer.sort(key=lambda entry: (entry[2], entry[0]), reverse=True)
    ranked = [entry[0] for entry in newer]
    return Outcome(ranked[0], ranked, f"{ranked[0]} is the newest {current.shape} tag by push time")


def _needs_push_times(ctx: Context, missing: list[str]) -> Outcome:
    current = ctx.current
    if len(missing) > ctx.push_time_limit:
        reason = (
            f"{current.scheme} tags have no order of their own and {len(missing)} lack a push time, more than "
            f"{ctx.push_time_limit} to fetch: ranking them needs a registry that reports push times"
        )
        return Outcome(None, [], reason)
    unlisted = "" if current.tag in ctx.times else f"; the registry does not list {current.tag}"
    reason = f"{current.scheme} tags have no order of their own: {len(missing)} push times needed{unlisted}"
    return Outcome(None, [], reason, needs_push_time=missing)


def _capped(ctx: Context, tags: list[str]) -> list[str]:
    return sorted(tags)[: ctx.push_time_limit]


def rank_alphabetically(ctx: Context, entries: list[Entry]) -> Outcome:
    """Plain string order within the current shape; for schemes like `YYYY-MM-DD` written by hand."""
    current = ctx.current
    later = []
    for entry in members_of_shape(ctx, entries):
        if entry[0] > current.tag:
            later.append(entry)
        else:
            ctx.reject(entry[0], f"sorts before {current.tag}")
    later = sorted(policy_gate(ctx, later), key=lambda entry: entry[0], reverse=True)
    if not later:
        return Outcome(None, [], f"no {current.shape} tag sorts after {current.tag}{_held_back_note(ctx)}")
    ranked = [entry[0] for entry in later]
    return Outcome(ranked[0], ranked, f"{ranked[0]} is the last {current.shape} tag in alphabetical order")


def rank_by_semver(ctx: Context, entries: list[Entry]) -> Outcome:
    """SemVer 2.0 precedence across every SemVer tag (with or without `v`); `-anything` is a prerelease."""
    current_key = semver_key(ctx.current.tag)
    if current_key is None:
        return Outcome(None, [], f"{ctx.current.tag} is not a SemVer version; the semver strategy cannot rank it")
    current = ctx.current = _as_semver_info(ctx.current, current_key)
    greater = []
    for entry in entries:
        key = semver_key(entry[0])
        if key is None:
            ctx.reject(entry[0], "not a SemVer version")
        elif key <= current_key:
            ctx.reject(entry[0], f"not above {current.tag} in SemVer precedence")
        else:
            greater.append((entry[0], _as_semver_info(entry[1], key), entry[2]))
    greater = policy_gate(ctx, greater)
    if not greater:
        return Outcome(None, [], f"no SemVer release above {current.tag}{_held_back_note(ctx)}")
    v_style = current.tag[:1] in "vV"

    def order(entry: Entry) -> tuple:
        # Equal precedence (`v1.2.4` and `1.2.4`): keep the current tag's spelling.
        return (semver_key(entry[0]), (entry[0][:1] in "vV") == v_style, entry[2] or _OLDEST, entry[0])

    greater.sort(key=order, reverse=True)
    ranked = [entry[0] for entry in greater]
    return Outcome(ranked[0], ranked, f"{ranked[0]} is the highest SemVer release above {current.tag}")


def _as_semver_info(info: TagInfo, key: tuple) -> TagInfo:
    # Under `semver`, prerelease-ness comes from SemVer itself: `1.2.3-alpine` is a prerelease of 1.2.3.
    prerelease = info.tag.split("-", 1)[1] if semver_is_prerelease(key) else None
    return TagInfo(tag=info.tag, scheme=info.scheme, shape=info.shape, release=key[:3], prerelease=prerelease)
