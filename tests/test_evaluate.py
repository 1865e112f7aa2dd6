"""pipeline/evaluate.py: neighbours, analogies and similarity, by hand and against gensim as the reference."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence
from gensim.test.utils import datapath
from scipy import stats

import pipeline.evaluate as ev
from pipeline.config import EvaluateConfig
from pipeline.errors import DataError, StorageError
from pipeline.evaluate import (
    _answer_analogies,
    _average_ranks,
    _query_direction,
    _Searched,
    default_probes,
    evaluate,
    evaluate_analogies,
    evaluate_similarity,
    nearest_neighbours,
    unit_normalise,
)
from pipeline.report import render_markdown

QUESTIONS = datapath("questions-words.txt")


def keyed_vectors(words, vectors) -> KeyedVectors:
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(list(words), vectors)
    return kv


@pytest.fixture(scope="module")
def lee():
    """Word2Vec on gensim's Lee corpus (one worker + seed: the same vectors every run), and a KeyedVectors of them.

    20 epochs rather than 5 so that a few analogies come out right; the vocabulary
    has 260 words that collide when upper-cased ("The"/"the"), which exercises
    the case-insensitive rules.
    """
    model = Word2Vec(LineSentence(datapath("lee_background.cor")), vector_size=50, min_count=2,
                     seed=1, workers=1, epochs=20)
    words, vectors = list(model.wv.index_to_key), model.wv.vectors.copy()
    return words, vectors, keyed_vectors(words, vectors)


# --------------------------------------------------------------------------- unit vectors, neighbours


def test_unit_normalise_keeps_zero_rows():
    out = unit_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-7)


def test_nearest_neighbours_by_hand():
    words = ["a", "b", "c", "d", "zero"]
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [0, 0]], dtype=np.float32)
    result = nearest_neighbours(words, vectors, ["a", "nope", "zero"], top_k=3)
    assert set(result) == {"a", "zero"}  # a query not in the vocabulary is absent
    assert [w for w, _ in result["a"]] == ["b", "c", "zero"]  # the query itself is never listed
    np.testing.assert_allclose([s for _, s in result["a"]], [0.9 / np.sqrt(0.82), 0.0, 0.0], atol=1e-6)
    assert all(s == 0.0 for _, s in result["zero"])  # a zero vector scores 0, not nan
    # restrict_vocab limits the rows searched, not the queries
    assert nearest_neighbours(words, vectors, ["d"], top_k=3, restrict_vocab=2) == {
        "d": [("b", pytest.approx(-0.9 / np.sqrt(0.82))), ("a", -1.0)]
    }


def test_nearest_neighbours_ties_go_to_the_earlier_row():
    # An exact tie is recomputed and ranked with gensim's partial sort, which here
    # (as mostly) leaves tied rows in row order; test_exact_ties_come_out_in_gensims_order has the rest.
    words = ["q", "x", "y", "z", "w"]
    vectors = np.array([[1, 0], [0, 1], [1, 1], [1, 1], [1, 1]], dtype=np.float32)
    assert [w for w, _ in nearest_neighbours(words, vectors, ["q"], top_k=2)["q"]] == ["y", "z"]


def test_nearest_neighbours_match_gensim(lee):
    words, vectors, kv = lee
    index = {w: i for i, w in enumerate(words)}
    queries = words[:150] + words[1500:1510]  # the last ten lie beyond restrict_vocab
    for restrict in (1000, 0):
        ours = nearest_neighbours(words, vectors, queries, top_k=10, restrict_vocab=restrict, batch_size=64)
        assert list(ours) == queries
        for q in queries:
            theirs = kv.most_similar(q, topn=10, restrict_vocab=restrict or None)
            dists = kv.most_similar(q, topn=None, restrict_vocab=restrict or None)  # gensim's score of every row
            assert len(ours[q]) == len(theirs) == 10
            assert [w for w, _ in ours[q]] == [w for w, _ in theirs], q  # near-ties are recomputed gensim's way
            for w, s in ours[q]:
                assert s == pytest.approx(dists[index[w]], abs=1e-5)


def test_exact_cosines_are_gensims_bit_for_bit(lee):
    # What the near-tie recomputation rests on: the same float32 product as gensim's, so the same bits.
    words, vectors, kv = lee
    searched = _Searched.of(vectors, 1000)
    for q in ("government", "police", "said"):
        direction = _query_direction(unit_normalise(vectors[[words.index(q)]]), 1.0)[0]
        np.testing.assert_array_equal(searched.exact_cosines(direction), kv.most_similar(q, topn=None,
                                                                                          restrict_vocab=1000))
    searched = _Searched.of(vectors, len(words))
    a, b, c = (np.array([words.index(w)]) for w in ("man", "king", "woman"))
    direction = _query_direction((searched.unit(b) + searched.unit(c)) - searched.unit(a), 3.0)[0]
    np.testing.assert_array_equal(searched.exact_cosines(direction),
                                  kv.most_similar(positive=["king", "woman"], negative=["man"], topn=None))


def test_every_neighbour_list_recomputed_gensims_way_is_gensims(lee, monkeypatch):
    # An error allowance so large that every query counts as a near-tie: the exact path alone.
    words, vectors, kv = lee
    monkeypatch.setattr(ev, "_COSINE_SPREAD", 1e9)
    queries = words[:40]
    searched = _Searched.of(vectors, len(words))
    rows = np.arange(len(queries))
    top, scores, rechecked = ev._nearest(searched, _query_direction(unit_normalise(vectors[rows]), 1.0), rows,
                                         10, 1024)
    assert rechecked == len(queries)
    for q, idx, sc in zip(queries, top, scores):
        assert [(words[i], float(s)) for i, s in zip(idx, sc)] == kv.most_similar(q, topn=10)  # scores too, exactly


def test_ties_of_rows_sharing_no_dimension_with_the_query_are_gensims_order():
    # Cosine 0 from products that are all 0 has no rounding allowance; the tie was kept in row
    # order, where gensim's partial sort orders it its own way (found by a hostile audit).
    rng = np.random.default_rng(5)
    vectors = np.zeros((200, 6), dtype=np.float32)
    vectors[:, :3] = rng.standard_normal((200, 3))
    vectors[100:, :3] = 0
    vectors[100:, 3:] = rng.standard_normal((100, 3))  # no dimension in common with rows 0-99
    words = [f"w{i}" for i in range(200)]
    kv = keyed_vectors(words, vectors)
    for q in ("w0", "w5", "w17"):
        theirs = [w for w, _ in kv.most_similar(q, topn=150)]
        assert [w for w, _ in nearest_neighbours(words, vectors, [q], top_k=150)[q]] == theirs


def test_products_below_float32s_normal_range_are_ranked_gensims_way():
    # gensim's float32 dot rounds such products in steps of 2**-149, far coarser than the allowance
    # assumes: its order of three almost equal rows differed from the float64 order (hostile audit).
    a = [1e-22 * (1 + 1e-6 * j) for j in range(1, 4)]
    vectors = np.array([[1, 1e-17, 1e-17]] + [[0, x, x] for x in a] + [[-1, 0.3, 0.3]] * 5, dtype=np.float32)
    words = [f"w{i}" for i in range(len(vectors))]
    theirs = [w for w, _ in keyed_vectors(words, vectors).most_similar("w0", topn=3)]
    assert [w for w, _ in nearest_neighbours(words, vectors, ["w0"], top_k=3)["w0"]] == theirs


def test_nearest_neighbours_near_tie_is_settled_as_gensim_does():
    # Row 2 is row 1 nudged towards the query: 8 float32 ulps more similar, less than
    # our and gensim's products may disagree by, so the query is recomputed gensim's
    # way; row 2 must then come first although row 1 is the earlier row.
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((300, 50)).astype(np.float32)
    vectors[1] = vectors[0] + 0.7 * rng.standard_normal(50).astype(np.float32)
    q, x = vectors[0] / np.linalg.norm(vectors[0]), vectors[1].copy()
    vectors[2] = x + 2e-6 * np.linalg.norm(x) * q
    words = [f"w{i}" for i in range(300)]
    theirs = keyed_vectors(words, vectors).most_similar("w0", topn=3)
    assert [w for w, _ in theirs[:2]] == ["w2", "w1"] and theirs[0][1] - theirs[1][1] < 1e-6
    searched = _Searched.of(vectors, 300)
    top, scores, rechecked = ev._nearest(searched, _query_direction(unit_normalise(vectors[:1]), 1.0),
                                         np.array([0]), 3, 1024)
    assert rechecked == 1
    assert [(words[i], float(s)) for i, s in zip(top[0], scores[0])] == theirs
    assert nearest_neighbours(words, vectors, ["w0"], top_k=3)["w0"] == theirs


# Found by a random search: in 2-d, rows nearly orthogonal to the query give cosines
# near 0 from terms near 0.5 that cancel. Their rounding errors scale with the terms,
# not with the cosine, and swapped w1 and w3 when the allowance scaled with the cosine.
CANCELLING_2D = [
    ["-0x1.1150ecp+0", "0x1.47b81cp+0"],
    ["0x1.09ab54p+0", "0x1.bb222ap-1"],
    ["0x1.fa307ap-2", "0x1.a628d2p-2"],
    ["0x1.1f0522p+0", "0x1.debf0ep-1"],
    ["0x1.8e9e54p-2", "0x1.4c723ap-2"],
]


def test_neighbours_from_cancelling_terms_are_gensims():
    vectors = np.array([[float.fromhex(x) for x in row] for row in CANCELLING_2D], dtype=np.float32)
    words = [f"w{i}" for i in range(len(vectors))]
    theirs = keyed_vectors(words, vectors).most_similar("w0", topn=4)
    assert nearest_neighbours(words, vectors, ["w0"], top_k=4)["w0"] == theirs


@pytest.mark.parametrize("dim", [2, 3, 8, 50])
def test_batched_cosines_stay_within_the_allowance_of_gensims(dim):
    # The allowance _nearest trusts its batched cosines by, against gensim's own product, on rows
    # built to cancel: each row minus its part along the first query, so its cosines with that query
    # are near 0 from large terms. Measured, the largest difference is 0.56 of the allowance.
    rng = np.random.default_rng(dim)
    vectors = rng.standard_normal((4000, dim))
    q0 = rng.standard_normal(dim)
    q0 /= np.linalg.norm(q0)
    vectors = (vectors - np.outer(vectors @ q0, q0) + 1e-4 * rng.standard_normal((4000, dim))).astype(np.float32)
    searched = _Searched.of(vectors, len(vectors))
    directions = _query_direction(unit_normalise(np.vstack([q0, rng.standard_normal((15, dim))])), 1.0)
    ours = directions @ (vectors * (np.float32(1) / searched.norms)[:, None]).T  # as _nearest computes them
    every_row = np.broadcast_to(np.arange(len(vectors)), (len(directions), len(vectors)))
    magnitudes, in_float64, _ = ev._measure_rows(searched, directions, every_row)  # in_float64 orders the top k
    allowance = ev._cosine_slack(dim, magnitudes)
    for i, direction in enumerate(directions):
        gensims = searched.exact_cosines(direction)
        difference = np.abs(ours[i].astype(np.float64) - gensims)
        assert (difference <= 0.75 * allowance[i]).all(), (i, (difference / allowance[i]).max())
        assert (np.abs(in_float64[i] - gensims) <= 0.75 * allowance[i] / 2).all(), i  # _nearest allows half


@pytest.fixture
def tiny_blocks(monkeypatch):
    """Blocks of a few hundred scores (at least `keep` chunks of rows) and at most 4 queries per product:
    queries span several batches, rows many blocks."""
    monkeypatch.setattr(ev, "_BLOCK_FLOATS", 16 * 16)
    monkeypatch.setattr(ev, "_NEIGHBOUR_BATCH", 4)


@pytest.mark.parametrize("restrict_vocab", [0, 777])  # 777: the last block is ragged
def test_blocked_selection_alone_finds_gensims_lists(tiny_blocks, monkeypatch, restrict_vocab):
    monkeypatch.setattr(ev, "_COSINE_SPREAD", 0.0)  # no near-tie recomputation: the blocked selection by itself
    rng = np.random.default_rng(6)
    vectors = rng.standard_normal((1000, 6)).astype(np.float32)
    words = [f"w{i}" for i in range(1000)]
    kv = keyed_vectors(words, vectors)
    queries = words[:10] + words[770:790] + words[990:]
    ours = nearest_neighbours(words, vectors, queries, top_k=7, restrict_vocab=restrict_vocab, batch_size=3)
    for q in queries:
        theirs = kv.most_similar(q, topn=7, restrict_vocab=restrict_vocab or None)
        assert [w for w, _ in ours[q]] == [w for w, _ in theirs], q
        np.testing.assert_allclose([s for _, s in ours[q]], [s for _, s in theirs], atol=1e-6)


@pytest.mark.parametrize("restrict_vocab", [0, 777])
def test_exact_ties_come_out_in_gensims_order(tiny_blocks, restrict_vocab):
    # Few distinct directions, so that many scores tie exactly: those queries are
    # recomputed gensim's way, partial sort and all, which orders ties its own way.
    rng = np.random.default_rng(6)
    vectors = rng.integers(-2, 3, size=(1000, 6)).astype(np.float32)
    vectors[np.abs(vectors).sum(axis=1) == 0] = 1  # no zero rows: gensim divides by their zero norm
    words = [f"w{i}" for i in range(1000)]
    kv = keyed_vectors(words, vectors)
    queries = words[:10] + words[770:790] + words[990:]
    ours = nearest_neighbours(words, vectors, queries, top_k=7, restrict_vocab=restrict_vocab, batch_size=3)
    assert sum(len({s for _, s in hits}) < 7 for hits in ours.values()) > 20  # ties, indeed
    for q in queries:
        theirs = kv.most_similar(q, topn=7, restrict_vocab=restrict_vocab or None)
        assert [w for w, _ in ours[q]] == [w for w, _ in theirs], q
        np.testing.assert_allclose([s for _, s in ours[q]], [s for _, s in theirs], atol=1e-6)


def exactly_representable(n: int, dim: int, seed: int) -> np.ndarray:
    """Rows of four entries +-1 and the rest 0: every norm is 2, so unit vectors (+-0.5) and their dot
    products (multiples of 0.25) come out exact in any order of summation, and most scores tie exactly."""
    rng = np.random.default_rng(seed)
    vectors = np.zeros((n, dim), dtype=np.float32)
    for row in vectors:
        row[rng.choice(dim, 4, replace=False)] = rng.choice([-1.0, 1.0], 4)
    return vectors


@pytest.mark.parametrize(("block_floats", "batch", "restrict_vocab"), [
    (16 * 16, 4, 0),  # blocks of `keep` chunks: many blocks, batches and merges
    (16 * 16, 4, 333),  # a ragged last block; most queries lie beyond the searched rows
    (16 * 16, 4, 100),  # fewer chunks than `keep`: no floor from chunk maxima, every score a candidate
    (1 << 12, 64, 0),
    (1 << 21, 1024, 0),  # the real sizes: one block
])
def test_blocked_selection_keeps_the_best_rows_and_the_lower_row_of_a_tie(monkeypatch, block_floats, batch,
                                                                           restrict_vocab):
    # Exact scores, so our batched cosines are the true ones: the blocked selection alone (no
    # recomputation) must give, per query, the rows sorted by score and then by row, its own row left out.
    monkeypatch.setattr(ev, "_BLOCK_FLOATS", block_floats)
    monkeypatch.setattr(ev, "_NEIGHBOUR_BATCH", batch)
    monkeypatch.setattr(ev, "_COSINE_SPREAD", -1.0)  # below zero: every step counts as decided, ties too (scores are exact)
    vectors = exactly_representable(1000, 8, seed=7)
    n = restrict_vocab or len(vectors)
    own = np.r_[np.arange(0, 1000, 17), [998, 999]]
    directions = _query_direction(unit_normalise(vectors[own]), 1.0)
    top, scores, rechecked = ev._nearest(_Searched.of(vectors, n), directions, own, 9, 1024)
    assert rechecked == 0
    exact = directions.astype(np.float64) @ unit_normalise(vectors[:n]).T.astype(np.float64)
    for i, row in enumerate(own):
        candidates = np.setdiff1d(np.arange(n), [row])
        expected = candidates[np.lexsort((candidates, -exact[i, candidates]))][:9]
        assert top[i].tolist() == expected.tolist(), i
        assert scores[i].tolist() == exact[i, expected].tolist()
    assert len({s for row in scores.tolist() for s in row}) < 5  # few distinct scores: ties everywhere


def test_merge_keys_sort_by_group_then_score_descending():
    rng = np.random.default_rng(3)
    values = rng.choice(np.array([-np.inf, -1.5, -0.25, 0.0, 1e-30, 0.25, 3.0, np.inf], dtype=np.float32), 500)
    values[:100] = rng.standard_normal(100).astype(np.float32)
    group = rng.integers(0, 7, 500)
    order = np.argsort(ev._group_then_descending(group, values), kind="stable")
    assert order.tolist() == np.lexsort((-values, group)).tolist()  # lexsort is stable too: ties by position


def test_norms_computed_in_two_threads_are_gensims(monkeypatch):
    # Several blocks of rows, so that half of them are computed in the second thread.
    monkeypatch.setattr(ev, "_BLOCK_FLOATS", 50 * 7)
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((1003, 50)).astype(np.float32)
    vectors[[0, 500, 1002]] = 0
    kv = keyed_vectors([f"w{i}" for i in range(len(vectors))], vectors)
    kv.fill_norms()
    expected = kv.norms.copy()
    expected[[0, 500, 1002]] = 1  # a zero row is divided by 1, not 0
    np.testing.assert_array_equal(_Searched.of(vectors, len(vectors)).norms, expected)


def test_first_rows_of_the_queries():
    assert ev._first_rows(["a", "b", "a", "c", "b"], {"b", "a", "zz"}) == {"a": 0, "b": 1}  # first of a repeat
    assert ev._first_rows(["a", "b", "a", "c"], {"a", "c"}) == {"a": 0, "c": 3}  # the last one found too


def test_default_probes():
    words = ["the", ",", "of", "said", "1990", "police", "Iraq", "a", "government"]
    assert default_probes(words, n=4) == ["the", "said", "police", "Iraq"]
    counts = [9, 8, 7, 1, 6, 5, 4, 3, 10]
    assert default_probes(words, counts, n=2) == ["government", "the"]


# --------------------------------------------------------------------------- analogies


TINY_WORDS = ["man", "woman", "king", "queen", "apple", "King"]
# "King" points almost exactly along king - man + woman: it wins the first question
# unless it is skipped as a case variant of "king" (case-insensitive, as in gensim).
TINY_VECTORS = np.array(
    [[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [0, 0, 1], [-0.29, 1, 0.71]], dtype=np.float32
)
TINY_QUESTIONS = """\
: royals
man king woman queen
king man queen woman
man king woman pear
only three words
: fruit
woman queen man apple
"""


@pytest.fixture
def tiny_questions(tmp_path):
    path = tmp_path / "tiny-questions.txt"
    path.write_text(TINY_QUESTIONS, encoding="utf-8")
    return path


def test_analogies_by_hand(tiny_questions):
    # case-insensitive: q1 skips "King" and answers queen (right), q2 answers woman (right),
    # q3 has "pear" (oov), q4 answers king, not apple (wrong); "only three words" is skipped.
    r = evaluate_analogies(TINY_WORDS, TINY_VECTORS, tiny_questions, restrict_vocab=0)
    assert (r["questions"], r["oov"], r["skipped"], r["searched_rows"]) == (4, 1, 1, 6)
    assert r["cosadd"] == {"correct": 2, "total": 3, "accuracy": 2 / 3}
    assert r["cosmul"] == {"correct": 2, "total": 3, "accuracy": 2 / 3}
    royals, fruit = r["sections"]
    assert royals == {"section": "royals", "questions": 3, "oov": 1,
                      "cosadd": {"correct": 2, "total": 2, "accuracy": 1.0},
                      "cosmul": {"correct": 2, "total": 2, "accuracy": 1.0}}
    assert fruit["cosadd"] == {"correct": 0, "total": 1, "accuracy": 0.0}
    # case-sensitive: "King" is just another word, and the nearest to king - man + woman
    r = evaluate_analogies(TINY_WORDS, TINY_VECTORS, tiny_questions, restrict_vocab=0, case_insensitive=False)
    assert r["sections"][0]["cosadd"]["correct"] == 1
    assert r["cosadd"]["correct"] == r["cosmul"]["correct"] == 1


def test_analogy_answer_when_the_best_five_are_all_case_variants(tmp_path):
    # gensim looks at 5 candidates only; if all are case variants of a question word,
    # the 5th is the answer. Here they are variants of "abc", which is also the expected
    # word, so gensim counts the question right; case-sensitive, "Abc" is a wrong answer.
    words = ["x", "abc", "y", "z", "Abc", "aBc", "abC", "ABc", "AbC", "aBC"]
    near = np.array([-1, 1, 1], dtype=np.float32)  # the direction of abc - x + y
    vectors = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0.2, 1]]
                       + [near + 0.01 * i for i in range(6)], dtype=np.float32)
    path = tmp_path / "q.txt"
    path.write_text(": s\nx abc y abc\n", encoding="utf-8")
    kv = keyed_vectors(words, vectors)
    for case_insensitive, right in ((True, 1), (False, 0)):
        r = evaluate_analogies(words, vectors, path, restrict_vocab=0, case_insensitive=case_insensitive)
        assert r["cosadd"]["correct"] == r["cosmul"]["correct"] == right
        assert our_sections(r) == gensim_sections(kv, str(path), len(words), case_insensitive)


def gensim_sections(kv, path, restrict_vocab, case_insensitive):
    _, sections = kv.evaluate_word_analogies(
        path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive, dummy4unknown=False
    )
    return [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections]


def our_sections(report):
    return [(s["section"], s["cosadd"]["correct"], s["cosadd"]["total"]) for s in report["sections"]] + [
        ("Total accuracy", report["cosadd"]["correct"], report["cosadd"]["total"])
    ]


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_tiny_analogies_match_gensim(tiny_questions, case_insensitive):
    kv = keyed_vectors(TINY_WORDS, TINY_VECTORS)
    r = evaluate_analogies(TINY_WORDS, TINY_VECTORS, tiny_questions, restrict_vocab=6,
                           case_insensitive=case_insensitive)
    assert our_sections(r) == gensim_sections(kv, str(tiny_questions), 6, case_insensitive)


@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(0, True), (0, False), (600, True), (1500, False)])
def test_lee_analogies_match_gensim_section_by_section(lee, restrict_vocab, case_insensitive):
    words, vectors, kv = lee
    r = evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=restrict_vocab,
                           case_insensitive=case_insensitive, batch_size=128)
    # our 0 means all rows; gensim's evaluator takes it literally (no words)
    assert our_sections(r) == gensim_sections(kv, QUESTIONS, restrict_vocab or len(words), case_insensitive)
    assert r["questions"] == 19544
    assert r["oov"] == r["questions"] - r["cosadd"]["total"] == sum(s["oov"] for s in r["sections"])
    assert r["cosadd"]["total"] > 0


def gensim_predictions(kv, path, restrict_vocab, case_insensitive):
    """gensim's answer to each question it scores, read off the ``most_similar`` calls its evaluator makes."""
    calls = []
    plain = kv.most_similar

    def recording(*args, **kwargs):
        sims = plain(*args, **kwargs)
        calls.append((kwargs["negative"][0], *kwargs["positive"], sims))
        return sims

    kv.most_similar = recording
    try:
        kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    finally:
        del kv.most_similar
    predicted = []
    for a, b, c, sims in calls:
        guess = None
        for word, _ in sims:  # gensim's rule: the first of the 5 that is not a, b or c, else the 5th
            guess = word.upper() if case_insensitive else word
            if guess not in {a, b, c}:
                break
        predicted.append(guess)
    return predicted


