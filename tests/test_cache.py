"""pipeline/cache.py: fingerprints, file identity, stage entries that are never half-read."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.cache import StageCache, content_key, file_identity, fingerprint
from pipeline.matrix import EmbeddingMatrix


def test_fingerprint_is_stable_and_sensitive():
    a = fingerprint("matrix", 1, {"oov_init": "normal", "output_dim": 0}, 42)
    assert a == fingerprint("matrix", 1, {"output_dim": 0, "oov_init": "normal"}, 42)  # key order irrelevant
    assert a != fingerprint("matrix", 1, {"oov_init": "normal", "output_dim": 0}, 43)
    assert a != fingerprint("matrix", 2, {"oov_init": "normal", "output_dim": 0}, 42)


def test_file_identity_follows_content_not_name(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("a 1 2\n")
    first = file_identity(p, tmp_path / "cache")
    assert first == {"path": str(p), "size": 6, "mtime_ns": p.stat().st_mtime_ns,
                     "crc32": format(zlib.crc32(b"a 1 2\n"), "08x")}
    # Same size, new content, mtime forced back: the inode/ctime part of the stat key still changes.
    st = p.stat()
    p.write_text("b 1 2\n")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = file_identity(p, tmp_path / "cache")
    assert second["crc32"] == format(zlib.crc32(b"b 1 2\n"), "08x") != first["crc32"]
    # A copy under another name has the same content identity.
    q = tmp_path / "w.txt"
    q.write_bytes(p.read_bytes())
    assert content_key(file_identity(q)) == content_key(second) == {"size": 6, "crc32": second["crc32"]}


@pytest.mark.parametrize("size", [0, 1, 6, 7, 20])
def test_file_sha256_is_hashlibs_across_block_boundaries(tmp_path, size):
    from pipeline.sources.files import file_sha256

    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    for chunk in (1, 3, 7, 8 << 20):  # blocks that divide the file, that don't, and one larger than it
        assert file_sha256(tmp_path / "f", chunk=chunk) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 6, 7, 20, 100_003])
def test_file_crc32_in_parts_is_zlibs_crc32_of_the_whole_file(tmp_path, size):
    from pipeline.sources.files import file_crc32

    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    expected = format(zlib.crc32(data), "08x")
    for parts in (1, 2, 3, 7) + ((size + 5,) if size < 100 else ()):  # more parts than bytes: one part a byte
        for chunk in (1, 3, 8 << 20) if size < 100 else (1000, 8 << 20):
            assert file_crc32(tmp_path / "f", parts=parts, chunk=chunk) == expected


def test_a_file_renamed_over_the_one_being_checksummed_is_not_mixed_in(tmp_path, monkeypatch):
    # Each part had opened the path itself: a part opened after `mv new v.txt` read the new file.
    import pipeline.sources.files as files

    old, new = os.urandom(3000), os.urandom(3000)
    (tmp_path / "v.txt").write_bytes(old)
    (tmp_path / "new").write_bytes(new)
    real = files._crc32_of_range
    lock = threading.Lock()

    def replaced_first(fd, start, stop, chunk):
        with lock:  # the first part to start replaces the file, before any part reads
            if (tmp_path / "new").exists():
                os.replace(tmp_path / "new", tmp_path / "v.txt")
        return real(fd, start, stop, chunk)

    monkeypatch.setattr(files, "_crc32_of_range", replaced_first)
    assert files.file_crc32(tmp_path / "v.txt", parts=3) == format(zlib.crc32(old), "08x")


def test_crc32_combine_joins_the_crcs_of_two_parts():
    from pipeline.sources.files import crc32_combine

    rng = np.random.default_rng(0)
    for _ in range(200):
        a, b = (rng.integers(0, 256, rng.integers(0, 3000), dtype=np.uint8).tobytes() for _ in range(2))
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_a_large_file_is_checksummed_in_parts_by_threads(tmp_path, monkeypatch):
    import pipeline.sources.files as files

    data = os.urandom(3000)
    (tmp_path / "f").write_bytes(data)
    ranges = []
    real = files._crc32_of_range

    def spy(fd, start, stop, chunk):
        ranges.append((start, stop))
        return real(fd, start, stop, chunk)

    monkeypatch.setattr(files, "_crc32_of_range", spy)
    monkeypatch.setattr(files, "_SPLIT_CRC_BYTES", 1000)
    monkeypatch.setattr(files, "usable_cores", lambda: 2)
    assert files.file_crc32(tmp_path / "f") == format(zlib.crc32(data), "08x")
    assert sorted(ranges) == [(0, 1500), (1500, None)]  # the last part reads to the end, however long


def test_write_atomic_replaces_whole_or_leaves_everything_as_it_was(tmp_path):
    from pipeline.system import write_atomic

    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new bytes")
    assert target.read_bytes() == b"new bytes"
    # A rename that fails (a folder holding a file is in the way): the temporary file goes too.
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "keep").write_bytes(b"k")
    with pytest.raises(OSError):
        write_atomic(blocked, b"never seen")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "f.json"]
    assert (blocked / "keep").read_bytes() == b"k"


def test_exchange_paths_swaps_two_folders_in_one_step(tmp_path):
    from pipeline.system import exchange_paths

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_text("a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("b")
    assert exchange_paths(tmp_path / "a", tmp_path / "b")  # Linux: renameat2 is in this C library
    assert [(tmp_path / n / "x").read_text() for n in "ab"] == ["b", "a"]
    assert not exchange_paths(tmp_path / "a", tmp_path / "missing")  # refused: both must exist


def _count_hashing(monkeypatch) -> list[str]:
    """Record every file the identity memo hashes (in a list returned)."""
    import pipeline.cache

    hashed: list[str] = []
    real = dict(pipeline.cache._DIGESTS)
    for kind, fn in real.items():
        monkeypatch.setitem(pipeline.cache._DIGESTS, kind, lambda path, fn=fn: hashed.append(str(path)) or fn(path))
    return hashed


def _forget_this_process(monkeypatch) -> None:
    """Start the in-process memo empty, as a new process would."""
    import pipeline.cache

    monkeypatch.setattr(pipeline.cache, "_SEEN", {})


def _old_enough(monkeypatch) -> None:
    """Let the memo remember files written a moment ago (see the racily clean test)."""
    import pipeline.cache

    monkeypatch.setattr(pipeline.cache, "_RACY_NS", 0)


def test_file_identity_hash_is_memoised(tmp_path, monkeypatch):
    _old_enough(monkeypatch)
    p = tmp_path / "v.txt"
    p.write_text("a 1 2\n")
    hashed = _count_hashing(monkeypatch)
    first = file_identity(p, tmp_path / "cache")
    _forget_this_process(monkeypatch)
    assert file_identity(p, tmp_path / "cache") == first  # from the memo on disk
    assert first["crc32"] == format(zlib.crc32(b"a 1 2\n"), "08x") and first["size"] == 6
    assert hashed == [str(p)]


def test_without_a_cache_folder_a_file_is_hashed_once_a_process(tmp_path, monkeypatch):
    _old_enough(monkeypatch)
    p = tmp_path / "v.txt"
    p.write_text("a 1 2\n")
    hashed = _count_hashing(monkeypatch)
    _forget_this_process(monkeypatch)
    assert file_identity(p) == file_identity(p)
    assert hashed == [str(p)]
    p.write_text("b 1 2\n")  # a change: hashed again
    assert file_identity(p)["crc32"] == format(zlib.crc32(b"b 1 2\n"), "08x")
    assert hashed == [str(p)] * 2


def test_a_file_changed_just_before_it_is_hashed_is_not_remembered_on_disk(tmp_path, monkeypatch):
    # Within one tick of a coarse file system clock (FAT: 2 s), a second same-size write could leave
    # the stat as it was, and a remembered CRC would then describe the old bytes ("racily clean").
    import pipeline.cache

    p = tmp_path / "v.txt"
    p.write_text("a 1 2\n")
    _forget_this_process(monkeypatch)
    hashed = _count_hashing(monkeypatch)
    file_identity(p, tmp_path / "cache")
    file_identity(p, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("identity/*.json")) and hashed == [str(p)] * 2  # nor in the process
    changed = max(p.stat().st_mtime_ns, p.stat().st_ctime_ns)
    monkeypatch.setattr(pipeline.cache.time, "time_ns", lambda: changed + pipeline.cache._RACY_NS + 1)
    _forget_this_process(monkeypatch)
    hashed.clear()
    assert file_identity(p, tmp_path / "cache")["crc32"] == format(zlib.crc32(b"a 1 2\n"), "08x")
    assert len(list((tmp_path / "cache").glob("identity/*.json"))) == 1 and hashed == [str(p)]


def test_a_damaged_hash_memo_is_not_trusted(tmp_path, monkeypatch):
    _old_enough(monkeypatch)
    p = tmp_path / "v.txt"
    p.write_text("a 1 2\n")
    right = format(zlib.crc32(b"a 1 2\n"), "08x")
    assert file_identity(p, tmp_path / "cache")["crc32"] == right
    (memo,) = (tmp_path / "cache" / "identity").glob("*.json")
    data = json.loads(memo.read_text())
    wrong = ("0" if right[5] != "0" else "1").join([right[:5], right[6:]])  # one hex digit changed
    memo.write_text(json.dumps({**data, "crc32": wrong}))
    _forget_this_process(monkeypatch)
    hashed = _count_hashing(monkeypatch)
    assert file_identity(p, tmp_path / "cache")["crc32"] == right  # hashed again ...
    assert json.loads(memo.read_text())["crc32"] == right  # ... and remembered again
    _forget_this_process(monkeypatch)
    assert file_identity(p, tmp_path / "cache")["crc32"] == right
    assert hashed == [str(p)]


def test_a_memoised_identity_names_the_file_as_the_caller_does(tmp_path, monkeypatch):
    (tmp_path / "v.txt").write_text("a 1 2\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "v.txt")
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    spellings = ["v.txt", str(tmp_path / "v.txt"), "./v.txt", "link.txt"]
    identities = [file_identity(name, cache) for name in spellings]
    assert [i["path"] for i in identities] == [str(Path(name)) for name in spellings]
    assert len({i["crc32"] for i in identities}) == 1


def matrix() -> EmbeddingMatrix:
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    w[0] = 0
    return EmbeddingMatrix(w, ("[PAD]", "[UNK]", "a", "b"), np.array([0, 0, 1, 1], bool), (1,), info={"k": [1, 2]})


def test_stage_round_trip(tmp_path):
    cache = StageCache(tmp_path)
    cache.save("matrix", "fp1", matrix())
    back = cache.load("matrix", "fp1", EmbeddingMatrix)
    assert np.array_equal(back.weights, matrix().weights) and back.weights.dtype == np.float32
    assert back.tokens == ("[PAD]", "[UNK]", "a", "b")
    assert back.initialised == (1,)
    assert back.info == {"k": [1, 2]}
    assert cache.load("matrix", "other", EmbeddingMatrix) is None


def test_replacing_an_entry_never_leaves_its_path_without_a_complete_entry(tmp_path, monkeypatch):
    # A forced stage rewrites its entry while other runs may read it: deleting the old entry first
    # showed them half an entry, which they took for damage and deleted (perhaps the new one).
    import shutil

    import pipeline.cache

    cache = StageCache(tmp_path)
    cache.save("matrix", "fp1", matrix())
    entry = cache.entry("matrix", "fp1")
    complete_while_removing, rmtree = [], shutil.rmtree

    def watching_rmtree(path, *args, **kwargs):
        rmtree(path, *args, **kwargs)
        complete_while_removing.append((entry / "done.json").is_file() and (entry / "weights.npy").is_file())

    monkeypatch.setattr(pipeline.cache.shutil, "rmtree", watching_rmtree)
    second = matrix()
    second.weights[2] += 1
    cache.save("matrix", "fp1", second)
    assert complete_while_removing == [True]  # once the old entry is removed, the new one is in its place
    assert np.array_equal(cache.load("matrix", "fp1", EmbeddingMatrix).weights, second.weights)
    assert sorted(p.name for p in entry.parent.iterdir()) == ["fp1"]


def test_half_written_or_damaged_entry_is_never_used(tmp_path):
    cache = StageCache(tmp_path)
    cache.save("matrix", "fp1", matrix())
    entry = cache.entry("matrix", "fp1")
    (entry / "weights.npy").write_bytes(b"garbage")
    assert cache.load("matrix", "fp1", EmbeddingMatrix) is None  # damaged: dropped, recomputed
    assert not entry.exists()
    cache.save("matrix", "fp2", matrix())
    (cache.entry("matrix", "fp2") / "done.json").unlink()  # as if killed before the completion mark
    assert cache.load("matrix", "fp2", EmbeddingMatrix) is None


def _change_one_value(path):
    """Rewrite the entry file with one value changed: same size, still a valid .npy or JSON."""
    if path.suffix == ".npy":
        w = np.load(path)
        w[3, 2] += 1
        np.save(path, w)
    else:
        path.write_text(path.read_text().replace('"k": [1, 2]', '"k": [1, 3]'))


@pytest.mark.parametrize("name", ["weights.npy", "fields.json"])
def test_a_changed_value_in_any_entry_file_is_detected(tmp_path, name):
    cache = StageCache(tmp_path)
    cache.save("matrix", "fp1", matrix())
    path = cache.entry("matrix", "fp1") / name
    size, before = path.stat().st_size, path.read_bytes()
    _change_one_value(path)
    assert path.stat().st_size == size and path.read_bytes() != before
    assert cache.load("matrix", "fp1", EmbeddingMatrix) is None
    assert not cache.entry("matrix", "fp1").exists()


def test_a_save_that_fails_midway_leaves_no_temporary_folder(tmp_path):
    cache = StageCache(tmp_path)
    bad = EmbeddingMatrix(**{**vars(matrix()), "info": {"word": "lone\ud800"}})  # UTF-8 cannot write it
    with pytest.raises(UnicodeEncodeError):
        cache.save("matrix", "fp1", bad)
    assert list((tmp_path / "stages" / "matrix").iterdir()) == []
    assert cache.load("matrix", "fp1", EmbeddingMatrix) is None


def test_a_save_removes_temporary_folders_no_process_is_writing(tmp_path, leftover_temp_folders):
    cache = StageCache(tmp_path)
    folder = tmp_path / "stages" / "matrix"
    made = leftover_temp_folders(folder)
    cache.save("matrix", "fp1", matrix())
    assert sorted(os.listdir(folder)) == sorted([made["live"].name, ".not-a-temp-folder", "fp1"])
    assert (made["live"] / "part.npy").stat().st_size == 4096  # untouched
    assert np.array_equal(cache.load("matrix", "fp1", EmbeddingMatrix).weights, matrix().weights)


def test_a_file_where_a_stage_entry_belongs_is_replaced(tmp_path):
    cache = StageCache(tmp_path)
    cache.entry("matrix", "fp1").parent.mkdir(parents=True)
    cache.entry("matrix", "fp1").write_text("not a folder")
    assert cache.load("matrix", "fp1", EmbeddingMatrix) is None
    cache.save("matrix", "fp1", matrix())
    assert cache.write_failed is False
    assert np.array_equal(cache.load("matrix", "fp1", EmbeddingMatrix).weights, matrix().weights)
