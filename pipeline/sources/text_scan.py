"""Reading the text formats (GloVe, word2vec text, fastText ``.vec``) a chunk of lines at a time.

Use :func:`_read_text` to read the rows of an open text file into a
:class:`~pipeline.sources.rows._Rows`. The file is cut into chunks of whole
lines (:func:`_line_chunks`); :class:`_TextScan` checks and splits each chunk
with a few bulk numpy and ``bytes`` operations instead of a Python loop per
line, with exactly the outcome (rows, errors, line numbers) of reading the
lines one by one. The two-process reader (``parallel_read.py``) runs the same
scan on each half of a large file.
"""

from __future__ import annotations

import codecs
import io
import itertools
import logging
import operator
import os
import time
import zlib
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from pipeline.errors import DataError
from pipeline.sources.files import read_failure
from pipeline.sources.rows import _decode_word, _Rows, prefilter_candidates
from pipeline.sources.sniff import _BOM, _DETECT_LINE_BYTES, _HEADER_FORMATS, _header_numbers, _parse_header

# One logger for the whole of read_vectors, as before it was split into modules:
# logging configured for "pipeline.sources.readers" covers every reader.
logger = logging.getLogger("pipeline.sources.readers")

_FORMAT_NAMES = {
    "glove": "GloVe text",
    "word2vec-text": "word2vec text",
    "fasttext-vec": "fastText .vec text",
}  # for error messages ("is this really GloVe text?")
_CHUNK_BYTES = 2 << 20  # bytes of text lines scanned at a time: its passes stay in a 2 MiB L2 cache (15% faster than 4)
# Lines this long on average (300-d rows are about 2,500 bytes) are found with bytes.find, one by one.
_LONG_LINE_BYTES = 2048
_PROGRESS_SECONDS = 5.0  # at most one progress message this often


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
            raise read_failure(path, exc, "in the header") from None
        scan.header(header.removeprefix(_BOM), 1 if header else 0)
        first_line = 2
    for buf, end, final in _line_chunks(fh, path, skip_bom=first_line == 1):
        if scan.feed(buf, end, final):
            break
    return scan.finish()


class RunningCrc32:
    """zlib's CRC-32 of the bytes given to :meth:`update` so far, and how many there were."""

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def update(self, data: bytes | memoryview) -> None:
        self.value = zlib.crc32(data, self.value)
        self.length += len(data)


def _line_chunks(
    fh: IO[bytes],
    path: str | os.PathLike,
    *,
    skip_bom: bool,
    stop: int | None = None,
    crc: RunningCrc32 | None = None,
) -> Iterator[tuple[bytes, int, bool]]:
    """Yield ``(buffer, end, final)``: ``buffer[:end]`` is whole lines (the last one may lack its ``\\n`` when ``final``).

    Reads ``_CHUNK_BYTES`` at a time (up to byte ``stop`` of a plain file if given);
    a damaged compressed stream becomes DataError. ``skip_bom``: drop a UTF-8 BOM at the start.
    The part line at the end of a chunk starts the next one: a plain file is sought
    back to it (no copy of the next chunk to put the two together), a compressed
    stream, which cannot seek back cheaply, keeps it and joins it to the next read.
    ``crc``: given every byte read, once each (a BOM too), while it is in the CPU's cache.
    """
    rewind = isinstance(fh, io.BufferedReader) and fh.seekable()  # a plain file (not a pipe)
    carry = b""
    first = True
    left = stop
    position = checked = 0  # where the next read starts, and how far crc has taken the bytes (from the start)
    while True:
        size = _CHUNK_BYTES if left is None else min(_CHUNK_BYTES, left)
        try:
            data = fh.read(size) if size else b""
            if first and skip_bom and len(data) < len(_BOM) and data and _BOM.startswith(data):
                data += fh.read(len(_BOM))  # a read that stopped inside the BOM
        except (EOFError, OSError, zlib.error) as exc:
            raise read_failure(path, exc, "while reading") from None
        if left is not None:
            left -= len(data)
        if crc is not None and position + len(data) > checked:
            crc.update(memoryview(data)[checked - position:])  # after a rewind, only what follows the part line
            checked = position + len(data)
        position += len(data)
        if first:
            first = False
            if skip_bom:
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
        if rewind and end < len(buf):
            fh.seek(end - len(buf), io.SEEK_CUR)  # the newline is in `data`: the part line is read again
            position -= len(buf) - end
            if left is not None:
                left += len(buf) - end
            carry = b""
        else:
            carry = buf[end:]
        yield buf, end, False


