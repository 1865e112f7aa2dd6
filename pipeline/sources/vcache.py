"""A cache of whole vector files: parse a GloVe or word2vec file once, then load it in milliseconds.

Use :func:`cached_read` instead of :func:`~pipeline.sources.readers.read_vectors`
when the same big vector file is aligned to vocabularies again and again
(``[cache] vectors = true``). The first read parses every row of the file (in
two processes where that helps) and stores them; every later read of the same
*content*, for any ``wanted`` set, memory-maps the stored matrix and copies out
only the wanted rows, without parsing text and without importing gensim. The
result is the one ``read_vectors(path, format, wanted=...)`` gives: the same
words in file order, bit-for-bit the same float32 rows, the same ``source`` and
``stats`` (plus ``stats["vectors_cache"]``: ``"hit"``, ``"built"`` or ``"not cached"``).

The trade-off: without the cache a filtered read converts only the wanted
rows (about 1 s for 20,000 of 400,000 x 300); the first cached read converts
all of them (several seconds, and the whole matrix in memory once) and writes
about ``rows x dim x 4`` bytes to the cache folder. Every read after that costs
a few tens of milliseconds.

Entries live in ``<cache_dir>/vectors/<key>/``; ``cache_dir`` is the stage
cache's folder (``[cache] dir``, else ``$EMBPIPE_CACHE_DIR``, else
``$XDG_CACHE_HOME/embpipe``, else ``~/.cache/embpipe``). The key is the file's
content identity (size and CRC-32, the CRC memoised against the file's stat
by :func:`pipeline.cache.file_identity`, so a changed file, even with the same
name, size and mtime, is taken for the old one only if its CRC-32 is the same:
never for a change of up to 32 bits in a row, about once in 4 billion otherwise)
plus the format, encoding and ``encoding_errors``. An entry holds, never a pickle:

- ``vectors.npy``: float32 ``(rows, dim)``, every row of the file (repeats skipped);
- ``words.txt``: the words, UTF-8, one a line (``words.json`` if a word holds a newline);
- ``duplicates.json``: the word of every row skipped as a repeat, in file order
  (so that filtered ``stats`` come out as a filtered read counts them);
- ``row_crc32.npy``: uint32 ``(rows,)``, the CRC-32 of each row's 4 x dim bytes;
- ``meta.json``: shape, the full read's stats, the source identity, each file's
  size and the sha256 of the three small files;
- ``done.json``: the key and the sha256 of ``meta.json``, written last. The entry is
  written in a temporary folder and renamed into place, so a reader sees a
  complete entry or none.

Every row handed out is checked against its CRC-32 after it is copied out of
the mapped matrix (about 10 ms for 20,000 rows of 300; hashing all of
``vectors.npy`` on every load would cost more than the load), so a damaged row
is never used, wherever the damage is. An entry that fails any check (no
``done.json``, a file of the wrong size or hash, a matrix of the wrong shape, a
row that differs from its CRC-32) is logged, removed and rebuilt.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import mmap
import os
import shutil
import time
import uuid
import warnings
import zlib
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.cache import content_key, file_identity, fingerprint, remove_leftover_temp_folders
from pipeline.errors import DataError
from pipeline.sources import Vectors
from pipeline.sources.readers import _check_arguments, _read_file, _wanted_test, detect_format
from pipeline.sources.rows import _many, prefilter_candidates
from pipeline.system import remove_path

logger = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: a CRC-32 per row instead of a sampled hash of vectors.npy
DONE = "done.json"


def cached_read(
    path: str | os.PathLike,
    format: str = "auto",
    *,
    cache_dir: str | os.PathLike,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    wanted: Collection[str] | Callable[[str], bool] | None = None,
) -> Vectors:
    """``read_vectors(path, format, encoding=..., encoding_errors=..., wanted=...)``, through the vectors cache.

    The returned matrix is an ordinary array holding only the wanted rows (not a
    view of the memory-mapped cache file). A file whose full read fails on a
    row that ``wanted`` would skip (e.g. a ``nan`` in an unwanted row) is read
    filtered instead and not cached, so the cache never changes what is
    accepted.

    >>> v = cached_read("glove.840B.300d.txt", cache_dir="~/.cache/embpipe", wanted={"cat"})  # doctest: +SKIP
    >>> v.words, v.stats["vectors_cache"]  # doctest: +SKIP
    (('cat',), 'hit')
    """
    _check_arguments(format, encoding, encoding_errors, None)
    keep = _wanted_test(wanted)
    cache_dir = Path(os.path.expanduser(cache_dir))
    identity = file_identity(path, cache_dir)  # a memo that cannot be written costs a hash next time, not the read
    fmt = detect_format(path, encoding) if format == "auto" else format
    key = fingerprint("vectors-cache", CACHE_VERSION, content_key(identity), fmt, encoding, encoding_errors)
    entry = cache_dir / "vectors" / key
    source = {"kind": "file", "path": str(path), "format": fmt, **identity}

    started = time.perf_counter()
    loaded = _load(entry)
    if loaded is not None:
        words, matrix, meta, duplicates, row_crc32 = loaded
        out_words, out_matrix, stats, index = _select(words, matrix, meta["stats"], duplicates, keep)
        damaged = _first_damaged_row(out_matrix, row_crc32 if index is None else row_crc32[index])
        if damaged is None:
            seconds = time.perf_counter() - started
            logger.info("vectors cache hit for %s (%d x %d) in %.3f s", path, *matrix.shape, seconds,
                        extra={"stage": "vectors", "event": "vectors_cache_hit", "seconds": round(seconds, 3),
                               "rows_cached": len(matrix), "rows_kept": len(out_words)})
            return Vectors(words=out_words, matrix=out_matrix, source=source, stats={**stats, "vectors_cache": "hit"})
        row = damaged if index is None else int(index[damaged])
        _discard(entry, f"row {row} of vectors.npy differs from what was written")

    try:
        read = _read_file(path, fmt, encoding=encoding, encoding_errors=encoding_errors, wanted=None,
                          max_rows=None, identity=identity, workers=None)
    except DataError as exc:
        if keep is None:
            raise
        logger.warning("%s: not cached, as a full read fails (%s); reading the wanted rows only", path, exc)
        vectors = _read_file(path, fmt, encoding=encoding, encoding_errors=encoding_errors, wanted=wanted,
                             max_rows=None, identity=identity, workers=None).vectors
        return Vectors(vectors.words, vectors.matrix, vectors.source, {**vectors.stats, "vectors_cache": "not cached"})
    words, matrix, duplicates = list(read.vectors.words), read.vectors.matrix, read.duplicate_words
    _store(entry, key, words, matrix, duplicates, read.vectors.stats, source)
    out_words, out_matrix, stats, _ = _select(words, matrix, read.vectors.stats, duplicates, keep)
    return Vectors(words=out_words, matrix=out_matrix, source=source, stats={**stats, "vectors_cache": "built"})


# --------------------------------------------------------------------------- selecting rows


def _select(
    words: Sequence[str],
    matrix: np.ndarray,
    full_stats: dict[str, Any],
    duplicates: list[str],
    keep: Callable[[str], bool] | None,
) -> tuple[tuple[str, ...], np.ndarray, dict[str, Any], np.ndarray | None]:
    """The wanted rows as a new array, the stats a filtered read reports, and the rows' indices (None: all)."""
    stats = dict(full_stats)
    if keep is None:
        return tuple(words), _take_rows(matrix, None), stats, None
    index = np.flatnonzero(_wanted_flags(words, keep))
    out = _take_rows(matrix, index)
    repeat_wanted = [w for w, f in zip(duplicates, _many(keep)(duplicates)) if f]
    stats.update({
        "rows_parsed": len(index),
        "rows_unwanted": len(words) - len(index) + len(duplicates) - len(repeat_wanted),
        "duplicates": len(repeat_wanted),
        "duplicate_examples": repeat_wanted[:5],
    })
    kept = words.take(index) if isinstance(words, _WordLines) else [words[i] for i in index.tolist()]
    return tuple(kept), out, stats, index


