"""Reading a Compose project as Compose does: interpolation, `.env` syntax, `-f` order, environ precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.compose_file import ComposeFileError, dotenv, interpolation, service_image

VARIABLES = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain", "plain"),
        ("$SET/${SET}", "value/value"),
        ("${UNSET}x", "x"),
        ("${SET:-d} ${EMPTY:-d} ${UNSET:-d}", "value d d"),
        ("${SET-d} ${EMPTY-d} ${UNSET-d}", "value  d"),
        ("${SET:+alt} ${EMPTY:+alt} ${UNSET:+alt}", "alt  "),
        ("${SET+alt} ${EMPTY+alt} ${UNSET+alt}", "alt alt "),
        ("${UNSET:-${ALSO_UNSET:-${SET}}}", "value"),
        ("${UNSET:-a}}", "a}"),
        ("$$SET and $${SET}", "$SET and ${SET}"),
        ("cost $1 and a$", "cost $1 and a$"),
        ("${EMPTY?}", ""),
    ],
)
def test_interpolation_follows_compose_rules(template: str, expected: str) -> None:
    assert interpolation.interpolate(template, VARIABLES.get)[0] == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${SET", "unterminated"),
        ("${1BAD}", "invalid variable name"),
        ("${SET/a/b}", "invalid"),
        ("${UNSET:?please set it}", "required variable UNSET is missing a value: please set it"),
        ("${EMPTY:?}", "required variable EMPTY"),
        ("${UNSET?}", "required variable UNSET"),
    ],
)
def test_invalid_or_missing_required_is_an_error(template: str, message: str) -> None:
    with pytest.raises(interpolation.InterpolationError, match=message):
        interpolation.interpolate(template, VARIABLES.get)


def test_pieces_say_where_each_part_of_the_output_came_from() -> None:
    text, pieces = interpolation.interpolate("reg/${NAME:-app}:$TAG", {"TAG": "1.0"}.get)

    assert text == "reg/app:1.0"
    assert [(p.out_start, p.out_end, p.source) for p in pieces] == [
        (0, 4, "literal"),
        (4, 7, "default"),
        (7, 8, "literal"),
        (8, 11, "value"),
    ]
    assert interpolation.piece_covering(pieces, 8, 11) is pieces[3]
    assert interpolation.piece_covering(pieces, 11, 11) is pieces[3]  # appending a tag extends TAG
    assert interpolation.piece_covering(pieces, 6, 9) is None


ENV_FILE = """# comment
export EXPORTED=one
SPACED = two
UNQUOTED=three # comment
HASH=fo#ur
SINGLE='$EXPORTED # not a comment'
DOUBLE="${EXPORTED}\\tx" # comment
COLON: five
REFERENCE=${UNQUOTED}-${MISSING:-dflt}
EMPTY=
FROM_ENV
OVERRIDDEN=file
"""


def test_env_file_values_follow_compose_syntax() -> None:
    values = dotenv.values(ENV_FILE, ".env", {"FROM_ENV": "env", "OVERRIDDEN": "env"})

    assert values == {
        "EXPORTED": "one",
        "SPACED": "two",
        "UNQUOTED": "three",
        "HASH": "fo#ur",
        "SINGLE": "$EXPORTED # not a comment",
        "DOUBLE": "one\tx",
        "COLON": "five",
        "REFERENCE": "three-dflt",
        "EMPTY": "",
        "FROM_ENV": "env",
        "OVERRIDDEN": "env",
    }


def test_env_file_entries_point_at_the_raw_value() -> None:
    text = 'export TAG="1.0.0" # pinned\r\nOTHER=x\r\n'

    entry = dotenv.effective_entry(dotenv.parse(text, ".env"), "TAG")

    assert entry is not None
    assert (dotenv.raw_value(text, entry), entry.quote, entry.line) == ("1.0.0", '"', 1)


def test_env_file_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ComposeFileError, match=r"\.env: line 2: expected KEY=value"):
        dotenv.parse("A=1\n-bad\n", ".env")


def test_appending_keeps_line_endings_and_refuses_unsafe_values() -> None:
    assert dotenv.append("A=1\r\nB=2", "TAG", "1.1.0") == "A=1\r\nB=2\r\nTAG=1.1.0\r\n"
    assert dotenv.append(None, "TAG", "1.1.0") == "TAG=1.1.0\n"
    with pytest.raises(ComposeFileError):
        dotenv.append("", "TAG", "1.1.0 # x")


def _write(directory: Path, name: str, text: str) -> str:
    (directory / name).write_text(text)
    return str(directory / name)


def test_last_compose_file_defining_the_image_wins(tmp_path: Path) -> None:
    files = [
        _write(tmp_path, "a.yaml", "services:\n  web:\n    image: app:1.0.0\n"),
        _write(tmp_path, "b.yaml", "services:\n  web:\n    image: app:2.0.0\n"),
        _write(tmp_path, "c.yaml", "services:\n  web:\n    ports: ['80:80']\n"),
    ]

    assert service_image(files, str(tmp_path), "web") == "app:2.0.0"


def test_environ_beats_env_file(tmp_path: Path) -> None:
    files = [_write(tmp_path, "compose.yaml", "services:\n  web:\n    image: app:${TAG}\n")]
    _write(tmp_path, ".env", "TAG=from-file\n")

    assert service_image(files, str(tmp_path), "web") == "app:from-file"
    assert service_image(files, str(tmp_path), "web", environ={"TAG": "from-env"}) == "app:from-env"


def test_image_that_interpolates_to_nothing_is_an_error(tmp_path: Path) -> None:
    files = [_write(tmp_path, "compose.yaml", "services:\n  web:\n    image: ${IMAGE}\n")]

    with pytest.raises(ComposeFileError, match="interpolates to an empty string"):
        service_image(files, str(tmp_path), "web")


def test_relative_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match="expected an absolute path"):
        service_image(["compose.yaml"], str(tmp_path), "web")


def test_missing_compose_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ComposeFileError, match=r"missing\.yaml: file not found"):
        service_image([str(tmp_path / "missing.yaml")], str(tmp_path), "web")


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    files = [_write(tmp_path, "compose.yaml", "services:\n  web:\n    image: a:1\n    image: a:2\n")]

    with pytest.raises(ComposeFileError, match="'image' appears 2 times"):
        service_image(files, str(tmp_path), "web")


def test_compose_reset_tag_is_refused(tmp_path: Path) -> None:
    files = [_write(tmp_path, "compose.yaml", "services:\n  web:\n    image: !reset null\n")]

    with pytest.raises(ComposeFileError, match="!reset"):
        service_image(files, str(tmp_path), "web")


def test_control_character_is_refused_with_its_line(tmp_path: Path) -> None:
    files = [_write(tmp_path, "compose.yaml", "services:\n  web:\n    image: app:1.0\x01\n")]

    with pytest.raises(ComposeFileError, match=r"malformed YAML at line 3: unacceptable character") as caught:
        service_image(files, str(tmp_path), "web")

    assert "\n" not in str(caught.value)
