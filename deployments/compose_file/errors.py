"""Errors of the Compose file editor: one line each, naming the file and the service."""

from __future__ import annotations


class ComposeFileError(Exception):
    """The Compose project cannot be read or edited safely; the message says why and what to do."""


class ComposeDriftError(ComposeFileError):
    """A file changed on disk since it was read or written: someone else's edit is never overwritten."""


class ComposeWriteError(ComposeFileError):
    """Writing failed (disk full, permissions…); every file was left as it was before the call."""
