"""The project's `.env`: read it as Compose does, and change one value without touching other bytes.

Syntax (Compose's "environment file" rules): `#` comment lines, blank lines, an optional `export `
prefix, `KEY=value` (or `KEY: value`), values unquoted, 'single-quoted' (literal) or "double-quoted"
(escapes and interpolation), an inline comment after an unquoted value only when preceded by a space,
and `KEY` alone meaning "take it from the process environment". Parsing works on offsets into the
original text so an edit is a splice: quoting style, `export`, comments and line endings stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from deployments.compose_file import interpolation
from deployments.compose_file.errors import ComposeFileError

_KEY_RE = re.compile(r"(?:export[ \t]+)?([A-Za-z0-9_][A-Za-z0-9_.-]*)[ \t]*")
_INLINE_COMMENT_RE = re.compile(r"[ \t]#")
_DOUBLE_QUOTED_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"'}
# What `append` may write unquoted: tags and image references, nothing a parser could misread.
_SAFE_VALUE_RE = re.compile(r"[A-Za-z0-9_.:/@-]+")


@dataclass(frozen=True)
class Entry:
    """One `KEY=value` statement; `value_start`/`value_end` bound the raw value inside its quotes."""

    key: str
    line: int
    value_start: int
    value_end: int
    quote: str  # "", "'" or '"'
    inherited: bool  # `KEY` alone: the value comes from the process environment


def parse(text: str, path: str) -> tuple[Entry, ...]:
    """All statements of an environment file, in order; raise `ComposeFileError` on bad syntax."""
    entries: list[Entry] = []
    pos = 1 if text.startswith("\ufeff") else 0  # a byte-order mark, as some Windows editors write
    while True:
        pos = _skip_blank_and_comments(text, pos)
        if pos >= len(text):
            return tuple(entries)
        entry, pos = _parse_statement(text, pos, path)
        entries.append(entry)


def raw_value(text: str, entry: Entry) -> str:
    """The value exactly as written between the quotes (or unquoted, without its comment)."""
    return text[entry.value_start : entry.value_end]


def values(text: str | None, path: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables Compose interpolates with: `.env` values, each overridden by `environ`."""
    result: dict[str, str] = {}
    if text is not None:
        for entry in parse(text, path):
            if entry.inherited:
                result.pop(entry.key, None)
                continue
            lookup = _lookup(environ, result)
            try:
                result[entry.key] = _decode(text, entry, lookup)
            except interpolation.InterpolationError as exc:
                raise ComposeFileError(f"{path}: line {entry.line}: {exc}") from exc
    result.update(environ)
    return result


def effective_entry(entries: tuple[Entry, ...], key: str) -> Entry | None:
    """The statement Compose uses for `key`: the last one, as later lines override earlier ones."""
    matching = [entry for entry in entries if entry.key == key]
    return matching[-1] if matching else None


def replace_value(text: str, entry: Entry, start: int, end: int, new: str) -> str:
    """Replace raw_value[start:end] with `new`; everything else in the file stays byte for byte."""
    assert 0 <= start <= end <= entry.value_end - entry.value_start
    return text[: entry.value_start + start] + new + text[entry.value_start + end :]


def append(text: str | None, key: str, value: str) -> str:
    """Add `KEY=value` at the end, in the file's line-ending style; create the text if there is none."""
    if not _SAFE_VALUE_RE.fullmatch(value):
        raise ComposeFileError(f"refusing to write {value!r} to .env: not a plain tag or image reference")
    if not text:
        return f"{key}={value}\n"
    newline = "\r\n" if "\r\n" in text else "\n"
    if not text.endswith("\n"):
        text += newline
    return f"{text}{key}={value}{newline}"


def _lookup(environ: Mapping[str, str], earlier: Mapping[str, str]) -> interpolation.Lookup:
    # Values in .env may refer to the environment and to variables defined above them.
    def lookup(name: str) -> str | None:
        return environ[name] if name in environ else earlier.get(name)

    return lookup


def _decode(text: str, entry: Entry, lookup: interpolation.Lookup) -> str:
    raw = raw_value(text, entry)
    if entry.quote == "'":
        return raw.replace("\\'", "'")
    if entry.quote == '"':
        raw = re.sub(r"\\(.)", lambda m: _DOUBLE_QUOTED_ESCAPES.get(m.group(1), m.group()), raw)
    return interpolation.interpolate(raw, lookup)[0]


def _skip_blank_and_comments(text: str, pos: int) -> int:
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
        elif text[pos] == "#":
            pos = _line_end(text, pos)
        else:
            break
    return pos


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _parse_statement(text: str, pos: int, path: str) -> tuple[Entry, int]:
    line = text.count("\n", 0, pos) + 1
    match = _KEY_RE.match(text, pos)
    if match is None:
        raise ComposeFileError(f"{path}: line {line}: expected KEY=value")
    key, after_key = match.group(1), match.end()
    if after_key >= len(text) or text[after_key] in "\r\n":
        return Entry(key, line, after_key, after_key, "", inherited=True), after_key
    if text[after_key] not in "=:":
        raise ComposeFileError(f"{path}: line {line}: expected '=' after {key}")
    separator_end = after_key + 1
    value_pos = separator_end
    while value_pos < len(text) and text[value_pos] in " \t":
        value_pos += 1
    if text[value_pos : value_pos + 1] in ("'", '"'):
        return _quoted_entry(text, key, line, value_pos, path)
    return _unquoted_entry(text, key, line, separator_end, value_pos)


def _quoted_entry(text: str, key: str, line: int, quote_pos: int, path: str) -> tuple[Entry, int]:
    quote = text[quote_pos]
    close = quote_pos + 1
    while True:
        close = text.find(quote, close)
        if close < 0:
            raise ComposeFileError(f"{path}: line {line}: unterminated quoted value for {key}")
        if text[close - 1] != "\\":
            break
        close += 1
    # Only a comment may follow the closing quote; it is not part of the value.
    return Entry(key, line, quote_pos + 1, close, quote, inherited=False), _line_end(text, close)


def _unquoted_entry(text: str, key: str, line: int, separator_end: int, value_pos: int) -> tuple[Entry, int]:
    end_of_line = _line_end(text, value_pos)
    value = text[value_pos:end_of_line]
    if value.startswith("#"):
        value = ""
    comment = _INLINE_COMMENT_RE.search(value)
    if comment:
        value = value[: comment.start()]
    value = value.rstrip()
    if not value:
        # An empty value is edited right after the separator so `KEY= # note` keeps its comment.
        return Entry(key, line, separator_end, separator_end, "", inherited=False), end_of_line
    return Entry(key, line, value_pos, value_pos + len(value), "", inherited=False), end_of_line
