"""Extra export formats, written on request beside ``embeddings.npy``: ``[export] formats = [...]``.

:func:`writers_for` turns the ``[export]`` section into the writers
:func:`pipeline.export.write_artifacts` calls; each writes into the artifact
folder and returns the file names it wrote, which the manifest then lists with
their sha256 and size. The formats:

``safetensors`` -> ``embeddings.safetensors``
    One tensor ``embeddings`` (float32, ``(input_dim, output_dim)``, every row,
    padding included), metadata ``padding_idx``, ``oov_idx``, ``input_dim``,
    ``output_dim`` (as strings: safetensors metadata is str -> str). Needs the
    optional ``safetensors`` package.
``word2vec`` -> ``vectors.w2v.txt``; ``word2vec-binary`` -> ``vectors.w2v.bin``
    gensim's word2vec text / binary format (``KeyedVectors.load_word2vec_format``
    reads both back, text values exact). Every row but the padding row, in row
    order, under its ``vocab.txt`` token: the OOV row stays as ``[UNK]``, and so
    do the initialised rows of unmatched words (``oov.txt`` lists them). So
    with padding at row 0, word2vec entry k is matrix row k + 1. word2vec
    cannot hold a space inside a token (readers split on it): each space is
    written as U+00A0 NO-BREAK SPACE (``"new york"`` -> ``"new\\u00a0york"``);
    a token that would then collide with another, or is empty, is refused.
``projector`` -> ``projector/vectors.tsv`` + ``projector/metadata.tsv``
    TensorBoard Embedding Projector files (https://projector.tensorflow.org,
    "Load"): one vector per line, values tab-separated; one token per line,
    no header (the projector reads a one-column file without one). The padding
    row is left out, the others keep row order; ``export.projector_max_rows``
    > 0 keeps only the first that many (for a corpus vocabulary, the most
    frequent words). A tab in a token is written as a space.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from pipeline.config import ExportConfig
from pipeline.errors import ConfigError, DataError
from pipeline.matrix import EmbeddingMatrix
from pipeline.sources.io import save_word2vec

Writer = Callable[[Path, EmbeddingMatrix], list[str]]

SAFETENSORS_FILE = "embeddings.safetensors"
W2V_TEXT_FILE = "vectors.w2v.txt"
W2V_BINARY_FILE = "vectors.w2v.bin"
PROJECTOR_DIR = "projector"
W2V_SPACE = "\u00a0"  # what a space inside a token becomes in word2vec files


def writers_for(config: ExportConfig) -> dict[str, Writer]:
    """The writers for ``config.formats``, in the order listed (a repeated name counts once).

    Raises :class:`ConfigError` for an unknown format, or for ``safetensors``
    when the package is not installed -- before any work, not after a long run.

    >>> list(writers_for(ExportConfig(formats=("word2vec", "projector"))))
    ['word2vec', 'projector']
    """
    writers: dict[str, Writer] = {}
    for fmt in config.formats:
        if fmt == "safetensors":
            _safetensors_numpy()  # fail now if it is missing
            writers[fmt] = write_safetensors
        elif fmt == "word2vec":
            writers[fmt] = partial(write_word2vec, binary=False)
        elif fmt == "word2vec-binary":
            writers[fmt] = partial(write_word2vec, binary=True)
        elif fmt == "projector":
            writers[fmt] = partial(write_projector, max_rows=config.projector_max_rows)
        else:
            raise ConfigError(
                "The 'export.formats' parameter must list only 'safetensors', 'word2vec', "
                f"'word2vec-binary', 'projector'. Got {fmt!r} instead."
            )
    return writers


# --------------------------------------------------------------------------- safetensors


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ConfigError(
            "The 'export.formats' parameter lists 'safetensors' but the safetensors package is not installed "
            "(pip install safetensors, or the frameworks extra: pip install 'embpipe[frameworks]', or '.[frameworks]' in a checkout)"
        ) from None
    return safetensors.numpy


def write_safetensors(folder: Path, matrix: EmbeddingMatrix) -> list[str]:
    """``embeddings.safetensors``: tensor ``embeddings``, every row, with the row conventions as metadata."""
    st = _safetensors_numpy()
    metadata = {
        "format": "embpipe",
        "padding_idx": str(matrix.padding_idx),
        "oov_idx": str(matrix.oov_idx),
        "input_dim": str(matrix.input_dim),
        "output_dim": str(matrix.output_dim),
    }
    data = st.save({"embeddings": np.ascontiguousarray(matrix.weights, dtype=np.float32)}, metadata=metadata)
    # Written by Python, not by safetensors.save_file, so the file gets the same
    # permissions as the other artifacts (save_file creates it 0600).
    (folder / SAFETENSORS_FILE).write_bytes(data)
    return [SAFETENSORS_FILE]


# --------------------------------------------------------------------------- word2vec


def exported_rows(matrix: EmbeddingMatrix, max_rows: int = 0) -> np.ndarray:
    """Row indices the word2vec and projector files hold, in order: all but the padding row, capped at ``max_rows`` (0: no cap).

    >>> m = EmbeddingMatrix(np.zeros((4, 2), np.float32), ("[PAD]", "[UNK]", "a", "b"), np.zeros(4, bool), (1,))
    >>> exported_rows(m).tolist(), exported_rows(m, max_rows=2).tolist()
    ([1, 2, 3], [1, 2])
    """
    rows = np.delete(np.arange(matrix.input_dim, dtype=np.int64), matrix.padding_idx)
    return rows[:max_rows] if max_rows else rows


def word2vec_key(token: str) -> str:
    """The key a token gets in a word2vec file: spaces become U+00A0.

    >>> word2vec_key("new york")
    'new\\xa0york'
    """
    return token.replace(" ", W2V_SPACE)


def word2vec_keys(tokens: Sequence[str], rows: Sequence[int], path: Path) -> list[str]:
    """The word2vec key of each row's token (:func:`word2vec_key`); DataError naming ``path`` if one cannot be written.

    A key cannot be empty, hold a line break (the format is one word a line)
    or repeat an earlier one (``"a b"`` and ``"a\xa0b"`` both become ``"a\xa0b"``).
    """
    keys: list[str] = []
    first_row: dict[str, int] = {}
    for r in rows:
        token = tokens[r]
        key = word2vec_key(token)
        if not key:
            raise DataError(f"cannot be written: row {r} has an empty token, which word2vec format cannot hold", path)
        if "\n" in key or "\r" in key:
            raise DataError(f"cannot be written: row {r} token {key!r} holds a line break, which word2vec format "
                            "cannot hold (expected one word a line)", path)
        if key in first_row:
            raise DataError(
                f"cannot be written: row {r} token {token!r} becomes the key {key!r}, which row {first_row[key]} "
                "already uses (word2vec keys must be unique, and spaces become U+00A0: make the tokens distinct "
                "or leave this format out)",
                path,
            )
        first_row[key] = int(r)
        keys.append(key)
    return keys


def write_word2vec(folder: Path, matrix: EmbeddingMatrix, *, binary: bool) -> list[str]:
    """``vectors.w2v.txt`` (or ``.bin``): every row but padding, under its token (spaces -> U+00A0)."""
    name = W2V_BINARY_FILE if binary else W2V_TEXT_FILE
    rows = exported_rows(matrix)
    keys = word2vec_keys(matrix.tokens, rows.tolist(), folder / name)
    save_word2vec(folder / name, keys, np.asarray(matrix.weights, dtype=np.float32)[rows], binary=binary)
    return [name]


# --------------------------------------------------------------------------- projector


def write_projector(folder: Path, matrix: EmbeddingMatrix, *, max_rows: int = 0) -> list[str]:
    """``projector/vectors.tsv`` + ``projector/metadata.tsv``: rows but padding, in order, at most ``max_rows``."""
    out = folder / PROJECTOR_DIR
    out.mkdir(exist_ok=True)
    rows = exported_rows(matrix, max_rows)
    weights = np.asarray(matrix.weights, dtype=np.float32)[rows]
    with open(out / "vectors.tsv", "w", encoding="utf-8", newline="\n") as fh:
        # %.9g round-trips float32 exactly
        np.savetxt(fh, weights, fmt="%.9g", delimiter="\t", newline="\n")
    with open(out / "metadata.tsv", "w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(projector_label(matrix.tokens[r]) + "\n")
    return [f"{PROJECTOR_DIR}/vectors.tsv", f"{PROJECTOR_DIR}/metadata.tsv"]


def projector_label(token: str) -> str:
    """A token's line in ``metadata.tsv``: tabs become spaces, a blank token is written as its repr.

    A tab would split the line into columns, and the projector skips blank
    lines (whitespace to JavaScript's ``trim``, BOM included), which would
    shift every later label onto the wrong vector.

    >>> [projector_label(t) for t in ["new york", "a\\tb", " ", "\\t"]]
    ['new york', 'a b', "' '", "'\\\\t'"]
    """
    label = token.replace("\t", " ")
    if all(c.isspace() or c == "\ufeff" for c in label):
        return repr(token)
    return label
