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
rows). ``encoding_errors`` applies to words; numbers must be ASCII decimals,
finite in float32 (``nan``, ``inf`` and ``1e39`` are refused; gensim keeps them).
A NUL byte in a word is an error: real tokens never hold one, but a binary or
UTF-16 file read as text, or a file whose tail a crash left zero-filled, does.

Every problem raises :class:`~pipeline.errors.DataError` (exit 65) or
:class:`~pipeline.errors.StorageError` (exit 74) with a one-line message naming
``path:line`` (``path`` and the row's byte offset for binary files).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import io
import itertools
import logging
import multiprocessing
import os
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from pipeline.errors import ConfigError, DataError, PipelineError, open_error
from pipeline.sources import Vectors
from pipeline.sources.files import compression_of, describe_file, open_binary

logger = logging.getLogger(__name__)

FORMATS = ("glove", "word2vec-text", "word2vec-binary", "fasttext-vec")
ENCODING_ERRORS = ("strict", "replace", "ignore")

_HEADER_FORMATS = ("word2vec-text", "word2vec-binary", "fasttext-vec")
_FORMAT_NAMES = {
    "glove": "GloVe text",
    "word2vec-text": "word2vec text",
    "fasttext-vec": "fastText .vec text",
    "word2vec-binary": "word2vec binary",
}
_BOM = codecs.BOM_UTF8
_FASTTEXT_MAGIC = (0x2F4F16BA).to_bytes(4, "little")  # first 4 bytes of a fastText .bin model

# Numbers are converted this many values at a time: large enough that the
# per-call cost vanishes, small enough that the batch's text (~10 bytes a
# value) stays a few MB whatever the file's size.
_BATCH_VALUES = 1 << 20
_BINARY_CHUNK = 1 << 20  # bytes read at a time from a binary file
_CHUNK_BYTES = 4 << 20  # bytes of text lines scanned at a time
# A plain text file this large is read by two processes (where there are two cores).
_PARALLEL_BYTES = 64 << 20
_MAX_WORD_BYTES = 1 << 16  # a binary "word" longer than this means the file is not word2vec binary
_DETECT_LINE_BYTES = 1 << 20  # detection reads at most this much of the first two lines
_PROGRESS_SECONDS = 5.0
_DUPLICATE_EXAMPLES = 5
# With a header, the matrix is allocated for its row count at once, up to this size: a damaged
# header that claims 10**12 rows must not ask for terabytes (the matrix still grows past it).
_PREALLOCATE_BYTES = 1 << 28
# Without a header, the first block of the matrix has room for 1024 rows -- or fewer, so that
# it stays under this size: one GloVe row of 26M values must not ask for 1024 x 100 MB.
_FIRST_BLOCK_BYTES = 64 << 20
_HEADER_FIELD = re.compile(rb"[+-]?[0-9]{1,30}")  # one field of a word2vec header line 'count dim'


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
    _check_encoding(encoding)
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
    return "word2vec-text"


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
    ``identity``: the file's ``path``/``size``/``mtime_ns``/``sha256`` if the caller has them
    (the runner's memoised :func:`pipeline.cache.file_identity`); otherwise the sha256 is
    computed while reading, on a thread.
    ``workers``: processes for a plain text file of at least 64 MiB (None: 2 where
    the machine has 2 cores and ``identity`` is given, else 1, as the second core
    is then busy hashing; 1: never split). Each scans half of the file, cut at a
    line end; the halves are merged in file order, so the result is the one-process result.

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
    # The file's sha256 (for the manifest) is computed beside the reading, on a thread:
    # hashlib releases the GIL, so on a second core it costs no time.
    hashing = _Background(describe_file, path) if identity is None else None
    merged = None
    if workers is None and identity is None:
        workers = 1  # the second core is hashing: measured, two halves + the hash are no faster than one
    if fmt != "word2vec-binary" and max_rows is None and _parallel_workers(path, workers) > 1:
        merged = _read_text_parallel(path, fmt, keep, encoding, encoding_errors, on_fork=hashing)
    if merged is not None:
        words, matrix, stats, duplicates = merged
    else:
        if hashing is not None:
            hashing.start()
        rows = _Rows(path, keep, encoding, binary=fmt == "word2vec-binary")
        with open_binary(path) as fh:
            if fmt == "word2vec-binary":
                stats = _read_binary(fh, path, rows, encoding, encoding_errors, max_rows, sniff=format != "auto")
            else:
                stats = _read_text(fh, path, fmt, rows, encoding, encoding_errors, max_rows)
        words, matrix = rows.finish()
        stats.update(rows.stats())
        duplicates = [w for w, _ in rows.duplicate_rows]
    logger.info(
        "read %d rows of dim %d from %s in %.1f s; kept %d, %d duplicate(s) skipped",
        stats["rows_read"], stats["dim"], path, time.monotonic() - started, len(words), stats["duplicates"],
    )
    if stats["duplicates"]:
        logger.warning(
            "%s: %d repeated word(s) skipped, first rows kept (e.g. %s)",
            path, stats["duplicates"], ", ".join(map(repr, stats["duplicate_examples"])),
        )
    identity = hashing.result() if hashing is not None else identity
    source = {"kind": "file", "path": str(path), "format": fmt, **identity}
    return _Read(Vectors(words=words, matrix=matrix, source=source, stats=stats), duplicates)


class _Background:
    """``fn(*args)`` on a daemon thread once :meth:`start` is called; :meth:`result` waits (and re-raises)."""

    def __init__(self, fn: Callable[..., Any], *args: Any):
        self.fn, self.args = fn, args
        self.thread: threading.Thread | None = None
        self.value: Any = None
        self.error: BaseException | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="embpipe-hash", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
            self.error = exc

    def result(self) -> Any:
        self.start()
        assert self.thread is not None
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


# --------------------------------------------------------------------------- arguments


def _check_arguments(format: str, encoding: str, encoding_errors: str, max_rows: int | None) -> None:
    """Reject bad settings before opening the file (format and encodings come from the config: ConfigError)."""
    if format != "auto" and format not in FORMATS:
        raise ConfigError(_bad_parameter("format", _one_of(("auto", *FORMATS)), format))
    if encoding_errors not in ENCODING_ERRORS:
        raise ConfigError(_bad_parameter("encoding_errors", _one_of(ENCODING_ERRORS), encoding_errors))
    _check_encoding(encoding)
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
        raise ValueError(_bad_parameter("max_rows", "None or an int >= 1", max_rows))


def _check_encoding(encoding: str) -> None:
    try:
        ascii_compatible = "w 1".encode(encoding) == b"w 1"
    except LookupError:
        raise ConfigError(_bad_parameter("encoding", "a known encoding", encoding)) from None
    if not ascii_compatible:
        # Rows are split on the byte 0x20, which only means "space" in ASCII-compatible encodings.
        raise ConfigError(_bad_parameter("encoding", "ASCII-compatible (utf-8, latin-1, cp1252, ...)", encoding))


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


def _many(test: Callable[[str], bool]) -> Callable[[list[str]], Iterable[bool]]:
    """``test`` applied to a list of words at once.

    A test may bring its own bulk form as a ``many`` attribute (``words -> bools``);
    otherwise ``map`` applies it one word at a time (C-speed for a set's ``__contains__``).

    >>> list(_many({"a"}.__contains__)(["a", "b"]))
    [True, False]
    """
    many = getattr(test, "many", None)
    if callable(many):
        return many
    return functools.partial(map, test)


# --------------------------------------------------------------------------- detection helpers


def _first_two_lines(path: str | os.PathLike) -> tuple[bytes, bytes]:
    """The first two lines as bytes (each at most 1 MB; b"" past the end of the file)."""
    with open_binary(path) as fh:
        try:
            first = fh.readline(_DETECT_LINE_BYTES)
            second = fh.readline(_DETECT_LINE_BYTES)
        except (EOFError, OSError, zlib.error) as exc:
            raise _read_failure(path, exc, "near line 1") from None
    return first, second


def _header_numbers(line: bytes) -> tuple[int, int] | None:
    """``(count, dim)`` if ``line`` is exactly two integers, else None.

    >>> _header_numbers(b"291 5\\n"), _header_numbers(b"the 0.1\\n")
    ((291, 5), None)
    """
    fields = line.split()
    # One optional sign and at most 30 ASCII digits: "--2" or "+-2" is not a number, and int() of
    # thousands of digits fails (Python's int-string limit); no real header needs more than 30.
    if len(fields) != 2 or not all(_HEADER_FIELD.fullmatch(f) for f in fields):
        return None
    return int(fields[0]), int(fields[1])


def _is_text_row(line: bytes, dim: int, encoding: str) -> bool:
    """True if ``line`` is ``word`` followed by ``dim`` numbers, in ``encoding``."""
    fields = line.rstrip().split(b" ")
    if len(fields) != dim + 1 or not fields[0]:
        return False
    try:
        fields[0].decode(encoding)
        # "1e39" is still a text row (reading then refuses it, naming the line): no overflow warning here.
        with np.errstate(over="ignore"):
            np.array([f.decode("ascii") for f in fields[1:]], dtype=np.float32)
    except (UnicodeDecodeError, ValueError):
        return False
    return True


def _values_not_ascii(line: bytes) -> bool:
    """True if a byte >= 0x80 follows the first space of ``line``: not text values, so binary ones.

    Text values are ASCII decimals; float32 bytes without a control byte (415817.0 is
    ``b" \\t\\xcbH"``) still nearly always have a high byte. Only the bytes after the word
    count: a word2vec text word may be any UTF-8.

    >>> _values_not_ascii("été 0.5".encode()), _values_not_ascii(b"w  \\t\\xcbH")
    (False, True)
    """
    _word, space, rest = line.partition(b" ")
    return bool(space) and not rest.isascii()


def _looks_binary(data: bytes) -> bool:
    """True if ``data`` holds control bytes that text never has (float32 bytes nearly always do)."""
    return any(b < 0x20 and b not in b"\t\n\r" for b in data)


def _check_really_binary(path: str | os.PathLike, encoding: str) -> None:
    """With ``format = "word2vec-binary"`` given, refuse a text file instead of reading its digits as floats."""
    first, second = _first_two_lines(path)
    header = _header_numbers(first.removeprefix(_BOM))
    if header is not None and second and _is_text_row(second, header[1], encoding):
        raise DataError(
            "format is word2vec-binary but line 2 is a text row "
            '(expected raw float32 bytes; use format = "word2vec-text" or "auto")',
            path,
            2,
        )


# --------------------------------------------------------------------------- kept rows


class _Rows:
    """The rows being kept: their words, and their numbers, converted a batch at a time.

    Decides which rows to keep (wanted, and not a repeat of an earlier word),
    holds kept rows' raw numbers until a batch is full, converts the batch in
    one call and checks it is finite. The matrix grows by ``ndarray.resize``,
    which reallocates in place where it can, so reading never holds two
    copies of a large matrix.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        keep: Callable[[str], bool] | None,
        encoding: str,
        binary: bool,
        keep_many: Callable[[list[str]], Iterable[bool]] | None = None,
    ):
        self.path = path
        self.keep = keep
        self.keep_many = keep_many if keep_many is not None or keep is None else _many(keep)
        self.encoding = encoding
        self.binary = binary
        self.dim = 0  # set by the reader once the header or first row says it
        self.words: list[str] = []
        self.seen: set[str] = set()
        self.unwanted = 0
        self.duplicates = 0
        self.duplicate_examples: list[str] = []
        self.duplicate_rows: list[tuple[str, Any]] = []  # every skipped repeat: (word, line or (row, offset))
        self.pending: list[bytes] = []  # text: the numbers part of each row; binary: the vector bytes
        self.where: list[Any] = []  # text: line numbers; binary: (row, byte offset)
        self.matrix = np.empty((0, 0), dtype=np.float32)
        self.filled = 0
        self.expected = 0  # rows to make room for at once, when the header tells

    def expect(self, n_rows: int) -> None:
        """Size the matrix for ``n_rows`` up front (only when every row is kept: a filter keeps few)."""
        if self.keep is None:
            self.expected = min(n_rows, _PREALLOCATE_BYTES // (4 * self.dim))

    def wants(self, word: str) -> bool:
        """Whether to keep this row: wanted, and the word's first row."""
        if self.keep is not None and not self.keep(word):
            self.unwanted += 1
            return False
        if word in self.seen:
            self._duplicate(word, None)
            return False
        self.seen.add(word)
        self.words.append(word)
        return True

    def select(self, words: list[str], where: list[Any]) -> list[int]:
        """:meth:`wants` for a list of rows at once: the indices of the rows to keep, in order."""
        if self.keep_many is None:
            index: Iterable[int] = range(len(words))
            candidates = words
        else:
            index = list(itertools.compress(range(len(words)), self.keep_many(words)))
            self.unwanted += len(words) - len(index)
            candidates = [words[i] for i in index]
        fresh = set(candidates)
        if len(fresh) == len(candidates) and self.seen.isdisjoint(fresh):  # no repeat: the usual case
            self.seen.update(fresh)
            self.words.extend(candidates)
            return list(index)
        kept = []
        for i in index:
            word = words[i]
            if word in self.seen:
                self._duplicate(word, where[i])
                continue
            self.seen.add(word)
            self.words.append(word)
            kept.append(i)
        return kept

    def _duplicate(self, word: str, where: Any) -> None:
        self.duplicates += 1
        if len(self.duplicate_examples) < _DUPLICATE_EXAMPLES:
            self.duplicate_examples.append(word)
        self.duplicate_rows.append((word, where))

    def add(self, raw: bytes, where: Any) -> None:
        """Hold a kept row's numbers (text) or vector bytes (binary) until the batch is full."""
        self.pending.append(raw)
        self.where.append(where)
        if len(self.pending) * self.dim >= _BATCH_VALUES:
            self.flush()

    def flush(self) -> None:
        """Convert the held rows into the matrix."""
        if not self.pending:
            return
        block = self._binary_block() if self.binary else self._text_block()
        self._check_finite(block)
        self._append(block)
        self.pending, self.where = [], []

    def finish(self) -> tuple[tuple[str, ...], np.ndarray]:
        if self.matrix.shape[1] != self.dim:  # nothing was kept: an empty (0, dim) matrix
            self.matrix = np.empty((0, self.dim), dtype=np.float32)
        self.matrix.resize((self.filled, self.dim), refcheck=False)
        return tuple(self.words), self.matrix

    def stats(self) -> dict[str, Any]:
        return {
            "rows_parsed": self.filled,
            "rows_unwanted": self.unwanted,
            "duplicates": self.duplicates,
            "duplicate_examples": list(self.duplicate_examples),
        }

    # -- converting a batch

    def _text_block(self) -> np.ndarray:
        """Convert the batch's text rows in one call; on any doubt, row by row the way gensim does."""
        try:
            block = _parse_numbers_bulk(self.pending)
            if block.shape == (len(self.pending), self.dim):
                return block
        except ValueError:
            pass
        return np.stack([self._text_row(raw, line) for raw, line in zip(self.pending, self.where)])

    def _text_row(self, raw: bytes, line: int) -> np.ndarray:
        # gensim: decode the line, split on " ", np.float32(token) each. Its float() accepts a few
        # spellings the bulk parser refuses ("1_000", " 1"), so this is also the path that accepts them.
        tokens = raw.decode(self.encoding, "replace").split(" ")
        try:
            # "1e39" becomes inf, which _check_finite then refuses naming the row: no overflow warning.
            with np.errstate(over="ignore"):
                return np.array(tokens, dtype=np.float32)
        except ValueError:
            pass
        for i, token in enumerate(tokens, start=1):
            try:
                np.float32(token)
            except ValueError:
                raise DataError(
                    f"value {i} is not a number: {token[:40]!r} (expected a decimal like -0.0123 or 1e-05)",
                    self.path,
                    line,
                ) from None
        raise DataError(
            "row could not be read as numbers (expected decimals separated by single spaces)", self.path, line
        )

    def _binary_block(self) -> np.ndarray:
        return np.frombuffer(b"".join(self.pending), dtype="<f4").reshape(-1, self.dim)

    def _check_finite(self, block: np.ndarray) -> None:
        finite = np.isfinite(block).all(axis=1)
        if finite.all():
            return
        i = int(np.argmin(finite))
        word = self.words[self.filled + i]
        col = int(np.argmin(np.isfinite(block[i]))) + 1
        what = f"row {word!r} has a NaN or infinite value (value {col}: {block[i, col - 1]})"
        expected = "expected finite numbers within float32 range"
        if self.binary:
            row, offset = self.where[i]
            raise DataError(f"{what} in row {row} at byte {offset} ({expected})", self.path)
        raise DataError(f"{what} ({expected})", self.path, self.where[i])

    def _append(self, block: np.ndarray) -> None:
        needed = self.filled + len(block)
        if self.matrix.shape[1] != self.dim:
            room = max(self.expected, min(1024, _FIRST_BLOCK_BYTES // (4 * self.dim)))
            self.matrix = np.empty((max(needed, room), self.dim), dtype=np.float32)
        elif needed > len(self.matrix):
            self.matrix.resize((max(needed, 2 * len(self.matrix)), self.dim), refcheck=False)
        self.matrix[self.filled:needed] = block
        self.filled = needed


def _parse_numbers_bulk(rows: list[bytes]) -> np.ndarray:
    """Parse rows of space-separated decimals in one call; raises ValueError on anything odd.

    ``np.loadtxt`` with ``delimiter=" "`` gives the same float32 values as gensim's
    ``np.float32(token)`` (both round the decimal to float64, then to float32),
    and refuses empty fields, tabs and stray characters. It was the fastest option
    on 30M values (100k rows x 300): 44 ns a value, against 67 for
    ``np.fromstring(sep=" ")`` (which also takes tabs and double spaces as
    separators), 85 for ``np.array(joined.split(b" "), dtype=float32)`` and 640
    for gensim's own per-token ``np.float32``.

    >>> _parse_numbers_bulk([b"0.5 -1", b"2e-3 4"]).tolist()
    [[0.5, -1.0], [0.0020000000949949026, 4.0]]
    """
    return np.loadtxt(
        io.BytesIO(b"\n".join(rows)),
        dtype=np.float32,
        delimiter=" ",
        comments=None,
        quotechar=None,
        encoding="latin-1",
        ndmin=2,
    )


# --------------------------------------------------------------------------- text formats


def _read_text(
    fh: IO[bytes],
    path: str | os.PathLike,
    fmt: str,
    rows: _Rows,
    encoding: str,
    errors: str,
    max_rows: int | None,
) -> dict[str, Any]:
    """Read GloVe / word2vec text rows into ``rows``; return the line counts for ``stats``."""
    scan = _TextScan(path, fmt, rows, encoding, errors, max_rows)
    first_line = 1
    if fmt in _HEADER_FORMATS:
        try:
            header = fh.readline(_DETECT_LINE_BYTES)
        except (EOFError, OSError, zlib.error) as exc:
            raise _read_failure(path, exc, "in the header") from None
        scan.header(header.removeprefix(_BOM), 1 if header else 0)
        first_line = 2
    for buf, end, final in _line_chunks(fh, path, skip_bom=first_line == 1):
        if scan.feed(buf, end, final):
            break
    return scan.finish()


def _line_chunks(
    fh: IO[bytes], path: str | os.PathLike, *, skip_bom: bool, stop: int | None = None
) -> Iterator[tuple[bytes, int, bool]]:
    """Yield ``(buffer, end, final)``: ``buffer[:end]`` is whole lines (the last one may lack its ``\\n`` when ``final``).

    Reads ``_CHUNK_BYTES`` at a time (up to byte ``stop`` of a plain file if given);
    a damaged compressed stream becomes DataError. ``skip_bom``: drop a UTF-8 BOM at the start.
    """
    carry = b""
    first = True
    left = stop
    while True:
        size = _CHUNK_BYTES if left is None else min(_CHUNK_BYTES, left)
        try:
            data = fh.read(size) if size else b""
        except (EOFError, OSError, zlib.error) as exc:
            raise _read_failure(path, exc, "while reading") from None
        if left is not None:
            left -= len(data)
        if first:
            first = False
            if skip_bom:
                if len(data) < len(_BOM) and data and _BOM.startswith(data):
                    data += fh.read(len(_BOM))  # a read that stopped inside the BOM
                data = data.removeprefix(_BOM)
        if not data:
            if carry:
                yield carry, len(carry), True
            return
        buf = carry + data if carry else data
        end = buf.rfind(b"\n") + 1
        if end == 0:
            carry = buf  # one line longer than a chunk: read on
            continue
        carry = buf[end:]
        yield buf, end, False


def _spaces_per_line(buf: bytes, a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""For each non-empty line ``buf[starts[i]:ends[i]]``: how many spaces it holds, and where its first one is.

    No Python-level numpy call per line (a GB of GloVe has 400,000 lines): the
    counts are one ``np.add.reduceat`` over [start, end) segments, and the first
    spaces one C-level ``bytes.find`` per line (-1: none).

    >>> b = b"a 1 2\nbc 3"
    >>> _spaces_per_line(b, np.frombuffer(b, np.uint8), np.array([0, 6]), np.array([5, 10]))
    (array([2, 1]), array([1, 8]))
    """
    if not len(starts):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends  # segment 2i is line i; segment 2i+1 the gap after it
    if bounds[-1] >= len(a):
        bounds = bounds[:-1]  # the last line runs to the end of the buffer
    # uint8 in, int32 sums: several times faster than summing the bool array into int64
    counts = np.add.reduceat((a == 0x20).view(np.uint8), bounds, dtype=np.int32)[0::2].astype(np.int64)
    first = np.fromiter(map(buf.find, itertools.repeat(b" "), starts.tolist(), ends.tolist()),
                        dtype=np.int64, count=len(starts))
    return counts, first


class _TextScan:
    """Checks and reads the rows of a text file a chunk of lines at a time.

    For each chunk the line ends, stripped ends, value counts and word ends are
    found with a few bulk operations (numpy and C-level ``bytes`` methods), the
    words decoded at once, the wanted test applied to the whole list, and only
    kept rows reach :class:`_Rows`. The outcome is exactly that of walking the
    lines one by one: rows are added in file order, so number batches convert
    at the same rows, and the first problem (a bad row shape, a word that does
    not decode, a row past the header's count) is raised only after the rows
    before it have been added, as a line-by-line reader would.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fmt: str,
        rows: _Rows,
        encoding: str,
        errors: str,
        max_rows: int | None,
        *,
        progress: bool = True,
    ):
        self.path, self.fmt, self.rows = path, fmt, rows
        self.encoding, self.errors, self.max_rows = encoding, errors, max_rows
        self.bulk_decode = _bulk_decodable(encoding)
        self.count: int | None = None
        self.dim_source = ""  # how the expected number of values was learned, for error messages
        self.first_row: tuple[int, bytes] | None = None
        self.lineno = 0  # the last line looked at
        self.rows_read = 0
        self.blank = 0
        self.stopped = False
        self.progress = progress
        self.next_report = time.monotonic() + _PROGRESS_SECONDS
        self.reported = 0
        self.kept_lines: list[int] | None = None  # the line of every kept row, when asked for (a child half)

    def header(self, line: bytes, lineno: int) -> None:
        self.count, self.rows.dim = _parse_header(line, self.path, lineno, self.fmt)
        self.rows.expect(self.count if self.max_rows is None else min(self.count, self.max_rows))
        self.dim_source = "as the header on line 1 says"
        self.lineno = lineno

    def feed(self, buf: bytes, end: int, final: bool) -> bool:
        """Take the whole lines of ``buf[:end]``; True once ``max_rows`` stopped the reading."""
        a = np.frombuffer(buf, dtype=np.uint8, count=end)
        ends = np.flatnonzero(a == 0x0A)
        if final and (not len(ends) or ends[-1] != end - 1):
            ends = np.append(ends, end)  # the last line has no "\n"
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        stripped = _rstrip_ends(a, starts, ends)
        nonblank = np.flatnonzero(stripped > starts)
        lineno0 = self.lineno + 1  # line number of starts[0]

        # Where reading stops in this chunk: max_rows reached, or a row the header did not announce.
        limit, limit_why = len(nonblank), ""
        for cap, why in ((self.count, "count"), (self.max_rows, "max_rows")):
            # <=: at the same row max_rows wins, as the line-by-line reader checks it first
            if cap is not None and cap - self.rows_read <= limit and cap - self.rows_read < len(nonblank):
                limit, limit_why = cap - self.rows_read, why

        nb_starts = starts[nonblank[:limit]].tolist()
        nb_ends = stripped[nonblank[:limit]].tolist()
        if nb_starts and self.first_row is None:
            s, e = nb_starts[0], nb_ends[0]
            self.first_row = (lineno0 + int(nonblank[0]), buf[s:e])
            if self.count is None:
                self.rows.dim = buf.count(b" ", s, e)
                self.dim_source = f"as on line {self.first_row[0]}"
        n_values, seps = _spaces_per_line(
            buf, a, np.asarray(nb_starts, dtype=np.int64), np.asarray(nb_ends, dtype=np.int64)
        )
        bad = np.flatnonzero((n_values != self.rows.dim) | (seps <= np.asarray(nb_starts, dtype=np.int64)))
        upto = int(bad[0]) if len(bad) else len(nb_starts)
        raw_words = list(map(buf.__getitem__, map(slice, nb_starts[:upto], seps[:upto].tolist())))
        linenos = (lineno0 + nonblank[:upto]).tolist()
        words, word_error = self._decode(raw_words, linenos)
        if word_error is not None:
            upto = len(words)

        kept = self.rows.select(words, linenos)
        if self.kept_lines is not None:
            self.kept_lines.extend(linenos[i] for i in kept)
        seps_list, ends_list = seps.tolist(), nb_ends
        for i in kept:
            self.rows.add(buf[seps_list[i] + 1:ends_list[i]], linenos[i])
        self.rows_read += upto

        if word_error is not None:
            raise word_error
        if upto < len(nb_starts):  # a row of the wrong shape
            i = int(nonblank[upto])
            line = buf[starts[i]:stripped[i]]
            raise _row_shape_error(self.path, lineno0 + i, line, int(n_values[upto]), self.rows.dim,
                                   self.dim_source, self.fmt, self.first_row or (lineno0 + i, line))
        if limit < len(nonblank):  # max_rows reached, or more rows than the header said
            i = int(nonblank[limit])
            self.blank += i - limit
            self.lineno = lineno0 + i
            if limit_why == "count":
                raise DataError(
                    f"more rows than the {self.count} the header on line 1 announces "
                    "(expected the file to end here)",
                    self.path,
                    self.lineno,
                )
            self.stopped = True
            return True
        self.blank += len(ends) - len(nonblank)
        self.lineno += len(ends)
        self._report()
        return False

    def _decode(self, raw: list[bytes], linenos: list[int]) -> tuple[list[str], DataError | None]:
        """The words, decoded; on a bad word, the words before it and its error."""
        if self.bulk_decode and raw:
            blob = b"\n".join(raw)
            if b"\x00" not in blob:
                try:
                    words = blob.decode(self.encoding, self.errors).split("\n")
                except UnicodeDecodeError:
                    words = None
                if words is not None and len(words) == len(raw) and "" not in words:
                    return words, None
        words = []
        for r, line in zip(raw, linenos):
            try:
                words.append(_decode_word(r, self.encoding, self.errors, self.path, line))
            except DataError as exc:
                return words, exc
        return words, None

    def _report(self) -> None:
        # Progress every _PROGRESS_SECONDS, in whole steps of 65,536 lines.
        if not self.progress or self.lineno < self.reported + 0x10000:
            return
        now = time.monotonic()
        if now >= self.next_report:
            self.reported = self.lineno & ~0xFFFF
            logger.info("%s: read %d lines", self.path, self.reported)
            self.next_report = now + _PROGRESS_SECONDS

    def finish(self) -> dict[str, Any]:
        self.rows.flush()
        stopped = self.stopped or self.rows_read == self.max_rows
        _check_row_count(self.path, self.rows_read, self.count, stopped)
        stats: dict[str, Any] = {
            "lines_read": self.lineno - 1 if stopped else self.lineno,  # the line that found max_rows is not used
            "rows_read": self.rows_read,
            "blank_lines": self.blank,
            "dim": self.rows.dim,
            "stopped_at_max_rows": stopped,
        }
        if self.count is not None:
            stats["header_count"] = self.count
        return stats


_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[list(b" \t\n\r\x0b\x0c")] = True  # what bytes.rstrip() strips


def _rstrip_ends(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Each line's end after ``bytes.rstrip()``: trailing ASCII whitespace removed (usually none, or one byte)."""
    out = ends.copy()
    todo = np.flatnonzero(out > starts)
    todo = todo[_WHITESPACE[a[out[todo] - 1]]]
    while len(todo):
        out[todo] -= 1
        todo = todo[out[todo] > starts[todo]]
        todo = todo[_WHITESPACE[a[out[todo] - 1]]]
    return out


def _bulk_decodable(encoding: str) -> bool:
    """True for stateless codecs where b"\\n" always decodes alone, so a joined decode splits back exactly."""
    name = codecs.lookup(encoding).name
    return name in ("utf-8", "ascii", "latin-1", "iso8859-1") or name.startswith(("cp125", "iso8859-"))


def _check_row_count(path: str | os.PathLike, rows_read: int, count: int | None, stopped: bool) -> None:
    """At the end of a text file: some rows, and as many as the header (if any) announced."""
    if rows_read == 0:
        what = "the file has only a header" if count is not None else "the file has no rows"
        raise DataError(f"no vectors: {what} (expected rows 'word v1 v2 ...')", path)
    if count is not None and not stopped and rows_read < count:
        raise DataError(f"the header says {count} rows but the file has {rows_read} (is it cut short?)", path, 1)


# --------------------------------------------------------------------------- two processes


def _parallel_workers(path: str | os.PathLike, workers: int | None) -> int:
    """How many processes to read ``path`` with: 1 unless it is a plain file of ``_PARALLEL_BYTES`` or more."""
    if workers == 1:
        return 1
    if workers is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = os.cpu_count() or 1
        workers = min(cores, 2)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        if os.path.getsize(path) < _PARALLEL_BYTES or compression_of(path) is not None:
            return 1
    except OSError:
        return 1  # the sequential read reports it
    return 2


def _read_text_parallel(
    path: str | os.PathLike,
    fmt: str,
    keep: Callable[[str], bool] | None,
    encoding: str,
    errors: str,
    on_fork: _Background | None,
) -> tuple[tuple[str, ...], np.ndarray, dict[str, Any], list[str]] | None:
    """Read a plain text file in two halves, this process and a forked one; None: read it sequentially.

    The second half starts after the first ``\\n`` past the middle byte. Each half is
    scanned exactly as the sequential reader would (same chunks, checks and
    batches); the child writes its kept rows' float32 bytes to a temporary file
    and sends words, counts and repeats through a pipe. Merging keeps the first
    occurrence of a word that both halves hold. Any problem in either half (a
    bad row, a wrong row count, the child failing) gives None: the caller then
    reads the file from the start in one process, which raises the error with
    the exact line and message a sequential read gives, so a damaged file costs
    one more scan and nothing else.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        first = fh.readline(_DETECT_LINE_BYTES).removeprefix(_BOM)
        if fmt in _HEADER_FORMATS:
            header = _header_numbers(first)
            if header is None or header[1] < 1:
                return None
            dim = header[1]
        else:
            line = first.rstrip()
            while not line and fh.tell() < size // 2:
                line = fh.readline(_DETECT_LINE_BYTES).rstrip()
            if not line:
                return None
            dim = line.count(b" ")
        fh.seek(size // 2)
        fh.readline()
        split = fh.tell()
    if split >= size:
        return None

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    fd, part = tempfile.mkstemp(prefix="embpipe-rows-", suffix=".f32")
    os.close(fd)
    child = ctx.Process(
        target=_read_second_half,
        args=(send, path, fmt, keep, encoding, errors, dim, split, size, part),
        name="embpipe-read",
        daemon=True,
    )
    try:
        child.start()
        send.close()
        if on_fork is not None:
            on_fork.start()  # only now: a thread running at fork time could hold a lock the child needs
        rows = _Rows(path, keep, encoding, binary=False)
        scan = _TextScan(path, fmt, rows, encoding, errors, None)
        try:
            with open(path, "rb") as fh:
                start = 0
                if fmt in _HEADER_FORMATS:
                    header_line = fh.readline(_DETECT_LINE_BYTES)
                    scan.header(header_line.removeprefix(_BOM), 1)
                    start = len(header_line)
                for buf, end, final in _line_chunks(fh, path, skip_bom=start == 0, stop=split - start):
                    scan.feed(buf, end, final)
            rows.flush()
        except PipelineError:
            return None
        try:
            outcome = receive.recv()
        except EOFError:  # the child died without a word
            return None
        child.join()
        if outcome[0] != "ok":
            logger.debug("%s: the second half could not be read in parallel (%s); reading sequentially",
                         path, outcome[1])
            return None
        return _merge_halves(path, scan, rows, outcome[1], part)
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
            child.join()
        with contextlib.suppress(OSError):
            os.remove(part)


def _read_second_half(send, path, fmt, keep, encoding, errors, dim, split, size, part) -> None:
    """The forked child: scan bytes ``split``..``size``; kept rows to ``part``, the rest through ``send``."""
    try:
        rows = _Rows(path, keep, encoding, binary=False)
        rows.dim = dim
        scan = _TextScan(path, fmt, rows, encoding, errors, None, progress=False)
        scan.first_row = (0, b"")  # the dimension is known: it is not learned from this half
        scan.kept_lines = []
        with open(path, "rb") as fh:
            fh.seek(split)
            for buf, end, final in _line_chunks(fh, path, skip_bom=False, stop=size - split):
                scan.feed(buf, end, final)
        rows.flush()
        words, matrix = rows.finish()
        matrix.tofile(part)
        send.send(("ok", {
            "words": list(words),
            "kept_lines": scan.kept_lines,
            "lines": scan.lineno,
            "rows_read": scan.rows_read,
            "blank": scan.blank,
            "unwanted": rows.unwanted,
            "duplicate_rows": rows.duplicate_rows,
        }))
    except BaseException as exc:  # noqa: BLE001 - any failure: the parent reads sequentially
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()


def _merge_halves(
    path: str | os.PathLike, scan: _TextScan, rows: _Rows, second: dict[str, Any], part: str
) -> tuple[tuple[str, ...], np.ndarray, dict[str, Any], list[str]] | None:
    """Join the first half (``scan``/``rows``) and the child's half, as one sequential read would have."""
    dim = rows.dim
    rows_read = scan.rows_read + second["rows_read"]
    if rows_read == 0 or (scan.count is not None and rows_read != scan.count):
        return None  # the sequential read explains it
    offset = scan.lineno  # line numbers in the second half count from 1
    later = [w in rows.seen for w in second["words"]]  # already kept in the first half: repeats
    repeats = sorted(
        [(line + offset, w) for w, line in second["duplicate_rows"]]
        + [(line + offset, w) for w, line, seen in zip(second["words"], second["kept_lines"], later) if seen]
    )
    duplicates = [w for w, _ in rows.duplicate_rows] + [w for _, w in repeats]
    n1 = rows.filled
    n2 = len(second["words"]) - sum(later)
    if rows.matrix.shape[1] != dim:
        rows.matrix = np.empty((0, dim), dtype=np.float32)
    matrix = rows.matrix
    matrix.resize((n1 + n2, dim), refcheck=False)  # in place where the allocator can (no second copy)
    if n2:
        if not any(later):
            with open(part, "rb") as fh:
                got = fh.readinto(memoryview(matrix[n1:]).cast("B"))
            if got != n2 * dim * 4:
                return None
        else:
            block = np.fromfile(part, dtype=np.float32).reshape(-1, dim)
            matrix[n1:] = block[~np.array(later, dtype=bool)]
    words = tuple(rows.words) + tuple(w for w, seen in zip(second["words"], later) if not seen)
    stats: dict[str, Any] = {
        "lines_read": scan.lineno + second["lines"],
        "rows_read": rows_read,
        "blank_lines": scan.blank + second["blank"],
        "dim": dim,
        "stopped_at_max_rows": False,
    }
    if scan.count is not None:
        stats["header_count"] = scan.count
    stats.update({
        "rows_parsed": n1 + n2,
        "rows_unwanted": rows.unwanted + second["unwanted"],
        "duplicates": len(duplicates),
        "duplicate_examples": duplicates[:_DUPLICATE_EXAMPLES],
    })
    logger.debug("%s: read in two halves split at line %d", path, offset + 1)
    return words, matrix, stats, duplicates


def _parse_header(line: bytes, path: str | os.PathLike, lineno: int, fmt: str) -> tuple[int, int]:
    """``(count, dim)`` from a word2vec header line, or a DataError saying what is wrong with it."""
    if lineno == 0:
        raise DataError("no vectors: the file is empty (expected a header line 'count dim', then rows)", path)
    text = line.rstrip().decode("latin-1")
    fields = text.split()
    try:
        count, dim = (int(f) for f in fields)
    except ValueError:
        hint = ' (is this GloVe text, without a header? use format = "glove")' if fmt != "word2vec-binary" else ""
        raise DataError(
            f"expected a header 'count dim' (two integers), got {text[:60]!r}{hint}", path, lineno
        ) from None
    if count < 0 or dim < 1:
        raise DataError(f"header 'count dim' must be a count >= 0 and a dim >= 1, got {text[:60]!r}", path, lineno)
    if count == 0:
        raise DataError("no vectors: the header says 0 rows (expected count >= 1)", path, lineno)
    return count, dim


def _row_shape_error(
    path: str | os.PathLike,
    lineno: int,
    line: bytes,
    n_values: int,
    dim: int,
    dim_source: str,
    fmt: str,
    first_row: tuple[int, bytes],
) -> DataError:
    """The DataError for a row without a word, without values or with the wrong number of values."""
    if line.startswith(b" "):
        return DataError("row starts with a space: its word is empty (expected 'word v1 v2 ...')", path, lineno)
    if n_values == 0:
        tab = " (values are separated by single spaces; this row has tabs)" if b"\t" in line else ""
        return DataError(f"row has a word but no values (expected 'word v1 v2 ...'){tab}", path, lineno)
    hint = f"is this really {_FORMAT_NAMES[fmt]}?"
    first_lineno, first = first_row
    if fmt == "glove" and first_lineno == lineno - 1 and _header_numbers(first) is not None:
        hint = f'line {first_lineno} looks like a word2vec header: use format = "word2vec-text"'
    return DataError(f"row has {n_values} values, expected {dim} {dim_source} ({hint})", path, lineno)


def _decode_word(
    raw: bytes, encoding: str, errors: str, path: str | os.PathLike, line: int | None, where: str = ""
) -> str:
    """The word's text; a NUL byte or (with ``errors="strict"``) undecodable bytes raise DataError."""
    if b"\x00" in raw:
        raise DataError(
            f"word {raw[:40]!r}{where} holds a NUL byte (is this a binary or UTF-16 file, or a damaged one?)",
            path,
            line,
        )
    try:
        word = raw.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"word {raw[:40]!r}{where} is not valid {encoding} ({exc.reason}) "
            f'(expected {encoding} text; set encoding_errors = "replace" to accept it, or set encoding)',
            path,
            line,
        ) from None
    if not word:
        raise DataError(f"word {raw[:40]!r}{where} is empty (expected a word before the values)", path, line)
    return word


def _read_failure(path: str | os.PathLike, exc: BaseException, where: str) -> Exception:
    """A read that failed midway: a damaged compressed stream is bad data (65), anything else an I/O error (74)."""
    compressed = compression_of(path)
    # gzip/bz2 report a cut-short stream as EOFError and bad data as zlib.error or an OSError
    # without an errno (BadGzipFile, "Invalid data stream"); a real I/O error has an errno.
    damaged = isinstance(exc, (EOFError, zlib.error)) or (
        compressed is not None and getattr(exc, "errno", None) is None
    )
    if damaged or not isinstance(exc, OSError):
        kind = {"gzip": "gzip", "bz2": "bzip2"}.get(compressed or "", "compressed")
        return DataError(
            f"{kind} data is damaged or cut short {where} ({exc}) (expected a complete {kind} file)", path
        )
    return open_error(path, exc)


# --------------------------------------------------------------------------- word2vec binary


def _read_binary(
    fh: IO[bytes],
    path: str | os.PathLike,
    rows: _Rows,
    encoding: str,
    errors: str,
    max_rows: int | None,
    sniff: bool,
) -> dict[str, Any]:
    """Read word2vec binary records into ``rows``; unwanted vectors are skipped, never converted.

    ``sniff``: first make sure the rows are not text (the format was given, not detected).
    """
    try:
        header = fh.readline(_DETECT_LINE_BYTES)
    except (EOFError, OSError, zlib.error) as exc:
        raise _read_failure(path, exc, "in the header") from None
    count, rows.dim = _parse_header(header.removeprefix(_BOM), path, 1 if header else 0, "word2vec-binary")
    if sniff:
        _check_really_binary(path, encoding)
    rows.expect(count if max_rows is None else min(count, max_rows))
    records = _BinaryRecords(fh, path, rows.dim, start=len(header))
    limit = count if max_rows is None else min(count, max_rows)
    next_report = time.monotonic() + _PROGRESS_SECONDS
    rows_read = 0
    while rows_read < limit:
        offset = records.offset
        raw_word = records.next_word(rows_read + 1)
        if raw_word is None:
            if rows_read == 0:
                raise DataError("no vectors: the file has only a header (expected binary rows)", path)
            raise DataError(
                f"the header says {count} rows but the file ends after {rows_read} (is it cut short?)", path, 1
            )
        where = f" (row {rows_read + 1} at byte {offset})"
        word = _decode_word(raw_word, encoding, errors, path, None, where)
        rows_read += 1
        keep = rows.wants(word)
        vector = records.next_vector(keep, rows_read, word)
        if keep:
            rows.add(vector, (rows_read, offset))
        if not rows_read & 0x3FFF and time.monotonic() >= next_report:
            logger.info("%s: read %d of %d rows", path, rows_read, count)
            next_report = time.monotonic() + _PROGRESS_SECONDS
    rows.flush()
    stopped = rows_read < count
    if not stopped and not records.at_end():
        raise DataError(
            f"more data after the {count} rows the header announces, at byte {records.offset} "
            "(expected the file to end; is the header's count wrong?)",
            path,
        )
    return {
        "lines_read": rows_read + 1,  # the header line and one record a row
        "rows_read": rows_read,
        "blank_lines": 0,
        "dim": rows.dim,
        "stopped_at_max_rows": stopped,
        "header_count": count,
    }


class _BinaryRecords:
    """Walks the records of a word2vec binary stream through a read-ahead buffer.

    Reading in 1 MB chunks rather than seeking works the same for plain and
    compressed files; a skipped vector is only stepped over, never copied.
    """

    def __init__(self, fh: IO[bytes], path: str | os.PathLike, dim: int, start: int):
        self.fh = fh
        self.path = path
        self.vector_bytes = 4 * dim
        self.buf = b""
        self.pos = 0
        self.base = start  # file offset (uncompressed) of buf[0]
        self.eof = False

    @property
    def offset(self) -> int:
        return self.base + self.pos

    def next_word(self, row: int) -> bytes | None:
        """The next word's bytes (the space after it consumed), or None at a clean end of file."""
        self._skip_newlines()
        while True:
            space = self.buf.find(b" ", self.pos)
            if space >= 0:
                word = self.buf[self.pos:space]
                self.pos = space + 1
                return word
            if len(self.buf) - self.pos > _MAX_WORD_BYTES:
                raise DataError(
                    f"row {row} at byte {self.offset}: no space after {_MAX_WORD_BYTES} bytes "
                    "(expected 'word' + space + float32 values; is this really word2vec binary?)",
                    self.path,
                )
            if not self._read_more():
                if self.pos == len(self.buf):
                    return None
                raise DataError(
                    f"truncated: the file ends inside row {row} at byte {self.offset}, "
                    "before the space after its word (expected a complete word2vec binary file)",
                    self.path,
                )

    def next_vector(self, keep: bool, row: int, word: str) -> bytes:
        """The vector's bytes if ``keep`` (else b""), stepping past them either way."""
        while len(self.buf) - self.pos < self.vector_bytes:
            if not self._read_more():
                have = len(self.buf) - self.pos
                raise DataError(
                    f"truncated: row {row} {word!r} at byte {self.offset} has {have} of its {self.vector_bytes} "
                    "vector bytes (expected a complete word2vec binary file)",
                    self.path,
                )
        end = self.pos + self.vector_bytes
        vector = self.buf[self.pos:end] if keep else b""
        self.pos = end
        return vector

    def at_end(self) -> bool:
        """True if only newlines are left."""
        self._skip_newlines()
        return self.pos == len(self.buf) and not self._read_more()

    def _skip_newlines(self) -> None:
        # word2vec.c writes "\n" after each vector (gensim strips it from the next word, as we do).
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] == 0x0A:
                self.pos += 1
            if self.pos < len(self.buf) or not self._read_more():
                return

    def _read_more(self) -> bool:
        """Append the next chunk to the buffer (dropping what was consumed); False at end of file."""
        if self.eof:
            return False
        try:
            chunk = self.fh.read(_BINARY_CHUNK)
        except (EOFError, OSError, zlib.error) as exc:
            raise _read_failure(self.path, exc, f"at byte {self.offset}") from None
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + chunk
        self.base += self.pos
        self.pos = 0
        return True
