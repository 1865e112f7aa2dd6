"""Shared fixtures: pipeline-built artifact folders from gensim's bundled data, built once per session."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
# Tests never read or fill the user's real cache (~/.cache/embpipe).
os.environ["EMBPIPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="embpipe-test-cache-")


def build_artifact(export_dir, *overrides: str):
    """Run the whole pipeline with ``--set``-style overrides into ``export_dir``; return the RunResult."""
    from pipeline.config import load_config
    from pipeline.runner import run

    config = load_config(None, [f'export.dir="{export_dir}"', *overrides])
    return run(config)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """The embedded default (word2vec on lee_background.cor), one worker so it is deterministic."""
    out = tmp_path_factory.mktemp("artifacts")
    return build_artifact(out, "vectors.train.workers=1", "vectors.train.epochs=5")


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
