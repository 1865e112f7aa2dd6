"""Evaluating word vectors: nearest neighbours, word analogies and word-pair similarity.

Use this module after building a matrix, to show that the vectors behind it are
good: :func:`evaluate` runs the checks named in the config's ``[evaluate]``
section and returns the ``evaluation`` part of ``report.json``
(:func:`pipeline.report.render_markdown` turns that part into Markdown for
``report.md``). The three checks can also be called on their own:

- :func:`nearest_neighbours`: the ``top_k`` most cosine-similar words of a few probes;
- :func:`evaluate_analogies`: Google ``questions-words.txt``-style analogies,
  solved with 3CosAdd and 3CosMul, per section and overall;
- :func:`evaluate_similarity`: Spearman and Pearson correlation with human
  judgements in ``wordsim353.tsv``-style word-pair files.

Inputs are plain data: ``words`` in row order (most frequent first) and a
float32 ``(n, d)`` array of their vectors. ``restrict_vocab=N`` means the first
N rows (0: all of them). Everything is computed as blocked matrix products, so
memory stays at a few ``batch_size x N`` floats and no Python loop runs over the
vocabulary.

The results are those of gensim's ``KeyedVectors.most_similar``,
``evaluate_word_analogies`` and ``evaluate_word_pairs`` on a ``KeyedVectors``
holding the same words and vectors (the tests check this), without importing
gensim, and much faster: neighbours come from a few large products rather
than one per query, and each distinct analogy word's cosines are computed once
(``questions-words.txt`` has 905 for 19,544 questions). Batched products round
differently from gensim's one product per query, by up to about 1e-6; where that
could change an answer or a list, a near-tie, the query is recomputed exactly as
gensim computes it, bit for bit, and ranked with gensim's own partial sort, so the
neighbour lists and the 3CosAdd answers are gensim's question by question, exact
ties included. Where we differ, on purpose:

- an all-zero vector has cosine 0 with everything (gensim divides by its zero norm);
- a row whose squared length passes float32's range (values of 1e19 and more) has
  its length taken in float64, so its cosines are right (gensim's length is inf,
  which scores the row 0 against every word);
- ``restrict_vocab=0`` means all rows (gensim's evaluators would see no words);
- blank lines and ``#`` comment lines in an analogy file are ignored;
- words in a word-pair file are stripped of surrounding spaces, a line without a
  tab may separate its three fields with spaces, and a score that is not a
  finite number makes the line malformed;
- 3CosMul uses the ``epsilon=1e-3`` of Levy & Goldberg (2014); gensim's
  ``most_similar_cosmul`` uses 1e-6 (pass ``cosmul_epsilon=1e-6`` for its answers,
  near-ties settled its way too);
- word-pair cosines are computed in float64 with correctly rounded sums, so
  pairs of equal cosine (a word with itself, a pair and its swap) tie exactly,
  where gensim's float32 rounding may split the tie and move Spearman's rho.

Malformed lines (the wrong number of fields, a score that is not a number) are
skipped and counted, like gensim does, so a header line or a stray typo does not
stop a run. A file in which malformed lines outnumber good ones, or that has no
good line at all, is not what it claims to be: that raises
:class:`~pipeline.errors.DataError` naming the first bad ``path:line``.
"""

from __future__ import annotations

import logging
import math
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import EvaluateConfig, resolve_input
from pipeline.errors import DataError
from pipeline.sources.files import open_binary, universal_newlines

logger = logging.getLogger(__name__)

ANALOGY_CANDIDATES = 5  # gensim looks at the top 5 answers when skipping case variants of the question words
DEFAULT_PROBES = 5
COSMUL_EPSILON = 1e-3  # Levy & Goldberg (2014), section 6

# How far apart two float32 computations of one cosine may come out: ours (a
# batched product of unit rows) and gensim's (one matrix-vector product per
# query, divided by the norms afterwards) add the d terms in different orders
# and so round differently. A rounding error of a sum is relative to its partial
# sums, which are bounded by the magnitude m = sum_i |x_i q_i| (<= 1 for unit
# vectors), not by the cosine itself: terms may cancel. Worst case for any order
# of summation, every rounding going the same way: about 2 d u m. A random walk
# of roundings grows like sqrt(d) u m instead. The allowance is
# _COSINE_SPREAD * u * m * (min(0.4 d, sqrt(d)) + 0.8), u = 2**-24: the worst case
# up to d = 6, the random walk above. Measured against gensim (random, cancelling
# and vectors sharing a common direction, 2 to 300-d, 25 million cosines each), the largest
# differences were 0.56 of it at d = 2, 0.35 at d = 8 and under 0.2 from d = 50;
# earlier measurements on 300-d Word2Vec vectors (80 million cosines) found
# differences up to 1.25e-6 near cosine 0.9, about 0.25 of it.
_COSINE_SPREAD = 5.0
_ROUNDOFF = 2.0**-24  # float32 unit roundoff: one rounding moves a value by at most this, relatively


def _cosine_slack(dim: int, magnitude: np.ndarray | float) -> np.ndarray:
    """How far our and gensim's float32 values of cosines may be apart, given ``sum_i |x_i q_i|`` of unit vectors.

    Pass ``magnitude=1.0`` (its largest value) for a bound that holds for any row.
    """
    return _COSINE_SPREAD * _ROUNDOFF * (min(0.4 * dim, np.sqrt(dim)) + 0.8) * np.asarray(magnitude)


_NEIGHBOUR_BATCH = 1024  # queries per product: a block of rows is normalised once for all of them
_BLOCK_FLOATS = 1 << 21  # scores of one (rows x queries) block, 8 MB: they stay in cache while we select from them
_SLABS = 16  # slabs of rows per block of scores; a chunk (one row of each) is looked into if its maximum may count

Neighbours = dict[str, list[tuple[str, float]]]


# --------------------------------------------------------------------------- vectors and scores


