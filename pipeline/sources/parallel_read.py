"""Reading a large plain text file with two processes, each scanning one half, then merging the halves.

Use :func:`_parallel_workers` to decide whether a file is worth splitting
(plain, not compressed, at least ``_PARALLEL_BYTES``, two cores), then
:func:`_read_text_parallel`, which returns the very result a one-process
:func:`~pipeline.sources.text_scan._read_text` gives, or None when anything is
off (the caller then reads the file in one process, which names the error).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from pipeline.errors import PipelineError
from pipeline.sources.files import compression_of, crc32_combine
from pipeline.sources.rows import _DUPLICATE_EXAMPLES, _Rows
from pipeline.sources.sniff import _BOM, _DETECT_LINE_BYTES, _HEADER_FORMATS, _header_numbers
from pipeline.sources.text_scan import RunningCrc32, _line_chunks, _TextScan
from pipeline.system import can_fork_a_helper, die_with_parent

# One logger for the whole of read_vectors (see text_scan.py).
logger = logging.getLogger("pipeline.sources.readers")

# A plain text file this large is read by two processes (where there are two cores).
_PARALLEL_BYTES = 64 << 20


def _parallel_workers(path: str | os.PathLike, workers: int | None) -> int:
    """How many processes to read ``path`` with: 1 unless it is a plain file of ``_PARALLEL_BYTES`` or more."""
    if not can_fork_a_helper(workers):
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
    checksum: bool = False,
) -> tuple[tuple[str, ...], np.ndarray, dict[str, Any], list[str], tuple[str, int] | None] | None:
    """Read a plain text file in two parts, this process and a forked one; None: read it sequentially.

    The second part starts after the first ``\\n`` past half of the file's bytes. Each part is
    scanned exactly as the sequential reader would (same chunks, checks and
    batches); the child writes its kept rows' float32 bytes to a temporary file
    and sends words, counts and repeats through a pipe. Merging keeps the first
    occurrence of a word that both halves hold. Any problem in either half (a
    bad row, a wrong row count, the child failing) gives None: the caller then
    reads the file from the start in one process, which raises the error with
    the exact line and message a sequential read gives, so a damaged file costs
    one more scan and nothing else.

    With ``checksum`` each process also takes the CRC-32 of the bytes it reads
    (the data is in the CPU's cache then: half the cost of a pass of its own), and
    the last item is the file's (:func:`~pipeline.sources.files.crc32_combine`) and the
    size it covers, or None when the halves did not cover the bytes seen at the start.
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

    import multiprocessing
    import tempfile

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    # The child's rows go to a file with no name (removed by the system with its last
    # descriptor), so that no kill of either process can leave it behind.
    part = tempfile.TemporaryFile(prefix="embpipe-rows-", suffix=".f32")
    child = ctx.Process(
        target=_read_second_half,
        args=(os.getpid(), receive, send, path, fmt, keep, encoding, errors, dim, split, size, part, checksum),
        name="embpipe-read",
        daemon=True,
    )
    try:
        child.start()
        send.close()
        rows = _Rows(path, keep, encoding, binary=False)
        scan = _TextScan(path, fmt, rows, encoding, errors, None)
        crc = RunningCrc32() if checksum else None
        try:
            with open(path, "rb") as fh:
                start = 0
                if fmt in _HEADER_FORMATS:
                    header_line = fh.readline(_DETECT_LINE_BYTES)
                    if crc is not None:
                        crc.update(header_line)
                    scan.header(header_line.removeprefix(_BOM), 1)
                    start = len(header_line)
                for buf, end, final in _line_chunks(fh, path, skip_bom=start == 0, stop=split - start, crc=crc):
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
        merged = _merge_halves(path, scan, rows, outcome[1], part)
        if merged is None:
            return None
        whole = None
        second_crc = outcome[1]["crc"]
        if crc is not None and second_crc is not None and crc.length == split and second_crc[1] == size - split:
            whole = (format(crc32_combine(crc.value, *second_crc), "08x"), size)
        return (*merged, whole)
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
            child.join()
        part.close()


def _read_second_half(parent, receive, send, path, fmt, keep, encoding, errors, dim, split, size, part, checksum) -> None:
    """The forked child: scan bytes ``split``..``size``; kept rows to ``part``, the rest through ``send``."""
    die_with_parent(parent)
    receive.close()  # the parent's end
    try:
        rows = _Rows(path, keep, encoding, binary=False)
        rows.dim = dim
        scan = _TextScan(path, fmt, rows, encoding, errors, None, progress=False)
        scan.first_row = (0, b"")  # the dimension is known: it is not learned from this half
        scan.kept_lines = []
        crc = RunningCrc32() if checksum else None
        with open(path, "rb") as fh:
            fh.seek(split)
            for buf, end, final in _line_chunks(fh, path, skip_bom=False, stop=size - split, crc=crc):
                scan.feed(buf, end, final)
        rows.flush()
        words, matrix = rows.finish()
        matrix.tofile(part)
        part.flush()
        send.send(("ok", {
            "words": list(words),
            "kept_lines": scan.kept_lines,
            "lines": scan.lineno,
            "rows_read": scan.rows_read,
            "blank": scan.blank,
            "unwanted": rows.unwanted,
            "duplicate_rows": rows.duplicate_rows,
            "crc": (crc.value, crc.length) if crc is not None else None,
        }))
    except BaseException as exc:  # noqa: BLE001 - any failure: the parent reads sequentially
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()


def _merge_halves(
    path: str | os.PathLike, scan: _TextScan, rows: _Rows, second: dict[str, Any], part: IO[bytes]
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
        part.seek(0)  # the child wrote through a copy of the same open file, which moved the shared offset
        if not any(later):
            got = part.readinto(memoryview(matrix[n1:]).cast("B"))
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
    logger.debug("%s: read in two parts split at line %d", path, offset + 1)
    return words, matrix, stats, duplicates
