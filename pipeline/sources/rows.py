"""The rows a reader keeps: which rows to keep, and their numbers converted to one float32 matrix.

Use :class:`_Rows` in a reader of any format: the reader hands it each row's
word (:meth:`_Rows.wants`, or :meth:`_Rows.select` for a list of rows) and the
kept rows' raw numbers (text) or vector bytes (binary) with :meth:`_Rows.add`;
:meth:`_Rows.finish` gives the words and the matrix. Numbers are converted a
batch at a time, bit-for-bit as gensim converts them, and checked finite.
:func:`_decode_word` turns a row's word bytes into text for both formats.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from pipeline.errors import DataError

# Numbers are converted this many values at a time: large enough that the
# per-call cost vanishes, small enough that the batch's text (~10 bytes a
# value) stays a few MB whatever the file's size.
_BATCH_VALUES = 1 << 20
_DUPLICATE_EXAMPLES = 5  # repeated words named in stats["duplicate_examples"] and the warning
# With a header, the matrix is allocated for its row count at once, up to this size: a damaged
# header that claims 10**12 rows must not ask for terabytes (the matrix still grows past it).
_PREALLOCATE_BYTES = 1 << 28
# Without a header, the first block of the matrix has room for 1024 rows -- or fewer, so that
# it stays under this size: one GloVe row of 26M values must not ask for 1024 x 100 MB.
_FIRST_BLOCK_BYTES = 64 << 20


def prefilter_candidates(prefilter: tuple[bytes, frozenset[bytes]], blob: bytes) -> list[int]:
    """Indices of the ``\\n``-separated ASCII words in ``blob`` that pass ``prefilter`` (``ascii_prefilter``
    of :func:`pipeline.align.wanted_predicate`): only those can be wanted.

    >>> prefilter_candidates((bytes(range(256)), frozenset({b"b"})), b"a\\nb\\nc")
    [1]
    """
    table, keys = prefilter
    return list(itertools.compress(itertools.count(), map(keys.__contains__, blob.translate(table).split(b"\n"))))


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
    ):
        self.path = path
        self.keep = keep
        self.keep_many = None if keep is None else _many(keep)
        # (translate table, keys): an ASCII word can be kept only if word.translate(table) is a key.
        self.prefilter: tuple[bytes, frozenset[bytes]] | None = getattr(keep, "ascii_prefilter", None)
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
        if len(tokens) != self.dim:  # the scan counted the values already: this only keeps a wrong row out
            raise DataError(f"row has {len(tokens)} values, expected {self.dim}", self.path, line)
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
                # A file whose lines end in a bare CR reads as one long line: say so.
                hint = "; this file seems to end lines with a bare CR, but only LF or CRLF end a line" if "\r" in token else ""
                raise DataError(
                    f"value {i} is not a number: {token[:40]!r} (expected a decimal like -0.0123 or 1e-05{hint})",
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
    and refuses empty fields and stray characters. It was the fastest option
    on 30M values (100k rows x 300): 44 ns a value, against 67 for
    ``np.fromstring(sep=" ")`` (which also takes tabs and double spaces as
    separators), 85 for ``np.array(joined.split(b" "), dtype=float32)`` and 640
    for gensim's own per-token ``np.float32``.

    >>> _parse_numbers_bulk([b"0.5 -1", b"2e-3 4"]).tolist()
    [[0.5, -1.0], [0.0020000000949949026, 4.0]]
    """
    blob = b"\n".join(rows)
    if not blob.isascii() or np.count_nonzero(np.frombuffer(blob, np.uint8) < 0x20) != len(rows) - 1:
        # Control bytes or non-ASCII text: np.loadtxt takes "2\x1c" and "2\xa0" as 2 (it strips more than
        # gensim's np.float32 does), so such rows are parsed one by one, as gensim does.
        raise ValueError("a control byte or non-ASCII text among the numbers")
    return np.loadtxt(
        io.BytesIO(blob),
        dtype=np.float32,
        delimiter=" ",
        comments=None,
        quotechar=None,
        encoding="latin-1",
        ndmin=2,
    )


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
