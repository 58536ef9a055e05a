"""Classifying a tag: which scheme it follows, its shape, and where it sorts within that shape.

`classify` is called once per tag and cached: a check over many services sharing a repository, and the
second, push-time pass of `rank`, reuse the work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache

from registries.reference import TAG_RE
from registries.tags.parsing import (
    Reading,
    VersionTail,
    is_variant_word,
    looks_like_sha,
    read_core,
    read_release,
    read_tail,
    read_version_tail,
    sha_shape,
    valid_date,
)
from registries.tags.versions import FINAL
from registries.tags.vocabulary import PER_BRANCH_WORDS, SHA_PREFIXES, VARIANT_WORDS

# The schemes, in the order the documentation lists them.
SEMVER = "semver"  # 1.2.3
V_SEMVER = "v-semver"  # v1.2.3
SEMVER_PRERELEASE = "semver-prerelease"  # 1.2.3-rc.1, v2.0.0-beta
SEMVER_VARIANT = "semver-variant"  # 1.25.3-alpine, 0.6.12-ls132, version-1.2.3
PARTIAL = "partial"  # 16, 1.25, 16-alpine
FOUR_PART = "four-part"  # 1.40.0.7998
CALVER = "calver"  # 2024.1.0, 2024.01
DATE = "date"  # 20240115, jammy-20240111, 2024-01-15
DATETIME = "datetime"  # 20240115-103000, 20240115103000
BUILD = "build"  # 1234, build-1234
BRANCH_DATE_SHA = "branch-date-sha"  # main-20240110-abc1234, main-abc1234-1704880000 (Flux)
GIT_SHA = "git-sha"  # abc1234, sha-abc1234, 40-hex
FLOATING = "floating"  # latest, stable, alpine, latest-alpine, pr-123
ARTIFACT = "artifact"  # sha256-<64hex>.sig / .att / .sbom, buildcache
GENERIC = "generic"  # anything else with a number in it
INVALID = "invalid"  # not a tag at all

SCHEMES = (
    SEMVER,
    V_SEMVER,
    SEMVER_PRERELEASE,
    SEMVER_VARIANT,
    PARTIAL,
    FOUR_PART,
    CALVER,
    DATE,
    DATETIME,
    BUILD,
    BRANCH_DATE_SHA,
    GIT_SHA,
    FLOATING,
    ARTIFACT,
    GENERIC,
    INVALID,
)
NOT_CANDIDATES = frozenset({FLOATING, ARTIFACT, INVALID})

# Tags that are not runnable images, each with the reason the explanation gives.
_ARTIFACT_RULES = (
    (re.compile(r"\.sig$"), "a cosign signature"),
    (re.compile(r"\.att$"), "a cosign attestation"),
    (re.compile(r"\.sbom$"), "an SBOM"),
    (re.compile(r"^sha256-[0-9a-f]{64}(?:\.\w+)?$"), "an artifact attached to an image digest"),
    (re.compile(r"(?:^|-)(?:build)?cache(?:-|$)", re.IGNORECASE), "a build cache"),
)
# A number first, then nothing or anything after a dash: `1.25.3`, `v2`, `1.2.3-rc.1`, `20240115-103000`.
_LEADING_NUMBER_RE = re.compile(r"([vV]?)(\d+(?:\.\d+)*)(?:-([A-Za-z0-9_.-]*))?\Z")
_VARIANT_WORDS_RE = re.compile(r"[A-Za-z][A-Za-z0-9.]*(?:-[A-Za-z][A-Za-z0-9.]*)*\Z")
_MAX_TAG_LENGTH = 128
_HEX_RE = re.compile(r"^[0-9a-f]{7,64}$")
# ISO 8601-like stamps with a `T`, as MinIO writes them: `RELEASE.2024-01-16T16-07-38Z`.
_ISO_STAMP_RE = re.compile(
    r"^(?:(?P<prefix>[A-Za-z][A-Za-z0-9_]*)(?P<sep>[.-]))?(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"T(?P<h>\d{2})(?P<s1>[-_.]?)(?P<mi>\d{2})(?:(?P<s2>[-_.]?)(?P<s>\d{2}))?(?P<z>Z?)$"
)
_WORD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
_WORDS_PREFIX = r"(?:(?P<prefix>[A-Za-z][A-Za-z0-9_.]*(?:-[A-Za-z][A-Za-z0-9_.]*)*)-)?"
_SHA_TAG_RE = re.compile(rf"^{_WORDS_PREFIX}(?P<sha>[0-9a-f]{{7,64}})$")
_FLUX_RE = re.compile(rf"^{_WORDS_PREFIX}(?P<sha>[0-9a-f]{{7,40}})-(?P<epoch>\d{{10}})$")  # Flux: branch-sha-unixtime
_HEX_DIGIT_RUN_RE = re.compile(r"[0-9a-f]*\d[0-9a-f]*")
_BUILD_WORDS = frozenset({"build", "b", "run", "ci", "job", "pipeline", "rev", "revision"})
_FLOATING_PREFIX_WORDS = VARIANT_WORDS | PER_BRANCH_WORDS


@dataclass(frozen=True, slots=True, init=False)
class TagInfo:
    """What a tag is: its scheme, its shape (candidates must share it) and its order within the shape."""

    tag: str
    scheme: str
    shape: str
    key: tuple | None  # order within the shape; None: no order of its own (push time decides)
    release: tuple[int, ...]
    prerelease: str | None  # the prerelease as written (`rc.1`, `b1`); None for a release
    coarse: bool  # equal keys may still be different builds (a commit hash in the tag)
    note: str  # why the tag is floating, an artifact or invalid
    sha_shape: str | None  # an all-digit tag that may be a commit hash: the hash shape it would have

    def __init__(
        self,
        tag: str,
        scheme: str,
        shape: str,
        key: tuple | None = None,
        release: tuple[int, ...] = (),
        prerelease: str | None = None,
        coarse: bool = False,
        note: str = "",
        sha_shape: str | None = None,
    ) -> None:
        # `classify` builds one per tag. The generated frozen __init__ calls object.__setattr__ for each
        # field; writing the slots through their descriptors does the same in half the time.
        _set_tag(self, tag)
        _set_scheme(self, scheme)
        _set_shape(self, shape)
        _set_key(self, key)
        _set_release(self, release)
        _set_prerelease(self, prerelease)
        _set_coarse(self, coarse)
        _set_note(self, note)
        _set_sha_shape(self, sha_shape)

    @property
    def is_prerelease(self) -> bool:
        return self.prerelease is not None

    @property
    def ordered(self) -> bool:
        return self.key is not None


_set_tag, _set_scheme, _set_shape, _set_key, _set_release, _set_prerelease, _set_coarse, _set_note, _set_sha_shape = (
    getattr(TagInfo, field.name).__set__ for field in fields(TagInfo)
)


def is_floating(tag: str) -> bool:
    """True for tags that name a moving target (`latest`, `stable`, `alpine`, `lts-alpine3.19`, `pr-12`)."""
    return classify(tag).scheme == FLOATING


@lru_cache(maxsize=65536)
def classify(tag: str) -> TagInfo:
    """Read one tag. Never raises: anything unreadable is `generic` or `invalid`, with a note why."""
    if not isinstance(tag, str):
        return TagInfo(tag=str(tag), scheme=INVALID, shape="", note="not text")
    # Most tags start with a number, and the pattern for that only matches valid tags: they skip TAG_RE.
    # (`\d` also matches other scripts' digits, which TAG_RE refuses: hence isascii.)
    leading = _LEADING_NUMBER_RE.match(tag) if tag.isascii() else None
    if leading and len(tag) <= _MAX_TAG_LENGTH:
        v, release_text, tail = leading.groups()
        if tail is None and (v or "." in tag or len(tag) not in (8, 12, 14)):  # (8, 12 or 14 digits: a date?)
            return _plain_version(tag, v, release_text)
        if tail is not None:
            return _number_with_tail(tag, v, release_text, tail)
    if not TAG_RE.match(tag):
        return TagInfo(tag, INVALID, "", note="must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
    return _classify_special(tag) or _classify_segments(tag)


def _classify_special(tag: str) -> TagInfo | None:
    """Artifacts, ISO 8601 stamps and commit-hash tags: forms that reading piece by piece would get wrong."""
    if _may_be_artifact(tag):
        artifact = _classify_artifact(tag)
        if artifact is not None:
            return artifact
    if "T" in tag:
        stamp = _classify_iso_stamp(tag)
        if stamp is not None:
            return stamp
    if _ends_with_hex(tag):
        return _classify_commit_tags(tag, tag.rpartition("-")[2])
    return None


def _may_be_special(text: str) -> bool:
    """Whether `text`, a tag or its end, shows what `_classify_special` looks for; cheap, and never wrong when False."""
    return _may_be_artifact(text) or "T" in text or _ends_with_hex(text)


def _may_be_artifact(text: str) -> bool:
    return text.endswith((".sig", ".att", ".sbom")) or text.startswith("sha256-") or "cache" in text.lower()


def _ends_with_hex(text: str) -> bool:
    last = text.rpartition("-")[2]
    return len(last) >= 7 and _HEX_RE.match(last) is not None


def _classify_artifact(tag: str) -> TagInfo | None:
    for pattern, what in _ARTIFACT_RULES:
        if pattern.search(tag):
            return TagInfo(tag, ARTIFACT, "", note=what)
    return None


def _plain_version(tag: str, v: str, release_text: str) -> TagInfo:
    """The common case without a prefix or suffix (`1.25.3`, `v2`, `18.04`), read without the full parser."""
    release, shape = read_release(release_text)
    shape = v + shape
    scheme = _version_scheme(release, shape, decorated=False, prerelease=False)
    return TagInfo(tag, scheme, shape, (release, FINAL, ()), release, None, False, "", shape_if_hash_length(tag))


def _number_with_tail(tag: str, v: str, release_text: str, tail_text: str) -> TagInfo:
    """A number, a dash and more: `1.2.3-rc.1`, `1.25.3-alpine`, `0.6.12-ls132`, `20240115-103000`.

    The same answer as the general order (special forms, then piece by piece), found faster: a version
    core is read directly and its tail once per distinct text (`_ordinary_tail`).
    """
    version_core = v or not _may_be_date(release_text)
    if version_core:
        tail = _ordinary_tail(tail_text)
        if tail is not None:
            return _version_with_tail(tag, v, release_text, tail)
    special = _classify_special(tag)
    if special is not None:
        return special
    if version_core:
        return _version_with_tail(tag, v, release_text, read_version_tail(tail_text))
    if tail_text[:1].isalpha():
        # Variant words after a number that could be a date (`20240115.1030-alpine`): a version, as
        # `20240115.1030` alone is.
        variant = _version_with_variant(tag, v, release_text, tail_text)
        if variant is not None:
            return variant
    return _classify_from_core(tag, tag.split("-"), 0)  # its first piece is a number: the core


def _may_be_date(release_text: str) -> bool:
    # What `read_core` tries as a date: a year alone (`2024-01-15`) or eight digits first (`20240115`).
    return (len(release_text) == 4 and release_text.isdigit()) or (
        len(release_text) >= 8 and release_text[:8].isdigit()
    )


@lru_cache(maxsize=8192)
def _ordinary_tail(tail_text: str) -> VersionTail | None:
    """The reading of a version's tail, or None when the tag may be an artifact, ISO stamp or commit-hash tag.

    Cached: a repository repeats a few tails (`rc.1`, `alpine`, `ls5`) over many versions, and the tail
    alone decides whether the special forms need a look (the version before it cannot match them).
    """
    return None if _may_be_special(tail_text) else read_version_tail(tail_text)


def _version_with_tail(tag: str, v: str, release_text: str, tail: VersionTail) -> TagInfo:
    """What the full parser reads for a version core with no glued suffix, without splitting the tag again."""
    if tail.generic:
        return _generic(tag)
    release, core_shape = read_release(release_text)
    core_shape = v + core_shape
    scheme = _version_scheme(release, core_shape, decorated=tail.decorated, prerelease=tail.pre_key != FINAL)
    key = (release, tail.pre_key, tail.numbers)
    return TagInfo(tag, scheme, core_shape + tail.shape, key, release, tail.pre_label, tail.has_sha)


def _version_with_variant(tag: str, v: str, release_text: str, tail_text: str) -> TagInfo | None:
    """A version and only variant words (`-alpine`, `-slim-bookworm`), or None for the full parser to decide."""
    if not (v or "." in release_text or len(release_text) not in (8, 12, 14)):
        return None
    if not _VARIANT_WORDS_RE.match(tail_text) or not all(map(is_variant_word, tail_text.split("-"))):
        return None
    return _version_with_tail(tag, v, release_text, read_version_tail(tail_text))


def _classify_iso_stamp(tag: str) -> TagInfo | None:
    match = _ISO_STAMP_RE.match(tag)
    if match is None or not valid_date(match["y"] + match["mo"] + match["d"]):
        return None
    stamp = tuple(int(match[name] or 0) for name in ("y", "mo", "d", "h", "mi", "s"))
    seconds = f"{match['s2']}SS" if match["s"] else ""
    shape = f"{match['prefix'] or ''}{match['sep'] or ''}YYYY-MM-DDTHH{match['s1']}MM{seconds}{match['z']}"
    return TagInfo(tag, DATETIME, shape, (stamp, FINAL, ()), stamp)


def _classify_commit_tags(tag: str, last: str) -> TagInfo | None:
    """Tags built around a commit hash: `abc1234`, `sha-abc1234`, Flux's `main-abc1234-1704880000`."""
    flux = _FLUX_RE.match(tag) if len(last) == 10 and last.isdigit() else None  # Flux's last piece: the epoch
    if flux and (looks_like_sha(flux["sha"]) or flux["sha"].isdigit()):
        shape = _prefixed(flux["prefix"], f"{sha_shape(len(flux['sha']))}-EPOCH")
        epoch = (int(flux["epoch"]),)
        return TagInfo(tag=tag, scheme=BRANCH_DATE_SHA, shape=shape, key=(epoch, FINAL, ()), release=epoch, coarse=True)
    match = _SHA_TAG_RE.match(tag)
    if match is None:
        return None
    prefix, sha = match.groups()
    if not looks_like_sha(sha) and not (sha.isdigit() and _announces_sha(prefix)):
        return None
    return TagInfo(tag, GIT_SHA, _prefixed(prefix, sha_shape(len(sha))))


