"""Maintenance windows and minimum image age: the two timing rules of a service's update policy.

A window is `CRON DURATION [TIME_ZONE]`, e.g. `0 2 * * * 2h Europe/Paris` ("every night from 02:00 to
04:00, Paris time"); several windows are separated by `;`, and `always` means "no window". The cron
expression has five fields (minute hour day-of-month month day-of-week) and is read in the window's
time zone, so a window keeps its local time across daylight-saving changes. A duration is a number and
a unit — `90m`, `2h`, `1h30m`, `1d` — and a minimum age uses the same syntax.

Pure functions of their input and `now`: nothing here reads a clock or the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

ALWAYS = "always"
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_ONE_SECOND = timedelta(seconds=1)


class WindowError(ValueError):
    """A window or duration that cannot be read; the message says what is wrong with it."""


def parse_duration(text: str) -> timedelta:
    """`90m`, `24h`, `7d`, `1h30m` → a positive timedelta."""
    value = text.strip().lower()
    match = _DURATION_RE.match(value)
    if not value or not match or not any(match.groups()):
        raise WindowError(f"{text!r} is not a duration (a number and a unit: 90m, 24h, 7d, 1h30m)")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise WindowError(f"{text!r} is not a positive duration (90m, 24h, 7d, 1h30m)")
    return duration


def format_duration(duration: timedelta) -> str:
    """The short form people write: 3d, 24h, 1h30m, 45m (days only from two days on)."""
    remaining = int(duration.total_seconds())
    if remaining <= 0:
        return "0m"
    parts = []
    for unit, size in _UNITS:
        if unit == "d" and remaining < 2 * size:
            continue
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2])


@dataclass(frozen=True)
class Window:
    """One recurring window: it opens at each time `cron` matches (in `zone`) and stays open `duration`."""

    cron: str
    duration: timedelta
    zone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def last_start(self, now: datetime) -> datetime:
        """The latest opening at or before `now`."""
        base = now.astimezone(self.tz) + _ONE_SECOND  # croniter's get_prev is strictly before its base
        return croniter(self.cron, base).get_prev(datetime)

    def next_start(self, now: datetime) -> datetime:
        """The first opening after `now`."""
        return croniter(self.cron, now.astimezone(self.tz)).get_next(datetime)

    def is_open(self, now: datetime) -> bool:
        return now < self.last_start(now) + self.duration

    def __str__(self) -> str:
        return f"{self.cron} {format_duration(self.duration)} {self.zone}"


@dataclass(frozen=True)
class Schedule:
    """The windows of one service (empty: no window, updates deploy whenever they are found)."""

    windows: tuple[Window, ...] = ()
    source: str = ""  # where it came from, for explanations: "label", "override", "project", "global"

    @property
    def always(self) -> bool:
        return not self.windows

    def is_open(self, now: datetime) -> bool:
        return self.always or any(window.is_open(now) for window in self.windows)

    def opened_at(self, now: datetime) -> datetime | None:
        """When the window open at `now` opened (None when none is open, or there is no window)."""
        starts = [window.last_start(now) for window in self.windows if window.is_open(now)]
        return max(starts) if starts else None

    def next_open(self, now: datetime) -> datetime:
        """`now` if a window is open, else when the next one opens (in that window's time zone)."""
        if self.is_open(now):
            return now
        return min((window.next_start(now) for window in self.windows), key=lambda start: start.astimezone(UTC))

    def __str__(self) -> str:
        return "; ".join(str(window) for window in self.windows) or ALWAYS


def parse_schedule(text: str, *, default_zone: str = "UTC", source: str = "") -> Schedule:
    """`CRON DURATION [ZONE]` windows separated by `;`, or `always`/empty for none. Raises WindowError."""
    return Schedule(_parse_windows(text.strip(), default_zone), source)


@lru_cache(maxsize=512)
def _parse_windows(text: str, default_zone: str) -> tuple[Window, ...]:
    if not text or text.lower() in (ALWAYS, "none"):
        return ()
    return tuple(_parse_window(part.strip(), default_zone) for part in text.split(";") if part.strip())


def _parse_window(text: str, default_zone: str) -> Window:
    fields = text.split()
    if len(fields) not in (6, 7):
        raise WindowError(
            f"{text!r} is not a window: expected 5 cron fields, a duration and an optional time zone, "
            "e.g. '0 2 * * * 2h Europe/Paris'"
        )
    cron, duration_text = " ".join(fields[:5]), fields[5]
    zone = fields[6] if len(fields) == 7 else default_zone
    if not croniter.is_valid(cron):
        raise WindowError(f"{cron!r} is not a valid cron expression (minute hour day month weekday)")
    duration = parse_duration(duration_text)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(f"{zone!r} is not a time zone (e.g. UTC, Europe/Paris, America/New_York)") from None
    return Window(cron, duration, zone)


def describe_opening(start: datetime, now: datetime) -> str:
    """'02:00' when it opens within a day, else 'Sat 6 Jan 02:00' — in the window's own time zone."""
    if start - now < timedelta(hours=24):
        return f"{start:%H:%M}"
    return f"{start:%a} {start.day} {start:%b %H:%M}"