class _WordLines(Sequence[str]):
    r"""The words of a ``words.txt`` (UTF-8, one a line), each decoded only when it is asked for.

    A cache hit wants a few thousand of the file's words: splitting and decoding
    all 400,000 of them, only to join them again for the prefilter, cost 0.04 s.
    The line bounds come from one numpy pass over the bytes.

    >>> w = _WordLines("a\nbé\n".encode())
    >>> len(w), w[1], list(w)
    (3, 'bé', ['a', 'bé', ''])
    """

    def __init__(self, blob: bytes):
        self.blob = blob
        ends = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 0x0A)
        self.starts = np.concatenate(([0], ends + 1))
        self.ends = np.append(ends, len(blob))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):  # type: ignore[override]  # an int only: no slices are taken
        return self.blob[self.starts[i]:self.ends[i]].decode("utf-8")

    def take(self, index: np.ndarray) -> list[str]:
        """The words at ``index`` (ints), decoded: a few ms for 20,000 (indexing one by one costs 0.8 us a word)."""
        blob = self.blob
        return [blob[a:b].decode("utf-8") for a, b in zip(self.starts[index].tolist(), self.ends[index].tolist())]

    def __iter__(self):
        return iter(self.blob.decode("utf-8").split("\n"))


def _wanted_flags(words: Sequence[str], keep: Callable[[str], bool]) -> np.ndarray:
    """``keep(w)`` for every word, as a bool array.

    A test from :func:`pipeline.align.wanted_predicate` carries a prefilter for
    ASCII words (a byte translation, then one set lookup, ruling out nearly all
    of a large vocabulary); only the words it lets through, and the non-ASCII
    words, get the full test: 0.07 s instead of 0.17 s for 400,000 words.
    """
    many = _many(keep)
    prefilter = getattr(keep, "ascii_prefilter", None)
    if prefilter is not None and not isinstance(words, _WordLines):  # a new entry's words: as words.txt holds them
        blob = "\n".join(words)
        if words and blob.count("\n") == len(words) - 1:
            words = _WordLines(blob.encode("utf-8"))
    if prefilter is None or not isinstance(words, _WordLines):
        return np.fromiter(many(list(words)), dtype=bool, count=len(words))
    # Words with a byte >= 0x80 skip the prefilter (it speaks for ASCII words only).
    high = np.flatnonzero(np.frombuffer(words.blob, dtype=np.uint8) >= 0x80)
    non_ascii = np.unique(np.searchsorted(words.ends, high))
    candidates = np.union1d(prefilter_candidates(prefilter, words.blob), non_ascii).astype(np.int64)
    flags = np.zeros(len(words), dtype=bool)
    flags[candidates] = np.fromiter(many(words.take(candidates)), dtype=bool, count=len(candidates))
    return flags


