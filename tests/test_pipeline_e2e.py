"""The whole pipeline on gensim's bundled data, checked against gensim computing the same things its own way."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from pipeline.artifacts import load_artifact


def keyed_vectors(words, rows) -> KeyedVectors:
    kv = KeyedVectors(rows.shape[1])
    kv.add_vectors(list(words), rows)
    return kv


def test_trained_default_rows_equal_the_trained_vectors(trained_run):
    art = load_artifact(trained_run.artifact_dir)
    src = trained_run.vectors
    index = {w: i for i, w in enumerate(src.words)}
    assert art.weights.shape == (len(art.tokens), 100)
    assert art.tokens[:2] == ("[PAD]", "[UNK]") and not art.weights[0].any()
    words, rows = art.matched_rows()
    assert len(words) > 4000
    exact = [(w, r) for w, r in zip(words, rows) if w in index]
    assert len(exact) > 0.9 * len(words)
    for w, r in exact:
        assert np.array_equal(r, src.matrix[index[w]])
    # and the source vectors are gensim's own
    kv = src.keyed_vectors
    if kv is not None:  # None when the vectors stage came from the cache
        assert np.array_equal(src.matrix, kv.vectors)


def test_the_matrix_and_its_exported_folder_give_the_same_matched_rows(trained_run):
    # What the run's evaluation scored (the in-memory matrix) is what `embpipe evaluate` scores later.
    words, rows = trained_run.matrix.matched_rows()
    art_words, art_rows = load_artifact(trained_run.artifact_dir).matched_rows()
    assert len(words) == int(trained_run.matrix.matched.sum()) > 4000
    assert words == art_words and np.array_equal(rows, art_rows)
    assert set(words).isdisjoint(trained_run.matrix.tokens[i] for i in trained_run.matrix.initialised)


def test_glove_rows_equal_gensims_loader(glove_run):
    kv = KeyedVectors.load_word2vec_format(datapath("test_glove.txt"), no_header=True)
    art = load_artifact(glove_run.artifact_dir)
    words, rows = art.matched_rows()
    assert words, "the Lee vocabulary should meet the GloVe sample somewhere"
    for w, r in zip(words, rows):
        assert np.array_equal(r, kv[w]) or np.array_equal(r, kv[w.lower()])


def test_report_numbers_equal_gensims_on_the_same_vectors(trained_run):
    art = load_artifact(trained_run.artifact_dir)
    words, rows = art.matched_rows()
    kv = keyed_vectors(words, rows)
    report = trained_run.report["evaluation"]

    _, sections = kv.evaluate_word_analogies(datapath("questions-words.txt"), restrict_vocab=30000)
    ours = {s["section"]: s for s in report["analogies"]["sections"]}
    for sec in sections:
        if sec["section"] == "Total accuracy":
            mine = report["analogies"]["cosadd"]
            assert (mine["correct"], mine["total"]) == (len(sec["correct"]), len(sec["correct"]) + len(sec["incorrect"]))
            continue
        mine = ours[sec["section"]]["cosadd"]
        assert (mine["correct"], mine["total"]) == (len(sec["correct"]), len(sec["correct"]) + len(sec["incorrect"]))

    (pearson, _), (spearman, _), oov = kv.evaluate_word_pairs(datapath("wordsim353.tsv"), restrict_vocab=30000)
    sim = report["similarity"][0]
    assert sim["pearson"] == pytest.approx(pearson, abs=1e-6)
    assert sim["spearman"] == pytest.approx(spearman, abs=1e-6)
    assert 100 * sim["oov_ratio"] == pytest.approx(oov, abs=1e-6)


def test_report_md_has_every_section(trained_run):
    md = (trained_run.artifact_dir / "report.md").read_text()
    for heading in ("## Coverage", "Most frequent tokens with no vector", "nalog", "imilarity", "eighbours"):
        assert heading in md
