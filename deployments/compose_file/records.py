"""What an image edit changes, in a form the database can keep as the backup for a rollback."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from deployments.compose_file.errors import ComposeFileError

JSON_VERSION = 1


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text` (what is on disk, since files are read as strict UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FileChange:
    """One file's content before and after the edit.

    `before`/`after` are kept out of `repr` because a project's `.env` may hold secrets, and reprs end
    up in logs and tracebacks.
    """

    path: str
    before: str = field(repr=False)
    after: str = field(repr=False)
    existed: bool
    before_sha256: str
    after_sha256: str

    @classmethod
    def of(cls, path: str, before: str | None, after: str) -> FileChange:
        """Build a change from the old text (`None` when the file does not exist yet) and the new one."""
        old = before if before is not None else ""
        return cls(
            path=path,
            before=old,
            after=after,
            existed=before is not None,
            before_sha256=sha256_text(old),
            after_sha256=sha256_text(after),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "existed": self.existed,
            "before_sha256": self.before_sha256,
            "after_sha256": self.after_sha256,
        }

    @classmethod
    def from_json(cls, data: Any) -> FileChange:
        """Rebuild a change, refusing a record whose texts no longer match their hashes."""
        if not isinstance(data, dict):
            raise ComposeFileError("stored compose file backup is malformed: a change is not an object")
        change = cls(
            path=_field(data, "path", str),
            before=_field(data, "before", str),
            after=_field(data, "after", str),
            existed=_field(data, "existed", bool),
            before_sha256=_field(data, "before_sha256", str),
            after_sha256=_field(data, "after_sha256", str),
        )
        if sha256_text(change.before) != change.before_sha256 or sha256_text(change.after) != change.after_sha256:
            raise ComposeFileError(f"stored compose file backup for {change.path} is corrupt: content and hash differ")
        return change


@dataclass(frozen=True)
class ImageEdit:
    """A planned change of one service's image: the files to rewrite, or none when already on target."""

    service: str
    old_image: str
    new_image: str
    changes: tuple[FileChange, ...]

    def to_json(self) -> dict[str, Any]:
        """The backup stored in the database. It holds whole file texts: treat it like a secret."""
        return {
            "version": JSON_VERSION,
            "service": self.service,
            "old_image": self.old_image,
            "new_image": self.new_image,
            "changes": [change.to_json() for change in self.changes],
        }

    @classmethod
    def from_json(cls, data: Any) -> ImageEdit:
        if not isinstance(data, dict) or data.get("version") != JSON_VERSION:
            raise ComposeFileError("stored compose file backup is malformed or from an unknown version")
        changes = data.get("changes")
        if not isinstance(changes, list):
            raise ComposeFileError("stored compose file backup is malformed: 'changes' is not a list")
        return cls(
            service=_field(data, "service", str),
            old_image=_field(data, "old_image", str),
            new_image=_field(data, "new_image", str),
            changes=tuple(FileChange.from_json(item) for item in changes),
        )


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise ComposeFileError(f"stored compose file backup is malformed: {name!r} is not a {kind.__name__}")
    return value