def _row_crc32(matrix: np.ndarray) -> np.ndarray:
    """The CRC-32 of each row's bytes (of a C-contiguous float32 matrix), as uint32."""
    return np.fromiter(map(zlib.crc32, matrix), dtype=np.uint32, count=len(matrix))


def _first_damaged_row(rows: np.ndarray, expected: np.ndarray) -> int | None:
    """The position of the first row whose CRC-32 is not ``expected``'s, or None when all match."""
    bad = np.flatnonzero(_row_crc32(rows) != expected)
    return int(bad[0]) if len(bad) else None


def _take_rows(matrix: np.ndarray, index: np.ndarray | None) -> np.ndarray:
    """``matrix[index]`` (all rows if None) as a new array, reading a memory-mapped matrix 32 MiB at a time.

    Each mapped stretch is released (``MADV_DONTNEED``) once its rows are copied:
    the kernel maps whole neighbourhoods of a touched page, so without this the
    process would count most of the file in its resident memory, however few
    rows it wanted.
    """
    n, dim = matrix.shape
    rows = np.arange(n) if index is None else index
    out = np.empty((len(rows), dim), dtype=np.float32)
    mapped = getattr(matrix, "_mmap", None) if isinstance(matrix, np.memmap) else None
    if mapped is None or not hasattr(mapped, "madvise") or not len(rows):
        np.take(matrix, rows, axis=0, out=out)
        return out
    row_bytes = dim * 4
    base = matrix.offset % mmap.ALLOCATIONGRANULARITY  # where row 0 is in the mapping (np.memmap maps from a boundary)
    group = max((32 << 20) // row_bytes, 1)
    bounds = np.searchsorted(rows, np.arange(0, n + group, group))
    for g in range(len(bounds) - 1):
        a, b = int(bounds[g]), int(bounds[g + 1])
        if a == b:
            continue
        np.take(matrix, rows[a:b], axis=0, out=out[a:b])
        low = (base + g * group * row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        high = min(base + (g + 1) * group * row_bytes, len(mapped))
        mapped.madvise(mmap.MADV_DONTNEED, low, high - low)
    return out


# --------------------------------------------------------------------------- entries on disk


def _store(
    entry: Path,
    key: str,
    words: list[str],
    matrix: np.ndarray,
    duplicates: list[str],
    stats: dict[str, Any],
    source: dict[str, Any],
) -> None:
    """Write the entry into a temporary folder beside ``entry`` and rename it into place; never fails the read.

    Temporary folders that interrupted writes left beside it are removed first (see
    :func:`~pipeline.cache.remove_leftover_temp_folders`): each is as large as an entry.
    """
    remove_leftover_temp_folders(entry.parent)
    tmp = entry.with_name(f".{key}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    try:
        tmp.mkdir(parents=True)
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        np.save(tmp / "vectors.npy", matrix, allow_pickle=False)
        if any("\n" in w for w in words):
            words_file, words_blob = "words.json", json.dumps(words, ensure_ascii=False).encode("utf-8")
        else:
            words_file, words_blob = "words.txt", "\n".join(words).encode("utf-8")
        small = {  # read and checked whole on every load
            words_file: words_blob,
            "duplicates.json": json.dumps(duplicates, ensure_ascii=False).encode("utf-8"),
            "row_crc32.npy": _npy_bytes(_row_crc32(matrix)),
        }
        for name, blob in small.items():
            (tmp / name).write_bytes(blob)
        files = {name: (tmp / name).stat().st_size for name in ("vectors.npy", *small)}
        meta = {
            "cache_version": CACHE_VERSION,
            "key": key,
            "shape": list(matrix.shape),
            "dtype": "<f4",
            "words_file": words_file,
            "sha256": {name: hashlib.sha256(blob).hexdigest() for name, blob in small.items()},
            "files": files,
            "stats": stats,
            "source": source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        meta_blob = json.dumps(meta, ensure_ascii=False, default=str).encode("utf-8")
        (tmp / "meta.json").write_bytes(meta_blob)
        (tmp / DONE).write_text(json.dumps({"key": key, "meta_sha256": hashlib.sha256(meta_blob).hexdigest()}),
                                encoding="utf-8")
        try:
            os.rename(tmp, entry)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            # Another process wrote the entry first (the same key: the same content). Keep it
            # rather than pull it from under a reader that has it mapped.
            logger.debug("vectors cache entry %s was written by another process first", entry)
            shutil.rmtree(tmp, ignore_errors=True)
            return
        logger.info("vectors cache entry written: %s (%d x %d) in %.2f s",
                    entry, *matrix.shape, time.perf_counter() - started)
    except OSError as exc:  # a cache that cannot be written costs speed, never the run
        logger.warning("could not write the vectors cache entry %s: %s", entry, exc)
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:  # a bug or Ctrl-C: leave no entry-sized folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _load(entry: Path) -> tuple[Sequence[str], np.ndarray, dict[str, Any], list[str], np.ndarray] | None:
    """The entry's words, mapped matrix, meta, repeats and row CRC-32s; None if absent or damaged (then removed).

    The matrix's rows are not read here: :func:`cached_read` checks the rows it copies out.
    A file (or a dangling link) where the entry's folder belongs is removed, or no entry
    could ever be renamed into its place and every read would parse the file again.
    """
    if not entry.is_dir():
        if os.path.lexists(entry):  # one more stat, on a miss only
            _discard(entry, "not a folder")
        return None
    try:
        if not (entry / DONE).is_file():
            raise ValueError(f"no {DONE} (an interrupted write)")
        done = json.loads((entry / DONE).read_text(encoding="utf-8"))
        meta_blob = (entry / "meta.json").read_bytes()
        if not isinstance(done, dict) or done.get("key") != entry.name \
                or hashlib.sha256(meta_blob).hexdigest() != done.get("meta_sha256"):
            raise ValueError(f"meta.json or {DONE} differs from what was written")
        meta = json.loads(meta_blob.decode("utf-8"))
        if meta.get("cache_version") != CACHE_VERSION:
            raise ValueError(f"cache version {meta.get('cache_version')}, expected {CACHE_VERSION}")
        for name, size in meta["files"].items():
            actual = (entry / name).stat().st_size
            if actual != size:
                raise ValueError(f"{name} has {actual} bytes, expected {size}")
        with warnings.catch_warnings():  # a damaged header numpy reads the old way warns (2 lines on stderr)
            warnings.simplefilter("ignore")
            matrix = np.load(entry / "vectors.npy", mmap_mode="r", allow_pickle=False)
        if list(matrix.shape) != meta["shape"] or matrix.dtype != np.dtype("<f4"):
            raise ValueError(f"vectors.npy is {matrix.dtype} {matrix.shape}, expected float32 {meta['shape']}")
        small = {}
        for name, digest in meta["sha256"].items():
            small[name] = (entry / name).read_bytes()
            if hashlib.sha256(small[name]).hexdigest() != digest:
                raise ValueError(f"{name} differs from what was written")
        blob = small[meta["words_file"]]
        if meta["words_file"] == "words.json":
            words: Sequence[str] = json.loads(blob.decode("utf-8"))
        else:
            if not blob.isascii():
                blob.decode("utf-8")  # checked whole once (ASCII bytes cannot fail to decode)
            words = _WordLines(blob) if blob or meta["shape"][0] else []
        if len(words) != matrix.shape[0]:
            raise ValueError(f"{len(words)} words for {matrix.shape[0]} rows")
        duplicates = json.loads(small["duplicates.json"].decode("utf-8"))
        row_crc32 = np.load(io.BytesIO(small["row_crc32.npy"]), allow_pickle=False)
        if row_crc32.shape != matrix.shape[:1] or row_crc32.dtype != np.uint32:
            raise ValueError(f"row_crc32.npy is {row_crc32.dtype} {row_crc32.shape}, "
                             f"expected uint32 ({matrix.shape[0]},)")
        return words, matrix, meta, duplicates, row_crc32
    # OverflowError: a damaged .npy header whose shape maps a negative or enormous length
    except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        _discard(entry, exc)
        return None


def _discard(entry: Path, why: Any) -> None:
    logger.warning("damaged vectors cache entry %s (%s): rebuilding it", entry, why)
    try:
        remove_path(entry)
    except OSError as exc:  # then the rename will fail too: a rebuild costs speed, never the read
        logger.debug("cannot remove %s: %s", entry, exc)


def _npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()

