"""Reading the pieces of a version-like tag: the numeric core and what follows it.

A tag is read as `[prefix-]core[-tail…]`, split on `-`:

* the core is a version (`v1.25.3`, `2024.1.0b1`), a date (`20240115`, `2024-01-15`) or a date-time
  (`20240115-103000`, `20240115103000`);
* each tail piece is a prerelease (`rc.1`, `SNAPSHOT`), a revision that should grow (`-1` right after the
  core, `-ls132` or `-r20` at the end), a commit hash (build metadata, ignored for order), or part of the
  variant (`alpine`, `slim-bookworm`, `debian-11`, `alpine3.19`), which must match exactly.

The result is a `Reading`: a shape (the compatibility key, e.g. `X.Y.Z-alpine`) and an order key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from registries.tags.versions import FINAL, PreKey, prerelease_key, read_pep440_tail
from registries.tags.vocabulary import PRERELEASE_SEGMENT_RE

_CORE_RE = re.compile(r"^(?P<v>[vV]?)(?P<release>\d+(?:\.\d+)*)(?P<glued>[A-Za-z_.][A-Za-z0-9_.]*)?$")
_COMPACT_DATE_RE = re.compile(r"^(?P<date>\d{8})(?:(?P<sep>[T_.]?)(?P<time>\d{6}|\d{4}))?(?P<z>Z?)$")
_GLUED_BUILD_RE = re.compile(r"^_(\d+)$")
_REVISION_RE = re.compile(r"^(?P<kind>ls|r)(?P<num>\d+)$")
_HEX_SHA_RE = re.compile(r"^[0-9a-f]{7,64}$")
_GIT_DESCRIBE_SHA_RE = re.compile(r"^g[0-9a-f]{7,40}$")  # `git describe`: v1.2.3-4-gabc1234
_DIGITS_RE = re.compile(r"\d+")
_TOKEN_SPLIT_RE = re.compile(r"[._]")

_PLACEHOLDERS = {1: "N", 2: "X.Y", 3: "X.Y.Z", 4: "W.X.Y.Z"}
_CALVER_PLACEHOLDERS = {2: "YYYY.M", 3: "YYYY.M.P"}
YEAR_RANGE = range(2000, 2100)
_YEARS = frozenset(str(year) for year in YEAR_RANGE)


class _NumberTable(dict):
    """Text → int for version numbers: most parts are small, and a dict hit is cheaper than int()."""

    def __missing__(self, text: str) -> int:
        return int(text)  # `007`, `7998`: not stored, so the table stays small


_number = _NumberTable((str(number), number) for number in range(1000)).__getitem__


@dataclass(slots=True)
class Reading:
    """A tag read as core + tail; `generic` is set when some piece cannot be read."""

    kind: str  # "version", "date" or "datetime"
    v: str = ""
    release: tuple[int, ...] = ()
    core_shape: str = ""
    pre_key: PreKey = FINAL
    pre_label: str | None = None
    numbers: list[int] = field(default_factory=list)  # revisions and numeric data, in tail order
    tail_shape: list[str] = field(default_factory=list)
    has_variant: bool = False
    has_sha: bool = False
    generic: bool = False

    @property
    def shape(self) -> str:
        return "-".join([self.core_shape, *self.tail_shape])

    @property
    def key(self) -> tuple:
        return (self.release, self.pre_key, tuple(self.numbers))


def looks_like_sha(segment: str) -> bool:
    """A hex commit hash: 7 to 64 lower-case hex characters, not all digits (Renovate's rule).

    All-letter hashes (`fffffab`, 1 in 1,000 short hashes) count too: English words made only of a-f
    with 7 or more letters (`defaced`) do not occur as tags.
    """
    return _HEX_SHA_RE.match(segment) is not None and not segment.isdigit()


def sha_shape(length: int) -> str:
    # The length is part of the shape: one repository sticks to one hash length, and a 40-character
    # hash next to 7-character ones is another convention (another CI job), not a newer build.
    return f"SHA{length}"


def date_numbers(text: str) -> tuple[int, int, int] | None:
    """`(2024, 1, 15)` for `20240115`, or None if the eight digits are not a date from 2000 to 2099."""
    year, month_day = divmod(int(text), 10000)  # one int() instead of three: dates are on the hot path
    month, day = divmod(month_day, 100)
    if year in YEAR_RANGE and 1 <= month <= 12 and 1 <= day <= 31:
        return year, month, day
    return None


def valid_date(text: str) -> bool:
    return date_numbers(text) is not None


def _time_numbers(text: str) -> tuple[int, int, int] | None:
    """`(10, 30, 0)` for `103000` or `1030`, or None if it is not a time of day."""
    if len(text) == 6:
        hour_minute, second = divmod(int(text), 100)
    else:
        hour_minute, second = int(text), 0
    hour, minute = divmod(hour_minute, 100)
    if hour < 24 and minute < 60 and second < 60:
        return hour, minute, second
    return None


def _time_shape(text: str) -> str:
    return "HHMMSS" if len(text) == 6 else "HHMM"


def read_core(segments: list[str], start: int) -> tuple[Reading, int] | None:
    """Read the core at `segments[start]`; return it with the number of segments it used."""
    first = segments[start]
    if len(first) == 4 and first.isdigit():
        dashed = _read_dashed_date(segments, start)
        if dashed is not None:
            return dashed
    elif len(first) >= 8 and first[:8].isdigit():
        compact = _read_compact_date(segments, start)
        if compact is not None:
            return compact
    match = _CORE_RE.match(first)
    if match is None:
        return None
    v, release_text, glued = match.groups()
    release, shape = read_release(release_text)
    reading = Reading("version", v, release, v + shape)
    if glued:
        _read_glued(reading, release_text, glued)
    return reading, 1


def read_release(release_text: str) -> tuple[tuple[int, ...], str]:
    """`(1, 25, 3)` and `X.Y.Z` for `1.25.3`; `N` for `16`; `YYYY.M.P` for `2024.1.0` (a year first means calendar)."""
    release = tuple(map(_number, release_text.split(".")))
    count = len(release)
    if release_text[4:5] == "." and release_text[:4] in _YEARS:
        return release, _CALVER_PLACEHOLDERS.get(count) or "YYYY" + ".N" * (count - 1)
    return release, _PLACEHOLDERS.get(count) or ".".join("N" * count)


def _read_glued(reading: Reading, release_text: str, glued: str) -> None:
    """A suffix written straight after the numbers: PEP 440 (`b1`, `.dev3`), a build (`_7`), or text (`.Final`)."""
    build = _GLUED_BUILD_RE.match(glued)
    if build:
        # Java's `17.0.10_7` (17.0.10+7, Eclipse Temurin): a build number of that release, which grows.
        reading.numbers.append(int(build[1]))
        reading.core_shape += "_N"
        return
    tail = read_pep440_tail(release_text, glued)
    if tail is not None:
        reading.pre_key = tail.pre_key
        if tail.pre_key != FINAL:
            reading.pre_label = tail.label
        if tail.post is not None:
            reading.numbers.append(tail.post)
            reading.core_shape += ".postN"
        return
    if any(char.isdigit() for char in glued):
        reading.generic = True  # e.g. jenkins' `3206.vb_15dcf73f6a_9`: no order we can trust
        return
    reading.core_shape += glued  # `1.0.0.Final`, `3.7alpine`: a variant spelled without a dash
    reading.has_variant = True


def _read_dashed_date(segments: list[str], start: int) -> tuple[Reading, int] | None:
    year, month, day = segments[start : start + 3] + [""] * (3 - len(segments[start : start + 3]))
    if not (len(year) == 4 and len(month) == 2 and len(day) == 2 and (year + month + day).isdigit()):
        return None
    date = date_numbers(year + month + day)
    if date is None:
        return None
    return Reading("date", "", date, "YYYY-MM-DD"), 3


def _read_compact_date(segments: list[str], start: int) -> tuple[Reading, int] | None:
    """`20240115`, `20240115103000`, `20240115T1030Z`, or `20240115` with the time as the next piece."""
    compact = _COMPACT_DATE_RE.match(segments[start])
    if compact is None:
        return None
    date_text, separator, time, zone = compact.groups()
    date = date_numbers(date_text)
    if date is None:
        return None
    if time:
        clock = _time_numbers(time)
        if clock is None:
            return None
        return Reading("datetime", "", date + clock, f"YYYYMMDD{separator}{_time_shape(time)}{zone}"), 1
    following = segments[start + 1] if start + 1 < len(segments) else ""
    clock = _time_numbers(following) if len(following) in (4, 6) and following.isdigit() else None
    if clock is not None:
        return Reading("datetime", "", date + clock, f"YYYYMMDD-{_time_shape(following)}"), 2
    return Reading("date", "", date, "YYYYMMDD" + zone), 1


def read_tail(reading: Reading, tail: list[str]) -> None:
    """Sort each piece after the core into prerelease, revision, commit hash, data or variant."""
    previous = "core"
    last = len(tail) - 1
    for index, segment in enumerate(tail):
        if not segment:  # `1.2.3--alpine`, `1.2.3-`: no convention we know
            reading.generic = True
            return
        previous = _read_tail_segment(reading, segment, index, index == last, previous)


class VersionTail(NamedTuple):
    """What follows a plain version's first dash (`rc.1`, `alpine`, `ls132`), read on its own."""

    shape: str  # `-alpine`, `-lsN`; empty for a prerelease alone
    pre_key: PreKey
    pre_label: str | None
    numbers: tuple[int, ...]
    decorated: bool  # a variant or a revision: the tag is not the bare version
    has_sha: bool
    generic: bool


def read_version_tail(text: str) -> VersionTail:
    """Read the tail of `1.2.3-<text>` on its own, as `read_tail` reads it after a version core.

    Valid only after a core without a glued suffix: a glued prerelease (`1.0b1-rc1`) changes the reading.
    """
    reading = Reading("version")
    read_tail(reading, text.split("-"))
    tail_shape = reading.tail_shape
    return VersionTail(
        "".join("-" + piece for piece in tail_shape),
        reading.pre_key,
        reading.pre_label,
        tuple(reading.numbers),
        bool(tail_shape) or reading.has_variant,
        reading.has_sha,
        reading.generic,
    )


def is_variant_word(segment: str) -> bool:
    """True for a tail piece that is plain variant text (`alpine`, `slim`, `alpine3.19`, `dev`)."""
    return _segment_kind(segment)[0] == "word"


@lru_cache(maxsize=8192)
def _segment_kind(segment: str) -> tuple:
    """What one tail piece is on its own; cached because `alpine`, `slim`, `bookworm` recur in every tag."""
    if segment[:1].isdigit():
        # Prerelease words, revisions (`ls5`, `r20`) and `gabc1234` start with a letter: no need to try them
        # on the numbers and hashes that make most pieces never seen before.
        if segment.isdigit():
            return ("number", int(segment))
        if looks_like_sha(segment):
            return ("sha",)
        return ("data", _DIGITS_RE.sub("N", segment), tuple(map(int, _DIGITS_RE.findall(segment))))
    prerelease = PRERELEASE_SEGMENT_RE.match(segment)
    if prerelease:
        number = prerelease["num"] or prerelease["short_num"]
        return ("pre", prerelease_key(prerelease["word"] or prerelease["short"], int(number or 0)), bool(number))
    revision = _REVISION_RE.match(segment)
    if revision:
        return ("revision", revision["kind"] + "N", int(revision["num"]))
    if looks_like_sha(segment) or _GIT_DESCRIBE_SHA_RE.match(segment):
        return ("sha",)
    return ("word",)


def _read_tail_segment(reading: Reading, segment: str, index: int, is_last: bool, previous: str) -> str:
    kind = _segment_kind(segment)
    if kind[0] == "pre" and reading.pre_key == FINAL:
        reading.pre_key = kind[1]
        reading.pre_label = segment
        return "pre-numbered" if kind[2] else "pre"
    if kind[0] == "number":
        return _read_number_segment(reading, segment, kind[1], index, previous)
    if kind[0] == "revision" and is_last:
        reading.numbers.append(kind[2])
        reading.tail_shape.append(kind[1])
        return "revision"
    if kind[0] == "sha":
        reading.tail_shape.append("SHA")
        reading.has_sha = True
        return "sha"
    if kind[0] == "data":
        _read_embedded_prerelease(reading, segment)
        reading.numbers.extend(kind[2])
        reading.tail_shape.append(kind[1])
        return "data"
    reading.tail_shape.append(segment)
    reading.has_variant = True
    return "word"


def _read_embedded_prerelease(reading: Reading, segment: str) -> None:
    # linuxserver repeats the upstream version after the dash (`v2.0.6.3-2.0.6.3_beta_2021-06-17-ls112`):
    # a prerelease word inside it makes the whole tag a prerelease.
    if reading.pre_key != FINAL:
        return
    for token in _TOKEN_SPLIT_RE.split(segment):
        prerelease = PRERELEASE_SEGMENT_RE.match(token)
        if prerelease and prerelease["word"]:
            reading.pre_key = prerelease_key(prerelease["word"], int(prerelease["num"] or 0))
            reading.pre_label = token
            return


def _read_number_segment(reading: Reading, segment: str, number: int, index: int, previous: str) -> str:
    if previous == "word":
        # A number after a word belongs to it: `debian-11`, `windowsservercore-1809` are variants.
        reading.tail_shape[-1] += "-" + segment
        return "word"
    if previous == "pre":
        # `-beta-2`: the number of the prerelease just read.
        rank, _, stable, dev = reading.pre_key
        reading.pre_key = (rank, number, stable, dev)
        reading.pre_label = f"{reading.pre_label}-{segment}"
        return "pre-numbered"
    reading.numbers.append(number)
    # Right after the core it is the image's own revision (`1.2.3-1`, Debian style), which grows.
    reading.tail_shape.append("N")
    return "revision" if index == 0 else "data"
