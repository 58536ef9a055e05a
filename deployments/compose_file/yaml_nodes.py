"""ruamel.yaml used only to find things: the node of a key, where a scalar's text sits, who shares it.

The editor never dumps YAML. It composes the node graph (which keeps each node's position in the
text), finds the `image` scalar, and splices the raw text itself, so every other byte stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import Event
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from deployments.compose_file.errors import ComposeFileError

STANDARD_TAG_PREFIX = "tag:yaml.org,2002:"
MERGE_TAG = STANDARD_TAG_PREFIX + "merge"
NULL_TAG = STANDARD_TAG_PREFIX + "null"
# Walking aliases can blow up ("billion laughs"); a Compose file needs nowhere near this many steps.
MAX_VISITS = 100_000

Path = tuple[str | int, ...]
_SEPARATING_TABS_RE = re.compile(r"(?<=[^\s:?\-])[ \t]*\t[ \t]*")


def compose(text: str, path: str) -> Node | None:
    """The document's node graph (None for an empty file); malformed YAML is refused with its line."""
    try:
        return YAML(typ="rt").compose(_tabs_as_spaces(text))
    except MarkedYAMLError as exc:
        raise ComposeFileError(f"{path}: malformed YAML at {_describe(exc)}") from exc
    except YAMLError as exc:
        position = getattr(exc, "position", None)
        where = f"line {text.count(chr(10), 0, position) + 1}" if isinstance(position, int) else "an unknown line"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ComposeFileError(f"{path}: malformed YAML at {where}: {reason}") from exc


def _describe(exc: MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "an unknown line"
    text = f"{where}: {exc.problem or exc.context}"
    if exc.context and exc.context_mark and exc.problem_mark:
        # The parser notices late (e.g. an unclosed `[` lines later); say where the construct began.
        text += f" ({exc.context} started at line {exc.context_mark.line + 1})"
    return text


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def is_custom_tag(node: Node) -> bool:
    """True for `!reset`, `!override` and other application tags, which change merge semantics."""
    return not str(node.tag).startswith(STANDARD_TAG_PREFIX)


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and str(node.tag) == NULL_TAG


def get(mapping: Node | None, key: str, where: str) -> Node | None:
    """The value Compose sees for `key`: the mapping's own entry, else one from a `<<` merge key."""
    if not isinstance(mapping, MappingNode):
        return None
    own = [(k, value) for k, value in mapping.value if _is_key(k, key)]
    if len(own) > 1:
        lines = ", ".join(str(line_of(k)) for k, _ in own)
        raise ComposeFileError(f"{where}: key {key!r} appears {len(own)} times (lines {lines}); Compose refuses that")
    if own:
        return own[0][1]
    for source in _merge_sources(mapping):
        found = get(source, key, where)
        if found is not None:
            return found
    return None


def keys(mapping: Node | None) -> list[str]:
    """Effective scalar keys of a mapping, merged keys included, in order of first appearance."""
    return [key for key, _ in effective_items(mapping)]


def effective_items(mapping: Node | None) -> list[tuple[str, Node]]:
    if not isinstance(mapping, MappingNode):
        return []
    items: dict[str, Node] = {}
    for key, value in mapping.value:
        if isinstance(key, ScalarNode) and str(key.tag) != MERGE_TAG:
            items.setdefault(key.value, value)
    for source in _merge_sources(mapping):
        for key, value in effective_items(source):
            items.setdefault(key, value)
    return list(items.items())


def occurrences(root: Node, target: Node) -> list[Path]:
    """Every path at which Compose sees `target`: through aliases and merge keys, as in the loaded model."""
    found: list[Path] = []
    visits = 0
    stack: list[tuple[Node, Path, frozenset[int]]] = [(root, (), frozenset())]
    while stack:
        node, path, ancestors = stack.pop()
        visits += 1
        if visits > MAX_VISITS:
            raise ComposeFileError("too many aliases to check which services share the image")
        if node is target:
            found.append(path)
        if id(node) in ancestors:
            continue  # a recursive alias: already on this path
        inner = ancestors | {id(node)}
        stack.extend((child, (*path, step), inner) for step, child in _children(node))
    return found


def content_span(text: str, node: ScalarNode) -> tuple[int, int]:
    """Offsets of the scalar's characters in `text`, inside any quotes, when they equal its value.

    Refuses what cannot be spliced character for character: block scalars, scalars folded over
    several lines, and quoted scalars using escapes ('' or backslashes).
    """
    if node.style in ("|", ">"):
        raise ValueError("it is a block scalar (| or >); write it on one line")
    start, end = _skip_properties(text, node.start_mark.index, node.end_mark.index), node.end_mark.index
    if node.style in ("'", '"'):
        if text[start : start + 1] != node.style or text[end - 1 : end] != node.style:
            raise ValueError("its quotes could not be found in the text")
        start, end = start + 1, end - 1
    if text[start:end] != node.value:
        raise ValueError("it is written with escapes or over several lines; write it as one plain string")
    return start, end


def differing_events(old_text: str, new_text: str) -> list[tuple[Event, Event]]:
    """Pairs of parse events that differ between two texts; the editor expects exactly one."""
    old_events, new_events = list(_events(old_text)), list(_events(new_text))
    if len(old_events) != len(new_events):
        raise ComposeFileError("the edit changed the structure of the YAML document")
    return [(old, new) for old, new in zip(old_events, new_events, strict=True) if _event_key(old) != _event_key(new)]


def _is_key(node: Node, key: str) -> bool:
    return isinstance(node, ScalarNode) and str(node.tag) != MERGE_TAG and node.value == key


def _merge_sources(mapping: MappingNode) -> Iterator[Node]:
    # YAML merge: `<<: *a` or `<<: [*a, *b]`; with a list, earlier mappings win.
    for key, value in mapping.value:
        if isinstance(key, ScalarNode) and str(key.tag) == MERGE_TAG:
            yield from value.value if isinstance(value, SequenceNode) else [value]


def _children(node: Node) -> list[tuple[str | int, Node]]:
    if isinstance(node, MappingNode):
        return list(effective_items(node))
    if isinstance(node, SequenceNode):
        return list(enumerate(node.value))
    return []


def _skip_properties(text: str, start: int, end: int) -> int:
    # A node's start mark includes its anchor (&name) and tag (!tag); the value starts after them.
    while start < end and text[start] in "&!":
        while start < end and not text[start].isspace():
            start += 1
        while start < end and text[start].isspace():
            start += 1
    return start


def _events(text: str) -> Iterator[Event]:
    return YAML(typ="rt").parse(_tabs_as_spaces(text))


def _tabs_as_spaces(text: str) -> str:
    """Turn the tabs Compose's YAML parser accepts into spaces, keeping every offset.

    libyaml (and Go's yaml.v3, which Compose uses) allows a tab as separator after a token, e.g.
    before a trailing comment, but not for indentation nor right after `:`, `-` or `?`. ruamel
    rejects tabs in all of these, so without this a valid Compose file would be refused as malformed.
    """
    return _SEPARATING_TABS_RE.sub(lambda match: " " * len(match.group()), text)


def _event_key(event: Event) -> tuple[object, ...]:
    return (
        type(event).__name__,
        getattr(event, "anchor", None),
        getattr(event, "tag", None),
        getattr(event, "value", None),
        getattr(event, "style", None),
        getattr(event, "flow_style", None),
    )
