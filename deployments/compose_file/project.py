"""A Compose project as text in memory: its `-f` files, its `.env`, and where a service's image comes from.

Everything is read once, as strict UTF-8, so the same snapshot can be checked, edited in memory and
checked again before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from deployments.compose_file import dotenv, interpolation, yaml_nodes
from deployments.compose_file.errors import ComposeFileError

MAX_FILE_BYTES = 4 * 1024 * 1024  # far above any real Compose file; stops us reading something else by mistake


@dataclass(frozen=True)
class ServiceImage:
    """A service's image: the scalar that defines it and what Compose makes of it."""

    service: str
    path: str  # the Compose file whose `image:` wins
    root: Node  # that file's document, to check who else shares the scalar
    node: ScalarNode
    image: str  # interpolated
    pieces: tuple[interpolation.Piece, ...]

    @property
    def expression(self) -> str:
        """The scalar as written, before interpolation."""
        return self.node.value

    @property
    def where(self) -> str:
        return f"{self.path}: line {yaml_nodes.line_of(self.node)}: service {self.service!r}"


class Project:
    """The texts of one Compose project and the variables Compose would interpolate them with."""

    def __init__(
        self, config_files: Sequence[str], env_path: str, texts: Mapping[str, str | None], environ: Mapping[str, str]
    ) -> None:
        self.config_files = tuple(config_files)
        self.env_path = env_path
        self.texts = dict(texts)
        self.environ = dict(environ)
        self._documents: dict[str, Node | None] = {}

    @classmethod
    def load(cls, config_files: Sequence[str], working_dir: str, environ: Mapping[str, str]) -> Project:
        """Read the Compose files (which must exist) and the optional `.env` of `working_dir`."""
        if not config_files:
            raise ComposeFileError("no Compose files given")
        for path in (*config_files, working_dir):
            if not os.path.isabs(path):
                raise ComposeFileError(f"{path}: expected an absolute path")
        env_path = os.path.join(working_dir, ".env")
        texts: dict[str, str | None] = {path: read_text(path, required=True) for path in config_files}
        texts[env_path] = read_text(env_path, required=False)
        return cls(config_files, env_path, texts, environ)

    def replaced(self, path: str, text: str) -> Project:
        """The same project with one file's text changed (nothing is written)."""
        return Project(self.config_files, self.env_path, {**self.texts, path: text}, self.environ)

    @cached_property
    def variables(self) -> dict[str, str]:
        return dotenv.values(self.texts[self.env_path], self.env_path, self.environ)

    def lookup(self, name: str) -> str | None:
        return self.variables.get(name)

    def document(self, path: str) -> Node | None:
        if path not in self._documents:
            self._documents[path] = yaml_nodes.compose(self.texts[path] or "", path)
        return self._documents[path]

    def service_names(self) -> list[str]:
        names: dict[str, None] = {}
        for path in self.config_files:
            names.update(dict.fromkeys(yaml_nodes.keys(self._services(path))))
        return list(names)

    def locate(self, service: str) -> ServiceImage:
        """Find the `image:` that wins for `service` (the last `-f` file defining it) and interpolate it."""
        definitions: list[tuple[str, Node]] = []
        winner: tuple[str, Node] | None = None
        for path in self.config_files:
            definition = yaml_nodes.get(self._services(path), service, f"{path}: services")
            if definition is None:
                continue
            _check_definition(path, service, definition)
            definitions.append((path, definition))
            image = yaml_nodes.get(definition, "image", f"{path}: service {service!r}")
            if image is not None:
                winner = (path, image)
        if not definitions:
            raise ComposeFileError(self._not_found(service))
        if winner is None:
            raise ComposeFileError(_no_image(service, definitions))
        return self._interpolated(service, *winner)

    def _services(self, path: str) -> Node | None:
        root = self.document(path)
        if root is not None and not isinstance(root, MappingNode):
            raise ComposeFileError(f"{path}: the top level is not a mapping")
        services = yaml_nodes.get(root, "services", path)
        if services is not None and not isinstance(services, MappingNode) and not yaml_nodes.is_null(services):
            raise ComposeFileError(f"{path}: line {yaml_nodes.line_of(services)}: 'services' is not a mapping")
        return services

    def _interpolated(self, service: str, path: str, node: Node) -> ServiceImage:
        where = f"{path}: line {yaml_nodes.line_of(node)}: service {service!r}"
        if not isinstance(node, ScalarNode) or yaml_nodes.is_null(node):
            raise ComposeFileError(f"{where}: image is empty or not a string")
        if yaml_nodes.is_custom_tag(node):
            raise ComposeFileError(f"{where}: image carries the YAML tag {node.tag}, which this editor does not handle")
        try:
            image, pieces = interpolation.interpolate(node.value, self.lookup)
        except interpolation.InterpolationError as exc:
            raise ComposeFileError(f"{where}: cannot interpolate image {node.value!r}: {exc}") from exc
        root = self.document(path)
        assert root is not None
        return ServiceImage(service, path, root, node, image, pieces)

    def _not_found(self, service: str) -> str:
        files = ", ".join(self.config_files)
        known = ", ".join(sorted(self.service_names())) or "none"
        message = f"service {service!r} is not defined in {files} (services: {known})"
        including = [path for path in self.config_files if yaml_nodes.get(self.document(path), "include", path)]
        if including:
            message += (
                f"; {', '.join(including)} uses include:, and images in included files are not edited — "
                "move the service into a file passed with -f, or update it by hand"
            )
        return message


def read_text(path: str, *, required: bool) -> str | None:
    """A file's text as strict UTF-8 (line endings untouched), or None if it is optional and missing."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        if required:
            raise ComposeFileError(f"{path}: file not found") from None
        return None
    except OSError as exc:
        raise ComposeFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ComposeFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not a Compose file this editor will touch")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ComposeFileError(
            f"{path}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); save it as UTF-8"
        ) from exc


def _check_definition(path: str, service: str, definition: Node) -> None:
    where = f"{path}: line {yaml_nodes.line_of(definition)}: service {service!r}"
    if yaml_nodes.is_custom_tag(definition):
        raise ComposeFileError(f"{where}: carries the YAML tag {definition.tag}, which this editor does not handle")
    if not isinstance(definition, MappingNode):
        raise ComposeFileError(f"{where}: the service definition is not a mapping")


def _no_image(service: str, definitions: list[tuple[str, Node]]) -> str:
    files = ", ".join(path for path, _ in definitions)
    has = {key for _, definition in definitions for key in yaml_nodes.keys(definition)}
    if "extends" in has:
        return f"service {service!r} in {files} gets its image through extends:, which this editor does not follow"
    if "build" in has:
        return f"service {service!r} in {files} has no image: (it is built from source with build:); nothing to update"
    return f"service {service!r} in {files} has no image: key"
