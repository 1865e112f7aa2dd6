"""Training word vectors on the project's corpus with gensim's Word2Vec, without losing words.

Use :func:`train_vectors` when the config says ``[vectors] source = "train"``:
it reads the corpus files (plain, ``.gz`` or ``.bz2``, one sentence per line),
writes them once into a prepared file (:func:`prepare_corpus`), trains
``gensim.models.Word2Vec`` on that file in ``corpus_file`` mode and returns
:class:`~pipeline.sources.Vectors`.

Why the corpus is rewritten before training
-------------------------------------------
In ``corpus_file`` mode each worker thread reads the file itself in C++ (no
GIL, so it scales with cores), but gensim 4.4 silently trains fewer words than
the file holds (``gensim/models/word2vec_corpusfile.pyx``):

1. ``CythonLineSentence.next_batch`` reads whole lines until the batch holds
   *more* than 10,000 words, then keeps the line that crossed the limit (the
   trimming loop is off by one: ``last_idx = idx + 1``);
2. ``prepare_c_structures_for_batch`` stops at 10,000 words kept after
   ``min_count``/``sample`` (``if effective_words == MAX_SENTENCE_LEN: break``)
   and drops the rest of the batch.

So every batch that keeps more than 10,000 words loses the excess, not only
lines longer than 10,000 words: on gensim's ``head500.noblanks.cor`` (no line
over 6,610 words) 6-10 % of the words are never trained. gensim's own "raw
words" count hides it (the cut line is counted whole). And with several workers
each one starts at byte ``size / workers * k`` (mid-line) and stops once it has
read about ``1/workers`` of the words, rounded up to a whole batch, so lines
near the boundaries are trained twice or not at all.

The prepared file is laid out so that none of this happens:

* every batch holds at most 9,999 corpus words and is closed by a line of
  filler tokens (``"\\x1f"``) that brings it to exactly 10,001 words, so gensim
  ends its batch there and nothing is cut. The filler never enters the
  vocabulary: Python's ``str.split`` (gensim's vocabulary scan) treats ``\\x1f``
  as whitespace, while the C++ reader keeps it as a token and skips it as
  unknown. Python readers see filler lines as blank lines;
* with ``workers`` > 1 the file is cut into that many segments of equal byte
  size and equal batch count, each starting exactly where gensim's worker
  starts reading, and gensim is told a word total that makes each worker stop
  at the end of its own segment;
* lines longer than ``max_line_words`` are wrapped into several lines.

Each epoch then reads exactly ``file_words`` words and trains every corpus word
that survives ``min_count``/``sample``; :func:`train_vectors` checks gensim's
count after training and logs a warning if the layout stopped matching its
reader (e.g. after a gensim upgrade).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipeline.config import VectorsConfig, check_objective
from pipeline.errors import ConfigError, DataError, StorageError
from pipeline.lock import folder_lock
from pipeline.sources import Vectors
from pipeline.sources.corpus import corpus_blocks, corpus_files
from pipeline.sources.files import describe_file, file_sha256
from pipeline.system import can_fork_a_helper, die_with_parent, remove_path, write_atomic

logger = logging.getLogger(__name__)

# gensim's MAX_WORDS_IN_BATCH (word2vec.py) and MAX_SENTENCE_LEN (word2vec_corpusfile.pyx).
GENSIM_BATCH_WORDS = 10_000
# Words in every batch we lay out: gensim stops reading a batch only once it holds more than 10,000.
BATCH_FILE_WORDS = GENSIM_BATCH_WORDS + 1
# Corpus words a batch can hold: at 10,000 kept words gensim stops before counting the filler line.
MAX_LINE_WORDS = GENSIM_BATCH_WORDS - 1
# ASCII "unit separator": one byte, valid UTF-8, whitespace to str.split() (so never part of a
# corpus token, since corpus_blocks splits with str.split) but a token to C++ ``>>``.
FILLER = "\x1f"
_FILLER_LINE_MAX = GENSIM_BATCH_WORDS  # longer lines would be chunked by gensim; keep them whole


def _filler_lines(n: int) -> bytes:
    """``n`` filler tokens as lines of at most 10,000 tokens. ``_filler_lines(3) == b"\\x1f \\x1f \\x1f\\n"``."""
    out = []
    while n > 0:
        k = min(n, _FILLER_LINE_MAX)
        out.append(" ".join([FILLER] * k).encode("ascii") + b"\n")
        n -= k
    return b"".join(out)


# A batch with no corpus words at all, to give every worker's segment the same number of batches.
_EMPTY_BATCH = _filler_lines(BATCH_FILE_WORDS)
_EMPTY_BATCH_LINES = _EMPTY_BATCH.count(b"\n")


class _BatchWriter:
    """Writes lines to ``fh`` in batches of at most 9,999 words, each closed by a filler line.

    Records where each batch ends (bytes) so that the batches can be dealt out to workers.
    A batch of ``s`` corpus words gets ``10,001 - s`` fillers: gensim reads the batch, then the
    filler line pushes it past 10,000 and ends it. At most 9,999 corpus words (so two fillers at
    least) because at exactly 10,000 kept words gensim breaks before counting the filler line.
    """

    def __init__(self, fh: IO[bytes], max_line_words: int):
        self.fh = fh
        self.max_line_words = max_line_words
        self.batch_words = 0  # corpus words in the open batch
        self.bytes = 0
        self.batch_ends: list[int] = []
        self.sentences = 0  # corpus lines read
        self.words = 0
        self.wrapped = 0  # corpus lines longer than max_line_words, written as several lines
        self.lines = 0  # corpus lines written
        self.filler_words = 0
        self.filler_lines = 0

    def add_block(self, block: bytes) -> None:
        """Write a block of normalised lines (see :func:`~pipeline.sources.corpus.corpus_blocks`).

        Each line's word count is its spaces plus one, counted for the whole block
        at once; lines longer than ``max_line_words`` are wrapped.
        """
        a = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(a == 0x0A) + 1  # the byte after each line
        words = np.diff(np.searchsorted(np.flatnonzero(a == 0x20), ends), prepend=0) + 1
        self.sentences += len(ends)
        self.words += int(words.sum())
        done = 0  # lines written so far
        for long in [*np.flatnonzero(words > self.max_line_words).tolist(), len(ends)]:
            start = int(ends[done - 1]) if done else 0
            self._pack(block, start, ends[done:long], words[done:long])
            if long == len(ends):
                break
            line_start = int(ends[long - 1]) if long else 0
            tokens = block[line_start:ends[long] - 1].split(b" ")
            self.wrapped += 1
            for i in range(0, len(tokens), self.max_line_words):
                piece = b" ".join(tokens[i:i + self.max_line_words]) + b"\n"
                self._pack(piece, 0, np.array([len(piece)]), np.array([min(self.max_line_words, len(tokens) - i)]))
            done = long + 1

    def _pack(self, data: bytes, start: int, ends: np.ndarray, words: np.ndarray) -> None:
        """Write the lines ``data[start:ends[0]]``, ``data[ends[0]:ends[1]]``, ... into batches, in order.

        The same as adding them one at a time and closing the batch before a line
        that would take it past ``MAX_LINE_WORDS``; one slice per batch instead.
        """
        total = np.cumsum(words)
        done, before = 0, 0  # lines written, and their words
        while done < len(ends):
            fit = int(np.searchsorted(total, before + MAX_LINE_WORDS - self.batch_words, side="right"))
            if fit > done:
                end = int(ends[fit - 1])
                self._write(data[start:end])
                self.batch_words += int(total[fit - 1]) - before
                self.lines += fit - done
                start, before, done = end, int(total[fit - 1]), fit
            if done < len(ends):
                self.close_batch()

    def _write(self, data: bytes) -> None:
        self.fh.write(data)
        self.bytes += len(data)

    def close_batch(self) -> None:
        if self.batch_words == 0:
            return
        filler = BATCH_FILE_WORDS - self.batch_words
        data = _filler_lines(filler)
        self._write(data)
        self.filler_words += filler
        self.filler_lines += data.count(b"\n")
        self.batch_ends.append(self.bytes)
        self.batch_words = 0


def prepare_corpus(
    files: Sequence[str | os.PathLike],
    out_path: str | os.PathLike,
    *,
    lowercase: bool = False,
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
    max_line_words: int = MAX_LINE_WORDS,
    workers: int = 1,
    identities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write ``files`` as one UTF-8 file laid out for gensim's ``corpus_file`` mode; return its figures.

    One sentence per line, tokens joined by single spaces, lines longer than
    ``max_line_words`` (at most 9,999) wrapped, batches closed by filler lines and
    dealt out to ``workers`` segments (see the module docstring). The file is
    written beside ``out_path`` and moved into place only when complete.

    ``identities``: the inputs' :func:`describe_file`, when the caller has them already
    (hashing a large corpus twice costs a second pass over it).

    Returned keys: ``path``; ``files`` (:func:`describe_file` of each input);
    ``sentences`` (non-empty input lines), ``words`` (their tokens),
    ``lines_wrapped`` (sentences longer than ``max_line_words``), ``lines``
    (corpus lines written); ``batches``, ``filler_words``, ``file_words`` (what
    gensim reads per epoch, fillers included), ``workers``, ``bytes``, ``sha256`` (of
    the prepared file, checked before it is reused); and the two
    totals to pass to ``Word2Vec.train``: ``gensim_total_words`` and
    ``gensim_total_examples``; ``vocab_counts``, ``[token, count]`` in order of
    first appearance, which is what ``Word2Vec.build_vocab`` would count in the
    prepared file (counted here while writing it, which spares gensim's own
    scan: a Python loop over every word, ~1.8 s for 10M words).

    For example a 9-word corpus on 2 lines becomes those 2 lines, one line of
    9,992 fillers (``file_words`` 10,001), and with ``workers=2`` one more batch
    of 10,001 fillers for the second worker, plus padding.
    """
    if not 1 <= max_line_words <= MAX_LINE_WORDS:
        raise ValueError(f"max_line_words must be in [1, {MAX_LINE_WORDS}], got {max_line_words}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    paths = [Path(f) for f in files]
    if not paths:
        raise DataError("no corpus files given (expected one or more text files, one sentence per line)")
    # Identify the inputs before reading them, so the hashes describe what was read
    # (unless a file changes while we read it).
    if identities is None:
        identities = [describe_file(p) for p in paths]
    out_path = Path(out_path)
    temps: list[Path] = []
    counter = _TokenCounter(two_processes=_count_in_two_processes(paths))
    try:
        batches_path = _temp_beside(out_path, temps)
        with open(batches_path, "wb", buffering=1 << 20) as fh:
            writer = _BatchWriter(fh, max_line_words)
            for block in corpus_blocks(paths, lowercase=lowercase, encoding=encoding, errors=encoding_errors):
                counter.add(block)
                writer.add_block(block)
            writer.close_batch()
        counts = counter.counts()
        words = writer.words
        if words == 0:
            single = len(paths) == 1  # then the path leads the message
            raise DataError(f"corpus has no tokens{'' if single else ' in ' + _names(paths)} "
                            "(expected whitespace-separated words, one sentence per line)",
                            paths[0] if single else None)
        batches = len(writer.batch_ends)
        filler_words, filler_lines, size = writer.filler_words, writer.filler_lines, writer.bytes
        final = batches_path
        if workers > 1:
            final = _temp_beside(out_path, temps)
            empty, size = _deal_to_workers(batches_path, final, writer.batch_ends, workers)
            batches += empty
            filler_words += empty * BATCH_FILE_WORDS
            filler_lines += empty * _EMPTY_BATCH_LINES
        digest = file_sha256(final)  # just written, so read from the page cache: ~50 ms for 60 MB
        os.replace(final, out_path)
    except OSError as exc:
        # Reading errors arrive as DataError/StorageError from corpus_blocks; an OSError here is ours.
        raise StorageError(f"cannot write the prepared corpus: {exc.strerror or exc} "
                           "(expected a writable folder with free space)", out_path) from None
    finally:
        counter.close()
        for temp in temps:
            temp.unlink(missing_ok=True)
    if counts is None:  # the counting process failed: count again, in this process alone
        logger.warning("counting the corpus in a second process failed; counting it again in one")
        counts = _count_alone(paths, lowercase=lowercase, encoding=encoding, errors=encoding_errors)
    file_words = batches * BATCH_FILE_WORDS
    return {
        "path": str(out_path),
        "files": identities,
        "sentences": writer.sentences,
        "words": words,
        "lines_wrapped": writer.wrapped,
        "lines": writer.lines,
        "batches": batches,
        "filler_words": filler_words,
        "file_words": file_words,
        "workers": workers,
        "bytes": size,
        "sha256": digest,
        # Each worker stops once it has read more than total_words // workers words: one less
        # than its segment holds makes it stop exactly at the segment's end.
        "gensim_total_words": file_words - workers,
        # The lines the workers read (padding lines excluded): the learning rate decays by these.
        "gensim_total_examples": writer.lines + filler_lines,
        # What gensim's vocabulary scan of the prepared file would count, in the order it would see them.
        "vocab_counts": [[token.decode("utf-8"), n] for token, n in counts.items()],
    }


# A corpus this large (in bytes, as stored) is counted in two processes where there are two cores.
_PARALLEL_COUNT_BYTES = 8 << 20


def _count_in_two_processes(paths: Sequence[Path]) -> bool:
    try:
        size = sum(p.stat().st_size for p in paths)
    except OSError:  # the reading names the file
        return False
    return size >= _PARALLEL_COUNT_BYTES and can_fork_a_helper()


class _TokenCounter:
    """Counts the tokens of the blocks it is given, in order of first appearance (gensim's scan order).

    With ``two_processes``, every second block goes to a forked process that counts
    it while this one counts the others and writes the prepared file: splitting
    10M words into tokens and counting them costs about 2 s, most of the
    preparation. Each process records how many distinct tokens it had after each of
    its blocks; a dict keeps insertion order, so the tokens first seen in each block
    are a slice of its keys, and taking the blocks in corpus order gives the order of
    first appearance over the whole corpus.
    """

    def __init__(self, two_processes: bool):
        self.local: Counter[bytes] = Counter()
        self.local_sizes: list[int] = []
        self.owners: list[int] = []  # per block: 0 counted here, 1 by the child
        self.send = self.child = None
        if two_processes:
            import multiprocessing

            ctx = multiprocessing.get_context("fork")
            receive, send = ctx.Pipe()
            self.child = ctx.Process(target=_count_blocks, args=(os.getpid(), receive, send), name="embpipe-count",
                                     daemon=True)
            self.child.start()
            receive.close()
            self.send = send

    def add(self, block: bytes) -> None:
        if self.send is not None and len(self.owners) % 2:
            try:
                self.send.send_bytes(block)
                self.owners.append(1)
                return
            except OSError:  # the child is gone: count here; counts() will say it failed
                self._stop()
        self.local.update(block.split())
        self.local_sizes.append(len(self.local))
        self.owners.append(0)

    def counts(self) -> dict[bytes, int] | None:
        """Token -> count in order of first appearance; None if the child failed."""
        if 1 not in self.owners:
            return dict(self.local)
        if self.send is None:
            return None
        try:
            self.send.send_bytes(b"")  # the end
            child_items, child_sizes = self.send.recv()
        except (OSError, EOFError):
            return None
        child_keys = [token for token, _ in child_items]
        child_counts = dict(child_items)
        merged: dict[bytes, int] = {}
        ends = {0: iter(self.local_sizes), 1: iter(child_sizes)}
        keys = {0: list(self.local), 1: child_keys}
        start = {0: 0, 1: 0}
        for owner in self.owners:
            end = next(ends[owner])
            for token in keys[owner][start[owner]:end]:
                if token not in merged:
                    merged[token] = self.local.get(token, 0) + child_counts.get(token, 0)
            start[owner] = end
        return merged

    def _stop(self) -> None:
        if self.send is not None:
            self.send.close()
            self.send = None
        if self.child is not None:
            if self.child.is_alive():
                self.child.kill()
            self.child.join()
            self.child = None

    def close(self) -> None:
        self._stop()


def _count_blocks(parent: int, conn, parents_end) -> None:
    """The forked counter: count each block received until an empty one, then send (token, count) pairs and sizes."""
    die_with_parent(parent)
    parents_end.close()
    counts: Counter[bytes] = Counter()
    sizes: list[int] = []
    while block := conn.recv_bytes():
        counts.update(block.split())
        sizes.append(len(counts))
    conn.send((list(counts.items()), sizes))
    conn.close()


def _count_alone(paths: Sequence[Path], **options: Any) -> dict[bytes, int]:
    counts: Counter[bytes] = Counter()
    for block in corpus_blocks(paths, **options):
        counts.update(block.split())
    return dict(counts)


# Bump when the prepared layout or its figures file changes: old prepared files are then ignored (and pruned).
# 3: the figures hold the prepared file's sha256 and a checksum of their own.
PREPARE_VERSION = 3


def _prepared_corpus(files: Sequence[Path], work: Path, **options: Any) -> dict[str, Any]:
    """:func:`prepare_corpus` into ``work``, reused while the inputs' content and the options are unchanged.

    Changing only training parameters (epochs, window, ...) then costs no rewrite
    of the corpus. The figures are stored beside the file and written after it,
    so a half-written pair is never reused; nor is a damaged one: the file must
    still have the sha256 recorded in the figures (see :func:`_recorded_figures`),
    else it is prepared again. The caller holds ``work``'s lock.
    """
    identities = [describe_file(p) for p in files]
    key = hashlib.blake2b(
        json.dumps([PREPARE_VERSION, [(i["size"], i["crc32"]) for i in identities], options],
                   sort_keys=True).encode(),
        digest_size=12,
    ).hexdigest()
    out = work / f"corpus-{key}.txt"
    figures = _figures_of(out)
    # Under the lock, a temporary file here (prepare_corpus's, or the figures') is one a killed run left.
    for leftover in work.glob(".corpus-*.tmp"):
        remove_path(leftover)
    prepared = _recorded_figures(out, figures)
    if prepared is not None:
        logger.info("reusing the prepared corpus %s", out)
        return {**prepared, "files": identities}
    for old in work.glob("corpus-*.*"):  # one prepared corpus per run name is enough
        remove_path(old)
    prepared = prepare_corpus(files, out, identities=identities, **options)
    body = json.dumps(prepared).encode("utf-8")
    try:
        write_atomic(figures, _FIGURES_HEAD + hashlib.sha256(body).hexdigest().encode() + _FIGURES_MID + body + b"}")
    except OSError as exc:  # not reusable next time: costs time, never the run
        logger.debug("cannot record the prepared corpus: %s", exc)
    return prepared


def _figures_of(prepared: Path) -> Path:
    """Where the figures of the prepared corpus ``prepared`` are recorded: beside it, as ``.json``."""
    return prepared.with_suffix(".json")


# The figures file: '{"figures_sha256": "<sha256 of F>", "figures": F}', F the figures' JSON text as
# written, so that checking them costs a hash of their bytes (~15 ms for 12 MB) and no second json.dumps.
_FIGURES_HEAD, _FIGURES_MID = b'{"figures_sha256": "', b'", "figures": '


def _recorded_figures(out: Path, figures: Path) -> dict[str, Any] | None:
    """The figures recorded for the prepared corpus ``out``, or None if it must be prepared (again).

    A prepared corpus overwritten with as many other bytes (say, zeros) keeps its
    size, and gensim would train on it without a word of complaint. So both files
    are checked: the figures against their own sha256, the corpus against the
    sha256 recorded in them. sha256 rather than a cheaper hash: ~50 ms for a 60 MB
    prepared corpus (1.2 GB/s; crc32 would save ~20 ms), next to seconds of
    training on it, and every run hashes the input corpus as much anyway. A damaged
    or unreadable pair is logged once and prepared again, never trained on.
    """
    if not figures.exists():
        return None  # not prepared yet
    try:
        blob = figures.read_bytes()
        start = len(_FIGURES_HEAD) + 64 + len(_FIGURES_MID)
        body = blob[start:-1]
        if blob[:start] != _FIGURES_HEAD + hashlib.sha256(body).hexdigest().encode() + _FIGURES_MID \
                or blob[-1:] != b"}":
            raise ValueError(f"{figures.name} differs from what was written")
        prepared = json.loads(body)
        if Path(prepared["path"]) != out:
            return None  # recorded in another folder (the cache was moved): prepare it here
        size = out.stat().st_size
        if size != prepared["bytes"]:
            raise ValueError(f"{size:,} bytes, expected {prepared['bytes']:,}")
        if file_sha256(out) != prepared["sha256"]:
            raise ValueError("its content differs from what was written")
        return prepared
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = (exc.strerror or exc) if isinstance(exc, OSError) else exc
        logger.warning("damaged prepared corpus %s (%s): preparing it again", out, reason)
        return None


def _temp_beside(path: Path, temps: list[Path]) -> Path:
    """A new empty file in ``path``'s folder (same filesystem, so ``os.replace`` is atomic)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    temps.append(Path(name))
    return Path(name)


def _names(paths: Sequence[Path], limit: int = 3) -> str:
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _deal_to_workers(src: Path, dst: Path, batch_ends: list[int], workers: int) -> tuple[int, int]:
    """Copy the batches of ``src`` into ``workers`` segments of equal batch count and byte size.

    gensim starts worker ``k`` at byte ``size / workers * k``; with every segment
    ``size / workers`` bytes long that is the first byte of segment ``k``. Short
    segments get empty batches, then a padding line of spaces that no worker reads.
    Returns (empty batches added, file size).
    """
    n = len(batch_ends)
    per = -(-n // workers)  # batches per segment
    starts = [0, *batch_ends[:-1]]
    plan = []
    for k in range(workers):
        first, last = k * per, min((k + 1) * per, n)
        span = (starts[first], batch_ends[last - 1]) if first < last else (0, 0)
        empty = per - max(0, last - first)
        plan.append((span, empty, span[1] - span[0] + empty * len(_EMPTY_BATCH)))
    seg_bytes = max(size for _, _, size in plan)
    with open(src, "rb") as fin, open(dst, "wb", buffering=1 << 20) as fout:
        for (begin, end), empty, size in plan:
            fin.seek(begin)
            remaining = end - begin
            while remaining:
                block = fin.read(min(remaining, 1 << 20))
                fout.write(block)
                remaining -= len(block)
            fout.write(_EMPTY_BATCH * empty)
            if pad := seg_bytes - size:
                fout.write(b" " * (pad - 1) + b"\n")
    return sum(empty for _, empty, _ in plan), seg_bytes * workers


# --------------------------------------------------------------------------- training


@functools.cache
def _gensim() -> Any:
    """Import gensim (about 1.7 s, so only when training) and define the classes that extend it."""
    import inspect
    from types import SimpleNamespace

    import gensim
    from gensim.models import Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    log_epoch_end = inspect.signature(Word2Vec._log_epoch_end)

    class CountingWord2Vec(Word2Vec):
        """Word2Vec that keeps each epoch's word counts, which gensim only writes to its log."""

        def _log_epoch_end(self, *args: Any, **kwargs: Any) -> None:
            super()._log_epoch_end(*args, **kwargs)
            try:
                bound = log_epoch_end.bind(self, *args, **kwargs).arguments
                self.embpipe_epoch_counts = (int(bound["trained_word_count"]), int(bound["raw_word_count"]))
            except (TypeError, KeyError):  # gensim changed the hook: the counts are just not logged
                self.embpipe_epoch_counts = None

    class EpochLogger(CallbackAny2Vec):
        """Logs one INFO line per epoch (words trained, words/s) and keeps the figures."""

        def __init__(self, epochs: int):
            self.epochs = epochs
            self.records: list[dict[str, Any]] = []
            self._start = 0.0

        def on_epoch_begin(self, model: Any) -> None:
            model.embpipe_epoch_counts = None
            self._start = time.perf_counter()

        def on_epoch_end(self, model: Any) -> None:
            seconds = time.perf_counter() - self._start
            counts = getattr(model, "embpipe_epoch_counts", None)
            epoch = len(self.records) + 1
            # The figures also go as fields of the record: --log-format json shows them as such.
            fields = {"stage": "vectors", "event": "epoch", "epoch": epoch, "epochs": self.epochs, "seconds": seconds}
            if counts is None:
                self.records.append({"words_trained": None, "words_read": None, "seconds": seconds})
                logger.info("epoch %d/%d done in %.2f s", epoch, self.epochs, seconds, extra=fields)
                return
            trained, read = counts
            self.records.append({"words_trained": trained, "words_read": read, "seconds": seconds})
            rate = trained / max(seconds, 1e-9)
            logger.info("epoch %d/%d: %s words trained in %.2f s (%s words/s)", epoch, self.epochs,
                        f"{trained:,}", seconds, f"{rate:,.0f}",
                        extra={**fields, "words_trained": trained, "words_per_second": round(rate)})

    return SimpleNamespace(version=gensim.__version__, Word2Vec=CountingWord2Vec, EpochLogger=EpochLogger)


def _nothing_trained(model: Any, prepared: dict[str, Any], train: Any, files: Sequence[Path],
                     words_read: int, expected_read: int) -> None:
    """Say why gensim trained none of the corpus's words (the vectors are their random start).

    gensim itself says nothing (an empty vocabulary is an error to it, which
    train_vectors reports as the config error it is; zero words trained is not).
    Two causes. ``sample`` may drop every occurrence of a tiny corpus's words: the
    config asked for that, so a warning. Otherwise, when the occurrences gensim keeps
    on average (its ``sample_int`` per word; all of them with ``sample = 0``) are
    so many that dropping them all has a chance below e^-20, the file gensim read did
    not hold the prepared words: a DataError (65) naming that file, which is removed
    so the next run prepares it again. A cost only when nothing was trained.
    """
    kv = model.wv
    counts = np.asarray(kv.expandos["count"], dtype=np.float64)
    if train.sample:
        counts = counts * np.minimum(np.asarray(kv.expandos["sample_int"], dtype=np.float64) / 2**32, 1.0)
    expected_kept = float(counts.sum()) * train.epochs
    if expected_kept < 20:
        logger.warning("gensim trained none of the corpus's %s words in %d epoch(s): 'vectors.train.sample' = %g "
                       "keeps about %.1f of them in a corpus this small, so the vectors are untrained "
                       "(expected sample = 0, or a larger corpus)", f"{prepared['words']:,}", train.epochs,
                       train.sample, expected_kept)
        return
    out = Path(prepared["path"])
    for path in (out, _figures_of(out)):
        remove_path(path)
    raise DataError(f"gensim trained none of the {prepared['words']:,} words prepared from {_names(files)} "
                    f"(it read {words_read:,} words in {train.epochs} epoch(s), expected {expected_read:,}): "
                    "the prepared corpus no longer holds what was written (changed on disk?); it was removed, "
                    "so the next run prepares it again", out)


def train_vectors(
    config: VectorsConfig,
    *,
    base_dir: str | os.PathLike,
    seed: int,
    work_dir: str | os.PathLike,
) -> Vectors:
    """Train Word2Vec on ``config.corpus`` and return the vectors, most frequent word first.

    The corpus is prepared into ``work_dir/corpus-<key>.txt`` and reused while the
    corpus files' content and the layout options are unchanged. With
    ``train.workers = 1`` the result depends only on the corpus, the parameters
    and ``seed``; with more workers the threads update shared weights in whatever
    order they run (gensim's design), so two runs differ slightly.

    ``stats``: ``sentences``, ``corpus_words`` (tokens per epoch), ``lines_wrapped``,
    ``vocab_size``, ``words_trained`` (all epochs, as gensim counts them: words
    kept after ``min_count`` and ``sample``), ``words_trained_per_epoch``,
    ``epochs``, ``seconds`` (training), ``words_per_second``, ``prepare_seconds``,
    ``filler_words``.
    """
    train = config.train
    check_objective(train)  # load_config checked it; a VectorsConfig made in Python may not have been
    files = corpus_files(config.corpus, base_dir)
    work = Path(work_dir)
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the work folder: {exc.strerror or exc} "
                           "(expected a writable location)", work) from None

    # One process at a time prepares and trains in this folder: a run that prepares a different
    # corpus removes the old one, which must not be the file another run is training on.
    with folder_lock(work):
        started = time.perf_counter()
        prepared = _prepared_corpus(files, work, lowercase=config.lowercase, encoding=config.encoding,
                                    encoding_errors=config.encoding_errors, workers=train.workers)
        prepare_seconds = time.perf_counter() - started
        logger.info("prepared %s: %s sentences, %s words from %d file(s), %d line(s) wrapped, in %.2f s",
                    prepared["path"], f"{prepared['sentences']:,}", f"{prepared['words']:,}", len(files),
                    prepared["lines_wrapped"], prepare_seconds)

        g = _gensim()
        corpus_path = str(prepared["path"])
        # Word2Vec(corpus_file=...) in one call would hide train()'s counts and pass gensim's own
        # word total, which does not know about the fillers; so: construct, build the vocabulary, train.
        model = g.Word2Vec(
            vector_size=train.vector_size, window=train.window, min_count=train.min_count, sg=train.sg,
            hs=train.hs, negative=train.negative, sample=train.sample, alpha=train.alpha,
            min_alpha=train.min_alpha, epochs=train.epochs, workers=train.workers, seed=seed,
        )
        # The prepared corpus's counts are what build_vocab(corpus_file=...) would find, in its order
        # (tests/test_train.py compares the two), without reading the file again.
        model.build_vocab_from_freq(dict(prepared["vocab_counts"]), corpus_count=prepared["gensim_total_examples"])
        model.corpus_total_words = prepared["words"]
        if len(model.wv) == 0:
            raise ConfigError(f"The 'vectors.train.min_count' parameter must be at most the count of the corpus's "
                              f"most frequent word (no word of the {prepared['words']:,} occurs that often). "
                              f"Got {train.min_count} instead.")
        epoch_log = g.EpochLogger(train.epochs)
        started = time.perf_counter()
        words_trained, words_read = model.train(
            corpus_file=corpus_path, total_words=prepared["gensim_total_words"],
            total_examples=prepared["gensim_total_examples"], epochs=train.epochs, callbacks=[epoch_log],
        )
        seconds = time.perf_counter() - started
        expected_read = prepared["file_words"] * train.epochs
        if words_trained == 0:
            _nothing_trained(model, prepared, train, files, words_read, expected_read)
    if words_read != expected_read:
        logger.warning("gensim read %s words in %d epochs, expected %s: its corpus_file reader no longer "
                       "matches the prepared layout, so some words were trained twice or skipped "
                       "(gensim %s)", f"{words_read:,}", train.epochs, f"{expected_read:,}", g.version)

    kv = model.wv
    per_epoch = [r["words_trained"] for r in epoch_log.records]
    return Vectors(
        words=tuple(kv.index_to_key),
        matrix=np.array(kv.vectors, dtype=np.float32, copy=True),  # not a view the model could change
        source={
            "kind": "train",
            "corpus": prepared["files"],
            "params": {
                **dataclasses.asdict(train),
                "seed": seed,
                "lowercase": config.lowercase,
                "encoding": config.encoding,
                "encoding_errors": config.encoding_errors,
                "mode": "corpus_file",
                "gensim": g.version,
            },
        },
        stats={
            "sentences": prepared["sentences"],
            "corpus_words": prepared["words"],
            "lines_wrapped": prepared["lines_wrapped"],
            "vocab_size": len(kv),
            "words_trained": int(words_trained),
            "words_trained_per_epoch": per_epoch if None not in per_epoch else None,
            "epochs": train.epochs,
            "seconds": round(seconds, 3),
            "words_per_second": round(words_trained / max(seconds, 1e-9)),
            "prepare_seconds": round(prepare_seconds, 3),
            "filler_words": prepared["filler_words"],
        },
        keyed_vectors=kv,
    )
