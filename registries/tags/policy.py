"""A service's tag policy: what it comes from (Compose labels, admin overrides) and how it is validated.

Label vocabulary (set on the Compose service, e.g. `labels: {updater.strategy: semver}`):

    updater.strategy          auto | semver | newest | alphabetical | digest      (default auto)
    updater.include           regex a candidate must match (searched, like WUD, Diun and Argo CD)
    updater.exclude           regex that rules a candidate out (searched)
    updater.ignore            tags never deployed, comma-separated
    updater.pin               stay on this tag (or move to it); no other updates
    updater.allow-prerelease  true | false                                         (default false)
    updater.max-bump          major | minor | patch | none                         (default none)
    updater.mode              auto | notify | manual                               (default auto)
    updater.min_age           a candidate must be this old: 90m, 24h, 7d          (default none)
    updater.window            when automatic deploys may run: 'CRON DURATION [TZ]', `;`-separated, or
                              always (default: the project's window, else UPDATER_WINDOW; windows.py)

A bad value raises `PolicyError` naming the label and the value; the check shows it on that service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from functools import lru_cache

from registries.reference import TAG_RE
from registries.tags.versions import BUMP_LEVELS
from registries.tags.windows import WindowError, format_duration, parse_duration, parse_schedule

STRATEGIES = ("auto", "semver", "newest", "alphabetical", "digest")
UPDATE_MODES = ("auto", "notify", "manual")
LABEL_PREFIX = "updater."
LABELS = {
    "updater.strategy": "strategy",
    "updater.include": "include",
    "updater.exclude": "exclude",
    "updater.ignore": "ignored",
    "updater.pin": "pinned",
    "updater.allow-prerelease": "allow_prerelease",
    "updater.max-bump": "max_bump",
    "updater.mode": "update_mode",
    "updater.min_age": "min_age",
    "updater.min-age": "min_age",  # the spelling of the other multi-word labels
    "updater.window": "window",
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_LIST_SPLIT_RE = re.compile(r"[\s,]+")


class PolicyError(ValueError):
    """A policy setting has a bad value; the message names the label or setting and the value."""

    def __init__(self, setting: str, value: object, problem: str) -> None:
        super().__init__(f"{setting}: {value!r} {problem}")
        self.setting = setting
        self.value = value
        self.problem = problem


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a user pattern once; `rank` calls this on every check."""
    return re.compile(pattern)


@dataclass(frozen=True)
class TagPolicy:
    """How one service picks its next tag. Validated on creation, so an invalid policy cannot exist.

    `include`/`exclude` are searched (`re.search`), as in WUD, Diun and Argo CD, so `alpine` means
    "contains alpine"; anchor with `^…$` to match the whole tag.
    """

    strategy: str = "auto"
    include: str | None = None
    exclude: str | None = None
    ignored: frozenset[str] = frozenset()
    pinned: str | None = None
    allow_prerelease: bool = False
    max_bump: str | None = None
    update_mode: str = "auto"  # carried for the check; ranking does not use it
    min_age: timedelta | None = None  # a candidate younger than this is not one yet
    window: str | None = None  # maintenance window spec (windows.py); None: the project's or the global one

    def __post_init__(self) -> None:
        _check_choice("TagPolicy.strategy", self.strategy, STRATEGIES)
        _check_choice("TagPolicy.update_mode", self.update_mode, UPDATE_MODES)
        if self.max_bump is not None:
            _check_choice("TagPolicy.max_bump", self.max_bump, BUMP_LEVELS)
        for name in ("include", "exclude"):
            if getattr(self, name) is not None:
                _check_pattern(f"TagPolicy.{name}", getattr(self, name))
        if self.pinned is not None:
            _check_tag("TagPolicy.pinned", self.pinned)
        if not isinstance(self.allow_prerelease, bool):
            raise PolicyError("TagPolicy.allow_prerelease", self.allow_prerelease, "is not a boolean")
        if self.min_age is not None and (not isinstance(self.min_age, timedelta) or self.min_age <= timedelta(0)):
            raise PolicyError("TagPolicy.min_age", self.min_age, "is not a positive duration")
        if self.window is not None:
            _parse_window("TagPolicy.window", self.window)
        object.__setattr__(self, "ignored", frozenset(self.ignored))

    def to_dict(self) -> dict:
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["ignored"] = sorted(self.ignored)
        data["min_age"] = format_duration(self.min_age) if self.min_age else None
        return data


