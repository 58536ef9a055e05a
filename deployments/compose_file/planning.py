"""Work out, in memory, the smallest text change that gives a service a new tag, and prove it is only that.

Where the tag comes from decides what is edited: literal text in the YAML scalar → splice the Compose
file; one variable → change (or add) that variable in the project's `.env`. The edited project is
then interpolated again: the service must get exactly the new image, every other service the image
it had, and the YAML/.env must parse to the same structure apart from the one value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deployments.compose_file import dotenv, interpolation, yaml_nodes
from deployments.compose_file.errors import ComposeFileError
from deployments.compose_file.project import Project, ServiceImage
from deployments.compose_file.records import FileChange, ImageEdit
from registries.reference import InvalidReference, parse_reference, validate_tag


@dataclass(frozen=True)
class _Edit:
    """The one file an update rewrites, its new text, and what that means (for messages)."""

    path: str
    text: str
    action: str
    variable: str | None = None  # set when the edit is to `.env`


def service_image(
    config_files: Sequence[str], working_dir: str, service: str, *, environ: Mapping[str, str] | None = None
) -> str:
    """The image Compose runs for `service`, interpolated; the last `-f` file defining it wins."""
    located = Project.load(config_files, working_dir, environ or {}).locate(service)
    if not located.image:
        raise ComposeFileError(f"{located.where}: image {located.expression!r} interpolates to an empty string")
    return located.image


def plan_tag_change(
    config_files: Sequence[str],
    working_dir: str,
    service: str,
    new_tag: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> ImageEdit:
    """Plan the edit that sets `service`'s tag to `new_tag`; nothing is written.

    `environ` is the environment `docker compose` will run with: it wins over `.env`, so a tag
    coming from a variable set there cannot be changed by editing files and is refused.
    """
    tag = _checked_tag(new_tag, service)
    project = Project.load(config_files, working_dir, environ or {})
    current = project.locate(service)
    start, end = _tag_slot(current)
    replacement = tag if start < end else f":{tag}"
    new_image = current.image[:start] + replacement + current.image[end:]
    _check_reference(new_image, current)
    if new_image == current.image:
        return ImageEdit(service, current.image, new_image, ())
    edit = _edit(project, current, start, end, replacement)
    planned = project.replaced(edit.path, edit.text)
    _verify(project, planned, current, new_image, edit)
    change = FileChange.of(edit.path, project.texts[edit.path], edit.text)
    return ImageEdit(service, current.image, new_image, (change,))


def _checked_tag(new_tag: str, service: str) -> str:
    try:
        return validate_tag(new_tag)
    except InvalidReference as exc:
        raise ComposeFileError(f"service {service!r}: refusing to write {exc}") from exc


def _tag_slot(current: ServiceImage) -> tuple[int, int]:
    """Where the tag sits in the interpolated image: [start, end), or an empty slot at the end if none."""
    try:
        reference = parse_reference(current.image, default_tag=None)
    except InvalidReference as exc:
        raise ComposeFileError(f"{current.where}: the current image is not a valid reference: {exc}") from exc
    if reference.digest:
        # A digest pin says "exactly this content"; Compose pulls by digest and ignores the tag, so
        # changing the tag would do nothing and dropping the digest would silently unpin the service.
        raise ComposeFileError(
            f"{current.where}: image {current.image!r} is pinned by digest (@{reference.digest}); pinned images "
            "are not updated — remove the digest to let the updater manage its tag"
        )
    image = current.image
    colon = image.rfind(":")
    if colon > image.rfind("/"):
        return colon + 1, len(image)
    return len(image), len(image)


def _check_reference(new_image: str, current: ServiceImage) -> None:
    try:
        parse_reference(new_image, default_tag=None)
    except InvalidReference as exc:
        raise ComposeFileError(f"{current.where}: the new image would not be a valid reference: {exc}") from exc


def _edit(project: Project, current: ServiceImage, start: int, end: int, replacement: str) -> _Edit:
    piece = interpolation.piece_covering(current.pieces, start, end)
    if piece is None:
        raise ComposeFileError(
            f"{current.where}: the tag of {current.expression!r} is assembled from several parts; only a tag "
            "written in one place (plain text or one variable) can be updated"
        )
    if piece.source == "literal":
        return _edit_compose_file(project, current, piece, start, end, replacement)
    if isinstance(piece.node, interpolation.Variable) and piece.source in ("value", "default", "unset"):
        return _edit_env(project, current, piece, start, end, replacement)
    origin = "a $$ escape" if piece.source == "escape" else "an alternative value (${VAR:+…})"
    raise ComposeFileError(f"{current.where}: the tag of {current.expression!r} comes from {origin}; cannot update it")


def _edit_compose_file(
    project: Project, current: ServiceImage, piece: interpolation.Piece, start: int, end: int, replacement: str
) -> _Edit:
    _check_not_shared(current)
    text = project.texts[current.path] or ""
    try:
        content_start, _ = yaml_nodes.content_span(text, current.node)
    except ValueError as exc:
        raise ComposeFileError(f"{current.where}: cannot edit the image in place: {exc}") from exc
    offset = content_start + piece.node.start + (start - piece.out_start)
    new_text = text[:offset] + replacement + text[offset + (end - start) :]
    return _Edit(current.path, new_text, f"changing the image in {current.path}")


def _check_not_shared(current: ServiceImage) -> None:
    """Refuse a scalar that other parts of the model use through an anchor, alias or merge key.

    Uses under `x-` keys do not count: Compose ignores extension fields, and they are where shared
    defaults usually live.
    """
    own = ("services", current.service, "image")
    others = [
        ".".join(map(str, path))
        for path in yaml_nodes.occurrences(current.root, current.node)
        if path != own and not any(str(step).startswith("x-") for step in path)
    ]
    if others:
        line = yaml_nodes.line_of(current.node)
        raise ComposeFileError(
            f"{current.path}: service {current.service!r}: its image (line {line}) is shared through a YAML "
            f"anchor, alias or merge key (<<) with {', '.join(others)}; changing it would change those too — "
            f"give {current.service!r} its own image: line (it overrides the merged one)"
        )


def _edit_env(
    project: Project, current: ServiceImage, piece: interpolation.Piece, start: int, end: int, replacement: str
) -> _Edit:
    assert isinstance(piece.node, interpolation.Variable)
    name, path, text = piece.node.name, project.env_path, project.texts[project.env_path]
    if name in project.environ:
        raise ComposeFileError(
            f"{current.where}: the tag comes from {name}, which is set in the environment docker compose runs with "
            "and wins over .env; editing .env would change nothing"
        )
    output = current.image[piece.out_start : piece.out_end]
    inner_start, inner_end = start - piece.out_start, end - piece.out_start
    new_value = output[:inner_start] + replacement + output[inner_end:]
    entry = dotenv.effective_entry(dotenv.parse(text, path), name) if text is not None else None
    action = f"changing {name} in {path}"
    if entry is None or entry.inherited:
        return _Edit(path, dotenv.append(text, name, new_value), action, name)
    assert text is not None
    raw = dotenv.raw_value(text, entry)
    if "$" in raw or "\\" in raw:
        raise ComposeFileError(
            f"{path}: line {entry.line}: {name}={raw!r} uses interpolation or escapes; write a plain value there "
            "so the updater can change its tag"
        )
    if piece.source == "value" and raw == output:
        return _Edit(path, dotenv.replace_value(text, entry, inner_start, inner_end, replacement), action, name)
    if piece.source == "default" and not raw:
        # `${TAG:-1.0.0}` with `TAG=` in .env: the default applied; fill the empty value in.
        return _Edit(path, dotenv.replace_value(text, entry, 0, 0, new_value), action, name)
    raise ComposeFileError(f"{path}: line {entry.line}: cannot tell how {name} gives {output!r}; not editing")


def _verify(before: Project, after: Project, current: ServiceImage, new_image: str, edit: _Edit) -> None:
    """Re-read the planned texts: the target gets `new_image`, the rest of the project stays as it was."""
    got = after.locate(current.service)
    if got.image != new_image:
        raise ComposeFileError(f"{current.where}: internal check failed: the edit gives {got.image!r}")
    changed = [
        name
        for name in before.service_names()
        if name != current.service and _image_or_error(before, name) != _image_or_error(after, name)
    ]
    if changed:
        raise ComposeFileError(
            f"{current.where}: {edit.action} would also change the image of service(s) {', '.join(changed)}; give "
            f"{current.service!r} its own variable or image line"
        )
    old_text, new_text = before.texts[edit.path] or "", edit.text
    if edit.variable is not None:
        _check_env_structure(old_text, new_text, edit.path, edit.variable, current)
    else:
        _check_yaml_structure(old_text, new_text, current, got.expression)


def _image_or_error(project: Project, service: str) -> str:
    try:
        return project.locate(service).image
    except ComposeFileError as exc:
        return f"error: {exc}"


def _check_yaml_structure(old: str, new: str, current: ServiceImage, expression: str) -> None:
    differences = yaml_nodes.differing_events(old, new)
    if (
        len(differences) != 1
        or getattr(differences[0][1], "value", None) != expression
        or differences[0][0].start_mark.index != current.node.start_mark.index
    ):
        raise ComposeFileError(f"{current.where}: internal check failed: the edit would change more than the image")


def _check_env_structure(old_text: str, new_text: str, path: str, variable: str, current: ServiceImage) -> None:
    old, new = dotenv.parse(old_text, path), dotenv.parse(new_text, path)
    touched = [
        after.key
        for before, after in zip(old, new, strict=False)
        if before.key != after.key or dotenv.raw_value(old_text, before) != dotenv.raw_value(new_text, after)
    ]
    touched += [entry.key for entry in new[len(old) :]]
    if len(new) < len(old) or touched != [variable]:
        raise ComposeFileError(f"{current.where}: internal check failed: the edit would change more of {path}")
