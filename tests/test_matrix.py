"""Tests for pipeline/matrix.py: exact matched rows, zero padding, OOV rows that depend on (seed, token) only."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest

from pipeline.align import align
from pipeline.config import AlignConfig, MatrixConfig
from pipeline.errors import ConfigError, DataError
from pipeline.matrix import build_matrix, oov_row, token_rng
from pipeline.sources import Vectors
from pipeline.vocab import Vocabulary


def make_vocab(words, extra_reserved=(), oov_idx=1, tokens=None):
    tokens = tokens or ("[PAD]", "[UNK]", *words)
    return Vocabulary(
        tokens=tuple(tokens),
        counts=(None,) * len(tokens),
        oov_idx=oov_idx,
        reserved=frozenset({0, oov_idx, *extra_reserved}),
    )


def make_vectors(words, matrix):
    return Vectors(words=tuple(words), matrix=np.asarray(matrix, dtype=np.float32))


def build(vocab, vectors, seed=42, **matrix_options):
    alignment = align(vocab, vectors, AlignConfig())
    return build_matrix(vocab, alignment, vectors, MatrixConfig(**matrix_options), seed=seed)


def random_vectors(n, dim, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{j}" for j in range(n)]
    return make_vectors(words, rng.normal([5.0, -3.0, 0.0, 1.0][:dim] + [0.0] * (dim - 4), 2.0, (n, dim)))


# --------------------------------------------------------------------------- layout


def test_zeros_golden():
    vocab = make_vocab(["cat", "dog", "Cat"])
    vectors = make_vectors(["cat", "eel"], [[1.5, 2.0], [3.0, 4.0]])
    emb = build(vocab, vectors, oov_init="zeros")
    assert emb.weights.dtype == np.float32
    assert emb.weights.tolist() == [[0, 0], [0, 0], [1.5, 2.0], [0, 0], [1.5, 2.0]]
    assert emb.matched.tolist() == [False, False, True, False, True]
    assert emb.initialised == (1, 3)
    assert (emb.input_dim, emb.output_dim, emb.padding_idx, emb.oov_idx) == (5, 2, 0, 1)
    assert emb.tokens == vocab.tokens
    info = emb.info
    assert (info["oov_init"], info["output_dim"], info["source_dim"], info["reduction"]) == ("zeros", 2, 2, None)
    assert (info["n_matched"], info["n_initialised"], info["fallback"]) == (2, 2, None)


def test_matched_rows_are_the_source_vectors_exactly():
    vectors = random_vectors(50, 8)
    vocab = make_vocab([f"w{j}" for j in range(0, 50, 3)] + ["unseen"])
    emb = build(vocab, vectors)
    rows = np.flatnonzero(emb.matched)
    assert np.array_equal(emb.weights[rows], vectors.matrix[list(range(0, 50, 3))])
    assert not emb.weights[0].any()  # padding


def test_mean_counts_each_source_vector_once():
    # "Apple" and "apple" both take source row 0: the mean is over distinct vectors, (0+4)/2
    vocab = make_vocab(["Apple", "apple", "pear", "kiwi"])
    vectors = make_vectors(["apple", "pear"], [[0.0, 0.0], [4.0, 8.0]])
    emb = build(vocab, vectors, oov_init="mean")
    assert emb.weights[1].tolist() == [2.0, 4.0]  # the OOV row
    assert emb.weights[5].tolist() == [2.0, 4.0]  # kiwi


def test_gap_placeholders_are_zeros_and_oov_row_initialised():
    # a word_index layout: row 2 a gap, OOV appended at row 5
    tokens = ("[PAD]", "the", "[unused2]", "dog", "cat", "[UNK]")
    vocab = make_vocab(None, extra_reserved={2}, oov_idx=5, tokens=tokens)
    vectors = make_vectors(["the", "dog"], [[1.0, 1.0], [3.0, 5.0]])
    emb = build(vocab, vectors, oov_init="mean")
    assert emb.weights.tolist() == [[0, 0], [1, 1], [0, 0], [3, 5], [2, 3], [2, 3]]
    assert emb.initialised == (4, 5) and emb.oov_idx == 5
    assert emb.info["n_zero_reserved"] == 1


# --------------------------------------------------------------------------- OOV rows depend on (seed, token) only


def test_normal_row_formula():
    vectors = make_vectors(["a", "b"], [[0.0, 10.0], [2.0, 30.0]])  # mean [1, 20], std [1, 10]
    emb = build(make_vocab(["a", "b", "zebra"]), vectors, seed=7)
    digest = hashlib.blake2b("7\x00zebra".encode("utf-8"), digest_size=8).digest()
    z = np.random.default_rng(int.from_bytes(digest, "little")).standard_normal(2)
    assert np.array_equal(emb.weights[4], (np.array([1.0, 20.0]) + np.array([1.0, 10.0]) * z).astype(np.float32))


def test_rows_do_not_depend_on_order_or_other_words():
    vectors = random_vectors(20, 4)
    words = ["w1", "w2", "w3", "x", "y", "z"]
    first = build(make_vocab(words), vectors)
    shuffled_words = ["z", "w3", "y", "w1", "x", "w2"]
    shuffled = build(make_vocab(shuffled_words), vectors)
    more = build(make_vocab(words + ["new1", "new2"]), vectors)
    row = {t: i for i, t in enumerate(first.tokens)}
    for i, t in enumerate(shuffled.tokens):
        assert np.array_equal(shuffled.weights[i], first.weights[row[t]]), t
    assert np.array_equal(more.weights[: len(first.tokens)], first.weights)


def test_adding_a_matched_word_rescales_initialised_rows_but_keeps_their_draw():
    vectors = random_vectors(20, 4)
    before = build(make_vocab(["w1", "w2", "x", "y"]), vectors)
    after = build(make_vocab(["w1", "w2", "x", "y", "w7"]), vectors)

    def draws(emb, source_rows):  # z = (row - mean) / std over the matched source vectors
        matched = vectors.matrix[source_rows].astype(np.float64)
        return (emb.weights[[1, 4, 5]].astype(np.float64) - matched.mean(axis=0)) / matched.std(axis=0)

    assert not np.array_equal(after.weights[[1, 4, 5]], before.weights[[1, 4, 5]])  # [UNK], x, y moved
    np.testing.assert_allclose(draws(after, [1, 2, 7]), draws(before, [1, 2]), rtol=1e-4, atol=1e-4)
    assert np.array_equal(after.weights[[2, 3]], before.weights[[2, 3]])  # w1, w2: the source vectors


def test_seed_decides_the_bytes():
    vectors, vocab = random_vectors(20, 4), make_vocab(["w1", "w2", "x", "y"])
    a, b, c = build(vocab, vectors, seed=1), build(vocab, vectors, seed=1), build(vocab, vectors, seed=2)
    assert a.weights.tobytes() == b.weights.tobytes()
    unmatched = list(a.initialised)
    assert not np.array_equal(a.weights[unmatched], c.weights[unmatched])
    assert np.array_equal(a.weights[a.matched], c.weights[c.matched])


@pytest.mark.parametrize("init", ["normal", "uniform"])
def test_random_rows_follow_the_matched_statistics(init):
    vectors = random_vectors(400, 4)  # mean ~[5, -3, 0, 1], std ~2
    vocab = make_vocab([f"w{j}" for j in range(400)] + [f"oov{k}" for k in range(3000)])
    emb = build(vocab, vectors, oov_init=init)
    oov = emb.weights[list(emb.initialised)].astype(np.float64)
    matched = vectors.matrix.astype(np.float64)
    np.testing.assert_allclose(oov.mean(axis=0), matched.mean(axis=0), atol=0.15)
    np.testing.assert_allclose(oov.std(axis=0), matched.std(axis=0), rtol=0.06)
    if init == "uniform":
        half_width = np.sqrt(3.0) * matched.std(axis=0)
        assert (np.abs(oov - matched.mean(axis=0)) <= half_width + 1e-4).all()


def test_token_rng_takes_any_string():
    assert token_rng(0, "\ud800").random() == token_rng(0, "\ud800").random()  # a lone surrogate from JSON
    assert oov_row("x", 0, "zeros", np.zeros(3), np.ones(3)).tolist() == [0, 0, 0]


def test_no_matched_rows_falls_back(caplog):
    vocab = make_vocab([f"t{k}" for k in range(2000)])
    vectors = make_vectors(["other"], [[1.0, 2.0, 3.0]])
    with caplog.at_level(logging.WARNING, logger="pipeline.matrix"):
        emb = build(vocab, vectors)
    assert "no vocabulary word matched" in caplog.text
    assert emb.info["fallback"] == "no matched rows: mean 0.0, std 0.1"
    rows = emb.weights[1:].astype(np.float64)
    np.testing.assert_allclose(rows.std(axis=0), 0.1, rtol=0.08)
    assert not build(vocab, vectors, oov_init="mean").weights.any()
    assert build(vocab, vectors, oov_init="zeros").info["fallback"] is None


def test_one_distinct_matched_vector_falls_back_rather_than_copy_it_to_every_oov_row(caplog):
    vocab = make_vocab(["the"] + [f"t{k}" for k in range(2000)])
    vectors = make_vectors(["the"], [[1.0, 2.0, 3.0]])
    with caplog.at_level(logging.WARNING, logger="pipeline.matrix"):
        emb = build(vocab, vectors)
    assert "share one vector" in caplog.text
    assert emb.info["fallback"] == "one distinct matched vector: mean 0.0, std 0.1"
    assert emb.weights[2].tolist() == [1.0, 2.0, 3.0]  # the matched row itself is kept
    oov = np.delete(emb.weights, [0, 2], axis=0).astype(np.float64)
    assert len(np.unique(oov, axis=0)) == len(oov)  # the std of one sample (0) made them all copies of row 2
    np.testing.assert_allclose(oov.std(axis=0), 0.1, rtol=0.08)


def test_mean_init_with_one_matched_vector_is_that_vector_not_zeros(caplog):
    # The fallback for a missing spread had also replaced the mean: every OOV row was zeros.
    vocab = make_vocab(["the", "t1", "t2"])
    vectors = make_vectors(["the"], [[1.0, 2.0, 3.0]])
    with caplog.at_level(logging.WARNING, logger="pipeline.matrix"):
        emb = build(vocab, vectors, oov_init="mean")
    assert caplog.records == [] and emb.info["fallback"] is None
    assert emb.weights[[1, 3, 4]].tolist() == [[1.0, 2.0, 3.0]] * 3


def test_two_source_words_with_equal_vectors_have_no_spread_either():
    # Counted as two distinct vectors, their std of 0 made every OOV row a copy of them, with no warning.
    vocab = make_vocab(["fish", "fishy"] + [f"t{k}" for k in range(2000)])
    vectors = make_vectors(["fish", "fishy", "bird"], [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [9.0, 9.0, 9.0]])
    emb = build(vocab, vectors)
    assert emb.info["fallback"] == "one distinct matched vector: mean 0.0, std 0.1"
    oov = np.delete(emb.weights, [0, 2, 3], axis=0).astype(np.float64)
    assert len(np.unique(oov, axis=0)) == len(oov)
    np.testing.assert_allclose(oov.std(axis=0), 0.1, rtol=0.08)
    assert build(vocab, vectors, oov_init="mean").weights[1].tolist() == [1.0, 2.0, 3.0]


def test_pca_takes_any_seed_the_config_allows():
    # sklearn's PCA takes random_state below 2**32 only: seed = 2**32 stopped the run with an internal error.
    vectors = random_vectors(40, 6)
    vocab = make_vocab([f"w{j}" for j in range(30)] + ["unknown"])
    small = build(vocab, vectors, seed=7, output_dim=3)
    large = build(vocab, vectors, seed=2**63 - 1, output_dim=3)
    assert large.info["reduction"] == "pca" and large.weights.dtype == np.float32
    assert np.array_equal(small.weights[large.matched], large.weights[large.matched])  # the full SVD uses no seed


# --------------------------------------------------------------------------- output_dim


def test_output_dim_larger_than_source_is_config_error():
    vectors = make_vectors(["a"], [[1.0, 2.0]])
    with pytest.raises(ConfigError) as err:
        build(make_vocab(["a"]), vectors, output_dim=3)
    assert err.value.exit_code == 78
    assert str(err.value) == ("The 'matrix.output_dim' parameter must be 0 (the source's) or 1 to the source "
                              "dimension 2. Got 3 instead.")


def test_output_dim_equal_to_source_is_no_reduction():
    vectors = random_vectors(10, 4)
    emb = build(make_vocab(["w1", "w2", "w3"]), vectors, output_dim=4)
    assert emb.info["reduction"] is None and np.array_equal(emb.weights[2:5], vectors.matrix[1:4])


def test_pca_golden_points_on_a_line():
    # three points on the line t * (1, 2, 2) / 3 in 3-D: one component explains everything,
    # and the projections are t - mean(t) = -3, 0, 3 (up to the component's sign)
    direction = np.array([1.0, 2.0, 2.0]) / 3.0
    vectors = make_vectors(["a", "b", "c"], [0.0 * direction, 3.0 * direction, 6.0 * direction])
    emb = build(make_vocab(["a", "b", "c", "zz"]), vectors, output_dim=1)
    assert emb.output_dim == 1
    projected = emb.weights[2:5, 0]
    np.testing.assert_allclose(np.abs(projected), [3.0, 0.0, 3.0], atol=1e-5)
    assert projected[0] == pytest.approx(-projected[2], abs=1e-5)
    assert emb.info["reduction"] == "pca"
    assert emb.info["explained_variance_ratio"] == pytest.approx(1.0)
    assert emb.info["source_dim"] == 3 and emb.info["output_dim"] == 1


def test_pca_is_deterministic_and_independent_of_vocab_order():
    vectors = random_vectors(30, 6)
    words = [f"w{j}" for j in range(0, 30, 2)] + ["x", "y"]
    a = build(make_vocab(words), vectors, output_dim=3, seed=5)
    b = build(make_vocab(list(reversed(words))), vectors, output_dim=3, seed=5)
    assert a.weights.tobytes() == build(make_vocab(words), vectors, output_dim=3, seed=5).weights.tobytes()
    row = {t: i for i, t in enumerate(a.tokens)}
    for i, t in enumerate(b.tokens):
        assert np.array_equal(b.weights[i], a.weights[row[t]]), t
    assert 0.0 < a.info["explained_variance_ratio"] <= 1.0


def test_pca_needs_enough_matched_vectors():
    vectors = random_vectors(10, 6)
    with pytest.raises(DataError) as err:
        build(make_vocab(["w1", "w2", "w3", "x"]), vectors, output_dim=3)
    assert "only 3 distinct source vectors" in str(err.value) and "at least 4" in str(err.value)


# --------------------------------------------------------------------------- Vectors built in Python


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_source_vector_is_refused_not_spread_into_oov_rows(bad):
    # The readers refuse such rows; a Vectors made in Python reached the matrix and its NaN
    # went into every initialised row through the mean and std.
    vectors = make_vectors(["a", "b", "c"], [[1, 2], [3, bad], [5, 6]])
    with pytest.raises(DataError, match=r"the vector of 'b' holds NaN or inf"):
        build(make_vocab(["a", "b", "zz"]), vectors)
    # a bad row no vocabulary word uses costs nothing and is not looked at
    m = build(make_vocab(["a", "c", "zz"]), vectors)
    assert np.isfinite(m.weights).all() and np.array_equal(m.weights[2:4], [[1, 2], [5, 6]])


def test_vectors_words_and_rows_must_agree():
    with pytest.raises(ValueError, match=r"2 words, matrix of shape \(3, 2\)"):
        make_vectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"matrix of shape \(2,\)"):
        make_vectors(["a", "b"], np.zeros(2))


def test_a_negative_output_dim_is_a_config_error_not_sklearns():
    with pytest.raises(ConfigError, match=r"'matrix.output_dim' parameter must be .* Got -1 instead"):
        build(make_vocab(["a"]), make_vectors(["a", "b"], [[1, 2], [3, 4]]), output_dim=-1)


@pytest.mark.parametrize("seed", [42.0, "42", None, -1, 2**63, True])
def test_build_matrix_refuses_a_seed_that_is_not_the_configs_integer(seed):
    # 42.0 seeded other OOV rows than 42 (the seed's text goes into each row's generator)
    vocab = make_vocab(["a", "b"])
    vectors = make_vectors(["a"], [[1.0, 2.0, 3.0]])
    with pytest.raises(ConfigError, match="'seed' parameter must be an integer from 0 to 2\\*\\*63 - 1"):
        build_matrix(vocab, align(vocab, vectors, AlignConfig()), vectors, MatrixConfig(), seed=seed)


def test_vectors_of_no_dimensions_are_a_data_error_not_the_output_dims_fault():
    vocab = make_vocab(["a"])
    vectors = Vectors(("a",), np.zeros((1, 0), dtype=np.float32))
    with pytest.raises(DataError, match="the source vectors have 0 dimensions"):
        build_matrix(vocab, align(vocab, vectors, AlignConfig()), vectors, MatrixConfig(), seed=1)
