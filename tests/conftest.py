"""Shared fixtures: pipeline-built artifact folders from gensim's bundled data, built once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
# Tests never read or fill the user's real cache (~/.cache/embpipe).
os.environ["EMBPIPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="embpipe-test-cache-")


def make_leftover_temp_folders(folder: Path) -> dict[str, Path]:
    """Temporary entry folders in a cache folder as interrupted writes leave them (both caches name them
    ``.<entry>.tmp-<pid>-<random>``): a dead writer's, a live one's and a stale one's, plus a file that is not one."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its PID now names no process (as after SIGKILL)
    made = {
        "dead": folder / f".{'a' * 32}.tmp-{child.pid}-0a1b2c3d",
        "live": folder / f".{'b' * 32}.tmp-{os.getpid()}-0a1b2c3d",  # being written: must stay
        "stale": folder / f".{'c' * 32}.tmp-{os.getpid()}-4e5f6a7b",  # two days old: the PID was reused
    }
    for tmp in made.values():
        tmp.mkdir(parents=True)
        (tmp / "part.npy").write_bytes(bytes(4096))
    two_days_ago = os.stat(made["stale"]).st_mtime - 2 * 86400
    os.utime(made["stale"], (two_days_ago, two_days_ago))
    (folder / ".not-a-temp-folder").write_text("kept")
    return made


@pytest.fixture()
def leftover_temp_folders():
    """:func:`make_leftover_temp_folders`, for the cache tests."""
    return make_leftover_temp_folders


def build_artifact(export_dir, *overrides: str):
    """Run the whole pipeline with ``--set``-style overrides into ``export_dir``; return the RunResult."""
    from pipeline.config import load_config
    from pipeline.runner import run

    config = load_config(None, [f'export.dir="{export_dir}"', *overrides])
    return run(config)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """The embedded default (word2vec on lee_background.cor), one worker so it is deterministic; the
    vocabulary keeps words seen once, so about half its rows have no trained vector and are initialised."""
    out = tmp_path_factory.mktemp("artifacts")
    return build_artifact(out, "vectors.train.workers=1", "vectors.train.epochs=5", "vocab.min_count=1")


@pytest.fixture(scope="session")
def glove_run(tmp_path_factory):
    """gensim's bundled 50-d GloVe sample aligned to a Lee-corpus vocabulary."""
    out = tmp_path_factory.mktemp("artifacts")
    return build_artifact(
        out,
        'name="glove"',
        'vectors.source="file"',
        'vectors.path="gensim-test:test_glove.txt"',
        "vocab.lowercase=true",
        "vocab.min_count=3",
        'evaluate.similarity=[]',
    )


@pytest.fixture
def in_daemon_process():
    """A function: ``fn(*args)`` run in a forked daemonic process, as in a multiprocessing.Pool worker (which
    may not start processes of its own), giving ``("ok", result)`` or ``("error", repr of the exception)``."""
    return _in_daemon_process


def _in_daemon_process(fn, *args):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def run():
        try:
            send.send(("ok", fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            send.send(("error", repr(exc)))

    child = ctx.Process(target=run, daemon=True)
    child.start()
    outcome = receive.recv() if receive.poll(120) else ("error", "no answer in 120 s")
    child.join(10)
    return outcome
