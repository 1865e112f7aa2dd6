"""The ``(input_dim, output_dim)`` float32 embedding matrix.

Use :func:`build_matrix` after :func:`pipeline.align.align`. Each row is one of:

* a matched word: its source vector, bit for bit (or its PCA projection when
  ``output_dim`` is smaller than the source's dimension);
* the padding row: all zeros;
* other reserved rows (the ``[unused{i}]`` gap fillers of a word_index): all
  zeros -- no sequence should contain them, and zeros make that visible;
* the OOV row and every unmatched word: initialised by ``oov_init``
  (``normal``, ``uniform``, ``zeros`` or ``mean``; see :func:`oov_row`).

The random draw of a row depends on ``(seed, token)`` only (see
:func:`token_rng`), never on its row number. The statistics it is scaled to
(per-dimension mean and std) are taken over the DISTINCT source vectors the
vocabulary matched, in source order: a source vector matched by both "Apple"
and "apple" counts once. So reordering the vocabulary, or adding or removing
words that match no vector, changes no existing row by a bit; adding or
removing a word that does match shifts those statistics, and with them every
initialised row (and the PCA fit, when ``output_dim`` is smaller).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.align import Alignment
from pipeline.config import MatrixConfig
from pipeline.errors import ConfigError, DataError
from pipeline.sources import Vectors
from pipeline.vocab import Vocabulary

log = logging.getLogger(__name__)

# Used when nothing matched, so there are no statistics to follow: small
# enough not to dominate a layer's first updates, large enough to break symmetry.
FALLBACK_MEAN = 0.0
FALLBACK_STD = 0.1

OOV_INITS = ("normal", "uniform", "zeros", "mean")


@dataclass(frozen=True, eq=False)
class EmbeddingMatrix:
    """``weights[i]`` is the vector of ``tokens[i]``.

    ``matched`` is a bool mask of rows that took a source vector; ``initialised``
    the row indices that got an OOV initialisation (including the OOV row);
    the padding row is all zeros. ``info`` has oov_init, reduction details, ...
    """

    weights: np.ndarray
    tokens: tuple[str, ...]
    matched: np.ndarray
    initialised: tuple[int, ...]
    padding_idx: int = 0
    oov_idx: int = 1
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        return int(self.weights.shape[0])

    @property
    def output_dim(self) -> int:
        return int(self.weights.shape[1])

    def matched_rows(self) -> tuple[list[str], np.ndarray]:
        """The tokens whose rows came from a source vector, and those rows, in row order (what evaluation
        scores; :meth:`pipeline.artifacts.Artifact.matched_rows` gives the same from an exported folder)."""
        idx = np.flatnonzero(self.matched)
        return [self.tokens[i] for i in idx], np.asarray(self.weights)[idx]


def build_matrix(
    vocab: Vocabulary,
    alignment: Alignment,
    vectors: Vectors,
    config: MatrixConfig,
    *,
    seed: int,
) -> EmbeddingMatrix:
    """Assemble the embedding matrix; see the module docstring for what each row holds.

    >>> # vocab [PAD] [UNK] cat dog, source cat=[1, 2]; oov_init="zeros"  ->
    >>> # weights [[0, 0], [0, 0], [1, 2], [0, 0]], initialised (1, 3)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        # 42.0 would seed other rows than 42: each OOV row is seeded from the seed's text and its token
        raise ConfigError(f"The 'seed' parameter must be an integer from 0 to 2**63 - 1. Got {seed!r} instead.")
    n = len(vocab.tokens)
    if len(alignment.source_index) != n:
        raise ValueError(
            f"alignment has {len(alignment.source_index)} rows, vocabulary {n}: align this vocabulary first"
        )
    if config.oov_init not in OOV_INITS:
        raise ConfigError(
            f"The 'matrix.oov_init' parameter must be one of {', '.join(map(repr, OOV_INITS))}. "
            f"Got {config.oov_init!r} instead."
        )
    source_dim = vectors.dim
    if source_dim < 1:
        raise DataError(f"the source vectors have {source_dim} dimensions (expected vectors of 1 or more numbers)")
    output_dim = check_output_dim(config.output_dim, source_dim)

    matched = np.asarray(alignment.source_index) >= 0
    matched[list(vocab.reserved)] = False  # reserved rows never take a vector, whatever the alignment says
    source_rows = np.asarray(alignment.source_index)[matched]
    used = np.unique(source_rows)  # distinct source rows, sorted: independent of vocabulary order
    table = np.asarray(vectors.matrix[used], dtype=np.float32)
    finite = np.isfinite(table).all(axis=1)  # the readers refuse such rows; Vectors built in Python may hold them
    if not finite.all():
        word = vectors.words[int(used[np.argmin(finite)])]
        raise DataError(f"the vector of {word!r} holds NaN or inf (expected finite numbers): "
                        "it would spread into every initialised row")
    info: dict[str, Any] = {
        "oov_init": config.oov_init,
        "output_dim": output_dim,
        "source_dim": source_dim,
        "reduction": None,
        "explained_variance_ratio": None,
        "seed": seed,
    }
    if output_dim < source_dim:
        table, ratio = _pca(table, output_dim)
        info.update(reduction="pca", explained_variance_ratio=ratio)

    weights = np.zeros((n, output_dim), dtype=np.float32)
    weights[matched] = table[np.searchsorted(used, source_rows)]

    initialised = tuple(
        i for i in range(n) if not matched[i] and (i == vocab.oov_idx or i not in vocab.reserved)
    )
    mean, std = _statistics(table)
    # `mean` needs one matched vector; `normal` and `uniform` a spread too, which one vector (or
    # several equal ones: two source words may carry the same numbers) does not have: every OOV
    # row would copy it. Then they draw from FALLBACK_MEAN and FALLBACK_STD instead.
    missing = len(table) == 0 if config.oov_init == "mean" else not np.any(std)
    fallback = missing and config.oov_init != "zeros" and bool(initialised)
    if len(table) == 0:
        why, explained = "no matched rows", "no vocabulary word matched a source vector"
    else:
        why = "one distinct matched vector"
        explained = "the matched words share one vector (a spread of one sample is 0: every OOV row would copy it)"
    if fallback:
        log.warning("%s: OOV rows use mean %s and std %s instead of the matched rows' statistics",
                    explained, FALLBACK_MEAN, FALLBACK_STD)
        mean, std = np.full(output_dim, FALLBACK_MEAN), np.full(output_dim, FALLBACK_STD)
    for i in initialised:
        weights[i] = oov_row(vocab.tokens[i], seed, config.oov_init, mean, std)

    info.update(
        n_matched=int(matched.sum()),
        n_distinct_vectors=int(len(used)),
        n_initialised=len(initialised),
        n_zero_reserved=len(vocab.reserved - {vocab.padding_idx, vocab.oov_idx}),
        fallback=f"{why}: mean {FALLBACK_MEAN}, std {FALLBACK_STD}" if fallback else None,
    )
    return EmbeddingMatrix(
        weights=weights,
        tokens=tuple(vocab.tokens),
        matched=matched,
        initialised=initialised,
        padding_idx=vocab.padding_idx,
        oov_idx=vocab.oov_idx,
        info=info,
    )


