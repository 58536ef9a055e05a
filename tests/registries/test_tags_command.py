"""`manage.py rank_tags`: the stable entry point other tools call."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

MANAGE_PY = Path(__file__).resolve().parents[2] / "manage.py"


def run(stdin: str, *args: str) -> dict:
    out = io.StringIO()
    call_command("rank_tags", *args, stdin=io.StringIO(stdin), stdout=out)
    return json.loads(out.getvalue())


def run_manage_py(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The same environment pytest runs with (tests.testenv set the defaults in os.environ).
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), "rank_tags", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
        check=False,
    )


def test_prints_the_decision_as_json() -> None:
    result = run("1.25.4\n1.26.0\nlatest\n1.24.0\n", "--current", "1.25.3")
    assert result["chosen"] == "1.26.0"
    assert result["ranked"] == ["1.26.0", "1.25.4"]
    assert result["scheme"] == "semver"
    assert result["rejected"]["latest"].startswith("floating tag")
    assert result["rejected"]["1.24.0"] == "older than 1.25.3"


def test_no_update_is_still_a_decision() -> None:
    result = run("1.24.0\n", "--current", "1.25.3")
    assert (result["chosen"], result["ranked"]) == (None, [])


def test_reads_push_times_after_a_tab() -> None:
    stdin = (
        "sha-aaa1111\t2024-01-01T00:00:00Z\nsha-bbb2222\t2024-01-03T00:00:00+00:00\nsha-ccc3333\t2024-01-02T10:00:00\n"
    )
    assert run(stdin, "--current", "sha-aaa1111")["chosen"] == "sha-bbb2222"


def test_asks_for_push_times_it_needs() -> None:
    result = run("sha-aaa1111\nsha-bbb2222\n", "--current", "sha-aaa1111")
    assert result["needs_push_time"] == ["sha-aaa1111", "sha-bbb2222"]


def test_blank_lines_and_surrounding_spaces_are_ignored() -> None:
    assert run("\n  1.0.1  \n\n\r\n", "--current", "1.0.0")["chosen"] == "1.0.1"


def test_invalid_tags_on_stdin_are_rejected_not_fatal() -> None:
    result = run("not a tag\n1.0.1\n", "--current", "1.0.0")
    assert result["chosen"] == "1.0.1"
    assert result["rejected"]["not a tag"].startswith("not a valid tag")


def test_policy_options() -> None:
    stdin = "1.0.1\n1.1.0\n2.0.0\n1.2.0-rc1\n1.0.2-alpine\n"
    result = run(stdin, "--current", "1.0.0", "--max-bump", "minor", "--ignore", "1.1.0", "--exclude", "alpine")
    assert result["chosen"] == "1.0.1"
    assert run(stdin, "--current", "1.0.0", "--allow-prerelease", "--max-bump", "minor")["chosen"] == "1.2.0-rc1"
    assert run(stdin, "--current", "1.0.0", "--include", "^1\\.0\\.")["chosen"] == "1.0.1"
    assert run(stdin, "--current", "1.0.0", "--ignore", "2.0.0", "--ignore", "1.1.0")["chosen"] == "1.0.1"


def test_strategy_and_pin_options() -> None:
    assert run("1.0.1\n", "--current", "1.0.0", "--strategy", "digest")["tracks_digest"] is True
    assert run("0.9.0\n1.0.1\n", "--current", "1.0.0", "--pin", "0.9.0")["chosen"] == "0.9.0"
    assert run("1.0.1\n", "--current", "1.0.0", "--max-bump", "none")["chosen"] == "1.0.1"


@pytest.mark.parametrize(
    ("stdin", "args", "message"),
    [
        ("1.0.1\n", ("--include", "("), "--include: '(' is not a valid regular expression"),
        ("1.0.1\n", ("--exclude", "[z-a]"), "--exclude: '[z-a]' is not a valid regular expression"),
        ("1.0.1\n", ("--max-bump", "huge"), "--max-bump: 'huge' is not one of major, minor, patch"),
        ("1.0.1\n", ("--strategy", "fastest"), "--strategy: 'fastest' is not one of"),
        ("1.0.1\n", ("--pin", "bad pin"), "--pin: 'bad pin' is not a valid tag"),
        ("1.0.1\tyesterday\n", (), "line 1: 'yesterday' is not an ISO 8601 time"),
        ("1.0.1\n1.0.2\ta\tb\n", (), "line 2: expected TAG or TAG<TAB>PUSHED_AT"),
    ],
)
def test_bad_input_is_exit_code_2(stdin: str, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError) as error:
        run(stdin, "--current", "1.0.0", *args)
    assert error.value.returncode == 2
    assert str(error.value).startswith(message)


def test_invalid_current_tag_is_bad_input() -> None:
    with pytest.raises(CommandError) as error:
        run("1.0.1\n", "--current", "not a tag")
    assert error.value.returncode == 2


def test_missing_current_is_bad_input() -> None:
    with pytest.raises(CommandError) as error:
        run("1.0.1\n")
    assert error.value.returncode == 2


def test_manage_py_exit_0_and_json_on_stdout() -> None:
    result = run_manage_py("1.25.4\n1.26.0\t2024-02-01T10:00:00Z\n", "--current", "1.25.3")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chosen"] == "1.26.0"


def test_manage_py_exit_0_without_an_update() -> None:
    result = run_manage_py("", "--current", "latest")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tracks_digest"] is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--current", "1.0.0", "--include", "("), "--include: '(' is not a valid regular expression"),
        (("--bogus",), "rank_tags: unrecognized arguments"),
        ((), "rank_tags: the following arguments are required: --current"),
    ],
)
def test_manage_py_bad_input_is_one_line_on_stderr_and_exit_2(args: tuple[str, ...], expected: str) -> None:
    if "--current" not in args and args:
        args = ("--current", "1.0.0", *args)
    result = run_manage_py("1.0.1\n", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected in result.stderr