def unit_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length, as float32; an all-zero row stays zero.

    >>> unit_normalise(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / _safe_norms(vectors)[:, None]


def _safe_norms(vectors: np.ndarray) -> np.ndarray:
    # np.linalg.norm is what gensim's fill_norms uses, so unit vectors match it bit for bit;
    # it computes row by row, so blocks of rows give the same bits without a temporary the size of `vectors`.
    # Half of the blocks go to a second thread (numpy lets go of the GIL in its loops): the norms of
    # 400,000 rows take 37 ms in one thread, 20 ms in two, before any product keeps both cores busy.
    norms = np.empty(len(vectors), dtype=vectors.dtype)
    step = max(1, _BLOCK_FLOATS // max(1, vectors.shape[1]))
    starts = range(0, len(vectors), step)

    def fill(part: range) -> None:
        for start in part:
            with np.errstate(over="ignore"):  # squares past float32's range: redone below
                norms[start:start + step] = np.linalg.norm(vectors[start:start + step], axis=1)

    half = len(starts) // 2
    if half:
        with ThreadPoolExecutor(max_workers=1) as pool:
            other = pool.submit(fill, starts[half:])
            fill(starts[:half])
            other.result()
    else:
        fill(starts)
    # A finite row whose squares pass float32's range (values of 1e20) has an inf norm here, which
    # would score it 0 against everything: its norm is taken in float64 (gensim's would be inf).
    overflowed = np.flatnonzero(np.isinf(norms))
    if len(overflowed):
        with np.errstate(over="ignore"):  # a norm past float32's range itself (values near 1e38): inf
            norms[overflowed] = np.linalg.norm(vectors[overflowed].astype(np.float64), axis=1)
    norms[norms == 0] = 1  # a zero row then scores 0 instead of nan
    return norms


def _check_inputs(caller: str, words: Sequence[str], vectors: np.ndarray, **positive: int) -> np.ndarray:
    """``vectors`` as float32, after checking its shape and the integer parameters (restrict_vocab may be 0)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(
            f"expected a ({len(words)}, d) array of vectors, one row per word; got shape {vectors.shape}"
        )
    for name, value in positive.items():
        minimum = 0 if name == "restrict_vocab" else 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ValueError(
                f"The '{name}' parameter of {caller} must be an int >= {minimum}. Got {value!r} instead."
            )
    return vectors


def _refuse_non_finite(vectors: np.ndarray, rows: np.ndarray) -> None:
    """ValueError naming the first of ``rows`` whose vector holds NaN or inf: one would make every cosine NaN."""
    rows = np.asarray(rows, dtype=np.int64)
    bad = rows[~np.isfinite(vectors[rows]).all(axis=1)]
    if len(bad):
        raise ValueError(f"row {int(bad.min())} of the vectors holds NaN or inf (expected finite numbers)")


def _limit(n: int, restrict_vocab: int) -> int:
    """How many leading rows a search covers: ``restrict_vocab`` of ``n``, 0 meaning all."""
    return n if restrict_vocab == 0 else min(n, restrict_vocab)


@dataclass(frozen=True)
class _Searched:
    """The rows a search ranks: raw vectors and their (safe) norms, scored as gensim does."""

    vectors: np.ndarray  # (N, d) float32, C-contiguous, the first N rows
    norms: np.ndarray  # (N,) float32

    @classmethod
    def of(cls, vectors: np.ndarray, n: int, words: Sequence[str] | None = None) -> _Searched:
        """The first ``n`` rows; ValueError if one holds NaN or inf (its norm is not finite: a free test).

        A finite row too long for float32 is logged, by its word in ``words`` if given.
        """
        rows = np.ascontiguousarray(vectors[:n])
        norms = _safe_norms(rows)
        suspects = np.flatnonzero(~np.isfinite(norms))  # NaN or inf in the row (or values near float32's limit)
        _refuse_non_finite(rows, suspects)
        if len(suspects):  # finite, but too long for float32: its unit row is 0
            logger.warning("row %s%s holds values so large that its length overflows float32: it scores 0 "
                           "against every word, as in gensim",
                           repr(words[suspects[0]]) if words is not None else suspects[0],
                           f" (and {len(suspects) - 1} more)" if len(suspects) > 1 else "")
        return cls(rows, norms)

    def cosines(self, directions: np.ndarray) -> np.ndarray:
        """(B, N) cosines of unit ``directions`` with every row: ``V @ q / |V|``, gensim's formula.

        One product for the batch: fast, but it sums in another order than gensim's
        one product per query, so a cosine may differ from gensim's by :func:`_cosine_slack`.
        """
        scores = directions @ self.vectors.T
        scores /= self.norms  # in place: a fresh (B, N) temporary costs more than the product itself
        return scores

    def exact_cosines(self, direction: np.ndarray) -> np.ndarray:
        """(N,) cosines of one unit ``direction`` with every row, bit for bit gensim's.

        gensim's ``most_similar`` computes ``dot(vectors, mean) / norms``: one
        matrix-vector product, whose result for a row does not depend on the other
        queries, so the same call on the same float32 arrays gives the same bits.
        """
        return np.dot(self.vectors, direction) / self.norms

    def unit(self, index: np.ndarray) -> np.ndarray:
        """Unit vectors of rows ``index`` (gensim's ``get_vector(key, norm=True)``)."""
        return self.vectors[index] / self.norms[index][:, None]


def _query_direction(total: np.ndarray, total_weight: float) -> np.ndarray:
    """Unit query vectors from summed (weighted) unit vectors, rounded as gensim's ``get_mean_vector``.

    gensim divides the float32 sum by the float64 total weight (giving float64),
    normalises in float64 and casts back to float32. Doing the same gives gensim's
    query vectors bit for bit, which :meth:`_Searched.exact_cosines` relies on.
    """
    mean = total.astype(np.float64) / total_weight
    length = np.linalg.norm(mean, axis=1, keepdims=True)
    length[length == 0] = 1
    return (mean * (1.0 / length)).astype(np.float32)


# --------------------------------------------------------------------------- nearest neighbours


def nearest_neighbours(
    words: Sequence[str],
    vectors: np.ndarray,
    queries: Sequence[str],
    *,
    top_k: int = 10,
    restrict_vocab: int = 0,
    batch_size: int = 1024,
) -> Neighbours:
    """The ``top_k`` most cosine-similar words of each query among the first ``restrict_vocab`` rows.

    The query itself is left out, as in gensim's ``most_similar(word, topn=top_k,
    restrict_vocab=restrict_vocab)``, and the lists are gensim's (see
    :func:`_nearest`). A query that is not in ``words`` is absent from the result.
    A query beyond ``restrict_vocab`` still gets neighbours from the searched rows.
    At most ``batch_size`` queries are scored at once.
    """
    vectors = _check_inputs(
        "nearest_neighbours", words, vectors, top_k=top_k, restrict_vocab=restrict_vocab, batch_size=batch_size
    )
    if isinstance(queries, str):
        raise TypeError(f"queries must be a sequence of words, not one string: [{queries!r}]?")
    index = _first_rows(words, set(queries))
    found = list(dict.fromkeys(q for q in queries if q in index))
    searched = _Searched.of(vectors, _limit(len(words), restrict_vocab), words)
    rows = np.array([index[q] for q in found], dtype=np.int64)
    _refuse_non_finite(vectors, rows)  # a query may lie beyond the searched rows
    directions = _query_direction(unit_normalise(vectors[rows]), 1.0)
    top, top_scores, rechecked = _nearest(searched, directions, rows, top_k, batch_size)
    logger.debug("neighbours: %d of %d queries had a near-tie and were recomputed one by one",
                 rechecked, len(found))
    return {
        query: [(words[i], s) for i, s in zip(idx, sc) if s != -np.inf]
        for query, idx, sc in zip(found, top.tolist(), top_scores.tolist())
    }


def _nearest(
    searched: _Searched, directions: np.ndarray, own: np.ndarray, k: int, batch_size: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Rows of the ``k`` best cosines per unit direction, best first, those cosines, and how many were rechecked.

    Row ``own[i]`` (the query's own row, or one beyond the searched rows) is never
    a neighbour of direction ``i``. The order is gensim's: our batched cosines pick
    the k rows where each beats the (k+1)-th by more than the two computations may
    disagree by (:func:`_cosine_slack` of both rows), and the k are ordered by their
    cosines in float64 where each step is larger than gensim's rounding alone may
    move two cosines; a query with a closer call (23 of the benchmark's 1,000 with
    float32 steps, 13 with float64 ones) is recomputed with gensim's own product
    (:meth:`_Searched.exact_cosines`) and ranked with its partial sort
    (:func:`_gensim_top`), exact ties included.

    The rows are scored a block at a time against ``batch_size`` queries (at most
    ``_NEIGHBOUR_BATCH``) per product, a row of scores per searched row: each block
    of rows is normalised once for all queries, the chunk maxima :func:`_select`
    starts from are elementwise maxima of long contiguous runs (2-3x cheaper than
    with a row of scores per query; the product itself is a little faster too),
    and each block of scores is small enough to select from while it is in cache.
    """
    n, m = len(searched.vectors), len(directions)
    keep = min(k + 1, n)  # one more than asked: only its gap to the k-th says the k-th is right
    best = _BestSoFar.empty(m, keep, n)
    if not n or not m:
        return best.idx[:, :k], best.val[:, :k], 0
    dim = searched.vectors.shape[1]
    batch = max(1, min(batch_size, _NEIGHBOUR_BATCH, m))
    # Rows per block, whole slabs of at least `keep` chunks: scores of ~_BLOCK_FLOATS, unit rows of at most twice that.
    width = min(-(-n // _SLABS), max(keep, _BLOCK_FLOATS // max(batch, dim // 2) // _SLABS)) * _SLABS
    scores = np.empty(width * batch, dtype=np.float32)
    unit_rows = np.empty((width, dim), dtype=np.float32)
    inverse = np.float32(1) / searched.norms
    batches = [(first, np.ascontiguousarray(directions[first:first + batch].T)) for first in range(0, m, batch)]
    for start in range(0, n, width):
        stop = min(n, start + width)
        # Unit rows, so the products need no division; this rounds differently from
        # gensim's dot-then-divide by an ulp or so, which _cosine_slack allows for.
        rows = np.multiply(searched.vectors[start:stop], inverse[start:stop, None], out=unit_rows[:stop - start])
        padded = -(-(stop - start) // _SLABS) * _SLABS
        for first, columns in batches:
            block = scores[:padded * columns.shape[1]].reshape(padded, -1)
            np.matmul(rows, columns, out=block[:stop - start])
            block[stop - start:] = -np.inf  # the last block, padded to whole slabs: scores that never win
            _select(block, start, own[first:first + batch], best, first)
        if best.waiting >= m:  # more candidates than queries: time to raise the floors
            best.merge()
    best.merge()

    best_idx, best_val = best.idx, best.val
    magnitudes, cosines64, subnormal = _measure_rows(searched, directions, best_idx)
    slack = _cosine_slack(dim, magnitudes)
    with np.errstate(invalid="ignore"):  # -inf - -inf: no more rows, nothing to decide
        # The set of the k best: each of ours beats the (k+1)-th, which stands for every row below
        # it (any of them may be a rounding away), by more than the two computations may disagree.
        # A product x_i q_i below float32's normal range is rounded far more coarsely than the
        # allowance assumes: such a query is recomputed.
        unsettled = subnormal[:, :k].any(axis=1)
        if keep > k:
            unsettled |= (best_val[:, :k] - slack[:, :k]).min(axis=1) <= best_val[:, k] + _cosine_slack(dim, 1.0)
        # Their order: by cosines in float64 (exact to about 1e-16), which gensim's float32 values
        # keep wherever two neighbours are further apart than gensim's rounding alone may move them:
        # half the allowance for two float32 computations (measured, gensim's distance from the
        # float64 cosine reaches 0.32 of the whole allowance at d = 2 in an adversarial search,
        # 0.2 at most from d = 7, 0.015 on random 300-d rows).
        order = np.argsort(-cosines64[:, :k], axis=1, kind="stable")
        best_idx, cosines64, slack = (np.take_along_axis(a[:, :k], order, axis=1) for a in (best_idx, cosines64, slack))
        best_val = cosines64.astype(np.float32)
        # <=: two equal cosines with no allowance (every product 0, as for rows with no dimension in
        # common with the query) are a tie, which gensim's partial sort orders its own way.
        unsettled |= (cosines64[:, :-1] - cosines64[:, 1:] <= (slack[:, :-1] + slack[:, 1:]) / 2).any(axis=1)
    close = np.flatnonzero(unsettled)
    for i in close:
        exact = searched.exact_cosines(directions[i])
        top = _gensim_top(exact, k, [own[i]])
        best_idx[i], best_val[i] = n, -np.inf
        best_idx[i, :len(top)], best_val[i, :len(top)] = top, exact[top]
    return best_idx, best_val, len(close)


def _measure_rows(
    searched: _Searched, directions: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows ``rows[j, :]`` (n: none) of each unit direction ``q = directions[j]``, in float64:

    - ``sum_i |x_i q_i| / |x|``, the magnitude :func:`_cosine_slack` scales with (0 for none);
    - the cosine ``dot(x, q) / |x|``, gensim's formula without its float32 roundings (-inf for none);
    - whether a product ``x_i q_i`` of the row as stored is nonzero but below float32's normal range.
    """
    n = len(searched.vectors)
    magnitudes = np.zeros(rows.shape, dtype=np.float64)
    cosines = np.full(rows.shape, -np.inf)
    subnormal = np.zeros(rows.shape, dtype=bool)
    tiny = np.finfo(np.float32).tiny
    step = max(1, _BLOCK_FLOATS // max(1, rows.shape[1] * searched.vectors.shape[1]))
    for start in range(0, len(rows), step):
        part = rows[start:start + step]
        valid = part < n
        safe = np.where(valid, part, 0)
        norms = searched.norms[safe]
        products = searched.vectors[safe].astype(np.float64) * directions[start:start + step, None, :]
        with np.errstate(invalid="ignore"):  # a norm of inf (values near float32's limit): inf / inf
            cosines[start:start + step] = np.where(valid, products.sum(axis=2) / norms, -np.inf)
        np.abs(products, out=products)
        magnitudes[start:start + step] = np.where(valid, products.sum(axis=2) / norms, 0)
        subnormal[start:start + step] = valid & ((products > 0) & (products < tiny)).any(axis=2)
    return magnitudes, cosines, subnormal


@dataclass
class _BestSoFar:
    """Each query's ``keep`` best rows so far, best first (ties: the lower row), and candidates not merged yet."""

    idx: np.ndarray  # (queries, keep) int64 rows; n where there is none yet
    val: np.ndarray  # (queries, keep) float32 scores; -inf where there is none yet; the last column is the floor:
    # the keep-th best score at the last merge, which a later score must reach to count
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)  # (queries, rows, scores)
    waiting: int = 0  # how many candidates are pending

    @classmethod
    def empty(cls, m: int, keep: int, n: int) -> _BestSoFar:
        return cls(np.full((m, keep), n, dtype=np.int64), np.full((m, keep), -np.inf, dtype=np.float32))

    def add(self, queries: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
        """Candidates for the best rows of ``queries`` (each query's in row order), to merge later in one go."""
        self.pending.append((queries, rows, values))
        self.waiting += len(queries)

    def merge(self) -> None:
        """Merge the pending candidates into the best rows of their queries, and raise those queries' floors.

        One stable sort, by query and then by score descending, of the held rows
        (first) and the candidates (later rows, in row order), so that ties keep the
        lower row. Only queries with a candidate take part. Merging a few blocks'
        candidates at once costs less than one merge per block, and the floors it
        leaves lower meanwhile only let a few more candidates through.
        """
        if not self.pending:
            return
        queries, rows, values = (np.concatenate(parts) for parts in zip(*self.pending))
        self.pending, self.waiting = [], 0
        keep = self.val.shape[1]
        hot = np.unique(queries)
        group = np.concatenate([np.repeat(np.arange(len(hot)), keep), np.searchsorted(hot, queries)])
        idx = np.concatenate([self.idx[hot].ravel(), rows])
        val = np.concatenate([self.val[hot].ravel(), values])
        order = np.argsort(_group_then_descending(group, val), kind="stable")
        group, idx, val = group[order], idx[order], val[order]
        rank = np.arange(len(group)) - np.searchsorted(group, group)  # position within its query's run
        first = rank < keep
        self.idx[hot[group[first]], rank[first]] = idx[first]
        self.val[hot[group[first]], rank[first]] = val[first]


def _group_then_descending(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """uint64 sort keys: by ``group`` (non-negative, < 2**32), then by the float32 ``values``, largest first.

    One key sorts several times faster than ``np.lexsort`` on two. A float32's
    bits, read as an int32 and with the non-sign bits of negatives flipped, order
    as the floats do (-0.0 just below 0.0, -inf lowest); inverting them reverses
    that order, and flipping the sign bit makes it the order of unsigned ints.

    >>> keys = _group_then_descending(np.array([1, 0, 0, 0]), np.array([5, -1, 2, -np.inf], dtype=np.float32))
    >>> np.argsort(keys).tolist()
    [2, 1, 3, 0]
    """
    bits = values.view(np.int32)
    ascending = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    descending = (~ascending).view(np.uint32) ^ np.uint32(1 << 31)
    return (group.astype(np.uint64) << np.uint64(32)) | descending.astype(np.uint64)


def _select(block: np.ndarray, start: int, own: np.ndarray, best: _BestSoFar, first: int) -> None:
    """Add the candidates of a block of scores to ``best``: the scores reaching their query's floor.

    ``block[r, q]`` is the score of row ``start + r`` for query ``first + q``; it
    has whole slabs of rows, and its own-row entries are overwritten. Row ``j`` of
    each of the ``_SLABS`` slabs form chunk ``j``, so the chunks' maxima are an
    elementwise ``maximum`` of the slabs: one pass over the scores, at the speed of
    reading them, where ``argpartition`` would take dozens. Only chunks whose
    maximum reaches the floor are looked into, and only queries with such a chunk.
    While a query holds fewer than ``keep`` rows, its floor is the ``keep``-th
    largest chunk maximum instead: ``keep`` chunks whose maxima are at least x hold
    ``keep`` scores at least x.
    """
    b = block.shape[1]
    inside = np.flatnonzero((own >= start) & (own < start + len(block)))
    block[own[inside] - start, inside] = -np.inf  # never a word's own neighbour
    slabs = block.reshape(_SLABS, -1, b)  # [i, j, q]: the score of row start + i * chunks + j
    maxima = slabs.max(axis=0)  # [j, q]
    floor = best.val[first:first + b, -1]
    if np.isneginf(floor).any():  # fewer than `keep` rows held yet
        floor = np.maximum(floor, _kth_largest(maxima.T, best.val.shape[1]))
    hot = np.flatnonzero(maxima.max(axis=0) >= floor)
    chunk, h = np.nonzero(maxima[:, hot] >= floor[hot])
    q = hot[h]
    values = slabs[:, chunk, q]  # [i, candidate chunk]
    slab, c = np.nonzero(values >= floor[q])  # slab-major: in row order for each query
    best.add(first + q[c], start + slab * maxima.shape[0] + chunk[c], values[slab, c])


def _kth_largest(values: np.ndarray, k: int) -> np.ndarray:
    """Per row, the ``k``-th largest value (-inf if the row is shorter).

    >>> _kth_largest(np.array([[1.0, 5.0, 3.0, 4.0]]), 2).tolist()
    [4.0]
    """
    width = values.shape[1]
    if width < k:
        return np.full(len(values), -np.inf, dtype=values.dtype)
    return np.partition(values, width - k, axis=1)[:, width - k]


def _gensim_top(scores: np.ndarray, topn: int, exclude: Sequence[int]) -> np.ndarray:
    """The ``topn`` best rows not in ``exclude``, best first, picked exactly as gensim's ``most_similar`` does.

    gensim takes ``matutils.argsort(scores, topn + len(exclude), reverse=True)``
    (a partial sort) and then drops ``exclude``. The same numpy calls on the same
    scores give the same rows in the same order, also among exact ties.

    >>> _gensim_top(np.array([0.5, 0.9, 0.1, 0.7], dtype=np.float32), 2, [1]).tolist()
    [3, 0]
    """
    x = -scores
    wanted = topn + len(exclude)
    if wanted >= x.size:
        best = np.argsort(x)[:wanted]
    else:
        best = np.argpartition(x, wanted)[:wanted]
        best = best.take(np.argsort(x.take(best)))
    dropped = set(int(e) for e in exclude)
    return np.array([i for i in best.tolist() if i not in dropped][:topn], dtype=np.int64)


def _first_rows(words: Sequence[str], wanted: set[str]) -> dict[str, int]:
    """The first row of each ``wanted`` word that is in ``words`` (a few queries need no index of all words).

    Stops once every wanted word is found: probes are mostly frequent words, near the top.

    >>> _first_rows(["a", "b", "a", "c"], {"a", "c", "zz"})
    {'a': 0, 'c': 3}
    """
    first: dict[str, int] = {}
    for i, w in enumerate(words):
        if w in wanted and w not in first:
            first[w] = i
            if len(first) == len(wanted):
                break
    return first


def _first_index(words: Sequence[str]) -> dict[str, int]:
    """Word -> row, the first (most frequent) row winning when a word repeats."""
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)
    return index


def default_probes(
    words: Sequence[str], counts: Sequence[int] | None = None, n: int = DEFAULT_PROBES
) -> list[str]:
    """The first ``n`` alphabetic words of 3+ letters, by descending count if given, else in row order.

    >>> default_probes(["the", ",", "of", "said", "1990", "police", "Iraq", "a", "government"], n=4)
    ['the', 'said', 'police', 'Iraq']
    """
    if counts is not None and len(counts) != len(words):
        raise ValueError(f"expected one count per word ({len(words)}); got {len(counts)}")
    # A word without a count (None, as Vocabulary.counts holds for reserved rows) comes last.
    order = range(len(words)) if counts is None else np.argsort(
        -np.array([-1 if c is None else c for c in counts], dtype=np.float64), kind="stable")
    probes: list[str] = []
    for i in order:
        w = words[i]
        if len(w) >= 3 and w.isalpha() and w not in probes:
            probes.append(w)
            if len(probes) == n:
                break
    return probes


# --------------------------------------------------------------------------- reading evaluation files


@dataclass
class _Malformed:
    """Counts skipped lines and remembers the first, to judge a file once it has been read."""

    path: Path
    expected: str
    count: int = 0
    first_line: int | None = None
    first_reason: str = ""

    def skip(self, line_no: int, reason: str) -> None:
        logger.debug("%s:%d: skipping malformed line: %s", self.path, line_no, reason)
        if self.first_line is None:
            self.first_line, self.first_reason = line_no, reason
        self.count += 1

    def check(self, good: int) -> None:
        """Raise if the file has no good line or more malformed lines than good ones."""
        if good == 0 and not self.count:
            raise DataError(f"no data lines found (expected {self.expected})", self.path)
        if self.count > good or good == 0:
            raise DataError(
                f"{self.first_reason} (expected {self.expected}); {self.count} of {self.count + good} "
                f"lines are malformed, this is the first",
                self.path,
                self.first_line,
            )
        if self.count:
            logger.info("%s: skipped %d malformed line(s), first at line %d: %s",
                        self.path, self.count, self.first_line, self.first_reason)


def _read_lines(path: Path, encoding_errors: str, *, universal: bool = False) -> Iterator[tuple[int, str]]:
    """``(line_no, text)`` from 1 of a UTF-8 file (evaluation files are small: read whole, decoded once).

    Lines end where gensim's readers end them: at "\\n" only for analogy files
    (gensim reads them in binary; a "\\r" before the "\\n" is whitespace to the
    parser), and also at "\\r\\n" or a bare "\\r" with ``universal``
    (word-pair files, which gensim opens in text mode).
    """
    with open_binary(path) as fh:
        try:
            data = fh.read()
        except (EOFError, OSError, zlib.error) as exc:  # a cut-short or corrupt gzip/bzip2 stream
            raise DataError(f"cannot decompress: {exc} (expected a complete gzip/bzip2 file)", path) from None
    try:
        text = data.decode("utf-8", encoding_errors)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"invalid UTF-8 ({exc.reason}) (expected UTF-8 text; evaluate.encoding_errors = \"replace\" reads it anyway)",
            path,
            len(_split_lines(data[:exc.start].decode("utf-8"), universal)),
        ) from None
    return enumerate(_split_lines(text.removeprefix("\ufeff"), universal), 1)


def _split_lines(text: str, universal: bool) -> list[str]:
    return (universal_newlines(text) if universal else text).split("\n")


@dataclass
class _AnalogyFile:
    sections: list[str] = field(default_factory=list)
    # one entry per question line: (section number, (a, b, c, expected)), words as written
    questions: list[tuple[int, tuple[str, str, str, str]]] = field(default_factory=list)
    skipped: int = 0


def _read_analogies(path: Path, encoding_errors: str) -> _AnalogyFile:
    """Parse ``: section`` headers and ``a b c expected`` lines, as gensim's ``evaluate_word_analogies``."""
    parsed = _AnalogyFile()
    bad = _Malformed(path, "4 words 'a b c expected' per line under ': section' headers")
    for line_no, line in _read_lines(path, encoding_errors):
        if line.startswith(": "):
            parsed.sections.append(line.lstrip(": ").strip())  # gensim's exact rule for the name
            continue
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if not parsed.sections:
            raise DataError("question before the first ': section' header (expected a ': name' line first)",
                            path, line_no)
        if len(fields) != 4:
            bad.skip(line_no, f"{len(fields)} words")
            continue
        parsed.questions.append((len(parsed.sections) - 1, (fields[0], fields[1], fields[2], fields[3])))
    bad.check(len(parsed.questions))
    parsed.skipped = bad.count
    return parsed


def _read_pairs(path: Path, encoding_errors: str) -> tuple[list[tuple[str, str, float]], int]:
    """Parse ``word1<TAB>word2<TAB>score`` lines (``#`` comments skipped), as gensim's ``evaluate_word_pairs``."""
    pairs: list[tuple[str, str, float]] = []
    bad = _Malformed(path, "'word1<TAB>word2<TAB>score' per line")
    for line_no, line in _read_lines(path, encoding_errors, universal=True):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) != 3:
            bad.skip(line_no, f"{len(fields)} fields")
            continue
        try:
            score = float(fields[2])
        except ValueError:
            score = float("nan")
        if not np.isfinite(score):
            bad.skip(line_no, f"score {fields[2].strip()!r} is not a number")  # e.g. a header line
            continue
        pairs.append((fields[0].strip(), fields[1].strip(), score))
    bad.check(len(pairs))
    return pairs, bad.count


# --------------------------------------------------------------------------- analogies


@dataclass(frozen=True)
class _EvalVocab:
    """The words an evaluation may use: the first N rows, upper-cased when case-insensitive.

    ``key_of`` maps a (possibly upper-cased) word to its first row, as gensim's
    ``ok_vocab`` built from ``reversed(index_to_key[:N])`` does; ``row_key[i]``
    is that representative row for every searched row ``i``, so "is row i a
    case variant of word w" is ``row_key[i] == key_of[w]``.
    """

    key_of: dict[str, int]
    row_key: np.ndarray
    case_insensitive: bool

    @classmethod
    def of(cls, words: Sequence[str], n: int, case_insensitive: bool) -> _EvalVocab:
        norm = str.upper if case_insensitive else str
        keys = [norm(w) for w in words[:n]]
        key_of = _first_index(keys)
        return cls(key_of, np.array([key_of[k] for k in keys], dtype=np.int64), case_insensitive)

    def lookup_all(self, words: Sequence[str]) -> np.ndarray:
        """The representative row of each word, -1 where it is not among the first N rows."""
        norm = str.upper if self.case_insensitive else str
        row = {w: self.key_of.get(norm(w), -1) for w in set(words)}  # evaluation files repeat words a lot
        return np.array([row[w] for w in words], dtype=np.int64)


def evaluate_analogies(
    words: Sequence[str],
    vectors: np.ndarray,
    path: str | os.PathLike,
    *,
    restrict_vocab: int = 30000,
    case_insensitive: bool = True,
    batch_size: int = 1024,
    encoding_errors: str = "strict",
    cosmul_epsilon: float = COSMUL_EPSILON,
) -> dict[str, Any]:
    """Accuracy on a ``questions-words.txt``-style file with 3CosAdd and 3CosMul, per section and overall.

    A question ``a b c expected`` is answered by the row closest to ``b - a + c``
    (3CosAdd) or maximising ``cos(x,b) cos(x,c) / (cos(x,a) + eps)`` with cosines
    shifted to [0, 1] (3CosMul), among the first ``restrict_vocab`` rows, never
    ``a``, ``b`` or ``c`` themselves. Questions with a word outside those rows
    are counted as ``oov`` and not scored. The 3CosAdd answers are those of
    gensim's ``evaluate_word_analogies(path, restrict_vocab, case_insensitive)``,
    question by question; the 3CosMul answers those of its ``most_similar_cosmul``
    (with ``cosmul_epsilon=1e-6``, its epsilon) under the same rules. Memory stays at about ``batch_size`` x ``restrict_vocab``
    floats: the cosines of that many distinct question words at a time.
    """
    answers = _answer_analogies(
        words, vectors, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
        batch_size=batch_size, encoding_errors=encoding_errors, cosmul_epsilon=cosmul_epsilon,
    )
    parsed, known, expected = answers.parsed, answers.known, answers.ids[:, 3]
    cosadd, cosmul = answers.cosadd == expected, answers.cosmul == expected
    section = np.array([s for s, _ in parsed.questions], dtype=np.int64)
    known_section = section[known]
    n_sections = len(parsed.sections)
    per = {
        "questions": np.bincount(section, minlength=n_sections),
        "oov": np.bincount(section[~known], minlength=n_sections),
        "total": np.bincount(known_section, minlength=n_sections),
        "cosadd": np.bincount(known_section[cosadd], minlength=n_sections),
        "cosmul": np.bincount(known_section[cosmul], minlength=n_sections),
    }
    sections = [
        {
            "section": name,
            "questions": int(per["questions"][i]),
            "oov": int(per["oov"][i]),
            "cosadd": _accuracy(per["cosadd"][i], per["total"][i]),
            "cosmul": _accuracy(per["cosmul"][i], per["total"][i]),
        }
        for i, name in enumerate(parsed.sections)
    ]
    questions, scored = len(parsed.questions), len(expected)
    report = {
        "path": str(answers.path),
        "restrict_vocab": restrict_vocab,
        "searched_rows": answers.searched_rows,
        "case_insensitive": case_insensitive,
        "questions": questions,
        "oov": questions - scored,
        "oov_ratio": (questions - scored) / questions,
        "skipped": parsed.skipped,
        "cosadd": _accuracy(cosadd.sum(), scored),
        "cosmul": _accuracy(cosmul.sum(), scored),
        "sections": sections,
    }
    logger.info(
        "analogies %s: 3CosAdd %d and 3CosMul %d right of the %d of %d questions scored"
        " (%d with words outside the first %d rows)",
        answers.path.name, report["cosadd"]["correct"], report["cosmul"]["correct"],
        scored, questions, report["oov"], answers.searched_rows,
    )
    return report


@dataclass
class _AnalogyAnswers:
    """Every scored question's answer: the representative row (see :class:`_EvalVocab`) or -1 for none."""

    path: Path
    parsed: _AnalogyFile
    searched_rows: int
    known: np.ndarray  # (questions,) bool: all four words among the searched rows
    ids: np.ndarray  # (scored, 4) representative rows of a, b, c, expected of the known questions
    cosadd: np.ndarray  # (scored,) int64
    cosmul: np.ndarray  # (scored,) int64
    rechecked: int  # answers (3CosAdd and 3CosMul) decided by a near-tie, recomputed gensim's way


def _answer_analogies(
    words: Sequence[str],
    vectors: np.ndarray,
    path: str | os.PathLike,
    *,
    restrict_vocab: int = 30000,
    case_insensitive: bool = True,
    batch_size: int = 1024,
    encoding_errors: str = "strict",
    cosmul_epsilon: float = COSMUL_EPSILON,
) -> _AnalogyAnswers:
    """Read an analogy file and answer its questions: what :func:`evaluate_analogies` counts."""
    vectors = _check_inputs(
        "evaluate_analogies", words, vectors, restrict_vocab=restrict_vocab, batch_size=batch_size
    )
    if isinstance(cosmul_epsilon, bool) or not isinstance(cosmul_epsilon, (int, float, np.floating)) \
            or not 0 < cosmul_epsilon < math.inf:
        raise ValueError(f"The 'cosmul_epsilon' parameter must be a number > 0. Got {cosmul_epsilon!r} instead.")
    path = Path(path)
    parsed = _read_analogies(path, encoding_errors)
    n = _limit(len(words), restrict_vocab)
    vocab = _EvalVocab.of(words, n, case_insensitive)
    ids = vocab.lookup_all([w for _, q in parsed.questions for w in q]).reshape(-1, 4)
    known = (ids >= 0).all(axis=1)
    ids = ids[known]
    searched = _Searched.of(vectors, n, words)

    a, b, c = ids[:, 0], ids[:, 1], ids[:, 2]
    cosadd = np.empty(len(ids), dtype=np.int64)
    cosmul = np.empty(len(ids), dtype=np.int64)
    epsilon = np.float32(cosmul_epsilon)
    rechecked = 0
    for group in _word_groups(ids[:, :3], batch_size):
        # Each distinct word's cosines with every row, once: a question's 3CosAdd
        # scores are then a sum of three rows of them, its 3CosMul scores a product.
        # Sections reuse a few dozen words, so this is ~20x fewer flops than one
        # product per question.
        distinct, where = np.unique(ids[group, :3], return_inverse=True)
        where = where.reshape(-1, 3)
        units = searched.unit(distinct)
        cos = searched.cosines(units)
        cosadd[group], close = _answer_cosadd(cos, units, where, vocab, a[group], b[group], c[group])
        rechecked += len(close)
        if len(close):  # near-ties: settle them with gensim's own arithmetic
            questions = group.start + close
            cosadd[questions] = _answer_cosadd_exactly(searched, vocab, a[questions], b[questions], c[questions])
        cos += 1
        cos /= 2  # cosines moved from [-1, 1] to [0, 1], so that the product ranks sensibly
        cosmul[group], close = _answer_cosmul(cos, units.shape[1], where, epsilon, vocab, a[group], b[group], c[group])
        rechecked += len(close)
        if len(close):
            questions = group.start + close
            cosmul[questions] = _answer_cosmul_exactly(searched, vocab, a[questions], b[questions], c[questions],
                                                       epsilon)
    logger.debug("analogies: %d of %d answers (3CosAdd and 3CosMul) had a near-tie and were recomputed one by one",
                 rechecked, 2 * len(ids))
    return _AnalogyAnswers(path, parsed, n, known, ids, cosadd, cosmul, rechecked)


def _word_groups(questions: np.ndarray, max_words: int) -> list[slice]:
    """Consecutive runs of questions that use at most ``max_words`` distinct words each (a lone question may use more).

    >>> _word_groups(np.array([[0, 1, 2], [1, 2, 3], [4, 5, 6]]), 4)
    [slice(0, 2, None), slice(2, 3, None)]
    """
    groups, seen, start = [], set(), 0
    for i, question in enumerate(questions.tolist()):
        new = set(question) - seen
        if len(seen) + len(new) > max_words and i > start:
            groups.append(slice(start, i))
            seen, start, new = set(), i, set(question)
        seen |= new
    if start < len(questions):
        groups.append(slice(start, len(questions)))
    return groups


_RowOp = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]  # (x, y, out): writes into out


def _scores_by_pair(
    table: np.ndarray, where: np.ndarray, pair_op: _RowOp, question_op: _RowOp
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every question's scores over all rows, a few questions at a time: ``(which questions, their scores)``.

    ``table`` has one row per distinct word, ``where`` the questions' ``(a, b, c)``
    rows of it. A question's scores are ``question_op(pair_op(table[a], table[b]), table[c])``,
    each op writing into its ``out`` argument. A section pairs each ``(a, b)`` with
    many ``c`` (questions-words.txt: 19,544 questions, 550 pairs), so questions are
    taken pair by pair and the pair's row is computed once: one pass per question.
    The scores array is reused: use it before asking for the next.
    """
    n = table.shape[1]
    step = max(1, min(256, _BLOCK_FLOATS // 4 // max(n, 1)))  # scores of a few questions, kept in cache
    order = np.lexsort((where[:, 1], where[:, 0]))
    wa, wb, wc = (where[order, i].tolist() for i in range(3))
    pair, scores = np.empty(n, dtype=table.dtype), np.empty((step, n), dtype=table.dtype)
    current = None
    for start in range(0, len(order), step):
        stop = min(len(order), start + step)
        for j in range(start, stop):
            if (wa[j], wb[j]) != current:
                current = (wa[j], wb[j])
                pair_op(table[wa[j]], table[wb[j]], pair)
            question_op(pair, table[wc[j]], scores[j - start])
        yield order[start:stop], scores[:stop - start]


def _answer_cosadd(
    cos: np.ndarray, units: np.ndarray, where: np.ndarray, vocab: _EvalVocab,
    a: np.ndarray, b: np.ndarray, c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """3CosAdd answers from the cosines ``cos`` of the distinct words, and which questions had a near-tie.

    gensim scores ``x`` by ``cos(x, m)`` with ``m = (b + c - a) / |b + c - a|``
    (unit vectors); ``(cos(x, b) - cos(x, a)) + cos(x, c)`` is that times
    ``|b + c - a|``, the same ranking. Both are rounded, so a ranking step decided
    by less than the two may disagree by is marked for :func:`_answer_cosadd_exactly`.
    Bound, taking every cosine as 1 at worst: three cosines off by
    :func:`_cosine_slack` each plus two roundings of their sum, against gensim's
    cosine off by as much times ``|b + c - a|``, plus the rounding of its float32
    sum ``b + c - a``: about ``_ROUNDOFF`` per unit vector added.
    """
    wa, wb, wc = where.T
    gram = (units @ units.T).astype(np.float64)  # |b + c - a| from dot products: no (questions, d) temporaries
    size = np.sqrt(np.maximum(0, gram[wa, wa] + gram[wb, wb] + gram[wc, wc]
                              + 2 * (gram[wb, wc] - gram[wa, wb] - gram[wa, wc])))
    slack = (3 + size) * _cosine_slack(units.shape[1], 1.0) + (10 + 2 * size) * _ROUNDOFF
    answer = np.empty(len(a), dtype=np.int64)
    close = np.zeros(len(a), dtype=bool)
    for q, scores in _scores_by_pair(
        cos, where,
        lambda cos_a, cos_b, out: np.subtract(cos_b, cos_a, out=out),
        lambda pair, cos_c, out: np.add(pair, cos_c, out=out),
    ):
        answer[q], close[q] = _solve(scores, vocab, a[q], b[q], c[q], lambda i, rows, values: slack[q[i]])
    return answer, np.flatnonzero(close)


def _answer_cosadd_exactly(searched: _Searched, vocab: _EvalVocab, a: np.ndarray, b: np.ndarray,
                           c: np.ndarray) -> np.ndarray:
    """3CosAdd answers computed as gensim's ``most_similar(positive=[b, c], negative=[a])``, one question at a time."""
    # gensim sums unit vectors in the order b, c, -a (float32), then divides by the total weight 3.
    directions = _query_direction((searched.unit(b) + searched.unit(c)) - searched.unit(a), 3.0)
    answer = np.full(len(a), -1, dtype=np.int64)
    for i, direction in enumerate(directions):
        question = (b[i], c[i], a[i])  # gensim's all_keys: positive then negative words
        for row in _gensim_top(searched.exact_cosines(direction), ANALOGY_CANDIDATES, question):
            answer[i] = vocab.row_key[row]  # if all 5 are case variants of a, b or c: the 5th
            if answer[i] not in question:
                break
    return answer


def _answer_cosmul(
    shifted: np.ndarray, dim: int, where: np.ndarray, epsilon: np.float32, vocab: _EvalVocab,
    a: np.ndarray, b: np.ndarray, c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """3CosMul answers from the distinct words' cosines shifted to [0, 1], and which questions had a near-tie.

    gensim's ``most_similar_cosmul`` scores ``x`` by ``B * C / (A + eps)``, ``A``
    the shifted cosine of ``x`` with ``a``; we compute ``(B / (A + eps)) * C``, a
    pair's quotient once for all its questions. Each shifted cosine may be off by
    ``delta`` (half a cosine's :func:`_cosine_slack`, plus the rounding of the
    shift), so a score by about ``S * delta * (1/A' + 1/B + 1/C)`` (``A' = A + eps``)
    plus three roundings on either side; a ranking step decided by less is marked
    for :func:`_answer_cosmul_exactly`.
    """
    delta = _cosine_slack(dim, 1.0) / 2 + 2 * _ROUNDOFF
    answer = np.empty(len(a), dtype=np.int64)
    close = np.zeros(len(a), dtype=bool)
    wa, wb, wc = where.T

    def quotient(shifted_a: np.ndarray, shifted_b: np.ndarray, out: np.ndarray) -> None:
        np.add(shifted_a, epsilon, out=out)
        np.divide(shifted_b, out, out=out)

    for q, scores in _scores_by_pair(
        shifted, where, quotient, lambda pair, shifted_c, out: np.multiply(pair, shifted_c, out=out)
    ):
        def error(i: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
            shifted_a, shifted_b, shifted_c = (shifted[w[q[i]], rows].astype(np.float64) for w in (wa, wb, wc))
            with np.errstate(divide="ignore", invalid="ignore"):  # a zero term: infinitely close, recomputed
                relative = delta * (1 / (shifted_a + epsilon) + 1 / shifted_b + 1 / shifted_c) + 6 * _ROUNDOFF
                return np.abs(values) * relative

        answer[q], close[q] = _solve(scores, vocab, a[q], b[q], c[q], error)
    return answer, np.flatnonzero(close)


def _answer_cosmul_exactly(searched: _Searched, vocab: _EvalVocab, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                           epsilon: np.float32) -> np.ndarray:
    """3CosMul answers computed as gensim's ``most_similar_cosmul(positive=[b, c], negative=[a])``, one at a time.

    With gensim's epsilon (1e-6) the scores are its own, bit for bit; with
    another they are what it would compute with that one.
    """
    answer = np.full(len(a), -1, dtype=np.int64)
    units = {w: searched.unit(np.array([w]))[0] for w in set(np.r_[a, b, c].tolist())}
    for i in range(len(a)):
        positive = [(1 + searched.exact_cosines(units[w])) / 2 for w in (b[i], c[i])]
        negative = [(1 + searched.exact_cosines(units[a[i]])) / 2]
        scores = np.prod(positive, axis=0) / (np.prod(negative, axis=0) + epsilon)
        question = (b[i], c[i], a[i])
        for row in _gensim_top(scores, ANALOGY_CANDIDATES, question):
            answer[i] = vocab.row_key[row]  # if all 5 are case variants of a, b or c: the 5th
            if answer[i] not in question:
                break
    return answer


def _accuracy(correct: int, total: int) -> dict[str, Any]:
    # None rather than gensim's 0.0 when nothing was scored: "no evidence" is not "all wrong".
    return {"correct": int(correct), "total": int(total), "accuracy": float(correct / total) if total else None}


def _solve(
    scores: np.ndarray, vocab: _EvalVocab, a: np.ndarray, b: np.ndarray, c: np.ndarray,
    error: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The answer's representative row per question (-1 if none), with gensim's rules for question words.

    gensim drops the rows of a, b and c, takes the 5 best of the rest, and answers
    with the first of those that is not a case variant of a, b or c (with
    ``case_insensitive``, "Paris" is a variant of "paris"); if all 5 are, the
    5th is the answer. The answer is correct when it is a variant of ``expected``.
    Walking down the ranking with ``argmax`` (ties: the lower row) does the same
    far cheaper than sorting, as the best row is nearly always the answer.

    With ``error`` (``error(questions, rows, scores)``: how far each of those
    scores may be off), also says per question whether a candidate looked at led
    the next one down by less than both may be off together (then a slightly
    different rounding could have swapped them). ``scores`` is overwritten.
    """
    questions = np.arange(len(a))
    scores[questions[:, None], np.stack([a, b, c], axis=1)] = -np.inf
    answer = np.full(len(a), -1, dtype=np.int64)
    close = np.zeros(len(a), dtype=bool)
    pending, best = questions, scores.argmax(axis=1)
    for attempt in range(ANALOGY_CANDIDATES):
        value = scores[pending, best]
        valid = value != -np.inf  # False: fewer rows than candidates
        key = vocab.row_key[best]
        answer[pending[valid]] = key[valid]  # the last candidate seen is gensim's fallback answer
        variant = valid & ((key == a[pending]) | (key == b[pending]) | (key == c[pending]))
        if error is not None:  # the runner-up, and how far behind it is
            scores[pending, best] = -np.inf
            rest = scores[pending] if attempt else scores
            runner_up = rest.argmax(axis=1)
            runner_value = rest[np.arange(len(pending)), runner_up]
            allowed = np.nan_to_num(error(pending, best, value) + error(pending, runner_up, runner_value), nan=np.inf)
            with np.errstate(invalid="ignore"):  # -inf - -inf: no runner-up, nothing to decide
                close[pending] |= value - runner_value < allowed
            pending, best = pending[variant], runner_up[variant]
        else:
            pending, best = pending[variant], best[variant]
            if len(pending) and attempt + 1 < ANALOGY_CANDIDATES:  # a case variant: take the next one down
                scores[pending, best] = -np.inf
                best = scores[pending].argmax(axis=1)
        if not len(pending):
            break
    return answer, close


# --------------------------------------------------------------------------- similarity


def evaluate_similarity(
    words: Sequence[str],
    vectors: np.ndarray,
    path: str | os.PathLike,
    *,
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
    encoding_errors: str = "strict",
) -> dict[str, Any]:
    """Spearman and Pearson correlation of cosine similarity with the scores in a word-pair file.

    Pairs with a word outside the first ``restrict_vocab`` rows are not scored;
    ``coverage`` is the share that was, ``oov_ratio`` the share that was not
    (gensim's ``oov_ratio`` is the same number in percent). A correlation needs
    at least two pairs with varying scores, otherwise it is None.
    """
    vectors = _check_inputs("evaluate_similarity", words, vectors, restrict_vocab=restrict_vocab)
    path = Path(path)
    pairs, skipped = _read_pairs(path, encoding_errors)
    n = _limit(len(words), restrict_vocab)
    vocab = _EvalVocab.of(words, n, case_insensitive)

    ids = vocab.lookup_all([w for w1, w2, _ in pairs for w in (w1, w2)]).reshape(-1, 2)
    gold = np.array([s for _, _, s in pairs], dtype=np.float64)
    known = (ids >= 0).all(axis=1)
    _refuse_non_finite(vectors, np.unique(ids[known]))
    model = _pair_cosines(vectors[ids[known, 0]], vectors[ids[known, 1]])
    gold = gold[known]

    found = int(known.sum())
    report = {
        "path": str(path),
        "restrict_vocab": restrict_vocab,
        "case_insensitive": case_insensitive,
        "pairs": len(pairs),
        "found": found,
        "oov": len(pairs) - found,
        "coverage": found / len(pairs),
        "oov_ratio": (len(pairs) - found) / len(pairs),
        "skipped": skipped,
        "pearson": _pearson(gold, model),
        "spearman": _pearson(_average_ranks(gold), _average_ranks(model)),
    }
    logger.info("similarity %s: Spearman %s, Pearson %s on %d of %d pairs",
                path.name, report["spearman"], report["pearson"], found, len(pairs))
    return report


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing the average of their ranks (as ``scipy.stats.rankdata``).

    >>> _average_ranks(np.array([10.0, 20.0, 20.0, 5.0])).tolist()
    [2.0, 3.5, 3.5, 1.0]
    """
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts_run = np.r_[True, ordered[1:] != ordered[:-1]]
    run = np.cumsum(starts_run) - 1
    starts = np.flatnonzero(starts_run)
    ends = np.r_[starts[1:], len(x)]  # exclusive
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2)[run]  # mean of the 1-based ranks starts+1 .. ends
    return ranks


def _pair_cosines(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``first`` with the same row of ``second``, in float64.

    Each dot product is the correctly rounded sum of exact products (a product
    of two float32 numbers is exact in float64), so it does not depend on the
    order of the sum: a pair and its swap get the same cosine, and a word paired
    with itself, or with a word of identical vector, gets exactly 1.0
    (``sqrt(x * x) == x`` in IEEE arithmetic). Rounding that split such ties
    would change Spearman's rank correlation. A zero vector has cosine 0.
    """
    first, second = first.astype(np.float64), second.astype(np.float64)

    def dots(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.array([math.fsum(row) for row in (x * y).tolist()], dtype=np.float64)

    norms = np.sqrt(dots(first, first) * dots(second, second))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, dots(first, second) / norms, 0.0)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r, or None when it is undefined (fewer than 2 values, or one side constant).

    Each side is scaled to magnitude 1 before the sums of squares, which then
    neither overflow nor underflow whatever the scale of the scores.
    """
    if len(x) < 2:
        return None
    dx, dy = _centred(x), _centred(y)
    denominator = np.sqrt((dx @ dx) * (dy @ dy))
    if denominator == 0:
        return None
    return float(np.clip((dx @ dy) / denominator, -1.0, 1.0))


def _centred(x: np.ndarray) -> np.ndarray:
    """``x`` minus its mean, scaled so its largest magnitude is 1 (all zeros when ``x`` is constant)."""
    scale = np.abs(x).max()
    if scale > 0:
        x = x / scale
    dx = x - x.mean()
    spread = np.abs(dx).max()
    return dx / spread if spread > 0 else np.zeros_like(dx)


# --------------------------------------------------------------------------- the whole section


def evaluate(
    words: Sequence[str],
    vectors: np.ndarray,
    config: EvaluateConfig,
    *,
    base_dir: str | os.PathLike,
    counts: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Run the checks ``config`` names and return the report's ``evaluation`` section.

    Paths resolve against ``base_dir`` (or name gensim's test data with
    ``gensim-test:``); ``config.restrict_vocab`` limits all three checks.
    ``counts`` (per row, optional) picks the default probes by frequency when
    ``config.probes`` is empty; without it the first rows are taken as the most frequent.
    """
    vectors = _check_inputs("evaluate", words, vectors)
    probes = list(config.probes) or default_probes(words, counts)
    neighbours = nearest_neighbours(
        words, vectors, probes,
        top_k=config.top_k, restrict_vocab=config.restrict_vocab, batch_size=config.batch_size,
    )
    report: dict[str, Any] = {
        "rows": len(words),
        "dim": int(vectors.shape[1]),
        "restrict_vocab": config.restrict_vocab,
        "neighbours": {
            "top_k": config.top_k,
            "probes": {w: [[n, s] for n, s in hits] for w, hits in neighbours.items()},
            "missing": [p for p in probes if p not in neighbours],
        },
        "analogies": None,
        "similarity": [],
    }
    if config.analogies:
        report["analogies"] = evaluate_analogies(
            words, vectors, resolve_input(config.analogies, base_dir),
            restrict_vocab=config.restrict_vocab, case_insensitive=config.case_insensitive,
            batch_size=config.batch_size, encoding_errors=config.encoding_errors,
        )
    for spec in config.similarity:
        report["similarity"].append(evaluate_similarity(
            words, vectors, resolve_input(spec, base_dir),
            restrict_vocab=config.restrict_vocab, case_insensitive=config.case_insensitive,
            encoding_errors=config.encoding_errors,
        ))
    return report
