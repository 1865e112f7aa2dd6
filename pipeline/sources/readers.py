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
import io
import logging
import os
import time
import zlib
from collections.abc import Callable, Collection, Iterator
from typing import IO, Any

import numpy as np

from pipeline.errors import ConfigError, DataError, open_error
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
_MAX_WORD_BYTES = 1 << 16  # a binary "word" longer than this means the file is not word2vec binary
_DETECT_LINE_BYTES = 1 << 20  # detection reads at most this much of the first two lines
_PROGRESS_SECONDS = 5.0
_DUPLICATE_EXAMPLES = 5
# With a header, the matrix is allocated for its row count at once, up to this size: a damaged
# header that claims 10**12 rows must not ask for terabytes (the matrix still grows past it).
_PREALLOCATE_BYTES = 1 << 28


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
    if _looks_binary(second[:4096]):
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
) -> Vectors:
    """Read word vectors from ``path`` (plain, ``.gz`` or ``.bz2``) into :class:`Vectors`.

    ``format``: ``"auto"`` (see :func:`detect_format`) or one of :data:`FORMATS`.
    ``encoding`` / ``encoding_errors`` (``strict``, ``replace``, ``ignore``): how
    words are decoded; the encoding must be ASCII-compatible (UTF-8, Latin-1, cp1252 ...).
    ``wanted``: None keeps every row; a set of words or a ``str -> bool`` test keeps
    only the rows whose word passes (the others are never converted).
    ``max_rows``: stop after this many rows of the file, wanted or not (gensim's ``limit``).

    Rows keep file order; a repeated word keeps its first row. ``stats`` holds
    ``lines_read``, ``rows_read``, ``rows_parsed``, ``rows_unwanted``,
    ``duplicates``, ``duplicate_examples``, ``blank_lines``, ``dim``,
    ``stopped_at_max_rows`` and ``header_count`` (formats with a header).

    >>> v = read_vectors("glove.6B.50d.txt.gz", wanted={"cat", "dog", "zzzz"})  # doctest: +SKIP
    >>> sorted(v.words), v.matrix.shape  # doctest: +SKIP
    (['cat', 'dog'], (2, 50))
    """
    _check_arguments(format, encoding, encoding_errors, max_rows)
    keep = _wanted_test(wanted)
    started = time.monotonic()
    fmt = detect_format(path, encoding) if format == "auto" else format
    logger.info("reading %s vectors from %s", fmt, path)
    rows = _Rows(path, keep, encoding, binary=fmt == "word2vec-binary")
    with open_binary(path) as fh:
        if fmt == "word2vec-binary":
            stats = _read_binary(fh, path, rows, encoding, encoding_errors, max_rows, sniff=format != "auto")
        else:
            stats = _read_text(fh, path, fmt, rows, encoding, encoding_errors, max_rows)
    words, matrix = rows.finish()
    stats.update(rows.stats())
    logger.info(
        "read %d rows of dim %d from %s in %.1f s; kept %d, %d duplicate(s) skipped",
        stats["rows_read"], stats["dim"], path, time.monotonic() - started, len(words), stats["duplicates"],
    )
    if stats["duplicates"]:
        logger.warning(
            "%s: %d repeated word(s) skipped, first rows kept (e.g. %s)",
            path, stats["duplicates"], ", ".join(map(repr, stats["duplicate_examples"])),
        )
    source = {"kind": "file", "path": str(path), "format": fmt, **describe_file(path)}
    return Vectors(words=words, matrix=matrix, source=source, stats=stats)


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
    if len(fields) != 2 or not all(f.lstrip(b"+-").isdigit() for f in fields):
        return None
    return int(fields[0]), int(fields[1])


