"""Where word vectors come from: trained on a corpus, or read from a file.

Both paths end in the same :class:`Vectors` value, which the alignment stage
consumes. ``train.py`` wraps gensim's Word2Vec; ``readers.py`` reads GloVe,
word2vec text/binary and fastText ``.vec`` files (plain, ``.gz`` or ``.bz2``),
with the helper modules its docstring lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Vectors:
    """Word vectors in file / training order (most frequent first, where the source is so sorted).

    ``words[i]`` has vector ``matrix[i]``; ``matrix`` is float32 ``(len(words), dim)``.
    ``source`` describes where they came from (for the manifest): at least
    ``kind`` ("file" or "train"), and ``path``/``format``/``size``/``mtime_ns``/``crc32`` for files or
    ``corpus`` (list of {path, size, mtime_ns, crc32}) for training.
    ``stats`` holds figures for the report (e.g. ``duplicates`` skipped,
    ``lines_read``, ``rows_parsed``, ``words_trained``).
    ``keyed_vectors`` is the gensim KeyedVectors when trained or read from a gensim model file
    (kept for users), else None.
    """

    words: tuple[str, ...]
    matrix: np.ndarray
    source: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    keyed_vectors: Any = None

    def __post_init__(self) -> None:
        shape = getattr(self.matrix, "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != len(self.words):
            raise ValueError(f"Vectors needs a (len(words), dim) matrix: {len(self.words)} words, "
                             f"matrix of shape {shape}")

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.words)
