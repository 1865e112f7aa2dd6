"""The errors embpipe raises on purpose, and the exit code each one maps to.

Every message says *what* went wrong, *where* (``path:line`` when there is a
line) and *what was expected*, on one line, so that a person reading a cron
mail can act on it. The CLI maps these to exit codes in one place
(:meth:`pipeline.cli.EmbpipeGroup.invoke`); library code never exits.

Exit codes (see the README): 0 ok, 1 internal error, 2 usage, 3 quality gate
missed, 65 bad input data, 74 I/O error, 75 temporary failure (lock held),
78 bad config.
"""

from __future__ import annotations

import os


class PipelineError(Exception):
    """Base class: an error embpipe expected and can explain in one line."""

    exit_code = 1

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


class ConfigError(PipelineError):
    """A config file or ``--set`` override is wrong (exit 78)."""

    exit_code = 78


class DataError(PipelineError):
    """An input file is malformed (exit 65)."""

    exit_code = 65


class StorageError(PipelineError):
    """A file cannot be read or written: missing, a directory, no permission (exit 74)."""

    exit_code = 74


class LockHeldError(PipelineError):
    """Another run holds the lock on the artifact folder (exit 75, retry later)."""

    exit_code = 75


class GateError(PipelineError):
    """The quality gate rejected the new artifacts (exit 3); the old ones stay published."""

    exit_code = 3


def open_error(path: str | os.PathLike, exc: OSError, what: str = "file") -> StorageError:
    """Turn an ``OSError`` from opening ``path`` into a one-line :class:`StorageError`.

    >>> str(open_error("v.txt", FileNotFoundError(2, "No such file")))
    'v.txt: cannot read file: no such file (expected an existing, readable file)'
    """
    if isinstance(exc, FileNotFoundError):
        reason = "no such file"
    elif isinstance(exc, IsADirectoryError):
        reason = "is a directory"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    else:
        reason = exc.strerror or exc.__class__.__name__
    return StorageError(f"cannot read {what}: {reason} (expected an existing, readable {what})", path)