def _is_text_row(line: bytes, dim: int, encoding: str) -> bool:
    """True if ``line`` is ``word`` followed by ``dim`` numbers, in ``encoding``."""
    fields = line.rstrip().split(b" ")
    if len(fields) != dim + 1 or not fields[0]:
        return False
    try:
        fields[0].decode(encoding)
        np.array([f.decode("ascii") for f in fields[1:]], dtype=np.float32)
    except (UnicodeDecodeError, ValueError):
        return False
    return True


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

    def __init__(self, path: str | os.PathLike, keep: Callable[[str], bool] | None, encoding: str, binary: bool):
        self.path = path
        self.keep = keep
        self.encoding = encoding
        self.binary = binary
        self.dim = 0  # set by the reader once the header or first row says it
        self.words: list[str] = []
        self.seen: set[str] = set()
        self.unwanted = 0
        self.duplicates = 0
        self.duplicate_examples: list[str] = []
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
            self.duplicates += 1
            if len(self.duplicate_examples) < _DUPLICATE_EXAMPLES:
                self.duplicate_examples.append(word)
            return False
        self.seen.add(word)
        self.words.append(word)
        return True

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
            self.matrix = np.empty((max(needed, self.expected, 1024), self.dim), dtype=np.float32)
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
    lines = _numbered_lines(fh, path)
    count = None
    dim_source = ""  # how the expected number of values was learned, for error messages
    if fmt in _HEADER_FORMATS:
        header_line, header = next(lines, (0, b""))
        count, rows.dim = _parse_header(header, path, header_line, fmt)
        rows.expect(count if max_rows is None else min(count, max_rows))
        dim_source = "as the header on line 1 says"
    first_row: tuple[int, bytes] | None = None
    rows_read = blank = lineno = 0
    stopped = False
    for lineno, line in lines:
        line = line.rstrip()
        if not line:
            blank += 1
            continue
        if rows_read == max_rows:
            stopped = True
            break
        if rows_read == count:
            raise DataError(
                f"more rows than the {count} the header on line 1 announces (expected the file to end here)",
                path,
                lineno,
            )
        n_values = line.count(b" ")
        if first_row is None:
            first_row = (lineno, line)
            if count is None:
                rows.dim = n_values
                dim_source = f"as on line {lineno}"
        sep = line.find(b" ")
        if n_values != rows.dim or sep <= 0:
            raise _row_shape_error(path, lineno, line, n_values, rows.dim, dim_source, fmt, first_row)
        word = _decode_word(line[:sep], encoding, errors, path, lineno)
        rows_read += 1
        if rows.wants(word):
            rows.add(line[sep + 1:], lineno)
    rows.flush()
    stopped = stopped or rows_read == max_rows
    _check_row_count(path, rows_read, count, stopped)
    stats: dict[str, Any] = {
        "lines_read": lineno - 1 if stopped else lineno,  # the line that found max_rows reached is not used
        "rows_read": rows_read,
        "blank_lines": blank,
        "dim": rows.dim,
        "stopped_at_max_rows": stopped,
    }
    if count is not None:
        stats["header_count"] = count
    return stats


def _check_row_count(path: str | os.PathLike, rows_read: int, count: int | None, stopped: bool) -> None:
    """At the end of a text file: some rows, and as many as the header (if any) announced."""
    if rows_read == 0:
        what = "the file has only a header" if count is not None else "the file has no rows"
        raise DataError(f"no vectors: {what} (expected rows 'word v1 v2 ...')", path)
    if count is not None and not stopped and rows_read < count:
        raise DataError(f"the header says {count} rows but the file has {rows_read} (is it cut short?)", path, 1)


def _numbered_lines(fh: IO[bytes], path: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, line)``, BOM removed, turning a damaged compressed stream into DataError."""
    lineno = 0
    next_report = time.monotonic() + _PROGRESS_SECONDS
    try:
        for line in fh:
            lineno += 1
            if lineno == 1:
                line = line.removeprefix(_BOM)
            elif not lineno & 0xFFFF:  # look at the clock only now and then
                now = time.monotonic()
                if now >= next_report:
                    logger.info("%s: read %d lines", path, lineno)
                    next_report = now + _PROGRESS_SECONDS
            yield lineno, line
    except (EOFError, OSError, zlib.error) as exc:
        raise _read_failure(path, exc, f"after line {lineno}") from None


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
