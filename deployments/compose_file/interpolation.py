"""Compose variable interpolation, keeping track of which piece of the text produced which output.

Follows the Compose specification: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, nesting inside the operand, `$$` for a
literal `$`, and a `$` that starts none of these kept as it is. Unlike a plain substitute this
returns `Piece`s, so the editor can tell whether the tag came from literal text (edit the file) or
from a variable (edit `.env`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_NAME_RE = re.compile(r"[_A-Za-z][_A-Za-z0-9]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")

Lookup = Callable[[str], str | None]


class InterpolationError(ValueError):
    """The text is not a valid Compose template, or a required variable is missing."""


@dataclass(frozen=True)
class Literal:
    """Text copied as it is; `start`/`end` are offsets in the template."""

    start: int
    end: int


@dataclass(frozen=True)
class Escape:
    """`$$`, which produces one `$`."""

    start: int
    end: int


@dataclass(frozen=True)
class Variable:
    """A `$NAME` or `${NAME<operator><operand>}` reference."""

    start: int
    end: int
    name: str
    operator: str = ""
    operand: tuple[Literal | Escape | Variable, ...] = ()


Node = Literal | Escape | Variable


@dataclass(frozen=True)
class Piece:
    """One top-level node and the slice of the output it produced.

    `source` is "literal", "escape", or for a variable: "value" (the variable's own value), "default"
    (the operand, because the variable is unset or empty), "alternative" (a `:+`/`+` operand) or
    "unset" (nothing).
    """

    node: Node
    out_start: int
    out_end: int
    source: str


def parse(template: str) -> tuple[Node, ...]:
    """Split a template into literal text, `$$` escapes and variable references."""
    nodes, pos = _parse_sequence(template, 0, in_braces=False)
    assert pos == len(template)
    return nodes


def interpolate(template: str, lookup: Lookup) -> tuple[str, tuple[Piece, ...]]:
    """Return the interpolated text and the pieces it is made of."""
    pieces: list[Piece] = []
    out = ""
    for node in parse(template):
        text, source = _evaluate(template, node, lookup)
        pieces.append(Piece(node, len(out), len(out) + len(text), source))
        out += text
    return out, tuple(pieces)


def piece_covering(pieces: tuple[Piece, ...], start: int, end: int) -> Piece | None:
    """The single piece that produced output[start:end], or None if it spans several.

    An empty span (an insertion at `end`) belongs to the piece that produced the character before it.
    """
    for piece in pieces:
        if start == end:
            if piece.out_start < end <= piece.out_end:
                return piece
        elif piece.out_start <= start and end <= piece.out_end:
            return piece
    return None


def variables_in(template: str) -> set[str]:
    """Names of all variables a template refers to, operands included."""
    names: set[str] = set()
    stack = list(parse(template))
    while stack:
        node = stack.pop()
        if isinstance(node, Variable):
            names.add(node.name)
            stack.extend(node.operand)
    return names


def _parse_sequence(text: str, pos: int, *, in_braces: bool) -> tuple[tuple[Node, ...], int]:
    nodes: list[Node] = []
    literal_start = pos
    while pos < len(text):
        char = text[pos]
        if in_braces and char == "}":
            break
        if char != "$" or not _starts_reference(text, pos):
            pos += 1
            continue
        if literal_start < pos:
            nodes.append(Literal(literal_start, pos))
        node, pos = _parse_dollar(text, pos)
        nodes.append(node)
        literal_start = pos
    else:
        if in_braces:
            raise InterpolationError(f"unterminated '${{' in {text!r}")
    if literal_start < pos:
        nodes.append(Literal(literal_start, pos))
    return tuple(nodes), pos


def _starts_reference(text: str, pos: int) -> bool:
    # Compose keeps a `$` that starts no reference ("$1", "a$") as literal text.
    following = text[pos + 1 : pos + 2]
    return following in ("$", "{") or bool(_NAME_RE.match(following))


def _parse_dollar(text: str, pos: int) -> tuple[Node, int]:
    if text.startswith("$$", pos):
        return Escape(pos, pos + 2), pos + 2
    if not text.startswith("${", pos):
        match = _NAME_RE.match(text, pos + 1)
        assert match is not None
        return Variable(pos, match.end(), match.group()), match.end()
    match = _NAME_RE.match(text, pos + 2)
    if match is None:
        raise InterpolationError(f"invalid variable name after '${{' in {text!r}")
    after_name = match.end()
    if after_name == len(text):
        raise InterpolationError(f"unterminated '${{' in {text!r}")
    if text.startswith("}", after_name):
        return Variable(pos, after_name + 1, match.group()), after_name + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, after_name)), None)
    if operator is None:
        raise InterpolationError(f"invalid '${{{match.group()}…}}' in {text!r}")
    operand, end = _parse_sequence(text, after_name + len(operator), in_braces=True)
    return Variable(pos, end + 1, match.group(), operator, operand), end + 1


def _evaluate(template: str, node: Node, lookup: Lookup) -> tuple[str, str]:
    if isinstance(node, Literal):
        return template[node.start : node.end], "literal"
    if isinstance(node, Escape):
        return "$", "escape"
    value = lookup(node.name)
    operator = node.operator
    is_set, is_filled = value is not None, bool(value)
    if operator in ("", ":?", "?"):
        if (operator == ":?" and not is_filled) or (operator == "?" and not is_set):
            message = _evaluate_all(template, node.operand, lookup)
            raise InterpolationError(f"required variable {node.name} is missing a value: {message}")
        return (value or "", "value") if is_set else ("", "unset")
    if operator in (":-", "-"):
        if is_filled or (operator == "-" and is_set):
            return value or "", "value"
        return _evaluate_all(template, node.operand, lookup), "default"
    if is_filled or (operator == "+" and is_set):
        return _evaluate_all(template, node.operand, lookup), "alternative"
    return "", "unset"


def _evaluate_all(template: str, nodes: tuple[Node, ...], lookup: Lookup) -> str:
    return "".join(_evaluate(template, node, lookup)[0] for node in nodes)
