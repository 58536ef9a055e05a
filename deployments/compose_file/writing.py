"""Apply and revert an `ImageEdit`: drift-checked, atomic per file, all-or-nothing across files.

Each file goes through a temp file in the same directory (written, fsynced, given the file's mode and
owner) and `os.replace`, so a reader sees the old bytes or the new ones, never a mix; a full disk
fails at the temp file and leaves the original alone. All temp files are written before any rename,
and renames done before a failure are put back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass

from deployments.compose_file.errors import ComposeDriftError, ComposeWriteError
from deployments.compose_file.records import FileChange, ImageEdit

NEW_FILE_MODE = 0o644  # a `.env` we create holds only a tag


@dataclass(frozen=True)
class _State:
    exists: bool
    sha256: str


@dataclass(frozen=True)
class _Step:
    """Move one file from `expected` to `content` (None: remove it); `previous` undoes the move."""

    path: str
    expected: _State
    content: bytes | None
    previous: bytes | None


def apply_edit(edit: ImageEdit) -> None:
    """Write the planned texts. Files already holding them are left alone, so a retry is harmless.

    Raises `ComposeDriftError` if any file holds neither the planned "before" nor "after" text (nothing
    is written then), `ComposeWriteError` if writing fails (every file is back as it was).
    """
    _run([_step(change, forward=True) for change in edit.changes], forward=True)


def revert_edit(edit: ImageEdit) -> None:
    """Put the previous texts back, only over files that still hold exactly what `apply_edit` wrote.

    Files already holding the previous text are left alone (idempotent); a file we created is removed.
    A file edited since is never overwritten: `ComposeDriftError`, and nothing is written.
    """
    _run([_step(change, forward=False) for change in edit.changes], forward=False)


def _step(change: FileChange, *, forward: bool) -> _Step | None:
    path = os.path.realpath(change.path)  # write through a symlink, keep the link
    before = _State(change.existed, change.before_sha256)
    after = _State(True, change.after_sha256)
    before_bytes = change.before.encode("utf-8") if change.existed else None
    after_bytes = change.after.encode("utf-8")
    source, target = (before, after) if forward else (after, before)
    current = _state_of(path)
    if current == target:
        return None
    if current != source:
        raise ComposeDriftError(_drift_message(change.path, forward=forward))
    if forward:
        return _Step(path, source, after_bytes, before_bytes)
    return _Step(path, source, before_bytes, after_bytes)


def _drift_message(path: str, *, forward: bool) -> str:
    if forward:
        return f"{path}: file changed on disk since the edit was planned; not overwriting it — plan the update again"
    return (
        f"{path}: file was changed after the updater wrote it; not restoring the previous version over that "
        "edit — compare it with the stored backup and restore by hand"
    )


def _state_of(path: str) -> _State:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return _State(False, hashlib.sha256(b"").hexdigest())
    except OSError as exc:
        raise ComposeWriteError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return _State(True, hashlib.sha256(data).hexdigest())


def _run(maybe_steps: list[_Step | None], *, forward: bool) -> None:
    steps = [step for step in maybe_steps if step is not None]
    temps: dict[str, str] = {}
    try:
        for step in steps:
            if step.content is not None:
                temps[step.path] = _write_temp(step.path, step.content)
        for step in steps:
            # Checked again right before the renames, so an edit made meanwhile is not lost.
            if _state_of(step.path) != step.expected:
                raise ComposeDriftError(_drift_message(step.path, forward=forward))
        done: list[_Step] = []
        for step in steps:
            _commit(step, temps.pop(step.path, None), done=done)
    finally:
        for temp in temps.values():
            _remove_quietly(temp)


def _commit(step: _Step, temp: str | None, *, done: list[_Step]) -> None:
    """Swap one file into place and record it in `done`; on failure put back everything in `done`."""
    try:
        if temp is None:
            os.unlink(step.path)
        else:
            os.replace(temp, step.path)
        done.append(step)  # from here on the swap happened, even if the fsync below fails
        _fsync_directory(step.path)
    except OSError as exc:
        if temp is not None:
            _remove_quietly(temp)
        problems = _undo(done)
        suffix = f"; and could not put back: {'; '.join(problems)}" if problems else "; no file was changed"
        raise ComposeWriteError(f"{step.path}: cannot write: {exc.strerror or exc}{suffix}") from exc


def _undo(done: list[_Step]) -> list[str]:
    problems = []
    for step in reversed(done):
        try:
            if step.previous is None:
                os.unlink(step.path)
            else:
                os.replace(_write_temp(step.path, step.previous), step.path)
            _fsync_directory(step.path)
        except (OSError, ComposeWriteError) as exc:
            problems.append(f"{step.path}: {exc}")
    return problems


def _write_temp(path: str, content: bytes) -> str:
    """Write `content` next to `path` with its mode and owner, fsynced; return the temp file's path."""
    directory, name = os.path.split(path)
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.updater-tmp")
    try:
        mode, uid, gid = _mode_and_owner(path, directory)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ComposeWriteError(f"{path}: cannot create a temporary file: {exc.strerror or exc}") from exc
    try:
        try:
            _write_all(fd, content)
            _copy_owner(fd, uid, gid)
            os.fchmod(fd, mode)  # after fchown, which may clear set-id bits
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        _remove_quietly(temp)
        raise ComposeWriteError(f"{path}: cannot write: {exc.strerror or exc}; the file was left as it was") from exc
    return temp


def _mode_and_owner(path: str, directory: str) -> tuple[int, int, int]:
    """The file's own mode and owner; a new file takes the directory's owner (the project's, not ours)."""
    try:
        st = os.stat(path)
        return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
    except FileNotFoundError:
        st = os.stat(directory or ".")
        return NEW_FILE_MODE, st.st_uid, st.st_gid


def _write_all(fd: int, content: bytes) -> None:
    view = memoryview(content)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _copy_owner(fd: int, uid: int, gid: int) -> None:
    if (uid, gid) == (os.geteuid(), os.getegid()):
        return
    with contextlib.suppress(PermissionError):  # only root can give a file away; else it stays ours
        os.fchown(fd, uid, gid)


def _fsync_directory(path: str) -> None:
    # Makes the rename itself durable; without it a crash can bring back the old directory entry.
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
