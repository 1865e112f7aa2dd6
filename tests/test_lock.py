"""pipeline/lock.py: one run per artifact folder; the lock dies with its holder."""

from __future__ import annotations

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
