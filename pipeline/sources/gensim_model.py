"""Reading gensim's own saved models (``.model`` / ``.kv``), only when the user says they trust the file.

gensim saves ``Word2Vec``, ``FastText`` and ``KeyedVectors`` objects with
pickle, and unpickling runs whatever code the file names. So embpipe never
reads one by detection: the config must say ``format = "gensim"`` *and*
``trust_pickle = true``. Prefer exporting vectors from gensim with
``kv.save_word2vec_format(path, binary=True)`` and reading that instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipeline.errors import ConfigError, DataError, open_error
from pipeline.sources import Vectors
from pipeline.sources.files import describe_file


def read_gensim_model(path: str | os.PathLike, *, trust_pickle: bool = False) -> Vectors:
    """Load the word vectors of a gensim ``KeyedVectors`` / ``Word2Vec`` / ``FastText`` save file."""
    path = Path(path)
    if not trust_pickle:
        raise ConfigError(
            "format \"gensim\" unpickles the file, which runs code from it; set vectors.trust_pickle = true "
            "only for a file you made or trust (or save it with save_word2vec_format and read that)",
            path,
        )
    try:
        path.stat()
    except OSError as exc:
        raise open_error(path, exc) from None
    from gensim.utils import SaveLoad

    try:
        obj = SaveLoad.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle is bad input
        raise DataError(f"not a gensim save file ({exc.__class__.__name__}: {exc})", path) from None
    kv = getattr(obj, "wv", obj)
    if not hasattr(kv, "index_to_key") or not hasattr(kv, "vectors"):
        raise DataError(f"holds a {type(obj).__name__}, not word vectors (expected KeyedVectors or Word2Vec)", path)
    matrix = np.array(kv.vectors, dtype=np.float32)
    words = tuple(str(w) for w in kv.index_to_key)
    return Vectors(words, matrix, {"kind": "file", "format": "gensim", **describe_file(path)},
                   {"rows_parsed": len(words), "dim": int(matrix.shape[1])}, keyed_vectors=kv)
