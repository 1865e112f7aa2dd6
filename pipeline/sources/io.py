"""Saving vectors in word2vec format (text or binary), as gensim's ``save_word2vec_format`` writes it.

Kept free of gensim so that saving does not pay its import; gensim's
``KeyedVectors.load_word2vec_format`` reads both back (tested).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np


def save_word2vec(
    target: str | os.PathLike | BinaryIO, words: Sequence[str], matrix: np.ndarray, *, binary: bool = False
) -> None:
    """Write ``words`` and ``matrix`` rows as word2vec text (``%r``-exact floats) or binary (float32 LE).

    ``target`` is a path, or a binary stream open for writing (left open), such as ``sys.stdout.buffer``.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if len(words) != matrix.shape[0]:
        raise ValueError(f"{len(words)} words for {matrix.shape[0]} rows")
    for w in words:
        if not w or any(c in w for c in " \n\r"):
            raise ValueError(f"word {w!r} cannot be stored in word2vec format (space or line break)")
    opened = contextlib.nullcontext(target) if hasattr(target, "write") else open(target, "wb")
    with opened as fh:
        fh.write(f"{matrix.shape[0]} {matrix.shape[1]}\n".encode())
        if binary:
            le = matrix.astype("<f4", copy=False)
            for w, row in zip(words, le):
                fh.write(w.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            for w, row in zip(words, matrix):
                # repr of a float32 round-trips exactly through float32 parsing
                fh.write((w + " " + " ".join(repr(float(x)) for x in row) + "\n").encode("utf-8"))
