"""Reading a text corpus: one sentence per line, whitespace-separated tokens.

A corpus is one or more files or folders (a folder means every regular,
non-hidden file in it, sorted by name, not recursive); each may be plain,
``.gz`` or ``.bz2``. Used both to train word2vec and to count a vocabulary.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from pipeline.config import resolve_input
from pipeline.errors import DataError, StorageError, open_error
from pipeline.sources.files import open_binary


def corpus_files(specs: Sequence[str], base_dir: str | os.PathLike) -> list[Path]:
    """Expand config corpus entries (files, folders, ``gensim-test:`` names) into files.

    >>> corpus_files(["gensim-test:lee_background.cor"], ".")[0].name
    'lee_background.cor'
    """
    if not specs:
        raise DataError("no corpus given (expected one or more files or folders in 'corpus')")
    files: list[Path] = []
    for spec in specs:
        path = resolve_input(spec, base_dir)
        if path.is_dir():
            try:
                found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            except OSError as exc:  # a folder we may not list (no read permission)
                raise open_error(path, exc, "corpus folder") from None
            if not found:
                raise DataError("corpus folder has no files (expected text files, one sentence per line)", path)
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise StorageError("cannot read corpus: no such file or folder (expected an existing file)", path)
    return files


def iter_sentences(
    files: Sequence[Path],
    *,
    lowercase: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> Iterator[list[str]]:
    """Yield each non-empty line of each file as a list of tokens.

    A byte sequence that is not valid ``encoding`` raises :class:`DataError`
    with the file and line (set ``encoding_errors = "replace"`` to accept it),
    and so does a NUL byte (see :func:`nul_byte_error`).
    """
    for path in files:
        lineno = 0
        # Bytes are decoded line by line (not through TextIOWrapper, whose decode errors point
        # at the start of an 8 KiB chunk) so that a bad byte is reported on its own line.
        with open_binary(path) as fh:
            try:
                for lineno, raw in enumerate(fh, start=1):
                    if b"\x00" in raw:
                        raise nul_byte_error(path, lineno, encoding)
                    try:
                        line = raw.decode(encoding, errors)
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
                        yield tokens
            except (EOFError, OSError, zlib.error) as exc:
                raise DataError(f"corpus file is damaged or cut short ({exc})", path, lineno + 1) from None


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
