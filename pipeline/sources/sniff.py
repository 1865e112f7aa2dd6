"""The first lines of a vectors file: the word2vec header ``count dim``, and text rows versus binary bytes.

Use these helpers when a reader needs to know what the start of a file says
before reading the rows: :func:`~pipeline.sources.readers.detect_format` tells
the format from them, the text and binary readers parse the header line with
:func:`_parse_header`, and the binary reader refuses a text file given as
``format = "word2vec-binary"`` with :func:`_check_really_binary`.
"""

from __future__ import annotations

import codecs
import os
import re
import zlib

import numpy as np

from pipeline.errors import DataError
from pipeline.sources.files import open_binary, read_failure

# The formats whose line 1 is a header 'count dim'.
_HEADER_FORMATS = ("word2vec-text", "word2vec-binary", "fasttext-vec")
_BOM = codecs.BOM_UTF8
_DETECT_LINE_BYTES = 1 << 20  # detection reads at most this much of the first two lines
_HEADER_FIELD = re.compile(rb"[+-]?[0-9]{1,30}")  # one field of a word2vec header line 'count dim'


def _first_two_lines(path: str | os.PathLike) -> tuple[bytes, bytes]:
    """The first two lines as bytes (each at most 1 MB; b"" past the end of the file)."""
    with open_binary(path) as fh:
        try:
            first = fh.readline(_DETECT_LINE_BYTES)
            second = fh.readline(_DETECT_LINE_BYTES)
        except (EOFError, OSError, zlib.error) as exc:
            raise read_failure(path, exc, "while reading the first lines") from None  # a whole block: not line 1 itself
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


def _first_record_values(path: str | os.PathLike, dim: int) -> bytes:
    """The bytes a word2vec binary file's first vector would be (at most 4 KiB of them): those after the
    first space past the header line, whatever newlines they hold. (Float32 bytes hold 0x0A too: line 2
    as text may end inside the vector, before any byte that shows it is binary.)"""
    size = min(4 * dim, 4096)
    with open_binary(path) as fh:
        try:
            fh.readline(_DETECT_LINE_BYTES)
            head = fh.read(_DETECT_LINE_BYTES + size)  # the word, its space, the vector
        except (EOFError, OSError, zlib.error) as exc:
            raise read_failure(path, exc, "while reading the first lines") from None
    _word, _space, values = head.partition(b" ")
    return values[:size]


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