def our_predictions(words, answers, case_insensitive):
    return [None if r < 0 else words[r].upper() if case_insensitive else words[r] for r in answers.cosadd]


@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(0, True), (0, False), (600, True), (1500, False)])
def test_lee_analogy_answers_match_gensim_question_by_question(lee, restrict_vocab, case_insensitive):
    words, vectors, kv = lee
    answers = _answer_analogies(words, vectors, QUESTIONS, restrict_vocab=restrict_vocab,
                                case_insensitive=case_insensitive, batch_size=128)
    theirs = gensim_predictions(kv, QUESTIONS, restrict_vocab or len(words), case_insensitive)
    assert our_predictions(words, answers, case_insensitive) == theirs
    assert len(theirs) == answers.known.sum() == len(answers.ids)


def test_every_analogy_recomputed_gensims_way_is_gensims(lee, monkeypatch):
    # An error allowance so large that every question counts as a near-tie: the exact path alone.
    words, vectors, kv = lee
    monkeypatch.setattr(ev, "_COSINE_SPREAD", 1e9)
    answers = _answer_analogies(words, vectors, QUESTIONS, restrict_vocab=0)
    assert answers.rechecked == 2 * len(answers.ids) > 1000  # 3CosAdd and 3CosMul
    assert our_predictions(words, answers, True) == gensim_predictions(kv, QUESTIONS, len(words), True)


