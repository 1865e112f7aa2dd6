"""Opening input files: plain, gzip or bzip2 (told by the first bytes, not the name), with one-line errors.

Use :func:`open_binary` for every input file so that a
missing file, a directory or a permission problem becomes a
:class:`~pipeline.errors.StorageError` (exit 74), and a cut-short compressed
file a :class:`~pipeline.errors.DataError` (exit 65) from the reading code
(:func:`read_failure` tells the two apart for a read that fails midway).
:func:`describe_file` gives an input's identity for manifests and cache keys
(:func:`file_sha256` of its bytes as stored). Helpers that write, swap or fork
are in :mod:`pipeline.system`.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from pathlib import Path
from typing import IO, Any

from pipeline.errors import DataError, StorageError, open_error

GZIP_MAGIC = b"\x1f\x8b"
# bzip2: "BZh", the block size "1".."9", then the first block's magic (pi) or, for an empty
# stream, the end-of-stream magic (sqrt(pi)). "BZh" alone is also how a text word may start.
_BZIP2_BLOCK_MAGICS = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")


def _refuse_special(path: str | os.PathLike) -> None:
    """StorageError for a pipe, socket or device, before it is opened: opening a pipe waits for a
    writer, /dev/zero would be hashed forever, and every input is read twice (hashed, then parsed).
    A missing file or a folder is left to ``open``, whose error says so. An int is refused too:
    ``open`` would take it for a file descriptor, and close the caller's file when done."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"a path must be a str or os.PathLike, not {type(path).__name__}: {path!r}")
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise StorageError("not a regular file (expected a file that can be read twice: hashed, then parsed)", path)


def compression_of(path: str | os.PathLike) -> str | None:
    """``"gzip"``, ``"bz2"`` or None, from the file's first bytes (not its name)."""
    _refuse_special(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
    except OSError as exc:
        raise open_error(path, exc) from None
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if len(head) == 10 and head[:3] == b"BZh" and head[3] in b"123456789" and head[4:] in _BZIP2_BLOCK_MAGICS:
        return "bz2"
    return None


def universal_newlines(text: str) -> str:
    """``text`` with every ``\\r\\n`` and bare ``\\r`` made ``\\n``, as Python's text mode reads files.

    Only these three end a line (``str.splitlines`` would also split on ``\\x0c``, ``\\u2028`` ...).

    >>> universal_newlines("a\\r\\nb\\rc\\n")
    'a\\nb\\nc\\n'
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open ``path`` for reading bytes, decompressing gzip/bzip2 transparently."""
    kind = compression_of(path)  # refuses a pipe or device
    try:
        if kind == "gzip":
            import gzip  # here, not at the top: a cached read never opens a compressed file

            return gzip.open(path, "rb")
        if kind == "bz2":
            import bz2

            return bz2.open(path, "rb")
        return open(path, "rb")
    except OSError as exc:
        raise open_error(path, exc) from None


def file_sha256(path: str | os.PathLike, chunk: int = 8 << 20) -> str:
    """Hex sha256 of the file's bytes as stored (compressed files are hashed compressed).

    Large blocks read into one reused buffer: hashed on a thread beside a scan
    that holds the GIL, each block costs a wait for the GIL, and 1 MiB blocks made
    the pair 20% slower than 8 MiB ones (a fresh block per read also faults in new pages).
    """
    h = hashlib.sha256()
    try:
        _refuse_special(path)
        with open(path, "rb", buffering=0) as fh:
            # A small file gets a small buffer; a /proc file (size 0) 64 KiB at least.
            buffer = bytearray(min(chunk, max(os.fstat(fh.fileno()).st_size, 1 << 16)))
            view = memoryview(buffer)
            while size := fh.readinto(buffer):
                h.update(view[:size])
    except OSError as exc:
        raise open_error(path, exc) from None
    return h.hexdigest()


def describe_file(path: str | os.PathLike) -> dict[str, Any]:
    """Identity of an input file for manifests and cache keys: path, size, mtime and sha256."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise open_error(path, exc) from None
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(p)}


def damaged_stream(path: str | os.PathLike, chunk: int = 8 << 20) -> DataError | None:
    """For a gzip/bzip2 file: the DataError of a damaged stream, found by decompressing it to the end.

    None for a plain file or an intact stream. A flipped byte inside a gzip or
    bzip2 stream often decompresses to garbage first and fails its CRC check
    only at the end of the member or block, so a reader sees a bad row before
    the damage is reported. Readers call this when a compressed file's rows
    look wrong, so that the message says the file is damaged, not what the
    garbage looked like.
    """
    if compression_of(path) is None:
        return None
    try:
        with open_binary(path) as fh:
            while fh.read(chunk):
                pass
    except (EOFError, OSError, zlib.error) as exc:
        error = read_failure(path, exc, "")
        return error if isinstance(error, DataError) else None
    return None


def read_failure(path: str | os.PathLike, exc: BaseException, where: str) -> Exception:
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
            f"{kind} data is damaged or cut short{' ' if where else ''}{where} ({exc}) (expected a complete {kind} file)",
            path,
        )
    return open_error(path, exc)
