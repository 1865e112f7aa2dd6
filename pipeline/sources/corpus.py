"""Reading a text corpus: one sentence per line, whitespace-separated tokens.

A corpus is one or more files or folders (a folder means every regular,
non-hidden file in it, sorted by name, not recursive); each may be plain,
``.gz`` or ``.bz2``. Used both to train word2vec and to count a vocabulary.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from pipeline.config import resolve_input
from pipeline.errors import ConfigError, DataError, StorageError, open_error
from pipeline.sources.files import open_binary


def corpus_files(specs: Sequence[str], base_dir: str | os.PathLike, key: str = "vectors.corpus") -> list[Path]:
    """Expand config corpus entries (files, folders, ``gensim-test:`` names) into files.

    ``key``: the config key that listed them, for the errors about the list itself.

    >>> corpus_files(["gensim-test:lee_background.cor"], ".")[0].name
    'lee_background.cor'
    """
    if not specs:
        raise ConfigError(f"The '{key}' parameter must list one or more files or folders. Got [] instead.")
    files: list[Path] = []
    listed_by: dict[Path, str] = {}  # each file's real path -> the entry that brought it
    for spec in specs:
        path = resolve_input(spec, base_dir)
        if path.is_dir():
            try:
                found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            except OSError as exc:  # a folder we may not list (no read permission)
                raise open_error(path, exc, "corpus folder") from None
            if not found:
                raise DataError("corpus folder has no files (expected text files, one sentence per line)", path)
        elif path.exists():
            found = [path]
        else:
            raise StorageError("cannot read corpus: no such file or folder (expected an existing file)", path)
        for file in found:
            real = Path(os.path.realpath(file))
            if real in listed_by:  # its sentences would be trained on and counted twice
                raise ConfigError(f"The '{key}' parameter lists {file} twice: through {listed_by[real]!r} and "
                                  f"{spec!r} (expected each file once)")
            listed_by[real] = spec
        files.extend(found)
    return files


def iter_sentences(
    files: Sequence[Path],
    *,
    lowercase: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> Iterator[list[str]]:
    """Yield each non-empty line of each file as a list of tokens (``str.split()`` of the decoded line).

    A byte sequence that is not valid ``encoding`` raises :class:`DataError`
    with the file and line (set ``encoding_errors = "replace"`` to accept it),
    and so does a NUL byte (see :func:`nul_byte_error`). A UTF-8 byte-order mark
    at the start of a file is not part of the first token.
    """
    for block in corpus_blocks(files, lowercase=lowercase, encoding=encoding, errors=errors):
        for line in block.decode("utf-8").split("\n")[:-1]:
            yield line.split(" ")


def corpus_blocks(
    files: Sequence[Path],
    *,
    lowercase: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> Iterator[bytes]:
    """Yield the corpus as blocks of normalised lines: the fast way to read a large corpus.

    A block is UTF-8 text of whole lines, each a non-empty sentence whose tokens
    (those of :func:`iter_sentences`) are joined by single spaces and which ends
    in ``"\\n"``. So ``block.split()`` gives the block's tokens as UTF-8 bytes and
    ``block.count(b"\\n")`` its sentences, at C speed, with no Python call per
    line or token.

    Most blocks of a real corpus are that already: ASCII (or valid UTF-8) with
    single spaces and no other whitespace. Such a block is checked with a few
    whole-block operations and passed on as it is, blank lines dropped. Any other
    block (tabs, runs of spaces, a byte-order mark, a NUL, bytes the encoding
    refuses, an encoding other than UTF-8 for non-ASCII text) is rebuilt line by
    line, which also names the file and line of a bad byte.
    """
    utf8 = codecs.lookup(encoding).name == "utf-8"
    for path in files:
        for raw, first_line in _raw_blocks(path):
            block = _normalised(raw, first_line, lowercase, utf8, errors)
            if block is None:
                block = _normalise_by_line(raw, first_line, path, lowercase, encoding, errors)
            if block:
                yield block


def count_tokens(
    files: Sequence[Path],
    *,
    lowercase: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[dict[str, int], int]:
    """Each token's count, in order of first appearance, and the number of sentences (non-empty lines).

    The tokens and their order are those of :func:`iter_sentences`, which is also
    the order gensim's vocabulary scan sees them in; counted a block at a time.
    """
    counts: Counter[bytes] = Counter()
    sentences = 0
    for block in corpus_blocks(files, lowercase=lowercase, encoding=encoding, errors=errors):
        counts.update(block.split())  # a C loop over the block's tokens; a Counter keeps first-seen order
        sentences += block.count(b"\n")
    return {token.decode("utf-8"): n for token, n in counts.items()}, sentences


# A block of whole lines is read this many bytes at a time.
_BLOCK_BYTES = 4 << 20
# Every character str.split() splits on but " " and "\n" (tests/test_corpus.py checks the list against
# str.isspace, which is the same test, over all of Unicode). A block holding none of them, no run of
# spaces and no space at either end of a line is already tokens joined by single spaces.
_OTHER_SPACES = "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)
_OTHER_ASCII_SPACES = [ord(c) for c in _OTHER_SPACES if ord(c) < 0x80]
_OTHER_UTF8_SPACES = re.compile(b"|".join(re.escape(c.encode("utf-8")) for c in _OTHER_SPACES if ord(c) >= 0x80))
_BLANK_LINES = re.compile(rb"\n\n+")
_UTF8_BOM = b"\xef\xbb\xbf"


def _raw_blocks(path: Path) -> Iterator[tuple[bytes, int]]:
    """Yield ``(bytes of whole lines, number of its first line)``; the last line always ends in ``\\n``."""
    lineno = 1
    parts: list[bytes] = []  # the start of a line that has not ended yet
    with open_binary(path) as fh:
        while True:
            try:
                data = fh.read(_BLOCK_BYTES)
            except (EOFError, OSError, zlib.error) as exc:
                # Cut short (EOFError): the lines before the cut read back whole. Damaged data (a failed
                # CRC, an invalid stream) may have decompressed to garbage lines first: no line to name.
                line = _whole_lines_before_damage(path) + 1 if isinstance(exc, EOFError) else None
                raise DataError(f"corpus file is damaged or cut short ({exc})", path, line) from None
            if not data:
                if parts:
                    yield b"".join(parts) + b"\n", lineno
                return
            end = data.rfind(b"\n") + 1
            if end == 0:
                parts.append(data)  # one line longer than a block: read on
                continue
            block = b"".join([*parts, data[:end]]) if parts else data[:end]
            parts = [data[end:]] if end < len(data) else []
            yield block, lineno
            lineno += block.count(b"\n")


def _whole_lines_before_damage(path: Path) -> int:
    """How many lines of a damaged file read back whole (a block read fails before yielding any of them)."""
    count = 0
    with contextlib.suppress(EOFError, OSError, zlib.error), open_binary(path) as fh:
        for count, _ in enumerate(fh, start=1):  # noqa: B007 - the count is what we want
            pass
    return max(0, count - 1)  # the last line read may be the cut one


def _normalised(raw: bytes, first_line: int, lowercase: bool, utf8: bool, errors: str) -> bytes | None:
    """``raw`` as a block of normalised lines, checked in bulk; None: the block needs reading line by line."""
    if b"\x00" in raw or (first_line == 1 and raw.startswith(_UTF8_BOM)):
        return None
    if raw.isascii():  # the same text in every ASCII-compatible encoding; bytes.lower() is str.lower()
        block = raw.lower() if lowercase else raw
    elif utf8:
        try:
            text = raw.decode("utf-8", errors)  # b"\n" is never part of a UTF-8 sequence: lines decode alone
        except UnicodeDecodeError:
            return None  # the line-by-line reading names the line
        if lowercase:
            text = text.lower()  # per character, context never crossing a line end: as line by line
        block = text.encode("utf-8") if lowercase or errors != "strict" else raw
        if _OTHER_UTF8_SPACES.search(block):
            return None
    else:
        return None
    if any(map(block.__contains__, _OTHER_ASCII_SPACES)):  # a memchr each
        return None
    a = np.frombuffer(block, dtype=np.uint8)
    newline = a == 0x0A
    separator = newline | (a == 0x20)
    pairs = np.flatnonzero(separator[1:] & separator[:-1])  # two separators in a row
    if a[0] == 0x20 or not (newline[pairs] & newline[pairs + 1]).all():
        return None  # a run of spaces, or a space at the start or end of a line
    if len(pairs) or a[0] == 0x0A:  # blank lines: the only pairs left
        block = _BLANK_LINES.sub(b"\n", block).lstrip(b"\n")
    return block


def _normalise_by_line(
    raw: bytes, first_line: int, path: Path, lowercase: bool, encoding: str, errors: str
) -> bytes:
    """``raw`` as a block of normalised lines, decoding and splitting each line (and naming a bad one)."""
    out = []
    for lineno, line_bytes in enumerate(raw.split(b"\n")[:-1], start=first_line):
        if b"\x00" in line_bytes:
            raise nul_byte_error(path, lineno, encoding)
        try:
            line = line_bytes.decode(encoding, errors)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"bytes that are not valid {encoding} ({exc.reason} at byte {exc.start}) "
                f'(expected {encoding} text, or set encoding_errors = "replace")',
                path,
                lineno,
            ) from None
        if lineno == 1 and line.startswith("\ufeff"):
            line = line[1:]  # a byte-order mark is not part of the first token
        tokens = (line.lower() if lowercase else line).split()
        if tokens:
            out.append(" ".join(tokens).encode("utf-8"))
    return b"\n".join(out) + b"\n" if out else b""


def nul_byte_error(path: str | os.PathLike, lineno: int, encoding: str) -> DataError:
    """The DataError for a text line holding a NUL (corpus and token files alike).

    Real tokens never hold one; a UTF-16 file without a BOM (every ASCII letter
    followed by a zero byte), a binary file, or a file whose tail a crash left
    zero-filled does -- and would otherwise become a vocabulary of garbage.
    """
    return DataError(
        f"line holds a NUL byte (is this a UTF-16 or binary file, or a damaged one? expected {encoding} text)",
        path,
        lineno,
    )