def check_output_dim(output_dim: int, source_dim: int) -> int:
    """The matrix's width: ``output_dim``, or ``source_dim`` for 0; ConfigError if it is above ``source_dim``.

    >>> check_output_dim(0, 300), check_output_dim(100, 300)
    (300, 100)
    """
    width = output_dim or source_dim
    if not 0 < width <= source_dim:
        raise ConfigError(
            f"The 'matrix.output_dim' parameter must be 0 (the source's) or 1 to the source dimension {source_dim}. "
            f"Got {width} instead."
        )
    return width


def token_rng(seed: int, token: str) -> np.random.Generator:
    """A generator seeded from ``(seed, token)`` only, never from ``hash()`` or a row number.

    >>> token_rng(42, "cat").random() == token_rng(42, "cat").random()
    True
    """
    # surrogatepass: a JSON "\\ud800" escape can put a lone surrogate into a token.
    key = f"{seed}\x00{token}".encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def oov_row(token: str, seed: int, oov_init: str, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """One initialised row (float32).

    ``normal``: mean + std * z, z ~ N(0, 1); ``uniform``: mean + std * sqrt(3) * u,
    u ~ U(-1, 1) (same mean and variance); ``zeros``; ``mean``.

    >>> oov_row("cat", 42, "mean", np.array([1.0, 2.0]), np.array([0.5, 0.5]))
    array([1., 2.], dtype=float32)
    """
    dim = len(mean)
    if oov_init == "zeros":
        return np.zeros(dim, dtype=np.float32)
    if oov_init == "mean":
        return mean.astype(np.float32)
    rng = token_rng(seed, token)
    if oov_init == "normal":
        return (mean + std * rng.standard_normal(dim)).astype(np.float32)
    if oov_init == "uniform":
        return (mean + std * np.sqrt(3.0) * rng.uniform(-1.0, 1.0, dim)).astype(np.float32)
    raise ConfigError(
        f"The 'matrix.oov_init' parameter must be one of {', '.join(map(repr, OOV_INITS))}. Got {oov_init!r} instead."
    )


# --------------------------------------------------------------------------- helpers


def _statistics(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and (population) std of ``table``'s rows, in float64 (zeros for no rows).

    >>> _statistics(np.array([[0.0, 1.0], [2.0, 1.0]]))
    (array([1., 1.]), array([1., 0.]))
    """
    if len(table) == 0:
        return np.zeros(table.shape[1]), np.zeros(table.shape[1])
    data = table.astype(np.float64)
    return data.mean(axis=0), data.std(axis=0)


def _pca(table: np.ndarray, output_dim: int) -> tuple[np.ndarray, float]:
    """Project ``table`` onto its first ``output_dim`` principal components; also the explained variance ratio sum.

    The full LAPACK SVD is deterministic (the randomized and ARPACK solvers
    depend on the random state and on the platform's BLAS threading), so no
    seed is passed: sklearn takes only seeds below 2**32, and a larger config
    seed had stopped the run with an internal error.
    """
    needed = output_dim + 1  # k centred points span at most k - 1 dimensions
    if len(table) < needed:
        raise DataError(
            f"only {len(table)} distinct source vectors matched the vocabulary; reducing to "
            f"matrix.output_dim = {output_dim} needs at least {needed} "
            "(lower matrix.output_dim, set it to 0 to keep the source dimension, or improve coverage)"
        )
    from sklearn.decomposition import PCA  # imported here: sklearn costs ~0.5 s at startup

    pca = PCA(n_components=output_dim, svd_solver="full")
    reduced = pca.fit_transform(table.astype(np.float64))
    return reduced.astype(np.float32), float(pca.explained_variance_ratio_.sum())