def _announces_sha(prefix: str | None) -> bool:
    # `sha-1234567`: after such a word an all-digit piece is still a hash.
    return prefix is not None and prefix.rsplit("-", 1)[-1].lower() in SHA_PREFIXES


def _prefixed(prefix: str | None, shape: str) -> str:
    return f"{prefix}-{shape}" if prefix else shape


def _classify_segments(tag: str) -> TagInfo:
    segments = tag.split("-")
    start = _core_index(segments)
    if start is None:
        return _floating(tag)
    return _classify_from_core(tag, segments, start)


def _classify_from_core(tag: str, segments: list[str], start: int) -> TagInfo:
    """Read the tag from its core, `segments[start]`, on: what comes before it is the prefix."""
    prefix = segments[:start]
    core = read_core(segments, start)
    if core is None:
        return _generic(tag)
    reading, used = core
    if reading.kind == "version" and prefix and prefix[-1].lower() in _FLOATING_PREFIX_WORDS:
        if prefix[-1].lower() in PER_BRANCH_WORDS:
            note = "a per-branch tag: its number names another line of work, not a newer build"
        else:
            note = "a base image or runtime with its version: it moves with that base"
        return TagInfo(tag, FLOATING, "", note=note)
    if start + used < len(segments):
        read_tail(reading, segments[start + used :])
    if reading.generic:  # a piece of the tail, or the core's glued suffix (`3206.vb_15dcf73f6a_9`)
        return _generic(tag)
    return _from_reading(tag, prefix, reading)


