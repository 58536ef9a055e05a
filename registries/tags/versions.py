"""Comparing versions: prerelease order, PEP 440 tails, bump levels and SemVer 2.0 precedence.

Every function here works on numbers already taken out of a tag, so comparisons are numeric
(`1.10` > `1.9`, `18.04` == `18.4`) and never string-based.
"""

from __future__ import annotations

import re
from functools import lru_cache

from packaging.version import InvalidVersion, Version

from registries.tags.vocabulary import FINAL_RANK, PRERELEASE_RANK

# (rank, number, 1 unless a dev build of that prerelease, dev number). Tuples sort the way releases do:
# `1.0.dev1` < `1.0a1` < `1.0b2` < `1.0rc1.dev1` < `1.0rc1` < `1.0`.
PreKey = tuple[int, int, int, int]
FINAL: PreKey = (FINAL_RANK, 0, 1, 0)

BUMP_LEVELS = ("major", "minor", "patch")
_PEP440_TAIL_HINT_RE = re.compile(r"[._-]?(?:a|b|c|rc|alpha|beta|pre|preview|dev|post|rev|r)", re.IGNORECASE)
_BUMP_RANK = {"patch": 1, "minor": 2, "major": 3}


def prerelease_key(word: str, number: int = 0) -> PreKey:
    """Sort key of a prerelease written as a word and a number (`rc`, 1)."""
    return (PRERELEASE_RANK[word.lower()], number, 1, 0)


def is_prerelease_key(key: PreKey) -> bool:
    return key < FINAL


class Pep440Tail:
    """What a PEP 440 suffix glued to a release means: `b1` (a prerelease), `.post2` (a revision)."""

    __slots__ = ("label", "post", "pre_key")

    def __init__(self, pre_key: PreKey, post: int | None, label: str) -> None:
        self.pre_key = pre_key
        self.post = post
        self.label = label


def read_pep440_tail(release_text: str, tail: str) -> Pep440Tail | None:
    """Read `tail` as the PEP 440 part of `release_text + tail`, or return None if it is not one.

    `packaging` does the parsing so `2024.1.0b1`, `3.13.0rc1`, `1.0_beta` and `2024.2.0.dev20240110`
    all follow PEP 440's own normalisation. Local versions (`+…`) cannot occur: `+` is not a tag character.
    """
    if not _PEP440_TAIL_HINT_RE.match(tail):
        return None  # `.Final`, `x`: not PEP 440, and cheaper to say so than to catch packaging's error
    try:
        version = Version(release_text + tail)
    except InvalidVersion:
        return None
    if version.epoch or version.local:
        return None
    if version.pre is not None and version.dev is not None:
        pre_key = (PRERELEASE_RANK[version.pre[0]], version.pre[1], 0, version.dev)  # `rc1.dev2` < `rc1`
    elif version.pre is not None:
        pre_key = prerelease_key(version.pre[0], version.pre[1])
    elif version.dev is not None:
        pre_key = prerelease_key("dev", version.dev)
    else:
        pre_key = FINAL
    return Pep440Tail(pre_key, version.post, tail.lstrip("._-"))


def bump_level(old: tuple[int, ...], new: tuple[int, ...]) -> str | None:
    """How far `new` moves from `old`: the first release number that differs names the bump.

    Returns None when the release numbers are equal (a prerelease to its release, or a new revision).
    """
    for index, (before, after) in enumerate(zip(old, new, strict=False)):
        if before != after:
            return BUMP_LEVELS[min(index, 2)]
    return None


def bump_exceeds(level: str | None, max_bump: str | None) -> bool:
    """True if a bump of `level` is larger than the policy's `max_bump` allows."""
    if level is None or max_bump is None:
        return False
    return _BUMP_RANK[level] > _BUMP_RANK[max_bump]


# SemVer 2.0.0 (https://semver.org) with an optional `v`; build metadata cannot occur in a tag.
_SEMVER_IDENTIFIER = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER_RE = re.compile(
    rf"^[vV]?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-({_SEMVER_IDENTIFIER}(?:\.{_SEMVER_IDENTIFIER})*))?$"
)
SemverKey = tuple[int, int, int, tuple]


@lru_cache(maxsize=65536)
def semver_key(tag: str) -> SemverKey | None:
    """SemVer 2.0 precedence key of `tag`, or None if it is not a SemVer version.

    Prerelease identifiers compare numerically when numeric and lexically otherwise; a numeric one sorts
    below an alphanumeric one, and a version without a prerelease sorts above every prerelease of it.
    """
    match = _SEMVER_RE.match(tag)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), (1,))
    identifiers = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (int(major), int(minor), int(patch), (0, identifiers))


def semver_is_prerelease(key: SemverKey) -> bool:
    return key[3] != (1,)
