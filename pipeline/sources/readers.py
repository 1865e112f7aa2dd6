"""Reading pre-trained word vectors from a file: GloVe text, word2vec text or binary, fastText ``.vec``.

Use :func:`read_vectors` when the vectors come from a file (``[vectors]
source = "file"``) rather than from training. It returns the same
:class:`~pipeline.sources.Vectors` value as training does, with float32
values bit-for-bit equal to gensim's ``KeyedVectors.load_word2vec_format``
(``no_header=True`` for GloVe) for the same rows, without importing gensim.

Pass ``wanted`` (a set of words or a ``str -> bool`` test) when only a
project's vocabulary is needed: a 2M-row GloVe file then costs a scan of its
lines, and only the wanted rows have their numbers converted. Every line is
still checked for structure (number of values, word, encoding), so a damaged
file fails the same way filtered or not; numbers (non-numeric, NaN, inf) are
checked on the rows that are kept.

Formats (:data:`FORMATS`), each plain, gzip or bzip2 (told by the first bytes):

- ``glove``: no header; ``word v1 v2 ... vD`` per line, D from the first row.
- ``word2vec-text`` / ``fasttext-vec``: a header line ``count dim``, then rows as above.
- ``word2vec-binary``: a header line ``count dim``, then per row the word's bytes,
  one space, ``dim`` little-endian float32, and optionally ``\\n`` (the C tool's
  and gensim's ``save_word2vec_format(binary=True)`` layout).

Text rows split on the ASCII space (0x20) only: GloVe 840B has tokens that
contain a non-breaking space (U+00A0), which stays part of the word; a tab is
not a separator either (gensim does not split on it). Trailing whitespace and
``\\r\\n`` are stripped, a UTF-8 byte-order mark at the start is skipped, and
blank lines are skipped (counted in ``stats["blank_lines"]``; gensim fails on
them). A word repeated in the file keeps its first row (as gensim does); the
others are counted in ``stats["duplicates"]`` (with ``wanted``: among wanted
rows). ``encoding_errors`` applies to words; numbers are what gensim's
``np.float32(token)`` takes (decimals; also Python ``float`` spellings such as
``1_000`` or other scripts' digits, which the fast path hands back to it), finite in float32 (``nan``, ``inf`` and ``1e39`` are refused; gensim keeps them).
A NUL byte in a word is an error: real tokens never hold one, but a binary or
UTF-16 file read as text, or a file whose tail a crash left zero-filled, does.

Every problem raises :class:`~pipeline.errors.DataError` (exit 65) or
:class:`~pipeline.errors.StorageError` (exit 74) with a one-line message naming
``path:line`` (``path`` and the row's byte offset for binary files).

Layout, for a reader of the code: this module is the public API (formats,
detection, :func:`read_vectors` and its argument checks); ``sniff.py`` reads
the first lines (header, text or binary); ``rows.py`` keeps rows and converts
their numbers; ``text_scan.py`` reads the text formats, ``parallel_read.py``
a large plain text file with two processes, ``binary.py`` word2vec binary.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import check_encoding
from pipeline.errors import ConfigError, DataError, PipelineError
from pipeline.sources import Vectors
from pipeline.sources.binary import _read_binary
from pipeline.sources.files import damaged_stream, describe_file, open_binary
from pipeline.sources.parallel_read import _parallel_workers, _read_text_parallel
from pipeline.sources.rows import _Rows
from pipeline.sources.sniff import (
    _BOM,
    _HEADER_FORMATS,
    _first_two_lines,
    _first_record_values,
    _header_numbers,
    _is_text_row,
    _looks_binary,
    _values_not_ascii,
)
from pipeline.sources.text_scan import _read_text

logger = logging.getLogger(__name__)

FORMATS = ("glove", "word2vec-text", "word2vec-binary", "fasttext-vec")
ENCODING_ERRORS = ("strict", "replace", "ignore")

_FASTTEXT_MAGIC = (0x2F4F16BA).to_bytes(4, "little")  # first 4 bytes of a fastText .bin model


# --------------------------------------------------------------------------- public API


def detect_format(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """Tell the format of a vectors file from its content (never its name).

    - ``word2vec-text`` if line 1 is exactly two integers ``count dim`` and line 2
      is a text row ``word`` + ``dim`` numbers (fastText ``.vec`` files are this too);
    - ``word2vec-binary`` if line 1 is ``count dim`` and what follows is not a
      text row but raw bytes (a word, a space, then float32 values);
    - ``glove`` otherwise.
    A ``count dim`` line followed by a text row of the wrong length is reported
    as ``word2vec-text``, so that reading names the line that disagrees with the
    header (a 1-d GloVe file whose first word is a number needs ``format = "glove"``).

    >>> detect_format("lee_fasttext.vec")  # doctest: +SKIP
    'word2vec-text'
    """
    check_encoding(encoding, "encoding")
    first, second = _first_two_lines(path)
    first = first.removeprefix(_BOM)
    if not first.strip() and not second:
        raise DataError("no vectors: the file is empty (expected rows 'word v1 v2 ...')", path)
    if first.startswith(_FASTTEXT_MAGIC):
        raise DataError(
            "this is a fastText .bin model, which is not read here "
            "(expected GloVe or word2vec text/binary; use the model's .vec file)",
            path,
        )
    header = _header_numbers(first)
    if header is None:
        if _looks_binary((first + second)[:4096]):
            raise DataError(
                "this is a binary file but not word2vec binary (expected text rows, or a first line "
                "'count dim'; UTF-16 text, gensim .model/.kv pickles and fastText .bin models are not read here)",
                path,
            )
        return "glove"
    _count, dim = header
    if not second:
        return "word2vec-text"  # a header and nothing else: reading reports "no vectors"
    if _is_text_row(second, dim, encoding):
        return "word2vec-text"
    if _looks_binary(second[:4096]) or _values_not_ascii(second[:4096]):
        return "word2vec-binary"
    # Line 2 may have ended at a 0x0A inside the first vector's bytes ("king 2\n" is a word, the
    # float bytes "2", then 0x0A): look at all of them. Text has no control bytes; float32 bytes nearly
    # always do. (Not high bytes: past line 2 this window may hold later rows' non-ASCII words.)
    if _looks_binary(_first_record_values(path, dim)):
        return "word2vec-binary"
    return "word2vec-text"


def peek_dim(path: str | os.PathLike, format: str = "auto", encoding: str = "utf-8") -> int | None:
    """The vector size a text or word2vec file announces on its first lines (its header, or the
    values of its first row); None when they do not say (a blank first line, a damaged file: reading
    then reports it). Reads two lines, so a run can refuse a too-large ``output_dim`` before any work.
    """
    try:
        fmt = detect_format(path, encoding) if format == "auto" else format
        first, _ = _first_two_lines(path)
    except (PipelineError, OSError):
        return None
    first = first.removeprefix(_BOM)
    if fmt in _HEADER_FORMATS:
        header = _header_numbers(first)
        return header[1] if header is not None and header[1] > 0 else None
    row = first.rstrip()
    return row.count(b" ") if row and not row.startswith(b" ") else None


def read_vectors(
    path: str | os.PathLike,
    format: str = "auto",
    *,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    wanted: Collection[str] | Callable[[str], bool] | None = None,
    max_rows: int | None = None,
    identity: dict[str, Any] | None = None,
    workers: int | None = None,
) -> Vectors:
    """Read word vectors from ``path`` (plain, ``.gz`` or ``.bz2``) into :class:`Vectors`.

    ``format``: ``"auto"`` (see :func:`detect_format`) or one of :data:`FORMATS`.
    ``encoding`` / ``encoding_errors`` (``strict``, ``replace``, ``ignore``): how
    words are decoded; the encoding must be ASCII-compatible (UTF-8, Latin-1, cp1252 ...).
    ``wanted``: None keeps every row; a set of words or a ``str -> bool`` test keeps
    only the rows whose word passes (the others are never converted).
    ``max_rows``: stop after this many rows of the file, wanted or not (gensim's ``limit``).
    ``identity``: the file's ``path``/``size``/``mtime_ns``/``crc32`` if the caller has them
    (the runner's memoised :func:`pipeline.cache.file_identity`); otherwise they are
    computed first (:func:`~pipeline.sources.files.describe_file`).
    ``workers``: processes for a plain text file of at least 64 MiB (None: 2 where
    the machine has 2 cores; 1: never split; always 1 inside a daemonic process such
    as a ``multiprocessing.Pool`` worker, which may not start one). Each scans half of the file, cut at
    a line end; the halves are merged in file order, so the result is the one-process result.

    Rows keep file order; a repeated word keeps its first row. ``stats`` holds
    ``lines_read``, ``rows_read``, ``rows_parsed``, ``rows_unwanted``,
    ``duplicates``, ``duplicate_examples``, ``blank_lines``, ``dim``,
    ``stopped_at_max_rows`` and ``header_count`` (formats with a header).

    >>> v = read_vectors("glove.6B.50d.txt.gz", wanted={"cat", "dog", "zzzz"})  # doctest: +SKIP
    >>> sorted(v.words), v.matrix.shape  # doctest: +SKIP
    (['cat', 'dog'], (2, 50))
    """
    return _read_file(
        path, format, encoding=encoding, encoding_errors=encoding_errors, wanted=wanted, max_rows=max_rows,
        identity=identity, workers=workers,
    ).vectors


@dataclass(frozen=True)
class _Read:
    """What reading a file gives: the vectors, and the word of every row skipped as a repeat (file order)."""

    vectors: Vectors
    duplicate_words: list[str]


def _read_file(
    path: str | os.PathLike,
    format: str,
    *,
    encoding: str,
    encoding_errors: str,
    wanted: Collection[str] | Callable[[str], bool] | None,
    max_rows: int | None,
    identity: dict[str, Any] | None,
    workers: int | None,
) -> _Read:
    """:func:`read_vectors`, also returning the words of the repeated rows (the vectors cache stores them)."""
    _check_arguments(format, encoding, encoding_errors, max_rows)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(_bad_parameter("workers", "None or an int >= 1", workers))
    keep = _wanted_test(wanted)
    started = time.monotonic()
    fmt = detect_format(path, encoding) if format == "auto" else format
    logger.info("reading %s vectors from %s", fmt, path)
    merged = None
    if fmt != "word2vec-binary" and max_rows is None and _parallel_workers(path, workers) > 1:
        stat = os.stat(path)
        merged = _read_text_parallel(path, fmt, keep, encoding, encoding_errors, checksum=identity is None)
        if merged is not None:
            words, matrix, stats, duplicates, crc = merged
            if identity is None and crc is not None and crc[1] == stat.st_size:
                # The CRC-32 for the manifest, taken by the two processes as they read.
                identity = {"path": str(Path(path)), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "crc32": crc[0]}
    if identity is None:
        identity = describe_file(path)  # the CRC-32 for the manifest: 0.3 s a GB on two cores
    if merged is None:
        rows = _Rows(path, keep, encoding, binary=fmt == "word2vec-binary")
        try:
            with open_binary(path) as fh:
                if fmt == "word2vec-binary":
                    stats = _read_binary(fh, path, rows, encoding, encoding_errors, max_rows, sniff=format != "auto")
                else:
                    stats = _read_text(fh, path, fmt, rows, encoding, encoding_errors, max_rows)
        except DataError as exc:
            # A bad row of a gzip/bzip2 file may be the garbage a damaged stream decompresses
            # to before its CRC check fails: then the damage is the error to report.
            damage = damaged_stream(path) if exc.line is not None else None
            if damage is None:
                raise
            raise damage from exc
        words, matrix = rows.finish()
        stats.update(rows.stats())
        duplicates = [w for w, _ in rows.duplicate_rows]
    seconds = time.monotonic() - started
    logger.info(
        "read %d rows of dim %d from %s in %.1f s; kept %d, %d duplicate(s) skipped",
        stats["rows_read"], stats["dim"], path, seconds, len(words), stats["duplicates"],
        extra={"stage": "vectors", "event": "read", "seconds": round(seconds, 3),
               **{k: stats[k] for k in ("rows_read", "rows_parsed", "dim", "duplicates")}},
    )
    if stats["duplicates"]:
        logger.warning(
            "%s: %d repeated word(s) skipped, first rows kept (e.g. %s)",
            path, stats["duplicates"], ", ".join(map(repr, stats["duplicate_examples"])),
        )
    source = {"kind": "file", "path": str(path), "format": fmt, **identity}
    return _Read(Vectors(words=words, matrix=matrix, source=source, stats=stats), duplicates)


# --------------------------------------------------------------------------- arguments


def _check_arguments(format: str, encoding: str, encoding_errors: str, max_rows: int | None) -> None:
    """Reject bad settings before opening the file (format and encodings come from the config: ConfigError)."""
    if format != "auto" and format not in FORMATS:
        raise ConfigError(_bad_parameter("format", _one_of(("auto", *FORMATS)), format))
    if encoding_errors not in ENCODING_ERRORS:
        raise ConfigError(_bad_parameter("encoding_errors", _one_of(ENCODING_ERRORS), encoding_errors))
    check_encoding(encoding, "encoding")
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise ValueError(_bad_parameter("max_rows", "None or an int >= 1", max_rows))


def _bad_parameter(name: str, must_be: str, value: Any) -> str:
    """scikit-learn's one template for a bad parameter value.

    >>> _bad_parameter("format", "one of 'a', 'b'", "c")
    "The 'format' parameter of read_vectors must be one of 'a', 'b'. Got 'c' instead."
    """
    return f"The {name!r} parameter of read_vectors must be {must_be}. Got {value!r} instead."


def _one_of(choices: tuple[str, ...]) -> str:
    return "one of " + ", ".join(map(repr, choices))


def _wanted_test(wanted: Collection[str] | Callable[[str], bool] | None) -> Callable[[str], bool] | None:
    """``wanted`` as a fast ``str -> bool`` test (a set's ``__contains__``), or None for "keep all"."""
    if wanted is None or callable(wanted):
        return wanted
    if isinstance(wanted, (str, bytes)):
        raise TypeError(_bad_parameter("wanted", "a collection of words or a callable, not one string", wanted))
    words = wanted if isinstance(wanted, (set, frozenset)) else frozenset(wanted)
    return words.__contains__
