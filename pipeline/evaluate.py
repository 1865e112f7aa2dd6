"""Evaluating word vectors: nearest neighbours, word analogies and word-pair similarity.

Use this module after building a matrix, to show that the vectors behind it are
good: :func:`evaluate` runs the checks named in the config's ``[evaluate]``
section and returns the ``evaluation`` part of ``report.json``;
:func:`render_markdown` turns that part into Markdown for ``report.md``. The
three checks can also be called on their own:

- :func:`nearest_neighbours`: the ``top_k`` most cosine-similar words of a few probes;
- :func:`evaluate_analogies`: Google ``questions-words.txt``-style analogies,
  solved with 3CosAdd and 3CosMul, per section and overall;
- :func:`evaluate_similarity`: Spearman and Pearson correlation with human
  judgements in ``wordsim353.tsv``-style word-pair files.

Inputs are plain data: ``words`` in row order (most frequent first) and a
float32 ``(n, d)`` array of their vectors. ``restrict_vocab=N`` means the first
N rows (0: all of them). Everything is computed as blocked matrix products over
batches of queries, so memory stays at a few ``batch_size x N`` floats and no
Python loop runs over the vocabulary.

The results are those of gensim's ``KeyedVectors.most_similar``,
``evaluate_word_analogies`` and ``evaluate_word_pairs`` on a ``KeyedVectors``
holding the same words and vectors (the tests check this), without importing
gensim. Where we differ, on purpose:

- exact score ties are broken towards the earlier (more frequent) row; gensim's
  order among tied rows is whatever its partial sort leaves;
- an all-zero vector has cosine 0 with everything (gensim divides by its zero norm);
- ``restrict_vocab=0`` means all rows (gensim's evaluators would see no words);
- blank lines and ``#`` comment lines in an analogy file are ignored;
- words in a word-pair file are stripped of surrounding spaces, a line without a
  tab may separate its three fields with spaces, and a score that is not a
  finite number makes the line malformed;
- 3CosMul uses the ``epsilon=1e-3`` of Levy & Goldberg (2014); gensim's
  ``most_similar_cosmul`` uses 1e-6 (pass ``cosmul_epsilon=1e-6`` to match it).

Malformed lines (the wrong number of fields, a score that is not a number) are
skipped and counted, like gensim does, so a header line or a stray typo does not
stop a run. A file in which malformed lines outnumber good ones, or that has no
good line at all, is not what it claims to be: that raises
:class:`~pipeline.errors.DataError` naming the first bad ``path:line``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import EvaluateConfig, resolve_input
from pipeline.errors import DataError
from pipeline.sources.files import open_binary

logger = logging.getLogger(__name__)

ANALOGY_CANDIDATES = 5  # gensim looks at the top 5 answers when skipping case variants of the question words
DEFAULT_PROBES = 5
COSMUL_EPSILON = 1e-3  # Levy & Goldberg (2014), section 6

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
    # np.linalg.norm is what gensim's fill_norms uses, so unit vectors match it bit for bit.
    norms = np.linalg.norm(vectors, axis=1)
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


def _limit(n: int, restrict_vocab: int) -> int:
    """How many leading rows a search covers: ``restrict_vocab`` of ``n``, 0 meaning all."""
    return n if restrict_vocab == 0 else min(n, restrict_vocab)


@dataclass(frozen=True)
class _Searched:
    """The rows a search ranks: raw vectors and their (safe) norms, scored as gensim does."""

    vectors: np.ndarray  # (N, d) float32, the first N rows
    norms: np.ndarray  # (N,) float32

    @classmethod
    def of(cls, vectors: np.ndarray, n: int) -> _Searched:
        rows = vectors[:n]
        return cls(rows, _safe_norms(rows))

    def cosines(self, directions: np.ndarray) -> np.ndarray:
        """(B, N) cosines of unit ``directions`` with every row: ``V @ q / |V|``, gensim's formula."""
        scores = directions @ self.vectors.T
        scores /= self.norms  # in place: a fresh (B, N) temporary costs more than the product itself
        return scores

    def unit(self, index: np.ndarray) -> np.ndarray:
        """Unit vectors of rows ``index`` (gensim's ``get_vector(key, norm=True)``)."""
        return self.vectors[index] / self.norms[index][:, None]


