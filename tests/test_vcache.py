"""Tests for pipeline/sources/vcache.py (the vectors cache) and the two-process text reader in parallel_read.py.

The reference is always a direct ``read_vectors`` of the same file: the cache and
the parallel reader must give the same words, bit-for-bit the same matrix, the
same source and the same stats (the cache adds ``stats["vectors_cache"]``).
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import DataError
from pipeline.sources import parallel_read, readers, vcache
from pipeline.sources.files import describe_file
from pipeline.sources.readers import FORMATS, read_vectors
from pipeline.sources.vcache import cached_read

RNG = np.random.default_rng(11)
WORDS = [f"w{i}" for i in range(40)] + ["Straße", "naïve", "w3", "UPPER", "w7"]  # two repeats
MATRIX = RNG.standard_normal((len(WORDS), 6)).astype(np.float32)


def text_bytes(words, matrix, header=False, trailing=""):
    lines = [f"{len(words)} {matrix.shape[1]}"] if header else []
    lines += [w + " " + " ".join(repr(float(x)) for x in row) + trailing for w, row in zip(words, matrix)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def binary_bytes(words, matrix):
    out = [f"{len(words)} {matrix.shape[1]}\n".encode()]
    out += [w.encode("utf-8") + b" " + row.astype("<f4").tobytes() for w, row in zip(words, matrix)]
    return b"".join(out)


def sample_file(tmp_path, fmt, compress=None):
    if fmt == "word2vec-binary":
        data = binary_bytes(WORDS, MATRIX)
    else:
        data = text_bytes(WORDS, MATRIX, header=fmt != "glove", trailing=" " if fmt == "fasttext-vec" else "")
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "bz2":
        data = bz2.compress(data)
    path = tmp_path / f"vectors-{fmt}.{compress or 'plain'}"
    path.write_bytes(data)
    return path


def assert_same(got, expected, cache_status=None):
    assert got.words == expected.words
    assert got.matrix.dtype == np.float32 and got.matrix.flags.c_contiguous
    assert type(got.matrix) is np.ndarray and got.matrix.flags.owndata  # a real array, not a view of the mmap
    assert np.array_equal(got.matrix, expected.matrix)
    assert got.source == expected.source
    stats = dict(got.stats)
    if cache_status is not None:
        assert stats.pop("vectors_cache") == cache_status
    assert stats == expected.stats


WANTED_SETS = [
    None,
    {"w1", "w3", "w7", "Straße", "absent"},  # includes both repeated words
    set(),
    {"naïve"},
]


# --------------------------------------------------------------------------- the cache gives the direct read


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("compress", [None, "gz"])
def test_cached_read_equals_the_direct_read(tmp_path, fmt, compress):
    path = sample_file(tmp_path, fmt, compress)
    cache = tmp_path / "cache"
    for i, wanted in enumerate(WANTED_SETS):
        expected = read_vectors(path, fmt, wanted=wanted)
        assert_same(cached_read(path, fmt, cache_dir=cache, wanted=wanted), expected, "built" if i == 0 else "hit")
        # a callable test gives the same as the set
        if wanted is not None:
            got = cached_read(path, fmt, cache_dir=cache, wanted=wanted.__contains__)
            assert_same(got, expected, "hit")
    assert len(list((cache / "vectors").iterdir())) == 1


def test_golden_small_file_through_the_cache(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"the 0.5 -1\ncat 1.25 0\nthe 9 9\ndog 2 3\n")
    first = cached_read(path, cache_dir=tmp_path / "c", wanted={"the", "dog"})
    again = cached_read(path, cache_dir=tmp_path / "c", wanted={"the", "dog"})
    for v in (first, again):
        assert v.words == ("the", "dog")
        assert v.matrix.tolist() == [[0.5, -1.0], [2.0, 3.0]]
        assert v.stats["duplicates"] == 1 and v.stats["duplicate_examples"] == ["the"]
        assert v.stats["rows_unwanted"] == 1 and v.stats["rows_parsed"] == 2 and v.stats["rows_read"] == 4
    assert (first.stats["vectors_cache"], again.stats["vectors_cache"]) == ("built", "hit")
    entry = next((tmp_path / "c" / "vectors").iterdir())
    assert sorted(p.name for p in entry.iterdir()) == [
        "done.json", "duplicates.json", "meta.json", "row_crc32.npy", "vectors.npy", "words.txt"
    ]
    assert (entry / "words.txt").read_text(encoding="utf-8") == "the\ncat\ndog"
    assert json.loads((entry / "duplicates.json").read_text()) == ["the"]
    stored = np.load(entry / "vectors.npy", allow_pickle=False)
    assert stored.dtype == np.float32 and stored.tolist() == [[0.5, -1.0], [1.25, 0.0], [2.0, 3.0]]
    expected_crc = [zlib.crc32(struct.pack("<2f", *row)) for row in ([0.5, -1.0], [1.25, 0.0], [2.0, 3.0])]
    assert np.load(entry / "row_crc32.npy", allow_pickle=False).tolist() == expected_crc


def test_a_nan_in_an_unwanted_row_is_read_filtered_and_not_cached(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"a 1 2\nb nan 1\nc 3 4\n")
    v = cached_read(path, cache_dir=tmp_path / "c", wanted={"a", "c"})
    assert v.words == ("a", "c") and v.stats["vectors_cache"] == "not cached"
    assert not list((tmp_path / "c" / "vectors").glob("*/done.json"))
    with pytest.raises(DataError) as info:
        cached_read(path, cache_dir=tmp_path / "c", wanted={"b"})
    assert info.value.line == 2


# --------------------------------------------------------------------------- the key is the content


def test_key_changes_with_content_of_the_same_name_size_and_mtime(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"a 1 2\nb 3 4\n")
    cache = tmp_path / "c"
    assert cached_read(path, cache_dir=cache).matrix.tolist() == [[1, 2], [3, 4]]
    stat = path.stat()
    path.write_bytes(b"a 5 6\nb 7 8\n")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime
    v = cached_read(path, cache_dir=cache)
    assert v.matrix.tolist() == [[5, 6], [7, 8]]
    assert v.stats["vectors_cache"] == "built"
    assert len(list((cache / "vectors").iterdir())) == 2


def test_same_content_under_another_name_shares_the_entry(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"x 1\ny 2\n")
    b.write_bytes(b"x 1\ny 2\n")
    cached_read(a, cache_dir=tmp_path / "c")
    v = cached_read(b, cache_dir=tmp_path / "c")
    assert v.stats["vectors_cache"] == "hit" and v.source["path"] == str(b)


def test_encoding_settings_are_part_of_the_key(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes("caf\xe9 1\n".encode("latin-1"))
    cache = tmp_path / "c"
    assert cached_read(path, cache_dir=cache, encoding="latin-1").words == ("café",)
    assert cached_read(path, cache_dir=cache, encoding_errors="replace").words == ("caf\ufffd",)
    with pytest.raises(DataError):
        cached_read(path, cache_dir=cache)  # strict utf-8: still refused, not served from another entry


# --------------------------------------------------------------------------- damaged entries are rebuilt


def _entry(cache: Path) -> Path:
    (entry,) = [p for p in (cache / "vectors").iterdir() if not p.name.startswith(".")]
    return entry


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 8])


def _zero_tail(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-24:] = bytes(24)
    path.write_bytes(bytes(data))


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))


def _npy_shape(path: Path, shape: str) -> None:
    """Write ``shape`` into the .npy header of ``path``, the file's size unchanged (the header is padded)."""
    data = bytearray(path.read_bytes())
    assert data[6:8] == b"\x01\x00"  # format 1.0: a 2-byte header length
    length = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + length].decode("latin-1")
    edited = re.sub(r"'shape': \([^)]*\)", f"'shape': {shape}", header).rstrip()
    data[10:10 + length] = (edited.ljust(length - 1) + "\n").encode("latin-1")
    path.write_bytes(bytes(data))


