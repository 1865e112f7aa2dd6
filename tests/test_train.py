"""Tests for pipeline/sources/train.py: the prepared corpus layout and Word2Vec training.

The corpora are tiny and vectors small (vector_size 8-16, 1-3 epochs): the file runs in a few
seconds, most of it importing gensim once.
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import os
import random
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import TrainConfig, VectorsConfig
from pipeline.errors import ConfigError, DataError, StorageError
from pipeline.sources.train import BATCH_FILE_WORDS, FILLER, prepare_corpus, train_vectors

VOCAB = [f"w{i}" for i in range(40)]


def random_lines(seed: int, lengths: list[int]) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCAB) for _ in range(n)) for n in lengths]


@pytest.fixture
def long_line_corpus(tmp_path: Path) -> Path:
    """One line of 25,000 words, then 20 lines of 100: 27,000 words."""
    path = tmp_path / "long.txt"
    path.write_text("\n".join(random_lines(1, [25_000] + [100] * 20)) + "\n", encoding="utf-8")
    return path


def vectors_config(corpus: list[str], **train: object) -> VectorsConfig:
    params = {"vector_size": 8, "min_count": 1, "sample": 0.0, "epochs": 2, "workers": 1, **train}
    return VectorsConfig(corpus=tuple(corpus), train=TrainConfig(**params))


def train(tmp_path: Path, corpus: list[str], seed: int = 7, work: str = "work", **params: object):
    config = vectors_config(corpus, **params)
    return train_vectors(config, base_dir=tmp_path, seed=seed, work_dir=tmp_path / work)


def gensim_counts(path: Path, epochs: int = 2, workers: int = 1) -> tuple[int, int, int]:
    """Bare gensim in corpus_file mode: (corpus words, words trained, words read) over all epochs."""
    from gensim.models import Word2Vec

    model = Word2Vec(vector_size=8, min_count=1, sample=0, workers=workers, seed=1, epochs=epochs)
    model.build_vocab(corpus_file=str(path))
    trained, read = model.train(corpus_file=str(path), total_words=model.corpus_total_words,
                                total_examples=model.corpus_count, epochs=epochs)
    return model.corpus_total_words, trained, read


# --------------------------------------------------------------------------- the gensim problem
# These pin gensim 4.4's behaviour. If they fail after an upgrade, gensim may have fixed its
# corpus_file reader: train.py's layout still works, but may no longer be needed.


def test_bare_gensim_corpus_file_trains_fewer_words_than_the_corpus_holds(long_line_corpus):
    # With sample=0 and min_count=1 every word is kept, so trained words should be 2 x 27,000.
    # gensim 4.4 trains 2 x 17,000: the 25,000-word line is cut in chunks of 10,000/10,000/5,000,
    # the batch keeps two chunks but trains only the first 10,000 words.
    corpus_words, trained, read = gensim_counts(long_line_corpus)
    assert corpus_words == 27_000
    assert trained < 2 * corpus_words
    assert read < 2 * corpus_words  # the second chunk is not even counted as read


def test_bare_gensim_loses_words_even_when_no_line_is_long(tmp_path):
    # 200 lines of 100 words: the first batch is 101 lines (gensim reads until it holds more than
    # 10,000 words and keeps the line that crossed), only 10,000 words are trained, one line lost.
    path = tmp_path / "short.txt"
    path.write_text("\n".join(random_lines(2, [100] * 200)) + "\n", encoding="utf-8")
    corpus_words, trained, read = gensim_counts(path)
    assert corpus_words == 20_000
    assert trained == 2 * 19_900


# --------------------------------------------------------------------------- nothing is lost


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_train_vectors_trains_every_corpus_word_in_every_epoch(tmp_path, long_line_corpus, workers, caplog):
    caplog.set_level(logging.INFO, logger="pipeline.sources.train")
    vectors = train(tmp_path, [str(long_line_corpus)], workers=workers)
    assert vectors.stats["corpus_words"] == 27_000
    assert vectors.stats["lines_wrapped"] == 1
    # gensim's own per-epoch "effective words" figure, with nothing for min_count/sample to drop.
    assert vectors.stats["words_trained_per_epoch"] == [27_000, 27_000]
    assert vectors.stats["words_trained"] == 2 * 27_000
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []  # gensim read exactly the prepared file's words
    epoch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(epoch_lines) == 2 and all("27,000 words trained" in m and "words/s" in m for m in epoch_lines)
    # ... and as fields of the records, which --log-format json writes out.
    records = [r for r in caplog.records if getattr(r, "event", None) == "epoch"]
    assert [(r.epoch, r.epochs, r.words_trained) for r in records] == [(1, 2, 27_000), (2, 2, 27_000)]
    assert all(r.words_per_second == round(27_000 / r.seconds) for r in records)


def test_every_batch_gensim_reads_is_exactly_10001_words(tmp_path, long_line_corpus):
    stats = prepare_corpus([long_line_corpus], tmp_path / "c.txt")
    tokens = (tmp_path / "c.txt").read_bytes().split()  # how the C++ reader splits: ASCII whitespace
    assert len(tokens) == stats["file_words"] == stats["batches"] * BATCH_FILE_WORDS
    assert stats["file_words"] == stats["words"] + stats["filler_words"]
    assert stats["gensim_total_words"] == stats["file_words"] - 1


def test_prepared_file_reads_back_as_the_corpus_in_python(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("a b c d e f g\n\n  h  i \n", encoding="utf-8")
    stats = prepare_corpus([src], tmp_path / "c.txt", max_line_words=3)
    lines = [line.split() for line in (tmp_path / "c.txt").read_text(encoding="utf-8").splitlines()]
    # str.split() sees the filler lines as blank: what is left is the corpus, the long line wrapped.
    assert [line for line in lines if line] == [["a", "b", "c"], ["d", "e", "f"], ["g"], ["h", "i"]]
    assert (stats["sentences"], stats["words"], stats["lines_wrapped"], stats["lines"]) == (2, 9, 1, 4)
    assert stats["filler_words"] == BATCH_FILE_WORDS - 9
    assert stats["files"][0]["path"] == str(src) and stats["files"][0]["crc32"] == format(zlib.crc32(src.read_bytes()), "08x")


def test_segments_start_where_gensim_workers_start_reading(tmp_path):
    src = tmp_path / "in.txt"
    # 7 lines of 4,000 words: 2 lines to a batch (at most 9,999 words), so 4 batches.
    src.write_text("\n".join(random_lines(3, [4000] * 7)) + "\n", encoding="utf-8")
    out = tmp_path / "c.txt"
    stats = prepare_corpus([src], out, workers=3)
    data = out.read_bytes()
    assert len(data) == stats["bytes"] and len(data) % 3 == 0
    seg = len(data) // 3
    segments = [data[k * seg:(k + 1) * seg] for k in range(3)]
    assert all(s.endswith(b"\n") for s in segments)  # so each next segment starts a line
    # 4 batches dealt 2/2/0, the last segment filled with 2 empty batches: 2 x 10,001 words each.
    assert [len(s.split()) for s in segments] == [2 * BATCH_FILE_WORDS] * 3
    assert stats["batches"] == 6 and stats["gensim_total_words"] == 6 * BATCH_FILE_WORDS - 3


def test_block_packing_writes_what_line_by_line_writing_writes(tmp_path, monkeypatch):
    """Prepared file and figures are byte-identical whether blocks pass through or are rebuilt line by line."""
    import pipeline.sources.corpus as corpus

    src = tmp_path / "in.txt"
    lengths = [3, 0, 9_000, 1_500, 12_000, 7, 9_999, 1, 10_000, 20_000, 2]
    src.write_text("\n".join(random_lines(6, lengths)) + "\n", encoding="utf-8")
    monkeypatch.setattr(corpus, "_BLOCK_BYTES", 4096)  # lines of every length cross blocks
    fast = prepare_corpus([src], tmp_path / "fast.txt", workers=2)
    monkeypatch.setattr(corpus, "_normalised", lambda *a: None)
    slow = prepare_corpus([src], tmp_path / "slow.txt", workers=2)
    assert (tmp_path / "fast.txt").read_bytes() == (tmp_path / "slow.txt").read_bytes()
    assert {**fast, "path": ""} == {**slow, "path": ""}
    assert fast["lines_wrapped"] == 3 and fast["words"] == sum(lengths)
    lines = [line.split() for line in (tmp_path / "fast.txt").read_text(encoding="utf-8").splitlines()]
    assert [w for line in lines for w in line] == " ".join(random_lines(6, lengths)).split()


@pytest.mark.parametrize("workers", [1, 2])
def test_vocabulary_counted_while_preparing_is_gensims_own(tmp_path, long_line_corpus, workers):
    """build_vocab_from_freq on our counts == build_vocab(corpus_file=...) on the prepared file, and so is training."""
    from gensim.models import Word2Vec

    stats = prepare_corpus([long_line_corpus], tmp_path / "c.txt", workers=workers)
    params = dict(vector_size=8, min_count=3, sample=1e-2, workers=1, seed=5, epochs=1)
    theirs = Word2Vec(**params)
    theirs.build_vocab(corpus_file=str(tmp_path / "c.txt"))
    ours = Word2Vec(**params)
    ours.build_vocab_from_freq(dict(stats["vocab_counts"]), corpus_count=stats["gensim_total_examples"])
    assert ours.wv.index_to_key == theirs.wv.index_to_key and len(ours.wv) == len(VOCAB)
    for attr in ("count", "sample_int"):
        np.testing.assert_array_equal(ours.wv.expandos[attr], theirs.wv.expandos[attr])
    assert sum(n for _, n in stats["vocab_counts"]) == stats["words"] == theirs.corpus_total_words
    np.testing.assert_array_equal(ours.wv.vectors, theirs.wv.vectors)  # seeded from the same vocabulary
    for model in (ours, theirs):
        model.train(corpus_file=str(tmp_path / "c.txt"), total_words=stats["gensim_total_words"],
                    total_examples=stats["gensim_total_examples"], epochs=1)
    np.testing.assert_array_equal(ours.wv.vectors, theirs.wv.vectors)


# --------------------------------------------------------------------------- the vectors


def test_vectors_match_the_keyed_vectors(tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("\n".join(random_lines(4, [30] * 50)) + "\n", encoding="utf-8")
    vectors = train(tmp_path, ["c.txt"], vector_size=12)  # relative: resolved against base_dir
    kv = vectors.keyed_vectors
    assert vectors.words == tuple(kv.index_to_key)
    assert vectors.matrix.shape == (len(VOCAB), 12) == (vectors.stats["vocab_size"], vectors.dim)
    assert vectors.matrix.dtype == np.float32
    for i in (0, 17, len(VOCAB) - 1):
        np.testing.assert_array_equal(vectors.matrix[i], kv[vectors.words[i]])
    assert not np.shares_memory(vectors.matrix, kv.vectors)
    assert vectors.source["kind"] == "train"
    assert vectors.source["corpus"][0]["path"] == str(src)
    assert vectors.source["params"]["seed"] == 7 and vectors.source["params"]["vector_size"] == 12
    json.dumps(vectors.source), json.dumps(vectors.stats)  # manifest-ready


def test_same_seed_and_one_worker_give_identical_vectors(tmp_path):
    # With workers > 1 gensim's threads update shared weights in no fixed order: not reproducible.
    (tmp_path / "c.txt").write_text("\n".join(random_lines(5, [20] * 80)) + "\n", encoding="utf-8")
    a = train(tmp_path, ["c.txt"], seed=3, work="a")
    b = train(tmp_path, ["c.txt"], seed=3, work="b")
    c = train(tmp_path, ["c.txt"], seed=4, work="c")
    assert a.words == b.words
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert not np.array_equal(a.matrix, c.matrix)


def test_lowercase(tmp_path):
    (tmp_path / "c.txt").write_text("The cat\nthe CAT sat\nTHE Cat\n", encoding="utf-8")
    train_config = TrainConfig(vector_size=8, min_count=1, epochs=1)
    config = VectorsConfig(corpus=("c.txt",), lowercase=True, train=train_config)
    vectors = train_vectors(config, base_dir=tmp_path, seed=1, work_dir=tmp_path / "w")
    assert sorted(vectors.words) == ["cat", "sat", "the"]  # gensim orders ties (the, cat: 3 each) as it likes
    assert vectors.keyed_vectors.get_vecattr("the", "count") == 3
    assert vectors.source["params"]["lowercase"] is True


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress])
def test_compressed_corpus(tmp_path, compress):
    (tmp_path / "c.cor").write_bytes(compress(b"alpha beta\nbeta gamma\n"))  # told by content, not name
    vectors = train(tmp_path, ["c.cor"], epochs=1)
    assert sorted(vectors.words) == ["alpha", "beta", "gamma"] and vectors.words[0] == "beta"
    assert vectors.stats["corpus_words"] == 4


def test_folder_corpus_reads_every_file(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("one two\n", encoding="utf-8")
    (folder / "b.txt.gz").write_bytes(gzip.compress(b"two three\nthree\n"))
    (folder / ".hidden").write_text("ignored\n", encoding="utf-8")
    vectors = train(tmp_path, ["corpus"], epochs=1)
    assert set(vectors.words) == {"one", "two", "three"}
    assert vectors.stats["sentences"] == 3
    assert [Path(f["path"]).name for f in vectors.source["corpus"]] == ["a.txt", "b.txt.gz"]


# --------------------------------------------------------------------------- errors


def test_empty_corpus_is_a_data_error(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        train(tmp_path, ["empty.txt"])
    assert err.value.exit_code == 65
    assert str(err.value).startswith(f"{tmp_path / 'empty.txt'}: corpus has no tokens")


def test_empty_corpus_of_several_files_names_them(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"corpus has no tokens in .*a\.txt, .*b\.txt"):
        prepare_corpus([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path / "c.txt")


def test_missing_corpus_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError) as err:
        train(tmp_path, ["nope.txt"])
    assert err.value.exit_code == 74
    assert str(tmp_path / "nope.txt") in str(err.value)


def test_undecodable_bytes_are_a_data_error_naming_the_file(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"good line\nbad \xff byte\n")
    with pytest.raises(DataError) as err:
        train(tmp_path, ["bad.txt"])
    assert err.value.exit_code == 65
    assert str(err.value).startswith(f"{tmp_path / 'bad.txt'}:")
    assert "not valid utf-8" in str(err.value)


def test_undecodable_bytes_name_the_right_line(tmp_path):
    # Past the first 8 KiB too: a reader that decodes ahead in blocks would name an earlier line.
    (tmp_path / "bad.txt").write_bytes(b"one\ntwo\nbad \xff byte\n" + b"fine\n" * 3000 + b"\xfe\n")
    with pytest.raises(DataError) as err:
        prepare_corpus([tmp_path / "bad.txt"], tmp_path / "c.txt")
    assert err.value.line == 3
    (tmp_path / "bad.txt").write_bytes(b"fine\n" * 3000 + b"\xfe\n")
    with pytest.raises(DataError) as err:
        prepare_corpus([tmp_path / "bad.txt"], tmp_path / "c.txt")
    assert err.value.line == 3001


def test_failed_prepare_keeps_the_old_file_and_leaves_no_temp_files(tmp_path):
    out = tmp_path / "c.txt"
    out.write_text("previous\n", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"fine\n\xff\n")
    with pytest.raises(DataError):
        prepare_corpus([tmp_path / "bad.txt"], out)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "c.txt"]


def test_min_count_above_every_word_count_is_a_config_error(tmp_path):
    (tmp_path / "c.txt").write_text("a b a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'vectors.train.min_count'") as err:
        train(tmp_path, ["c.txt"], min_count=3)
    assert err.value.exit_code == 78


def test_filler_is_whitespace_to_python_so_never_a_corpus_token():
    assert f"a{FILLER}b".split() == ["a", "b"]


def test_no_output_layer_is_a_config_error_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match="'vectors.train.negative'") as err:
        train(tmp_path, ["missing-but-not-read-yet.txt"], hs=0, negative=0)
    assert err.value.exit_code == 78


def test_importing_the_module_does_not_import_gensim():
    import subprocess
    import sys

    code = "import sys, pipeline.sources.train; print('gensim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_prepared_corpus_is_reused_until_the_corpus_changes(tmp_path, monkeypatch):
    import dataclasses

    import pipeline.sources.train as train_mod
    from pipeline.config import TrainConfig, VectorsConfig

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat\n" * 20)
    cfg = VectorsConfig(corpus=(str(corpus),), train=TrainConfig(vector_size=8, min_count=1, epochs=1, workers=1))
    calls = []
    real = train_mod.prepare_corpus
    monkeypatch.setattr(train_mod, "prepare_corpus", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = train_mod.train_vectors(cfg, base_dir=tmp_path, seed=1, work_dir=tmp_path / "work")
    other_params = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=2, window=2))
    second = train_mod.train_vectors(other_params, base_dir=tmp_path, seed=1, work_dir=tmp_path / "work")
    assert len(calls) == 1  # only the training parameters changed: the prepared corpus was reused
    assert second.stats["corpus_words"] == first.stats["corpus_words"] == 180
    corpus.write_text("a b c\n" * 30)
    third = train_mod.train_vectors(cfg, base_dir=tmp_path, seed=1, work_dir=tmp_path / "work")
    assert len(calls) == 2 and third.stats["corpus_words"] == 90
    assert len(list((tmp_path / "work").glob("corpus-*.txt"))) == 1


def _zero_fill(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))  # as many NUL bytes: the size still matches


def _change_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01  # w1 -> w0 or a filler -> another control byte: same size
    path.write_bytes(bytes(data))


PREPARED_DAMAGE = {
    "zero-filled corpus": lambda txt, fig: _zero_fill(txt),
    "one byte of the corpus": lambda txt, fig: _change_one_byte(txt),
    "corpus removed": lambda txt, fig: txt.unlink(),
    "corpus replaced by a folder": lambda txt, fig: (txt.unlink(), txt.mkdir()),
    "a count in the figures": lambda txt, fig: fig.write_bytes(fig.read_bytes().replace(b'["w1", ', b'["w1", 1')),
    "truncated figures": lambda txt, fig: fig.write_bytes(fig.read_bytes()[:-1]),
}


@pytest.mark.parametrize("damage", PREPARED_DAMAGE)
def test_a_damaged_prepared_corpus_is_prepared_again_not_trained_on(tmp_path, monkeypatch, caplog, damage):
    import pipeline.sources.train as train_mod

    (tmp_path / "c.txt").write_text("\n".join(random_lines(9, [25] * 80)) + "\n", encoding="utf-8")
    clean = train(tmp_path, ["c.txt"], work="clean")
    train(tmp_path, ["c.txt"])
    (txt,) = (tmp_path / "work").glob("corpus-*.txt")
    PREPARED_DAMAGE[damage](txt, txt.with_suffix(".json"))
    calls = []
    real = train_mod.prepare_corpus
    monkeypatch.setattr(train_mod, "prepare_corpus", lambda *a, **k: calls.append(1) or real(*a, **k))
    caplog.set_level(logging.INFO, logger="pipeline.sources.train")
    again = train(tmp_path, ["c.txt"])
    assert calls == [1]  # prepared again ...
    assert again.words == clean.words  # ... and trained as on a clean corpus: every word, every epoch
    np.testing.assert_array_equal(again.matrix, clean.matrix)
    assert again.stats["words_trained_per_epoch"] == [2000, 2000]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"damaged prepared corpus {txt} (")
    caplog.clear()
    train(tmp_path, ["c.txt"])  # the new one is reused
    assert calls == [1] and "reusing the prepared corpus" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_prepared_corpus_that_trains_nothing_is_a_data_error_and_removed(tmp_path, monkeypatch):
    # The file changes after its check (on disk, while gensim reads it): gensim trains 0 words and says nothing.
    import pipeline.sources.train as train_mod

    (tmp_path / "c.txt").write_text("\n".join(random_lines(9, [25] * 80)) + "\n", encoding="utf-8")
    clean = train(tmp_path, ["c.txt"], work="clean")
    real = train_mod._prepared_corpus

    def zeroed_after_check(*args, **kwargs):
        prepared = real(*args, **kwargs)
        _zero_fill(Path(prepared["path"]))
        return prepared

    monkeypatch.setattr(train_mod, "_prepared_corpus", zeroed_after_check)
    with pytest.raises(DataError) as err:
        train(tmp_path, ["c.txt"])
    (prepared,) = [p for p in (tmp_path / "clean").glob("corpus-*.txt")]
    assert err.value.exit_code == 65 and err.value.path == str(tmp_path / "work" / prepared.name)
    assert "gensim trained none of the 2,000 words prepared from" in str(err.value)
    assert str(tmp_path / "c.txt") in str(err.value)
    assert list((tmp_path / "work").glob("corpus-*")) == []  # removed: the next run prepares it again
    monkeypatch.undo()
    np.testing.assert_array_equal(train(tmp_path, ["c.txt"]).matrix, clean.matrix)


def test_sample_that_drops_every_word_of_a_tiny_corpus_is_a_warning(tmp_path, caplog):
    # gensim keeps a word with probability ~ sqrt(sample * total / count): about 0.3 % here. The config asked
    # for it, so the run goes on, but not silently: the vectors are their random start.
    (tmp_path / "c.txt").write_text("a b c d e f\n", encoding="utf-8")
    vectors = train(tmp_path, ["c.txt"], sample=1e-6)
    assert vectors.stats["words_trained"] == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("gensim trained none of the corpus's 6 words in 2 epoch(s): "
                                  "'vectors.train.sample' = 1e-06 keeps about 0.")


def test_temporary_files_of_a_killed_prepare_are_removed(tmp_path):
    # Only the holder of the work folder's lock writes there: any temporary file in it is a leftover.
    (tmp_path / "c.txt").write_text("a b c\n", encoding="utf-8")
    (tmp_path / "work").mkdir()
    leftover = tmp_path / "work" / ".corpus-0123.txt.k2j4_x.tmp"
    leftover.write_bytes(b"x" * 1000)
    train(tmp_path, ["c.txt"])
    assert not leftover.exists()
    assert sorted(p.suffix for p in (tmp_path / "work").glob("*corpus-*")) == [".json", ".txt"]


def test_a_second_process_waits_instead_of_removing_the_corpus_in_use(tmp_path):
    # Two runs of one name (say, different export.dir) share the work folder. While one trains,
    # the other must not prune its prepared corpus (it used to: FileNotFoundError mid-training).
    import threading

    from pipeline.lock import folder_lock

    (tmp_path / "a.txt").write_text("the cat sat on the mat\n" * 20)
    (tmp_path / "b.txt").write_text("a dog ran far\n" * 20)
    train(tmp_path, ["a.txt"])
    (in_use,) = (tmp_path / "work").glob("corpus-*.txt")
    done = []
    with folder_lock(tmp_path / "work"):  # as the first run holds it while training on in_use
        other = threading.Thread(target=lambda: done.append(train(tmp_path, ["b.txt"]).stats["corpus_words"]))
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive() and in_use.exists()
    other.join(timeout=60)
    assert done == [80] and not in_use.exists()
    assert len(list((tmp_path / "work").glob("corpus-*.txt"))) == 1


@pytest.mark.parametrize("child", ["counts", "fails"])
def test_counting_in_two_processes_gives_the_one_process_counts_in_the_same_order(tmp_path, monkeypatch, caplog, child):
    """Blocks counted alternately by a forked process: the same tokens, counts and first-seen order as one process;
    if the child fails, the corpus is counted again here and the figures are the same."""
    import pipeline.sources.corpus as corpus_mod
    import pipeline.sources.train as train_mod

    rng = np.random.default_rng(8)
    words = [f"w{i}" for i in range(400)]
    lines = [" ".join(rng.choice(words[: 20 + 3 * k], size=rng.integers(1, 30)).tolist()) for k in range(120)]
    (tmp_path / "a.txt").write_text("\n".join(lines[:70]) + "\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(lines[70:]) + "\n", encoding="utf-8")
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    monkeypatch.setattr(corpus_mod, "_BLOCK_BYTES", 300)  # dozens of blocks: new words keep appearing in later ones
    one = prepare_corpus(files, tmp_path / "one.txt", workers=2)
    monkeypatch.setattr(train_mod, "_PARALLEL_COUNT_BYTES", 0)
    if child == "fails":
        monkeypatch.setattr(train_mod, "_count_blocks", lambda conn: os._exit(3))
    started = []
    real_init = train_mod._TokenCounter.__init__
    monkeypatch.setattr(train_mod._TokenCounter, "__init__",
                        lambda self, two_processes: started.append(two_processes) or real_init(self, two_processes))
    two = prepare_corpus(files, tmp_path / "two.txt", workers=2)
    assert started == [True]
    assert ("counting it again in one" in caplog.text) == (child == "fails")
    assert two["vocab_counts"] == one["vocab_counts"]
    expected: dict[str, int] = {}
    for token in " ".join(lines).split():
        expected[token] = expected.get(token, 0) + 1  # insertion order: first appearance
    assert two["vocab_counts"] == [[t, n] for t, n in expected.items()]
    assert (tmp_path / "two.txt").read_bytes() == (tmp_path / "one.txt").read_bytes()


def test_a_pool_worker_prepares_the_corpus_in_its_own_process(tmp_path, monkeypatch, long_line_corpus,
                                                            in_daemon_process):
    """A daemonic process (a Pool worker) may not start another: the counting stays in it, with the same figures."""
    import pipeline.sources.train as train_mod

    monkeypatch.setattr(train_mod, "_PARALLEL_COUNT_BYTES", 0)
    here = prepare_corpus([long_line_corpus], tmp_path / "here.txt", workers=2)
    outcome = in_daemon_process(lambda: prepare_corpus([long_line_corpus], tmp_path / "pool.txt", workers=2))
    assert outcome == ("ok", {**here, "path": str(tmp_path / "pool.txt")})
