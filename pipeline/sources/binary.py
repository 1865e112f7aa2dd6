"""Reading the word2vec binary format: a header line ``count dim``, then per row a word, a space and float32 bytes.

Use :func:`_read_binary` to read the rows of an open binary file into a
:class:`~pipeline.sources.rows._Rows`. :class:`_BinaryRecords` walks the
records through a read-ahead buffer, so plain and compressed files are read the
same way and a vector that is not wanted is stepped over, never copied.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from typing import IO, Any

from pipeline.errors import DataError
from pipeline.sources.files import compression_of, read_failure
from pipeline.sources.rows import _decode_word, _Rows
from pipeline.sources.sniff import _BOM, _DETECT_LINE_BYTES, _check_really_binary, _parse_header

# One logger for the whole of read_vectors (see text_scan.py).
logger = logging.getLogger("pipeline.sources.readers")

_BINARY_CHUNK = 1 << 20  # bytes read at a time from a binary file
_MAX_WORD_BYTES = 1 << 16  # a binary "word" longer than this means the file is not word2vec binary
_PROGRESS_SECONDS = 5.0  # at most one progress message this often


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
        raise read_failure(path, exc, "in the header") from None
    count, rows.dim = _parse_header(header.removeprefix(_BOM), path, 1 if header else 0, "word2vec-binary")
    # A vector larger than a read chunk and than the whole file: a wrong dimension, said now rather than
    # after reading the file to its end (a smaller one gets the reader's own "truncated" or "no vectors").
    size = os.fstat(fh.fileno()).st_size if compression_of(path) is None else None
    if size is not None and 4 * rows.dim > max(size - len(header), _BINARY_CHUNK):
        raise DataError(
            f"the header's dimension {rows.dim} needs {4 * rows.dim:,} bytes a vector, but only "
            f"{size - len(header):,} follow the header (expected 'count dim' to describe the rows)",
            path,
            1,
        )
    if sniff:
        _check_really_binary(path, encoding)
    limit = count if max_rows is None else min(count, max_rows)
    rows.expect(limit)
    records = _BinaryRecords(fh, path, rows.dim, start=len(header))
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
        try:
            word = _decode_word(raw_word, encoding, errors, path, None, where)
        except DataError:
            if rows_read == 0:
                raise
            # After a good first row, a "word" of float bytes most often means rows of another length.
            # (With encoding_errors = "replace" only an empty word or a NUL byte gets here.)
            advice = '; set encoding, or encoding_errors = "replace"' if errors == "strict" else ""
            raise DataError(
                f"row {rows_read + 1} at byte {offset} does not start with {encoding} text ({raw_word[:24]!r}): "
                f"either the header's dimension {rows.dim} is wrong, which shifts every row after the first, "
                "or the file is damaged, or its words are in another encoding (expected a word, a space, then "
                f"{rows.dim} float32 values{advice})",
                path,
            ) from None
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
            # At least as much as is held: a vector larger than a chunk grows the buffer by doubling,
            # not 1 MB at a time (each step copies the buffer: quadratic in the vector's size).
            chunk = self.fh.read(max(_BINARY_CHUNK, len(self.buf) - self.pos))
        except (EOFError, OSError, zlib.error) as exc:
            raise read_failure(self.path, exc, f"at byte {self.offset}") from None
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos:] + chunk
        self.base += self.pos
        self.pos = 0
        return True
