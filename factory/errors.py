"""Error types whose messages are shown to users as one line (the CLI adds --debug for tracebacks)."""

from __future__ import annotations


class FactoryError(Exception):
    """Base class: the message is a complete, user-facing sentence."""


class SnapshotNotFound(FactoryError, KeyError):
    """A ``name`` or ``name@id`` that the store does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "snapshot not found"


class InputError(FactoryError, ValueError):
    """Bad input data: names the file, row or column that is wrong."""


class BuildError(FactoryError):
    """A build step failed; what was written before is kept and the build can be resumed."""
