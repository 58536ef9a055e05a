"""`manage.py rank_tags`: rank the tags read on stdin against a current tag and print the decision.

A stable entry point other tools call:

    printf '1.25.4\\n1.26.0\\t2024-02-01T10:00:00Z\\n' | manage.py rank_tags --current 1.25.3

Each stdin line is `TAG` or `TAG<TAB>PUSHED_AT` (ISO 8601; a time without a zone is UTC). Output is one
JSON object (`Decision.to_dict()`). Exit 0 whether or not there is an update; exit 2 with one line on
stderr for bad input (an invalid regex, time, option or current tag).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import NoReturn, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from registries.reference import TAG_RE
from registries.tags import STRATEGIES, Candidate, PolicyError, TagPolicy, rank

BAD_INPUT = 2
_FLAGS = {
    "TagPolicy.strategy": "--strategy",
    "TagPolicy.include": "--include",
    "TagPolicy.exclude": "--exclude",
    "TagPolicy.max_bump": "--max-bump",
    "TagPolicy.pinned": "--pin",
}


class Command(BaseCommand):
    help = "Rank candidate tags from stdin (TAG or TAG<TAB>PUSHED_AT per line) against --current; print JSON."
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def one_line_error(message: str) -> NoReturn:
            # argparse prints the usage too; callers parse stderr, so keep it to the one line promised.
            if parser.called_from_command_line:
                sys.stderr.write(f"rank_tags: {message}\n")
                sys.exit(BAD_INPUT)
            raise CommandError(message, returncode=BAD_INPUT)

        parser.error = one_line_error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--current", required=True, help="The tag the service runs now.")
        parser.add_argument("--include", help="Regex a candidate must match (searched; anchor with ^…$).")
        parser.add_argument("--exclude", help="Regex that rules a candidate out (searched).")
        parser.add_argument("--ignore", action="append", default=[], metavar="TAG", help="Never pick TAG.")
        parser.add_argument("--allow-prerelease", action="store_true", help="Prereleases may be picked.")
        parser.add_argument("--max-bump", help="Largest allowed change: major, minor, patch or none.")
        parser.add_argument("--strategy", default="auto", help=f"One of {', '.join(STRATEGIES)}.")
        parser.add_argument("--pin", help="Move to this tag if listed, and nowhere else.")

    def handle(self, *args, **options) -> None:
        current = options["current"]
        if not TAG_RE.match(current):
            raise CommandError(f"--current: {current!r} is not a valid tag", returncode=BAD_INPUT)
        policy = _policy_from_options(options)
        candidates = read_candidates(options.get("stdin") or sys.stdin)
        decision = rank(current, candidates, policy)
        self.stdout.write(json.dumps(decision.to_dict(), indent=2, ensure_ascii=False))


def _policy_from_options(options: dict) -> TagPolicy:
    max_bump = options["max_bump"]
    try:
        return TagPolicy(
            strategy=options["strategy"],
            include=options["include"],
            exclude=options["exclude"],
            ignored=frozenset(options["ignore"]),
            pinned=options["pin"],
            allow_prerelease=options["allow_prerelease"],
            max_bump=None if max_bump in (None, "none") else max_bump,
        )
    except PolicyError as exc:
        flag = _FLAGS.get(exc.setting, exc.setting)
        raise CommandError(f"{flag}: {exc.value!r} {exc.problem}", returncode=BAD_INPUT) from None


def read_candidates(lines: Iterable[str] | TextIO) -> list[Candidate]:
    """Parse `TAG` / `TAG<TAB>PUSHED_AT` lines; blank lines are skipped. Raises CommandError (exit 2)."""
    candidates = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) > 2:
            raise CommandError(f"line {number}: expected TAG or TAG<TAB>PUSHED_AT, got {line!r}", returncode=BAD_INPUT)
        pushed_at = _parse_time(number, fields[1].strip()) if len(fields) == 2 and fields[1].strip() else None
        candidates.append(Candidate(tag=fields[0].strip(), pushed_at=pushed_at))
    return candidates


def _parse_time(number: int, text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"line {number}: {text!r} is not an ISO 8601 time", returncode=BAD_INPUT) from None