def _line_ends(buf: bytes, a: np.ndarray, scratch: _Scratch, *, long_lines: bool) -> np.ndarray:
    r"""Where the ``\n`` bytes of ``a`` (a view of ``buf``) are, ascending.

    One numpy pass marks them and another collects them: about 0.3 ns a byte,
    whatever the lines. With ``long_lines`` they are instead found one by one
    with ``bytes.find`` (memchr), which costs about 0.35 us a line but almost
    nothing a byte: 40% less for 300-d GloVe rows (2.5 KB); a chunk that turns
    out to hold shorter lines falls back to numpy once ``_LONG_LINE_BYTES``
    would not cover them, so a wrong guess costs at most twice the numpy pass.

    >>> b = b"ab\n\ncd\n"
    >>> [_line_ends(b, np.frombuffer(b, np.uint8), _Scratch(), long_lines=x).tolist() for x in (False, True)]
    [[2, 3, 6], [2, 3, 6]]
    """
    end = len(a)
    if long_lines:
        find, found = buf.find, []
        append = found.append
        i = find(b"\n", 0, end)
        for _ in range(end // _LONG_LINE_BYTES + 1):
            if i < 0:
                return np.array(found, dtype=np.int64)
            append(i)
            i = find(b"\n", i + 1, end)
        if i < 0:
            return np.array(found, dtype=np.int64)
    return np.flatnonzero(np.equal(a, 0x0A, out=scratch.array("newlines", end, bool)))


def _first_spaces(buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    r"""Where the first space of each line ``buf[starts[i]:ends[i]]`` is (-1: none), one C-level ``bytes.find`` a line.

    >>> _first_spaces(b"a 1 2\nbc 3\nd", np.array([0, 6, 11]), np.array([5, 10, 12])).tolist()
    [1, 8, -1]
    """
    return np.fromiter(map(buf.find, itertools.repeat(b" "), starts.tolist(), ends.tolist()),
                       dtype=np.int64, count=len(starts))


def _rows_all_have(
    a: np.ndarray,
    dim: int,
    starts: np.ndarray,
    ends: np.ndarray,
    first_spaces: np.ndarray,
    trailing: np.ndarray,
    scratch: _Scratch | None = None,
) -> bool:
    r"""True when the lines of ``a`` hold ``dim`` spaces each, as far as their total says, and each starts with a word.

    The fast check of a chunk (one count of its spaces, half the time of
    counting each line's): the spaces between the first line's start and the
    last line's end are exactly ``dim`` a line, and no line has trailing
    whitespace (``trailing``: each line's stripped bytes, blank lines included)
    that the total would count. False sends the chunk to the exact count, line
    by line, which names the first wrong row. The rows the alignment keeps are
    then counted one by one (:func:`_any_row_lacks`), so two wrong rows whose
    errors cancel within one chunk pass only when neither is kept, like a row
    whose extra space makes its word two and drops a value: the values of rows
    that are not kept are never parsed, so they are not checked in any case.

    >>> b = b"a 1 2\nbc 3 4\n"
    >>> a, starts, ends, none = np.frombuffer(b, np.uint8), np.array([0, 6]), np.array([5, 12]), np.zeros(2, np.int64)
    >>> first = _first_spaces(b, starts, ends)
    >>> _rows_all_have(a, 2, starts, ends, first, none), _rows_all_have(a, 3, starts, ends, first, none)
    (True, False)
    """
    if not len(starts):
        return True
    if trailing.any() or (first_spaces <= starts).any():  # -1 (no space) or a space first: an empty word
        return False
    span = a[int(starts[0]):int(ends[-1])]
    flags = (scratch or _Scratch()).array("is_space", len(span), bool)  # np.count_nonzero: 8 times bytes.count's speed
    return int(np.count_nonzero(np.equal(span, 0x20, out=flags))) == dim * len(starts)


def _any_row_lacks(buf: bytes, dim: int, starts: np.ndarray, ends: np.ndarray) -> bool:
    r"""Whether any line ``buf[starts[i]:ends[i]]`` holds other than ``dim`` spaces: the exact check of kept rows.

    >>> _any_row_lacks(b"a 1 2\nb 3\n", 2, np.array([0, 6]), np.array([5, 9]))
    True
    """
    count = buf.count
    return any(count(b" ", s, e) != dim for s, e in zip(starts.tolist(), ends.tolist()))


def _spaces_per_line(a: np.ndarray, starts: np.ndarray, ends: np.ndarray, scratch: _Scratch | None = None) -> np.ndarray:
    r"""For each line ``a[starts[i]:ends[i]]``: how many spaces it holds, from :func:`_spaces_before`.

    No Python-level numpy call per line (a GB of GloVe has 400,000 lines).

    >>> b = b"a 1 2\nbc 3"
    >>> _spaces_per_line(np.frombuffer(b, np.uint8), np.array([0, 6]), np.array([5, 10])).tolist()
    [2, 1]
    """
    if not len(starts):
        return np.zeros(0, np.int64)
    bounds = np.empty(2 * len(starts), dtype=np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    before = _spaces_before(a, bounds, scratch)
    return before[1::2] - before[0::2]


_BYTE_SUM = np.uint64(0x0101010101010101)  # x * this >> 56: the sum of x's 8 bytes, if it is at most 255


def _spaces_before(a: np.ndarray, positions: np.ndarray, scratch: _Scratch | None = None) -> np.ndarray:
    """How many spaces ``a[:p]`` holds, for each of the ascending ``positions`` (each at most ``len(a)``).

    The space flags (0/1 bytes) are read as 8-byte words, and one multiplication
    adds up a word's 8 flags, so the counts per word are an eighth of the bytes;
    they are summed between the positions' words with one ``reduceat``, and the
    flags of a position's own word before it are added with a mask. A third of
    the time of one ``reduceat`` over the bytes themselves. ``scratch`` lends the
    two chunk-sized temporaries.

    >>> _spaces_before(np.frombuffer(b"a b c  d e", np.uint8), np.array([0, 2, 7, 10])).tolist()
    [0, 1, 4, 5]
    """
    n = len(a)
    scratch = scratch or _Scratch()
    # Padded so that position n has a word too; the padding is never counted (a position's own word is masked below it).
    flags = scratch.array("flags", -(-(n + 1) // 8) * 8, np.uint8)
    np.equal(a, 0x20, out=flags[:n].view(bool))
    words = flags.view(np.uint64)
    per_word = np.multiply(words, _BYTE_SUM, out=scratch.array("per_word", len(words), np.uint64))
    per_word >>= np.uint64(56)
    w = positions >> 3
    between = np.add.reduceat(per_word, w)  # between[j]: spaces in words w[j]..w[j+1]-1 ...
    between[:-1][w[:-1] == w[1:]] = 0  # ... except that reduceat gives per_word[w[j]] when w[j] == w[j+1]
    before = np.empty(len(w), dtype=np.int64)
    before[0] = per_word[:w[0]].sum()
    np.cumsum(between[:-1], out=before[1:])
    before[1:] += before[0]
    shift = (positions & 7).astype(np.uint64) * np.uint64(8)
    own = (words[w] & ((np.uint64(1) << shift) - np.uint64(1))) * _BYTE_SUM >> np.uint64(56)
    return before + own.astype(np.int64)


class _Scratch:
    """Chunk-sized work arrays, reused from one chunk to the next.

    A fresh array of a few MB comes from the system as new pages, and faulting
    them in each time cost a third of a whole 1 GB scan; reused, they stay mapped.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, size: int, dtype: Any) -> np.ndarray:
        """An uninitialised array of ``size`` items: a view of the one kept under ``name``, grown when too small."""
        kept = self._arrays.get(name)
        if kept is None or kept.size < size or kept.dtype != dtype:
            kept = self._arrays[name] = np.empty(size + size // 8, dtype=dtype)  # room for the next, larger chunks
        return kept[:size]


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
        self.scratch = _Scratch()
        self.long_lines = False  # the last chunk's lines were _LONG_LINE_BYTES long on average

    def header(self, line: bytes, lineno: int) -> None:
        self.count, self.rows.dim = _parse_header(line, self.path, lineno, self.fmt)
        self.rows.expect(self.count if self.max_rows is None else min(self.count, self.max_rows))
        self.dim_source = "as the header on line 1 says"
        self.lineno = lineno

    def feed(self, buf: bytes, end: int, final: bool) -> bool:
        """Take the whole lines of ``buf[:end]``; True once ``max_rows`` stopped the reading."""
        a = np.frombuffer(buf, dtype=np.uint8, count=end)
        ends = _line_ends(buf, a, self.scratch, long_lines=self.long_lines)
        self.long_lines = len(ends) * _LONG_LINE_BYTES <= end  # how the next chunk's line ends are found
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

        nb_starts, nb_ends = starts[nonblank[:limit]], stripped[nonblank[:limit]]
        if len(nb_starts) and self.first_row is None:
            s, e = int(nb_starts[0]), int(nb_ends[0])
            self.first_row = (lineno0 + int(nonblank[0]), buf[s:e])
            if self.count is None:
                self.rows.dim = buf.count(b" ", s, e)
                self.dim_source = f"as on line {self.first_row[0]}"
        seps = _first_spaces(buf, nb_starts, nb_ends)
        if _rows_all_have(a, self.rows.dim, nb_starts, nb_ends, seps, ends - stripped, self.scratch):
            n_values, upto = None, len(nb_starts)
        else:  # some row is wrong: count each row's values to find the first
            n_values = _spaces_per_line(a, nb_starts, nb_ends, self.scratch)
            bad = np.flatnonzero((n_values != self.rows.dim) | (seps <= nb_starts))
            upto = int(bad[0]) if len(bad) else len(nb_starts)
        seps_list = seps[:upto].tolist()
        raw_words = list(map(buf.__getitem__, map(slice, nb_starts[:upto].tolist(), seps_list)))
        linenos = (lineno0 + nonblank[:upto]).tolist()
        prefiltered = self._prefiltered(raw_words, linenos)
        if prefiltered is None:
            words, word_error = self._decode(raw_words, linenos)
            if word_error is not None:
                upto = len(words)
            kept = self.rows.select(words, linenos)
        else:
            kept, word_error, decoded = prefiltered
            if word_error is not None:
                upto = decoded
        if n_values is None and _any_row_lacks(buf, self.rows.dim, nb_starts[kept], nb_ends[kept]):
            # A kept row of the wrong shape, hidden from the chunk's total by another row's error:
            # count every row, as for a chunk whose total is off, and stop at the first wrong one.
            n_values = _spaces_per_line(a, nb_starts, nb_ends, self.scratch)
            upto, word_error = int(np.flatnonzero(n_values != self.rows.dim)[0]), None  # before any word error
            kept = [i for i in kept if i < upto]
        if self.kept_lines is not None:
            self.kept_lines.extend(linenos[i] for i in kept)
        for i, end in zip(kept, nb_ends[kept].tolist()):
            self.rows.add(buf[seps_list[i] + 1:end], linenos[i])
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

    def _prefiltered(
        self, raw: list[bytes], linenos: list[int]
    ) -> tuple[list[int], DataError | None, int] | None:
        """With a bytes prefilter: the rows to keep, the first bad word's error and how many words came before it.

        ASCII words decode alike in every encoding bulk decoding allows, and cannot
        fail to. So of the ASCII words only those whose prefilter form is a key (a
        few percent of a large file) are decoded and given to the real test; the
        others are unwanted. Other words (non-ASCII, or holding a NUL: real GloVe
        files have some in nearly every chunk) are all decoded, checked and tested,
        so a bad one raises as it would on the general path. None: no prefilter.
        """
        prefilter = self.rows.prefilter
        if prefilter is None or not self.bulk_decode or not raw:
            return None
        blob = b"\n".join(raw)
        candidates = prefilter_candidates(prefilter, blob)
        if blob.isascii() and b"\x00" not in blob:
            self.rows.unwanted += len(raw) - len(candidates)
            kept = self.rows.select([raw[i].decode("ascii") for i in candidates], [linenos[i] for i in candidates])
            return [candidates[k] for k in kept], None, len(raw)
        others = set(itertools.compress(range(len(raw)), map(operator.not_, map(bytes.isascii, raw))))
        if b"\x00" in blob:
            others.update(i for i, w in enumerate(raw) if b"\x00" in w)
        tested = sorted(others.union(candidates))
        words, error = self._decode([raw[i] for i in tested], [linenos[i] for i in tested])
        decoded = len(raw) if error is None else tested[len(words)]  # the words before the bad one
        tested = tested[:len(words)]
        self.rows.unwanted += decoded - len(tested)
        kept = self.rows.select(words, [linenos[i] for i in tested])
        return [tested[k] for k in kept], error, decoded

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
            # When a row past max_rows stopped the reading, that line was looked at but is not counted.
            "lines_read": self.lineno - 1 if self.stopped else self.lineno,
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