def policy_from_labels(
    labels: Mapping[str, str],
    overrides: Mapping[str, object] | None = None,
    *,
    pinned: str | None = None,
    ignored: Iterable[str] = (),
) -> TagPolicy:
    """Build a service's policy: labels, then its stored pin and ignore list, then admin overrides.

    Labels outside the `updater.*` vocabulary are ignored. An empty label or override value means "not
    set". Ignore lists from all three sources are merged; for every other setting the later source wins.
    """
    settings: dict[str, object] = {}
    ignored_tags: set[str] = set()
    for label, name in LABELS.items():
        raw = labels.get(label)
        if raw is None or not str(raw).strip():
            continue
        value = _PARSERS[name](label, str(raw).strip())
        if name == "ignored":
            ignored_tags.update(value)  # type: ignore[arg-type]
        else:
            settings[name] = value
    if pinned:
        settings["pinned"] = _check_tag("pinned tag", pinned)
    ignored_tags.update(_check_tag("ignored tag", tag) for tag in ignored)
    for name, value in (overrides or {}).items():
        _apply_override(settings, ignored_tags, name, value)
    return TagPolicy(**settings, ignored=frozenset(ignored_tags))  # type: ignore[arg-type]


def _apply_override(settings: dict[str, object], ignored_tags: set[str], name: str, value: object) -> None:
    setting = f"override {name}"
    if name not in _PARSERS:
        raise PolicyError(setting, value, f"is not a policy setting ({', '.join(sorted(_PARSERS))})")
    if value is None or value == "":
        return
    if name == "ignored":
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise PolicyError(setting, value, "must be a list of tags")
        ignored_tags.update(_check_tag(setting, str(tag)) for tag in value)
    elif name == "allow_prerelease" and isinstance(value, bool):
        settings[name] = value
    elif isinstance(value, str):
        settings[name] = _PARSERS[name](setting, value.strip())
    else:
        raise PolicyError(setting, value, "must be text")


def _check_choice(setting: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PolicyError(setting, value, f"is not one of {', '.join(choices)}")
    return value  # type: ignore[return-value]


def _check_pattern(setting: str, value: str) -> str:
    try:
        compile_pattern(value)
    except (re.error, TypeError) as exc:
        raise PolicyError(setting, value, f"is not a valid regular expression: {exc}") from None
    return value


def _check_tag(setting: str, value: object) -> str:
    if not isinstance(value, str) or not TAG_RE.match(value):
        raise PolicyError(setting, value, "is not a valid tag")
    return value


def _parse_bool(setting: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise PolicyError(setting, value, "is not a boolean (true/false, yes/no, on/off, 1/0)")


def _parse_max_bump(setting: str, value: str) -> str | None:
    lowered = value.lower()
    return None if lowered == "none" else _check_choice(setting, lowered, BUMP_LEVELS)


def _parse_tag_list(setting: str, value: str) -> set[str]:
    return {_check_tag(setting, tag) for tag in _LIST_SPLIT_RE.split(value) if tag}


def _parse_min_age(setting: str, value: str) -> timedelta | None:
    if value.lower() in ("none", "0"):
        return None
    try:
        return parse_duration(value)
    except WindowError:
        raise PolicyError(setting, value, "is not a duration (a number and a unit: 90m, 24h, 7d, 1h30m)") from None


def _parse_window(setting: str, value: str) -> str:
    try:
        parse_schedule(value)
    except WindowError as exc:
        raise PolicyError(setting, value, f"is not a maintenance window: {exc}") from None
    return value


_PARSERS: dict[str, Callable[[str, str], object]] = {
    "strategy": lambda setting, value: _check_choice(setting, value.lower(), STRATEGIES),
    "include": _check_pattern,
    "exclude": _check_pattern,
    "ignored": _parse_tag_list,
    "pinned": _check_tag,
    "allow_prerelease": _parse_bool,
    "max_bump": _parse_max_bump,
    "update_mode": lambda setting, value: _check_choice(setting, value.lower(), UPDATE_MODES),
    "min_age": _parse_min_age,
    "window": _parse_window,
}