@pytest.fixture(scope="module")
def lee_with_near_copies(lee):
    """Lee's words, then a copy of each whose vector differs by ~3e-7 relatively: answers decided by a hair."""
    words, vectors, _ = lee
    rng = np.random.default_rng(0)
    copies = vectors * (1 + rng.normal(scale=3e-7, size=vectors.shape)).astype(np.float32)
    words = words + [w + "_copy" for w in words]
    vectors = np.vstack([vectors, copies]).astype(np.float32)
    return words, vectors, keyed_vectors(words, vectors)


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`")  # inside gensim's most_similar_cosmul
def test_cosmul_near_ties_are_settled_as_gensim_does(lee_with_near_copies):
    # Each answer's near copy scores within a rounding of it: without recomputing
    # those, 210 of the 547 answers came out as the other copy.
    words, vectors, kv = lee_with_near_copies
    answers = _answer_analogies(words, vectors, QUESTIONS, restrict_vocab=0, case_insensitive=False,
                                cosmul_epsilon=1e-6)  # gensim's epsilon
    theirs = [kv.most_similar_cosmul(positive=[words[b], words[c]], negative=[words[a]], topn=1)[0][0]
              for a, b, c, _ in answers.ids.tolist()]
    assert [words[r] for r in answers.cosmul] == theirs
    assert len(theirs) > 500


def test_near_ties_do_not_depend_on_the_batch_size(lee_with_near_copies):
    words, vectors, _ = lee_with_near_copies
    results = [_answer_analogies(words, vectors, QUESTIONS, restrict_vocab=0, batch_size=size)
               for size in (1, 7, 100_000)]
    for other in results[1:]:
        np.testing.assert_array_equal(other.cosadd, results[0].cosadd)
        np.testing.assert_array_equal(other.cosmul, results[0].cosmul)


def test_analogy_near_tie_is_settled_as_gensim_does(tmp_path):
    # "x2" is "x1" nudged towards b - a + c: 4e-7 (about 13 float32 ulps) more similar,
    # less than our sums and gensim's product may disagree by, so the question is
    # recomputed gensim's way; x2 must win although x1 is the earlier row.
    rng = np.random.default_rng(8)
    vectors = rng.standard_normal((200, 50)).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    target = unit[1] + unit[2] - unit[0]
    vectors[3] = target + 0.5 * rng.standard_normal(50).astype(np.float32)
    vectors[4] = vectors[3] + 5e-7 * np.linalg.norm(vectors[3]) * target / np.linalg.norm(target)
    words = ["a", "b", "c", "x1", "x2"] + [f"w{i}" for i in range(195)]
    kv = keyed_vectors(words, vectors)
    (first, s1), (second, s2), _ = kv.most_similar(positive=["b", "c"], negative=["a"], topn=3)
    assert (first, second) == ("x2", "x1") and 0 < s1 - s2 < 1e-6
    path = tmp_path / "q.txt"
    path.write_text(": s\na b c x2\n", encoding="utf-8")
    answers = _answer_analogies(words, vectors, path, restrict_vocab=0)
    assert answers.rechecked == 1
    assert our_predictions(words, answers, True) == gensim_predictions(kv, str(path), 200, True) == ["X2"]


def test_analogy_exact_ties_come_out_in_gensims_order(tmp_path):
    # Few distinct directions, so that many candidates tie exactly, and upper-case
    # twins of some words, so that case variants get skipped along the way.
    rng = np.random.default_rng(9)
    words = [f"w{i}" for i in range(300)]
    for i in rng.choice(range(1, 300, 2), 40, replace=False):  # odd rows: no word is repeated
        words[i] = words[i - 1].upper()
    vectors = rng.integers(-1, 2, size=(300, 3)).astype(np.float32)
    vectors[np.abs(vectors).sum(axis=1) == 0] = 1
    questions = [" ".join(words[i] for i in rng.choice(300, 4, replace=False)) for _ in range(200)]
    path = tmp_path / "q.txt"
    path.write_text(": s\n" + "\n".join(questions) + "\n", encoding="utf-8")
    kv = keyed_vectors(words, vectors)
    for case_insensitive in (True, False):
        answers = _answer_analogies(words, vectors, path, restrict_vocab=0, case_insensitive=case_insensitive)
        assert answers.rechecked > 100
        assert our_predictions(words, answers, case_insensitive) == gensim_predictions(kv, str(path), 300,
                                                                                        case_insensitive)


def test_lee_analogies_have_some_right_answers(lee):
    # Guards the test above from passing vacuously on "everything wrong".
    words, vectors, _ = lee
    assert evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=0)["cosadd"]["correct"] >= 2


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`")  # inside gensim's most_similar_cosmul
def test_lee_cosmul_matches_gensim_most_similar_cosmul(lee):
    words, vectors, kv = lee
    r = evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=0, case_insensitive=False,
                           cosmul_epsilon=1e-6)  # gensim's epsilon
    vocab = set(words)
    right, total = 0, 0
    with open(QUESTIONS, encoding="utf-8") as fh:
        for line in fh:
            q = line.split()
            if line.startswith(":") or not set(q) <= vocab:
                continue
            total += 1
            right += kv.most_similar_cosmul(positive=[q[1], q[2]], negative=[q[0]], topn=1)[0][0] == q[3]
    assert (r["cosmul"]["correct"], r["cosmul"]["total"]) == (right, total)