def _core_index(segments: list[str]) -> int | None:
    """Index of the first segment that is not a word, or None if every segment is a word."""
    for index, segment in enumerate(segments):
        if not _WORD_RE.match(segment) or (segment[0] in "vV" and segment[1:2].isdigit()):
            return index
    return None


def _floating(tag: str) -> TagInfo:
    # Only words (`latest`, `stable-alpine`, `alpine3.19`, `python3.11-slim`): a name, not a version.
    # Such a tag is re-pointed as its line moves, so it is tracked by digest and never a candidate.
    return TagInfo(tag, FLOATING, "", note="a name, not a version")


def _generic(tag: str) -> TagInfo:
    return TagInfo(tag, GENERIC, _HEX_DIGIT_RUN_RE.sub("#", tag))


def _from_reading(tag: str, prefix: list[str], reading: Reading) -> TagInfo:
    shape = f"{'-'.join(prefix)}-{reading.shape}" if prefix else reading.shape
    sha = shape_if_hash_length(tag) if not prefix and reading.kind == "version" else None
    scheme = _scheme_of(prefix, reading)
    return TagInfo(tag, scheme, shape, reading.key, reading.release, reading.pre_label, reading.has_sha, "", sha)


def _scheme_of(prefix: list[str], reading: Reading) -> str:
    if reading.kind != "version":
        if reading.has_sha:
            return BRANCH_DATE_SHA
        return DATETIME if reading.kind == "datetime" else DATE
    return _version_scheme(
        reading.release,
        reading.core_shape,
        decorated=bool(prefix or reading.tail_shape or reading.has_variant),
        prerelease=reading.pre_key != FINAL,
        counter_prefix=bool(prefix) and prefix[-1].lower() in _BUILD_WORDS,
    )


def _version_scheme(
    release: tuple[int, ...], core_shape: str, *, decorated: bool, prerelease: bool, counter_prefix: bool = False
) -> str:
    """Name the scheme of a numeric version from its length and decorations (`v`, prefix, suffix)."""
    if core_shape.lstrip("vV").startswith("YYYY"):
        return CALVER
    if len(release) == 1:
        return BUILD if release[0] >= 1000 or counter_prefix else PARTIAL
    if len(release) == 2:
        return PARTIAL
    if len(release) >= 4:
        return FOUR_PART
    if prerelease:
        return SEMVER_PRERELEASE
    if decorated:
        return SEMVER_VARIANT
    return V_SEMVER if core_shape[:1] in "vV" else SEMVER


def shape_if_hash_length(tag: str) -> str | None:
    # An all-digit tag of hash length may be a commit hash that happens to have no letter (1 in 27 of
    # 7-character hashes): `rank` treats it as one when the repository's other tags are hashes.
    if len(tag) < 7 or len(tag) > 64 or not tag.isdigit():
        return None
    return sha_shape(len(tag))