def _query_direction(total: np.ndarray, total_weight: float) -> np.ndarray:
    """Unit query vectors from summed (weighted) unit vectors, rounded as gensim's ``get_mean_vector``.

    gensim divides the float32 sum by the float64 total weight (giving float64),
    normalises in float64 and casts back to float32. Doing the same keeps our
    scores as close to gensim's as float32 allows: what remains is the order in
    which BLAS sums a batched product, a last-bit difference that can swap two
    words whose scores differ by less than about 1e-7.
    """
    mean = total.astype(np.float64) / total_weight
    length = np.linalg.norm(mean, axis=1, keepdims=True)
    length[length == 0] = 1
    return (mean * (1.0 / length)).astype(np.float32)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` best scores per row, best first; ties go to the lower index.

    >>> _top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), 2).tolist()
    [[1, 3]]
    """
    n = scores.shape[1]
    k = min(k, n)
    if k == n:
        part = np.broadcast_to(np.arange(n), scores.shape)
    else:
        part = np.argpartition(scores, n - k, axis=1)[:, n - k:]  # the k largest, unordered
    values = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -values), axis=1)  # by score descending, then by index
    top = np.take_along_axis(part, order, axis=1)
    if k < n:
        # argpartition picks arbitrarily among rows tied with the k-th score;
        # redo those (rare) rows with a stable sort so the result never depends on it.
        kth = values.min(axis=1)
        tied = np.flatnonzero((scores >= kth[:, None]).sum(axis=1) > k)
        for r in tied:
            top[r] = np.argsort(-scores[r], kind="stable")[:k]
    return top


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
    restrict_vocab=restrict_vocab)``. A query that is not in ``words`` is absent
    from the result. A query beyond ``restrict_vocab`` still gets neighbours from
    the searched rows.
    """
    vectors = _check_inputs(
        "nearest_neighbours", words, vectors, top_k=top_k, restrict_vocab=restrict_vocab, batch_size=batch_size
    )
    index = _first_index(words)
    found = list(dict.fromkeys(q for q in queries if q in index))
    searched = _Searched.of(vectors, _limit(len(words), restrict_vocab))
    result: Neighbours = {}
    for start in range(0, len(found), batch_size):
        batch = found[start:start + batch_size]
        rows = np.array([index[q] for q in batch], dtype=np.int64)
        scores = searched.cosines(_query_direction(unit_normalise(vectors[rows]), 1.0))
        inside = np.flatnonzero(rows < scores.shape[1])
        scores[inside, rows[inside]] = -np.inf  # never a word's own neighbour
        top = _top_k(scores, top_k)
        top_scores = np.take_along_axis(scores, top, axis=1)
        for query, idx, sc in zip(batch, top, top_scores):
            result[query] = [(words[i], float(s)) for i, s in zip(idx, sc) if s != -np.inf]
    return result


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
    order = range(len(words)) if counts is None else np.argsort(-np.asarray(counts), kind="stable")
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


def _read_lines(path: Path, encoding_errors: str) -> Iterator[tuple[int, str]]:
    """``(line_no, text)`` from 1 of a UTF-8 file (evaluation files are small: read whole, decoded once)."""
    with open_binary(path) as fh:
        try:
            data = fh.read()
        except (EOFError, OSError) as exc:  # a cut-short or corrupt gzip/bzip2 stream
            raise DataError(f"cannot decompress: {exc} (expected a complete gzip/bzip2 file)", path) from None
    try:
        text = data.decode("utf-8", encoding_errors)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"invalid UTF-8 ({exc.reason}) (expected UTF-8 text; encoding_errors='replace' reads it anyway)",
            path,
            data.count(b"\n", 0, exc.start) + 1,
        ) from None
    # Only "\n" ends a line, as in gensim; a "\r" before it is whitespace to the parsers.
    return enumerate(text.removeprefix("\ufeff").split("\n"), 1)


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
    for line_no, line in _read_lines(path, encoding_errors):
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
    are counted as ``oov`` and not scored. The 3CosAdd counts are those of
    gensim's ``evaluate_word_analogies(path, restrict_vocab, case_insensitive)``.
    """
    vectors = _check_inputs(
        "evaluate_analogies", words, vectors, restrict_vocab=restrict_vocab, batch_size=batch_size
    )
    path = Path(path)
    parsed = _read_analogies(path, encoding_errors)
    n = _limit(len(words), restrict_vocab)
    vocab = _EvalVocab.of(words, n, case_insensitive)

    ids = vocab.lookup_all([w for _, q in parsed.questions for w in q]).reshape(-1, 4)
    section = np.array([s for s, _ in parsed.questions], dtype=np.int64)
    known = (ids >= 0).all(axis=1)
    ids, known_section = ids[known], section[known]

    searched = _Searched.of(vectors, n)
    cosadd = np.zeros(len(ids), dtype=bool)
    cosmul = np.zeros(len(ids), dtype=bool)
    for start in range(0, len(ids), batch_size):
        batch = slice(start, start + batch_size)
        a, b, c, expected = ids[batch].T
        cosadd[batch] = _solve(_cosadd_scores(searched, a, b, c), vocab, a, b, c) == expected
        cosmul[batch] = _solve(_cosmul_scores(searched, a, b, c, cosmul_epsilon), vocab, a, b, c) == expected

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
    questions = len(parsed.questions)
    report = {
        "path": str(path),
        "restrict_vocab": restrict_vocab,
        "searched_rows": n,
        "case_insensitive": case_insensitive,
        "questions": questions,
        "oov": int(questions - len(ids)),
        "oov_ratio": (questions - len(ids)) / questions,
        "skipped": parsed.skipped,
        "cosadd": _accuracy(cosadd.sum(), len(ids)),
        "cosmul": _accuracy(cosmul.sum(), len(ids)),
        "sections": sections,
    }
    logger.info(
        "analogies %s: 3CosAdd %s, 3CosMul %s on %d of %d questions (%d with words outside the first %d rows)",
        path.name, _fmt_accuracy(report["cosadd"]), _fmt_accuracy(report["cosmul"]),
        len(ids), questions, report["oov"], n,
    )
    return report


def _accuracy(correct: int, total: int) -> dict[str, Any]:
    # None rather than gensim's 0.0 when nothing was scored: "no evidence" is not "all wrong".
    return {"correct": int(correct), "total": int(total), "accuracy": float(correct / total) if total else None}


def _cosadd_scores(searched: _Searched, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """cos(x, b - a + c) for every searched row x: gensim's ``most_similar(positive=[b, c], negative=[a])``."""
    # gensim sums unit vectors in the order b, c, -a (float32), then divides by the total weight 3.
    total = (searched.unit(b) + searched.unit(c)) - searched.unit(a)
    return searched.cosines(_query_direction(total, 3.0))


def _cosmul_scores(searched: _Searched, a: np.ndarray, b: np.ndarray, c: np.ndarray, epsilon: float) -> np.ndarray:
    """3CosMul for every searched row x: gensim's ``most_similar_cosmul(positive=[b, c], negative=[a])``.

    It needs the cosines of a, b and c with every row; questions repeat their
    words a lot (a section reuses a few dozen pairs), so each distinct word's
    row of cosines is computed once per batch and gathered, not recomputed.
    """
    distinct, where = np.unique(np.concatenate([a, b, c]), return_inverse=True)
    where_a, where_b, where_c = where.reshape(3, -1)
    shifted = searched.cosines(searched.unit(distinct))
    shifted += 1
    shifted /= 2  # cosines moved from [-1, 1] to [0, 1], so that the product ranks sensibly
    scores = shifted[where_b]
    scores *= shifted[where_c]
    denominator = shifted[where_a]
    denominator += np.float32(epsilon)
    scores /= denominator
    return scores


def _solve(scores: np.ndarray, vocab: _EvalVocab, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The answer's representative row per question (-1 if none), with gensim's rules for question words.

    gensim drops the rows of a, b and c, takes the 5 best of the rest, and answers
    with the first of those that is not a case variant of a, b or c (with
    ``case_insensitive``, "Paris" is a variant of "paris"); if all 5 are, the
    5th is the answer. The answer is correct when it is a variant of ``expected``.
    Walking down the ranking with ``argmax`` (ties: the lower row) does the same
    far cheaper than sorting, as the best row is nearly always the answer.
    ``scores`` is overwritten.
    """
    questions = np.arange(len(a))
    scores[questions[:, None], np.stack([a, b, c], axis=1)] = -np.inf
    answer = np.full(len(a), -1, dtype=np.int64)
    pending, best = questions, scores.argmax(axis=1)
    for attempt in range(ANALOGY_CANDIDATES):
        if attempt:  # the last candidate was a case variant of a question word: take the next one down
            scores[pending, best] = -np.inf
            best = scores[pending].argmax(axis=1)
        valid = scores[pending, best] != -np.inf  # False: fewer rows than candidates
        key = vocab.row_key[best]
        answer[pending[valid]] = key[valid]  # the last candidate seen is gensim's fallback answer
        variant = valid & ((key == a[pending]) | (key == b[pending]) | (key == c[pending]))
        pending, best = pending[variant], best[variant]
        if not len(pending):
            break
    return answer


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
    first, second = unit_normalise(vectors[ids[known, 0]]), unit_normalise(vectors[ids[known, 1]])
    model = np.einsum("ij,ij->i", first, second).astype(np.float64)  # row-wise dot products: cosines
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


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r, or None when it is undefined (fewer than 2 values, or one side constant)."""
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = np.sqrt((dx @ dx) * (dy @ dy))
    if denominator == 0:
        return None
    return float(np.clip((dx @ dy) / denominator, -1.0, 1.0))


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
            batch_size=config.batch_size,
        )
    for spec in config.similarity:
        report["similarity"].append(evaluate_similarity(
            words, vectors, resolve_input(spec, base_dir),
            restrict_vocab=config.restrict_vocab, case_insensitive=config.case_insensitive,
        ))
    return report


# --------------------------------------------------------------------------- Markdown


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell or list item."""
    out = str(text)
    for ch in "\\`*_[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _fmt_accuracy(acc: Mapping[str, Any]) -> str:
    return f"{_pct(acc['accuracy'])} ({acc['correct']}/{acc['total']})"


def render_markdown(report: Mapping[str, Any]) -> str:
    """The evaluation section of ``report.md``: analogy table per section, similarity, neighbours."""
    lines = ["## Evaluation", ""]
    lines += _analogy_markdown(report.get("analogies"))
    lines += _similarity_markdown(report.get("similarity") or [])
    lines += _neighbour_markdown(report.get("neighbours"))
    return "\n".join(lines).rstrip() + "\n"


def _analogy_markdown(an: Mapping[str, Any] | None) -> list[str]:
    if not an:
        return ["No analogy test configured.", ""]
    case = "case-insensitive" if an["case_insensitive"] else "case-sensitive"
    lines = [
        f"### Analogies ({_md(Path(an['path']).name)}, first {an['searched_rows']} rows, {case})",
        "",
        "| section | questions | outside vocabulary | 3CosAdd | 3CosMul |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in an["sections"]:
        lines.append(f"| {_md(s['section'])} | {s['questions']} | {s['oov']} | "
                     f"{_fmt_accuracy(s['cosadd'])} | {_fmt_accuracy(s['cosmul'])} |")
    lines.append(f"| **total** | {an['questions']} | {an['oov']} | "
                 f"{_fmt_accuracy(an['cosadd'])} | {_fmt_accuracy(an['cosmul'])} |")
    if an.get("skipped"):
        lines += ["", f"{an['skipped']} malformed line(s) skipped."]
    return lines + [""]


def _similarity_markdown(sims: Sequence[Mapping[str, Any]]) -> list[str]:
    if not sims:
        return []
    lines = [
        "### Word similarity",
        "",
        "| file | pairs | scored | Spearman | Pearson |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in sims:
        lines.append(f"| {_md(Path(s['path']).name)} | {s['pairs']} | {s['found']} ({_pct(s['coverage'])}) | "
                     f"{_num(s['spearman'])} | {_num(s['pearson'])} |")
    return lines + [""]


def _neighbour_markdown(nb: Mapping[str, Any] | None) -> list[str]:
    if not nb:
        return []
    lines = [f"### Nearest neighbours (cosine, top {nb['top_k']})", ""]
    for word, hits in nb["probes"].items():
        listed = ", ".join(f"{_md(w)} {s:.3f}" for w, s in hits)
        lines.append(f"- **{_md(word)}**: {listed}")
    if nb.get("missing"):
        lines.append("- not in the vocabulary: " + ", ".join(_md(w) for w in nb["missing"]))
    return lines + [""]