def test_batch_size_does_not_change_results(lee):
    words, vectors, _ = lee
    one = evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=0, batch_size=7)
    assert one == evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=0, batch_size=100_000)


# --------------------------------------------------------------------------- similarity


def test_average_ranks_and_spearman_match_scipy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, 200).astype(float)  # many ties
    np.testing.assert_array_equal(_average_ranks(x), stats.rankdata(x))


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
@pytest.mark.parametrize("restrict_vocab", [300000, 1000])
def test_similarity_matches_gensim(lee, name, restrict_vocab):
    words, vectors, kv = lee
    pearson, spearman, oov_percent = kv.evaluate_word_pairs(datapath(name), restrict_vocab=restrict_vocab)
    r = evaluate_similarity(words, vectors, datapath(name), restrict_vocab=restrict_vocab)
    assert r["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert r["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert 100 * r["oov_ratio"] == pytest.approx(oov_percent, abs=1e-9)
    assert r["coverage"] == pytest.approx(1 - r["oov_ratio"])
    assert r["pairs"] == {"wordsim353.tsv": 353, "simlex999.txt": 999}[name]
    assert r["skipped"] == 0  # '#' lines (the headers of both files) are comments


def test_similarity_ties_pairs_of_equal_cosine(lee, tmp_path):
    """A word with itself, a pair and its swap, and two words of one vector tie exactly, as in exact arithmetic."""
    words, vectors, _ = lee
    words, vectors = words[:30] + ["twin"], np.vstack([vectors[:30], vectors[5]])  # "twin" copies row 5
    rng = np.random.default_rng(3)
    rows = [(i, i) for i in range(10)] + [(i, i + 7) for i in range(10)] + [(i + 7, i) for i in range(10)]
    rows += [(5, 30), (30, 5), (6, 30)]
    gold = rng.uniform(0, 10, len(rows)).round(2)
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{words[i]}\t{words[j]}\t{g}\n" for (i, j), g in zip(rows, gold)), encoding="utf-8")

    exact = vectors.astype(np.float64)  # the reference: one cosine per unordered pair of distinct vectors
    def cosine(i, j):
        x, y = exact[min(i, j)], exact[max(i, j)]
        return 1.0 if np.array_equal(x, y) else x @ y / np.sqrt((x @ x) * (y @ y))
    model = [cosine(i, j) for i, j in rows]
    r = evaluate_similarity(words, vectors, path, case_insensitive=False)
    assert r["found"] == len(rows)
    assert r["spearman"] == pytest.approx(stats.spearmanr(gold, model)[0], abs=1e-12)
    assert r["pearson"] == pytest.approx(stats.pearsonr(gold, model)[0], abs=1e-9)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_similarity_correlation_does_not_depend_on_the_scale_of_the_scores(lee, tmp_path, scale):
    words, vectors, kv = lee
    plain, scaled = tmp_path / "plain.tsv", tmp_path / "scaled.tsv"
    lines = [line.split("\t") for line in open(datapath("wordsim353.tsv"), encoding="utf-8")
             if not line.startswith("#")]
    plain.write_text("".join(f"{a}\t{b}\t{float(g)}\n" for a, b, g in lines), encoding="utf-8")
    scaled.write_text("".join(f"{a}\t{b}\t{float(g) * scale!r}\n" for a, b, g in lines), encoding="utf-8")
    (pearson, _), (spearman, _), _ = kv.evaluate_word_pairs(plain)
    r = evaluate_similarity(words, vectors, scaled)
    assert r["pearson"] == pytest.approx(pearson, abs=1e-6)
    assert r["spearman"] == pytest.approx(spearman, abs=1e-6)


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_similarity_reads_old_mac_and_windows_line_ends_as_gensim_does(lee, tmp_path, newline):
    words, vectors, kv = lee
    path = tmp_path / "pairs.tsv"
    text = open(datapath("wordsim353.tsv"), encoding="utf-8").read()
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    (pearson, _), (spearman, _), oov_percent = kv.evaluate_word_pairs(path)
    r = evaluate_similarity(words, vectors, path)
    assert (r["pairs"], r["skipped"]) == (353, 0)
    assert r["pearson"] == pytest.approx(pearson, abs=1e-6)
    assert r["spearman"] == pytest.approx(spearman, abs=1e-6)
    assert 100 * r["oov_ratio"] == pytest.approx(oov_percent, abs=1e-9)


def test_similarity_by_hand(tmp_path):
    path = tmp_path / "pairs.txt"
    # a header line, a comment, a space-separated line, an oov pair
    path.write_text("w1\tw2\tscore\n# comment\nman\twoman\t1\nking queen 3\nman\tking\t2\nman\tpear\t5\n",
                    encoding="utf-8")
    r = evaluate_similarity(TINY_WORDS, TINY_VECTORS, path, restrict_vocab=0)
    # model: cos(man, woman) = 0, cos(king, queen) = 0.5, cos(man, king) = 0.707: ranks 1, 2, 3 vs gold 1, 3, 2
    assert (r["pairs"], r["found"], r["oov"], r["skipped"]) == (4, 3, 1, 1)
    assert r["spearman"] == pytest.approx(0.5)
    assert r["pearson"] == pytest.approx(stats.pearsonr([1, 3, 2], [0, 0.5, np.sqrt(0.5)])[0], abs=1e-7)
    assert r["coverage"] == 0.75


def test_similarity_without_scored_pairs_has_no_correlation(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("pear\tplum\t1\nman\twoman\t2\n", encoding="utf-8")
    r = evaluate_similarity(TINY_WORDS, TINY_VECTORS, path)
    assert (r["found"], r["pearson"], r["spearman"]) == (1, None, None)


# --------------------------------------------------------------------------- bad files


def test_missing_file_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError) as err:
        evaluate_analogies(TINY_WORDS, TINY_VECTORS, tmp_path / "nope.txt")
    assert err.value.exit_code == 74 and "nope.txt" in str(err.value)
    with pytest.raises(StorageError):
        evaluate_similarity(TINY_WORDS, TINY_VECTORS, tmp_path / "nope.tsv")


def test_mostly_malformed_pair_file_is_a_data_error(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("man\twoman\t1\nman\tking\tlots\nking\tqueen\nqueen\tking\t\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        evaluate_similarity(TINY_WORDS, TINY_VECTORS, path)
    assert err.value.exit_code == 65
    assert str(err.value).startswith(f"{path}:2: score 'lots' is not a number")
    assert "3 of 4 lines are malformed" in str(err.value)


def test_mostly_malformed_analogy_file_is_a_data_error(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(": s\nman king woman queen\nman,king,woman,queen\nman king woman\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"q\.txt:3: 1 words .*2 of 3 lines are malformed"):
        evaluate_analogies(TINY_WORDS, TINY_VECTORS, path)


@pytest.mark.parametrize("text, line, message", [
    ("man king woman queen\n", 1, "question before the first ': section' header"),
    (": only headers\n\n", None, "no data lines found"),
])
def test_analogy_file_structure_errors(tmp_path, text, line, message):
    path = tmp_path / "q.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        evaluate_analogies(TINY_WORDS, TINY_VECTORS, path)
    assert err.value.line == line


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"man\twoman\t1\nman\tk\xffing\t2\n")
    with pytest.raises(DataError, match=r"pairs\.tsv:2: invalid UTF-8"):
        evaluate_similarity(TINY_WORDS, TINY_VECTORS, path)
    r = evaluate_similarity(TINY_WORDS, TINY_VECTORS, path, encoding_errors="replace")
    assert (r["pairs"], r["found"]) == (2, 1)


def test_invalid_utf8_in_a_bare_cr_file_names_the_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"man\twoman\t1\rking\tqueen\t2\rman\tk\xffing\t2\r")
    with pytest.raises(DataError, match=r"pairs\.tsv:3: invalid UTF-8"):
        evaluate_similarity(TINY_WORDS, TINY_VECTORS, path)


def test_the_config_says_how_evaluation_files_with_invalid_utf8_are_read(tmp_path):
    (tmp_path / "pairs.tsv").write_bytes(b"man\twoman\t1\nking\tqueen\t3\nman\tk\xffing\t2\n")
    strict = EvaluateConfig(analogies="", similarity=("pairs.tsv",), probes=("man",))
    with pytest.raises(DataError, match='evaluate.encoding_errors = "replace" reads it anyway'):
        evaluate(TINY_WORDS, TINY_VECTORS, strict, base_dir=tmp_path)
    report = evaluate(TINY_WORDS, TINY_VECTORS, EvaluateConfig(
        analogies="", similarity=("pairs.tsv",), probes=("man",), encoding_errors="replace"), base_dir=tmp_path)
    assert [(r["pairs"], r["found"]) for r in report["similarity"]] == [(3, 2)]


def test_gzipped_files_are_read(tmp_path, tiny_questions):
    path = tmp_path / "q.txt.gz"
    path.write_bytes(gzip.compress(tiny_questions.read_bytes()))
    plain = evaluate_analogies(TINY_WORDS, TINY_VECTORS, tiny_questions, restrict_vocab=0)
    packed = evaluate_analogies(TINY_WORDS, TINY_VECTORS, path, restrict_vocab=0)
    assert {**packed, "path": None} == {**plain, "path": None}


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match=r"expected a \(2, d\) array"):
        nearest_neighbours(["a", "b"], np.zeros((3, 2), dtype=np.float32), ["a"])
    message = "The 'top_k' parameter of nearest_neighbours must be an int >= 1. Got 0 instead."
    with pytest.raises(ValueError, match=message):
        nearest_neighbours(TINY_WORDS, TINY_VECTORS, ["man"], top_k=0)


# --------------------------------------------------------------------------- the whole section


def test_evaluate_runs_the_configured_checks(lee, tmp_path):
    words, vectors, _ = lee
    config = EvaluateConfig(
        analogies="gensim-test:questions-words.txt",
        similarity=("gensim-test:wordsim353.tsv", "pairs.tsv"),  # the second is relative to base_dir
        probes=("government", "police", "nonexistentword"),
        top_k=5,
        restrict_vocab=0,
    )
    (tmp_path / "pairs.tsv").write_text("government\tpolice\t5\npolice\tman\t3\nman\twoman\t8\n", encoding="utf-8")
    report = evaluate(words, vectors, config, base_dir=tmp_path)
    assert (report["rows"], report["dim"]) == (len(words), 50)
    assert list(report["neighbours"]["probes"]) == ["government", "police"]
    assert report["neighbours"]["missing"] == ["nonexistentword"]
    assert len(report["neighbours"]["probes"]["police"]) == 5
    assert report["analogies"]["cosadd"]["total"] > 0  # what the gate and the CLI summary read
    assert [s["path"] for s in report["similarity"]] == [datapath("wordsim353.tsv"), str(tmp_path / "pairs.tsv")]
    assert json.loads(json.dumps(report)) == report  # plain JSON data

    md = render_markdown(report)
    assert md.startswith("## Evaluation\n")
    assert "| section | questions | outside vocabulary | 3CosAdd | 3CosMul |" in md
    assert "| capital-common-countries | 506 |" in md and "| **total** | 19544 |" in md
    assert "| wordsim353.tsv | 353 |" in md
    assert "- **police**: " in md and "no source vector (not in the vocabulary, or an initialised row): nonexistentword" in md


def test_evaluate_with_checks_switched_off_uses_default_probes(lee, tmp_path):
    words, vectors, _ = lee
    report = evaluate(words, vectors, EvaluateConfig(analogies="", similarity=()), base_dir=tmp_path)
    assert report["analogies"] is None and report["similarity"] == []
    assert list(report["neighbours"]["probes"]) == default_probes(words) == ["the", "and", "The", "for", "has"]
    assert "No analogy test configured." in render_markdown(report)



def test_evaluate_module_does_not_import_gensim(tmp_path, tiny_questions):
    code = (
        "import sys, numpy as np\n"
        "from pipeline.evaluate import evaluate_analogies\n"
        f"evaluate_analogies({TINY_WORDS!r}, np.eye(6, 3, dtype=np.float32), {str(tiny_questions)!r})\n"
        "assert 'gensim' not in sys.modules, 'gensim was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_damaged_gzip_evaluation_file_is_a_data_error(tmp_path):
    raw = bytearray(gzip.compress(b": s\nking man queen woman\n" * 50))
    for i in range(20, 40):  # damaged deflate data (zlib.error), not a cut-short stream
        raw[i] ^= 0x55
    path = tmp_path / "q.txt.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="cannot decompress") as info:
        list(ev._read_lines(path, "strict"))
    assert info.value.exit_code == 65


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_vector_holding_nan_or_inf_is_refused_naming_its_row(lee, bad, tmp_path):
    # One such row, even one never queried, made every cosine NaN: empty neighbour lists,
    # analogy accuracy 0, similarity pairs scored as cosine 0.
    words, vectors, _ = lee
    damaged = vectors.copy()
    last = len(words) - 1
    damaged[last, 3] = bad
    message = f"row {last} of the vectors holds NaN or inf"
    with pytest.raises(ValueError, match=message):
        nearest_neighbours(words, damaged, ["the"], top_k=3)
    with pytest.raises(ValueError, match=message):
        evaluate_analogies(words, damaged, QUESTIONS, restrict_vocab=0)
    pairs_row = words.index("police")
    damaged[last, 3] = vectors[last, 3]
    damaged[pairs_row, 0] = bad
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("government\tpolice\t5\nman\twoman\t8\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"row {pairs_row} of the vectors holds NaN or inf"):
        evaluate_similarity(words, damaged, pairs)
    with pytest.raises(ValueError, match=f"row {pairs_row} "):  # a query beyond the searched rows
        nearest_neighbours(words, damaged, ["police"], top_k=3, restrict_vocab=1)


def test_a_finite_vector_whose_squares_overflow_float32_is_scored_by_its_direction(lee):
    # Its float32 norm was inf (as gensim's is), so it scored 0 against every word, with an overflow
    # warning on stderr: a word scaled by 1e20 now has the neighbours, and cosines, it has unscaled.
    words, vectors, _ = lee
    huge = vectors.copy()
    police = words.index("police")
    huge[police] *= np.float32(1e20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning
        scaled = nearest_neighbours(words, huge, ["police", "government"], top_k=5)
    plain = nearest_neighbours(words, vectors, ["police", "government"], top_k=5)
    assert [w for w, _ in scaled["police"]] == [w for w, _ in plain["police"]]
    reference = vectors.astype(np.float64)
    unit = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    for w, cos in scaled["police"]:
        assert cos == pytest.approx(float(unit[police] @ unit[words.index(w)]), abs=1e-5)
    # and the other words rank as before (a huge row is no nearer to them than its direction is)
    assert [w for w, _ in scaled["government"]] == [w for w, _ in plain["government"]]


def test_a_vector_whose_length_overflows_float32_scores_0_with_one_warning_naming_it(lee, caplog):
    # Values near 3e38: even the float64 length does not fit float32, so the row scores 0 against every
    # word, as in gensim. That had printed numpy's "overflow encountered in cast" and its source line.
    words, vectors, _ = lee
    huge = vectors.copy()
    police = words.index("police")
    huge[police] = np.where(vectors[police] >= 0, np.float32(3e38), np.float32(-3e38))
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="pipeline.evaluate"):
        warnings.simplefilter("error")  # no RuntimeWarning
        found = nearest_neighbours(words, huge, ["police", "government"], top_k=5)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["row 'police' holds values so large that its length overflows float32: "
                        "it scores 0 against every word, as in gensim"]
    assert [cos for _, cos in found["police"]] == [0.0] * 5
    # The other words rank as without that row (it scores 0, below their top five).
    plain = nearest_neighbours(words, vectors, ["police", "government"], top_k=5)
    assert found["government"] == plain["government"]


def test_nearest_neighbours_refuses_one_string_for_its_queries(lee):
    words, vectors, _ = lee
    with pytest.raises(TypeError, match=r"not one string: \['police'\]\?"):
        nearest_neighbours(words, vectors, "police")


def test_default_probes_take_counts_with_gaps_and_refuse_a_wrong_length():
    words = ["[PAD]", "[UNK]", "police", "government", "said"]
    # Vocabulary.counts holds None for reserved rows: it raised "bad operand type for unary -"
    assert default_probes(words, [None, None, 2, 9, 5], n=2) == ["government", "said"]
    with pytest.raises(ValueError, match=r"one count per word \(5\); got 2"):
        default_probes(words, [1, 2])


@pytest.mark.parametrize("epsilon", [0, -1, float("nan"), float("inf"), "1e-3"])
def test_evaluate_analogies_refuses_a_cosmul_epsilon_that_is_not_positive(lee, tiny_questions, epsilon):
    words, vectors, _ = lee
    with pytest.raises(ValueError, match="'cosmul_epsilon' parameter must be a number > 0"):
        evaluate_analogies(words, vectors, tiny_questions, cosmul_epsilon=epsilon)
    missing = tiny_questions.with_name("missing.txt")  # checked before the file is read
    with pytest.raises(ValueError, match="'cosmul_epsilon' parameter must be a number > 0"):
        evaluate_analogies(words, vectors, missing, cosmul_epsilon=epsilon)
    assert evaluate_analogies(words, vectors, tiny_questions, cosmul_epsilon=np.float32(1e-3)) == \
        evaluate_analogies(words, vectors, tiny_questions)  # a numpy float is a number too