def _no_mark(entry: Path) -> None:
    (entry / "done.json").unlink()


DAMAGE = {
    "truncated npy": lambda e: _truncate(e / "vectors.npy"),
    "zero-filled tail": lambda e: _zero_tail(e / "vectors.npy"),
    "no completion mark": _no_mark,
    # np.load raised OverflowError for these, which no check caught: every later read failed (exit 1)
    "negative dim in the npy header": lambda e: _npy_shape(e / "vectors.npy", "(12, -6)"),
    "enormous shape in the npy header": lambda e: _npy_shape(e / "vectors.npy", "(99999999999999999999, 6)"),
    "missing words": lambda e: (e / "words.txt").unlink(),
    "edited words": lambda e: (e / "words.txt").write_bytes((e / "words.txt").read_bytes().replace(b"w1\n", b"wX\n")),
    "edited repeats": lambda e: (e / "duplicates.json").write_bytes(
        (e / "duplicates.json").read_bytes().replace(b"w3", b"w4")
    ),
    "edited row checksums": lambda e: _flip_last_byte(e / "row_crc32.npy"),
    "bad meta": lambda e: (e / "meta.json").write_text("{"),
    "edited stats in meta": lambda e: (e / "meta.json").write_text(
        json.dumps({**json.loads((e / "meta.json").read_text()), "stats": {"dim": 99}})
    ),
    "garbage completion mark": lambda e: (e / "done.json").write_text("[1]"),
    "wrong shape in meta": lambda e: (e / "meta.json").write_text(
        json.dumps({**json.loads((e / "meta.json").read_text()), "shape": [3, 6]})
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_detected_and_rebuilt(tmp_path, damage, caplog):
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"
    wanted = {"w1", "w7", "naïve", "UPPER"}  # UPPER: the last row, where a zero-filled tail lands
    expected = read_vectors(path, wanted=wanted)
    cached_read(path, cache_dir=cache, wanted=wanted)
    DAMAGE[damage](_entry(cache))
    v = cached_read(path, cache_dir=cache, wanted=wanted)
    assert_same(v, expected, "built")
    assert any("damaged vectors cache entry" in r.getMessage() for r in caplog.records)
    assert_same(cached_read(path, cache_dir=cache, wanted=wanted), expected, "hit")


def _flip_byte_in_row(entry: Path, row: int, dim: int) -> None:
    """Flip one bit of one value of ``row`` in ``vectors.npy`` (size and everything else unchanged)."""
    npy = entry / "vectors.npy"
    data = bytearray(npy.read_bytes())
    rows = np.load(npy, mmap_mode="r").shape[0]
    data[len(data) - (rows - row) * dim * 4 + 5] ^= 0x10
    npy.write_bytes(bytes(data))


@pytest.fixture
def big_file(tmp_path):
    """3,000 x 40 rows, so that one row is a small part of vectors.npy (any sampling would miss most rows)."""
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((3000, 40)).astype(np.float32)
    path = tmp_path / "big.txt"
    path.write_text("".join(f"w{i} " + " ".join(f"{x:.6f}" for x in row) + "\n" for i, row in enumerate(matrix)))
    return path


@pytest.mark.parametrize("row", [1, 1234, 2999])
def test_a_changed_value_in_any_wanted_row_is_detected(big_file, tmp_path, row, caplog):
    cache = tmp_path / "cache"
    wanted = {"w0", f"w{row}", "w2000"}
    expected = read_vectors(big_file, wanted=wanted)
    cached_read(big_file, cache_dir=cache, wanted=wanted)
    _flip_byte_in_row(_entry(cache), row, 40)
    assert_same(cached_read(big_file, cache_dir=cache, wanted=wanted), expected, "built")
    assert any(f"row {row} of vectors.npy differs" in r.getMessage() for r in caplog.records)
    assert_same(cached_read(big_file, cache_dir=cache, wanted=wanted), expected, "hit")


def test_a_damaged_row_is_never_used_and_caught_when_first_wanted(big_file, tmp_path, caplog):
    cache = tmp_path / "cache"
    cached_read(big_file, cache_dir=cache, wanted={"w1"})
    _flip_byte_in_row(_entry(cache), 1500, 40)
    # Row 1500 is not handed out: the rows that are match their CRC-32, so the entry still serves.
    assert_same(cached_read(big_file, cache_dir=cache, wanted={"w1", "w9"}),
                read_vectors(big_file, wanted={"w1", "w9"}), "hit")
    # The first read that wants it (here: every row) finds the damage and rebuilds.
    assert_same(cached_read(big_file, cache_dir=cache), read_vectors(big_file), "built")
    assert any("row 1500 of vectors.npy differs" in r.getMessage() for r in caplog.records)


def test_leftover_temporary_folder_is_not_used(tmp_path):
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"
    cached_read(path, cache_dir=cache)
    entry = _entry(cache)
    os.rename(entry, entry.with_name(f".{entry.name}.tmp-1-abc"))  # as an interrupted write leaves it
    assert cached_read(path, cache_dir=cache).stats["vectors_cache"] == "built"


def test_a_second_writer_keeps_the_entry_another_process_finished(tmp_path, monkeypatch):
    # Two runs miss at the same time and both parse the file: the first to finish publishes its
    # entry; the second must not replace it under a reader that has it mapped.
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"
    first_store = vcache._store
    published = []

    def late_store(entry, *args):
        first_store(entry, *args)  # "the other process" finishes first ...
        published.append(os.stat(entry).st_ino)
        first_store(entry, *args)  # ... then this one

    monkeypatch.setattr(vcache, "_store", late_store)
    v = cached_read(path, cache_dir=cache, wanted={"w1"})
    monkeypatch.undo()
    entry = _entry(cache)
    assert os.stat(entry).st_ino == published[0]
    assert [p.name for p in (cache / "vectors").iterdir()] == [entry.name]  # no temporary folder left
    again = cached_read(path, cache_dir=cache, wanted={"w1"})
    assert again.stats["vectors_cache"] == "hit" and np.array_equal(again.matrix, v.matrix)


def test_an_unwritable_cache_costs_nothing_but_speed(tmp_path):
    path = sample_file(tmp_path, "glove")
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    v = cached_read(path, cache_dir=blocker / "sub", wanted={"w1"})
    assert v.words == ("w1",)


def test_ctrl_c_while_writing_an_entry_leaves_no_temporary_folder(tmp_path, monkeypatch):
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"

    def interrupted(array):  # called once vectors.npy, the entry-sized file, is written
        raise KeyboardInterrupt

    monkeypatch.setattr(vcache, "_npy_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cached_read(path, cache_dir=cache)
    assert os.listdir(cache / "vectors") == []
    monkeypatch.undo()
    assert cached_read(path, cache_dir=cache).stats["vectors_cache"] == "built"
    assert_same(cached_read(path, cache_dir=cache, wanted={"w1"}), read_vectors(path, wanted={"w1"}), "hit")


def test_writing_an_entry_removes_temporary_folders_no_process_is_writing(tmp_path, leftover_temp_folders):
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"
    made = leftover_temp_folders(cache / "vectors")
    assert cached_read(path, cache_dir=cache).stats["vectors_cache"] == "built"
    names = sorted(os.listdir(cache / "vectors"))
    assert names == sorted([made["live"].name, ".not-a-temp-folder", _entry(cache).name])
    assert (made["live"] / "part.npy").stat().st_size == 4096  # untouched


def test_a_file_where_the_entry_folder_belongs_is_removed_and_the_entry_rebuilt_once(tmp_path, caplog):
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"
    expected = read_vectors(path, wanted={"w1", "naïve"})
    cached_read(path, cache_dir=cache)
    entry = _entry(cache)
    shutil.rmtree(entry)
    entry.write_text("not a folder")
    assert_same(cached_read(path, cache_dir=cache, wanted={"w1", "naïve"}), expected, "built")
    assert any(r.getMessage() == f"damaged vectors cache entry {entry} (not a folder): rebuilding it"
               for r in caplog.records)
    assert entry.is_dir()
    assert_same(cached_read(path, cache_dir=cache, wanted={"w1", "naïve"}), expected, "hit")


# --------------------------------------------------------------------------- fast start


def test_the_cached_path_imports_neither_gensim_nor_sklearn(tmp_path):
    path = sample_file(tmp_path, "glove")
    cache = tmp_path / "cache"
    cached_read(path, cache_dir=cache)
    code = (
        "import sys\n"
        "from pipeline.sources.vcache import cached_read\n"
        f"v = cached_read({str(path)!r}, cache_dir={str(cache)!r}, wanted={{'w1'}})\n"
        "assert v.stats['vectors_cache'] == 'hit', v.stats\n"
        "print(sorted(m for m in ('gensim', 'sklearn', 'scipy', 'torch', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the two-process reader


@pytest.fixture
def parallel(monkeypatch):
    """Split every plain text file, however small, into two halves."""
    monkeypatch.setattr(parallel_read, "_PARALLEL_BYTES", 0)


def many_rows(n=3000, dim=4, seed=3):
    rng = np.random.default_rng(seed)
    words = [f"t{i}" for i in range(n)]
    for i, j in [(2500, 10), (2600, 2510), (2700, 5), (400, 3)]:  # repeats within and across the halves
        words[i] = words[j]
    return words, rng.standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["glove", "word2vec-text", "fasttext-vec"])
@pytest.mark.parametrize("wanted", [None, "some", "callable"])
def test_two_halves_give_the_one_process_result(tmp_path, parallel, fmt, wanted):
    words, matrix = many_rows()
    data = text_bytes(words, matrix, header=fmt != "glove", trailing=" " if fmt == "fasttext-vec" else "")
    data = data.replace(b"\nt1500 ", b"\n\n\r\nt1500 ")  # blank lines in the second half
    path = tmp_path / "v.txt"
    path.write_bytes(data)
    keep = None if wanted is None else {"t5", "t10", "t2510", "t2999", "t1500", "t1"}
    if wanted == "callable":
        keep = keep.__contains__
    one = read_vectors(path, fmt, wanted=keep, workers=1)
    two = read_vectors(path, fmt, wanted=keep, workers=2)
    assert_same(two, one)
    assert one.stats["duplicates"] >= 1 and one.stats["blank_lines"] == 2


def test_two_halves_really_ran(tmp_path, parallel, caplog, monkeypatch):
    words, matrix = many_rows()
    path = tmp_path / "v.txt"
    path.write_bytes(text_bytes(words, matrix))
    calls = []
    real = parallel_read._merge_halves
    monkeypatch.setattr(parallel_read, "_merge_halves", lambda *a: calls.append(1) or real(*a))
    read_vectors(path, workers=2)
    assert calls == [1]


@pytest.mark.parametrize("known", [True, False])
def test_each_process_scans_half_and_the_identity_is_the_files(tmp_path, parallel, caplog, known):
    words, matrix = many_rows()
    path = tmp_path / "v.txt"
    path.write_bytes(text_bytes(words, matrix))
    identity = describe_file(path) if known else None
    with caplog.at_level(logging.DEBUG, logger="pipeline.sources.readers"):
        two = read_vectors(path, workers=2, identity=identity)
    (split,) = [int(m.group(1)) for r in caplog.records if (m := re.search(r"split at line (\d+)", r.getMessage()))]
    assert abs(split - 0.5 * len(words)) < 0.02 * len(words), split
    assert_same(two, read_vectors(path, workers=1))
    assert two.source["crc32"] == format(zlib.crc32(path.read_bytes()), "08x")


@pytest.mark.parametrize("layout", ["glove", "glove with a BOM", "word2vec header", "header with a BOM", "long lines", "crlf"])
@pytest.mark.parametrize("chunk", [64, 1000, 1 << 20])
def test_the_crc32_both_processes_take_while_reading_is_the_files(tmp_path, parallel, monkeypatch, layout, chunk):
    # Each process checksums the bytes it reads; the chunks' part lines are read twice but must be taken once.
    from pipeline.sources import text_scan

    words, matrix = many_rows(dim=4 if layout != "long lines" else 40)
    body = text_bytes(words, matrix, header="header" in layout)
    if layout == "crlf":
        body = body.replace(b"\n", b"\r\n")
    if "BOM" in layout:
        body = b"\xef\xbb\xbf" + body
    path = tmp_path / "v.txt"
    path.write_bytes(body)
    monkeypatch.setattr(text_scan, "_CHUNK_BYTES", chunk)
    calls = []
    real = parallel_read._read_text_parallel
    monkeypatch.setattr(readers, "_read_text_parallel", lambda *a, **k: calls.append(k) or real(*a, **k))
    monkeypatch.setattr(readers, "describe_file", lambda p: pytest.fail("hashed in a pass of its own"))
    two = read_vectors(path, workers=2)
    assert calls == [{"checksum": True}]
    assert two.source["crc32"] == format(zlib.crc32(body), "08x")
    assert (two.source["size"], two.source["mtime_ns"]) == (len(body), path.stat().st_mtime_ns)
    monkeypatch.undo()
    assert_same(two, read_vectors(path, workers=1))


@pytest.mark.parametrize(
    "bad, line, what",
    [
        (b"t2800 1 2 3\n", 2801, "row has 3 values, expected 4"),
        (b"t2800 1 2 3 nan\n", 2801, "NaN or infinite"),
        (b"t2800 1 2 3 x\n", 2801, "value 4 is not a number"),
        (b"\xff\xfe 1 2 3 4\n", 2801, "is not valid utf-8"),
    ],
)
def test_error_in_the_second_half_names_the_same_line(tmp_path, parallel, bad, line, what):
    words, matrix = many_rows()
    lines = text_bytes(words, matrix).split(b"\n")
    lines[line - 1] = bad.rstrip(b"\n")
    path = tmp_path / "v.txt"
    path.write_bytes(b"\n".join(lines))
    errors = []
    for workers in (1, 2):
        with pytest.raises(DataError) as info:
            read_vectors(path, wanted=None, workers=workers)
        errors.append(str(info.value))
        assert info.value.line == line and what in str(info.value)
    assert errors[0] == errors[1]


def test_header_count_mismatch_across_halves(tmp_path, parallel):
    words, matrix = many_rows()
    data = text_bytes(words, matrix, header=True).replace(b"3000 4\n", b"2999 4\n", 1)
    path = tmp_path / "v.txt"
    path.write_bytes(data)
    with pytest.raises(DataError) as info:
        read_vectors(path, workers=2)
    assert info.value.line == 3001 and "more rows than the 2999" in str(info.value)


def test_compressed_files_and_max_rows_stay_sequential(tmp_path, parallel):
    words, matrix = many_rows()
    path = tmp_path / "v.txt.gz"
    path.write_bytes(gzip.compress(text_bytes(words, matrix)))
    assert parallel_read._parallel_workers(path, 2) == 1
    plain = tmp_path / "v.txt"
    plain.write_bytes(text_bytes(words, matrix))
    assert parallel_read._parallel_workers(plain, 2) == 2
    assert parallel_read._parallel_workers(plain, 1) == 1
    assert read_vectors(plain, max_rows=10, workers=2).words == tuple(words[:10])


@pytest.mark.parametrize("lines", [False, True])  # the words as a list (a new entry) or as words.txt's lines (a hit)
@pytest.mark.parametrize("extra", [[], ["Ünïcode", "naïve", "STRAẞE", "x٣y٤"]])  # all ASCII, or not
def test_cached_selection_keeps_exactly_the_words_the_rules_want(extra, lines):
    from pipeline.align import wanted_predicate

    tokens = ["apple", "Berlin", "2024", "x1y2", "straße", "naïve", "x3y4"]
    keep = wanted_predicate(tokens, ("exact", "lower", "casefold", "digits"))
    words = ["APPLE", "apple", "Apple", "berlin", "BERLIN", "1999", "x9y0", "x1y", "Strasse", "STRASSE",
             "pear", "apple ", "2024x", *(f"w{i}" for i in range(200)), *extra]
    if lines:
        words = vcache._WordLines("\n".join(words).encode("utf-8"))
    flags = vcache._wanted_flags(words, keep)
    assert flags.tolist() == [keep(w) for w in words]
    assert [w for w, f in zip(words, flags) if f][:8] == ["APPLE", "apple", "Apple", "berlin", "BERLIN", "1999",
                                                          "x9y0", "Strasse"]
