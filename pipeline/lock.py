"""One run at a time per artifact folder: an OS file lock beside it.

The lock is ``<export.dir>/.<name>.lock``, held with ``fcntl.flock`` for the
whole run. The kernel drops it when the process dies, even by SIGKILL, so a
killed run never leaves a stale lock behind. The holder's pid is written into
the file so that a refused run can say who holds it.

An flock belongs to the open file, which a forked process shares: a helper
process forked while the lock is held would keep it for as long as it lives.
So a forked child closes its copies of the held locks' descriptors at once
(``os.register_at_fork``), and the lock stays the parent's alone.

:func:`folder_lock` is the waiting kind, for scratch folders such as the
prepared training corpus that two runs of one name share.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import stat
import time
from contextlib import contextmanager
from pathlib import Path

from pipeline.errors import LockHeldError, StorageError

log = logging.getLogger(__name__)


_held: set[int] = set()  # descriptors of the locks this process holds


def _close_held_in_child() -> None:
    for fd in _held:
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_close_held_in_child)


def lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


@contextmanager
def run_lock(target: Path, wait: float = 0.0, poll: float = 0.2):
    """Hold the lock for ``target`` (an artifact folder); wait up to ``wait`` seconds for it.

    Raises :class:`LockHeldError` (exit 75) naming the holder's pid when it stays taken.
    """
    path = lock_path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not through a symbolic link: the pid written below would overwrite whatever file it names.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        if path.parent.exists() and not path.parent.is_dir():
            raise StorageError("export.dir is not a folder (expected a folder, or a path to create one)",
                               path.parent) from None
        if path.parent.is_symlink() and not path.parent.exists():
            raise StorageError("export.dir is a symbolic link to nothing (expected a folder, or a link to one)",
                               path.parent) from None
        if exc.errno == errno.ELOOP:
            raise StorageError("the run lock is a symbolic link (expected the regular file embpipe creates; "
                               "remove the link)", path) from None
        raise StorageError(
            f"cannot open or create the run lock: {exc.strerror or exc} (expected a writable export.dir)", path
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device opened for writing: not ours to write to
        os.close(fd)
        raise StorageError("the run lock is not a regular file (expected the file embpipe creates; remove it)", path)
    deadline = time.monotonic() + wait
    _held.add(fd)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    raise LockHeldError(
                        f"another embpipe run (pid {holder}) is writing {target}; "
                        "retry later or pass --wait SECONDS",
                        path,
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)  # closing the descriptor releases the flock


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode().strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def folder_lock(folder: Path):
    """Hold ``folder/.lock`` exclusively, waiting for as long as another process holds it.

    For scratch work that a second process would spoil (e.g. pruning a prepared
    corpus another run is training on). A lock that cannot be created is not
    taken: the caller goes on unguarded, as before locks existed.
    """
    try:
        fd = os.open(Path(folder) / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    _held.add(fd)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for pid %s, which is using %s", _read_pid(fd), folder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)
