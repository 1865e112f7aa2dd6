"""pipeline/lock.py: one run per artifact folder; the lock dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.errors import LockHeldError
from pipeline.lock import lock_path, run_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipeline.lock import run_lock
    with run_lock(Path(sys.argv[1])):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold(target, seconds):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(target), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_holder_is_refused_with_the_holders_pid(tmp_path):
    target = tmp_path / "run"
    proc = hold(target, 30)
    try:
        with pytest.raises(LockHeldError) as info:
            with run_lock(target):
                pass
        assert f"pid {proc.pid}" in str(info.value)
        assert info.value.exit_code == 75
    finally:
        proc.kill()
        proc.wait()


def test_wait_gets_the_lock_when_the_holder_finishes(tmp_path):
    target = tmp_path / "run"
    proc = hold(target, 0.5)
    t0 = time.monotonic()
    with run_lock(target, wait=20):
        waited = time.monotonic() - t0
    proc.wait()
    assert 0.2 < waited < 20


def test_sigkilled_holder_leaves_no_stale_lock(tmp_path):
    target = tmp_path / "run"
    proc = hold(target, 30)
    proc.kill()
    proc.wait()
    with run_lock(target):  # would raise LockHeldError if the lock outlived its holder
        assert lock_path(target).read_text().strip().isdigit()


def _dead(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie no one reaped counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_dead(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not _dead(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# A run that forks a helper while it holds the lock, prints the helper's pid, then is SIGKILLed.
KILLED_WITH_A_HELPER = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from pipeline.lock import run_lock
    from pipeline.sources.train import _TokenCounter
    with run_lock(Path(sys.argv[1])):
        if sys.argv[2] == "plain fork":
            helper = os.fork()
            if helper == 0:
                time.sleep(30)
                os._exit(0)
        else:  # the corpus counter embpipe forks while preparing a large corpus
            helper = _TokenCounter(two_processes=True).child.pid
        print(helper, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("helper", ["plain fork", "corpus counter"])
def test_a_killed_run_s_forked_helper_neither_keeps_the_lock_nor_outlives_it(tmp_path, helper):
    target = tmp_path / "run"
    # Popen, not run: the helper holds a copy of the pipe, so waiting for its end would wait for the helper.
    with subprocess.Popen([sys.executable, "-c", KILLED_WITH_A_HELPER, str(target), helper],
                          stdout=subprocess.PIPE, text=True) as proc:
        pid = int(proc.stdout.readline())
        assert proc.wait(timeout=60) == -9
    try:
        with run_lock(target, wait=5):  # the helper's copy of the lock's descriptor was closed at the fork
            pass
        if helper == "corpus counter":  # the kernel kills embpipe's own helpers with their parent
            assert _wait_dead(pid)
    finally:
        if not _dead(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("kind", ["link to a file", "dangling link", "fifo"])
def test_a_lock_path_that_is_a_link_or_a_fifo_is_refused_and_nothing_is_written_through_it(tmp_path, kind):
    # The lock was opened following links, then truncated and given the pid: a link planted (or left)
    # at .<name>.lock in a shared export.dir overwrote the file it named with a pid.
    from pipeline.errors import StorageError

    target = tmp_path / "arts" / "run"
    target.parent.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("precious data\n")
    lock = lock_path(target)
    if kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.symlink_to(precious if kind == "link to a file" else tmp_path / "nowhere")
    with pytest.raises(StorageError, match="the run lock is (a symbolic link|not a regular file)") as info:
        with run_lock(target):
            pass
    assert info.value.exit_code == 74 and str(lock) in str(info.value)
    assert precious.read_text() == "precious data\n" and not (tmp_path / "nowhere").exists()


def test_an_export_dir_that_is_a_dangling_link_says_so(tmp_path):
    # The message had been "cannot create the run lock: File exists".
    from pipeline.errors import StorageError

    (tmp_path / "arts").symlink_to(tmp_path / "gone")
    with pytest.raises(StorageError, match="export.dir is a symbolic link to nothing") as info:
        with run_lock(tmp_path / "arts" / "run"):
            pass
    assert info.value.exit_code == 74 and info.value.path == str(tmp_path / "arts")
