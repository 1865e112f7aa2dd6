"""Operating-system helpers shared by the caches, the export and the readers.

- files: :func:`write_atomic` (a file's old bytes or its new ones, never part of
  them), :func:`exchange_paths` (swap two folders in one step), :func:`remove_path`;
- forked helper processes: :func:`can_fork_a_helper` (is a second core there to use),
  :func:`die_with_parent` (first call in a forked child);
- :func:`libc_function`, the C library calls the two above need (Linux's
  ``renameat2`` and ``prctl``; None elsewhere, and callers fall back).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def remove_path(path: Path) -> None:
    """Remove whatever is at ``path``: a file, a link (never what it points to) or a folder tree.

    Nothing there is fine. A file or link that cannot be removed raises OSError; a
    folder tree is removed as far as it can be (``shutil.rmtree(ignore_errors=True)``).
    """
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is unavailable.

    A reader of ``b`` sees the old content or the new, never a moment with
    neither nor a folder being deleted under it.
    """
    renameat2 = libc_function("renameat2")
    if renameat2 is None:
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@functools.cache
def libc_function(name: str) -> Any:
    """The C library's function ``name`` (of this process, no search for the library), or None where it has none."""
    try:
        import ctypes  # here: only a swap or a forked helper needs it

        return getattr(ctypes.CDLL(None, use_errno=True), name, None)
    except OSError:
        return None


def write_atomic(path: Path, data: bytes | Callable[[BinaryIO], None]) -> None:
    """Write ``data`` (bytes, or a function that writes to the stream it is given) beside ``path``,
    then rename it into place.

    ``path`` then holds its old bytes or the new ones, never part of them, with the
    permissions of the file it replaces (a private 0600 file stays private). The
    temporary name, ``.<name>.<random>.tmp`` with the name cut to 64 characters (a
    long name plus a suffix could pass the file system's limit), is what a reader
    of the folder may take for a leftover. On failure (OSError: a full disk, no
    permission) the temporary file is removed too.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:64]}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _mode_for(path))
            if callable(data):
                data(fh)
            else:
                fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permission bits a file written at ``path`` gets: those of the file it replaces, else the umask's."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container's limit may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_fork_a_helper(workers: int | None = None) -> bool:
    """Whether a second process may take part of the work: ``workers`` (None: the cores this
    process may use) is 2 or more, ``fork`` exists, and this process is not daemonic (a
    ``multiprocessing.Pool`` worker, which may not start processes)."""
    if workers is None:
        workers = usable_cores()
    if workers < 2:
        return False
    import multiprocessing  # here: a cached read imports the readers, which never fork then (5 ms saved)

    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def die_with_parent(parent: int) -> None:
    """Call first in a forked helper: the kernel then kills it when ``parent`` dies (Linux).

    A helper waits on a pipe to its parent; if the parent alone were killed
    (SIGKILL, the OOM killer) the helper would wait forever, holding memory.
    """
    prctl = libc_function("prctl")
    if prctl is not None:  # None: not Linux; the helper ends when its pipe closes
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
