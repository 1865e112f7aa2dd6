"""Indexer: tokens to row ids as the matrix expects, and the tokenizer drift check."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import DataError, StorageError
from pipeline.export import write_artifacts
from pipeline.indexer import Drift, Entry, Indexer, Moved, Row, check_vocab
from pipeline.matrix import EmbeddingMatrix

WORDS = ["the", "cat", "sat", "on", "mat"]


def tiny_artifact(folder, tokens=("[PAD]", "[UNK]", *WORDS), **manifest_extra):
    n = len(tokens)
    weights = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    weights[0] = 0
    matrix = EmbeddingMatrix(weights, tuple(tokens), np.r_[False, False, np.ones(n - 2, bool)], (1,))
    manifest = {"input_dim": n, "output_dim": 2, "padding_idx": 0, "oov_idx": 1, "reserved_rows": [0, 1],
                **manifest_extra}
    write_artifacts(folder, matrix, report={}, manifest=manifest, report_md="")
    return folder


@pytest.fixture
def ix(tmp_path):
    return Indexer.from_artifact(tiny_artifact(tmp_path / "run"))


def keras_tokenizer_json(word_index: dict[str, int], oov_token="[UNK]", num_words=None) -> str:
    """What Keras 2 ``Tokenizer.to_json()`` writes (Keras 3 has no Tokenizer): word_index is a JSON string."""
    config = {
        "num_words": num_words, "filters": "", "lower": True, "split": " ", "char_level": False,
        "oov_token": oov_token, "document_count": 3,
        "word_counts": json.dumps({w: 1 for w in word_index}),
        "word_docs": json.dumps({}), "index_docs": json.dumps({}), "index_word": json.dumps({}),
        "word_index": json.dumps(word_index),
    }
    return json.dumps({"class_name": "Tokenizer", "config": config})


# --------------------------------------------------------------------------- lookups


def test_rows_follow_vocab_txt(ix):
    assert ix.id_to_token == ("[PAD]", "[UNK]", "the", "cat", "sat", "on", "mat")
    assert ix.token_to_id["cat"] == 3
    assert (ix.padding_idx, ix.oov_idx, ix.padding_token, ix.oov_token) == (0, 1, "[PAD]", "[UNK]")
    assert len(ix) == 7


def test_encode_maps_unknown_tokens_to_the_oov_row(ix):
    assert ix.encode(["the", "dog", "sat"]) == [2, 1, 4]
    assert ix.encode([]) == []
    assert ix.decode([2, 1, 4, 0, 0]) == ["the", "[UNK]", "sat"]
    assert ix.decode([2, 0], skip_padding=False) == ["the", "[PAD]"]


def test_encode_refuses_a_bare_string(ix):
    with pytest.raises(TypeError, match="split"):
        ix.encode("the cat")


def test_encode_batch_pads_and_truncates_like_pad_sequences(ix):
    batch = [["the", "cat", "sat", "on"], ["mat"], []]
    assert ix.encode_batch(batch).tolist() == [[2, 3, 4, 5], [6, 0, 0, 0], [0, 0, 0, 0]]
    assert ix.encode_batch(batch, length=3).tolist() == [[2, 3, 4], [6, 0, 0], [0, 0, 0]]
    assert ix.encode_batch(batch, length=3, truncate="pre").tolist() == [[3, 4, 5], [6, 0, 0], [0, 0, 0]]
    assert ix.encode_batch(batch, length=3, pad="pre", truncate="pre").tolist() == [[3, 4, 5], [0, 0, 6], [0, 0, 0]]
    out = ix.encode_batch(batch, length=6, pad="pre")
    assert out.dtype == np.int64 and out.shape == (3, 6)
    assert out.tolist()[1] == [0, 0, 0, 0, 0, 6]
    assert ix.encode_batch([], length=4).shape == (0, 4)
    assert ix.encode_batch([["the"]], length=0).shape == (1, 0)


def test_encode_batch_agrees_with_keras_pad_sequences(ix):
    keras = pytest.importorskip("keras")
    batch = [["the", "cat", "sat", "on"], ["mat"], ["dog", "the"]]
    seqs = [ix.encode(b) for b in batch]
    for pad in ("pre", "post"):
        for trunc in ("pre", "post"):
            expected = keras.utils.pad_sequences(seqs, maxlen=3, padding=pad, truncating=trunc, value=ix.padding_idx)
            np.testing.assert_array_equal(ix.encode_batch(batch, 3, pad=pad, truncate=trunc), expected)


@pytest.mark.parametrize("kwargs", [{"pad": "left"}, {"truncate": "end"}, {"length": -1}, {"length": 2.5}])
def test_encode_batch_rejects_bad_parameters(ix, kwargs):
    with pytest.raises(ValueError, match="parameter of encode_batch"):
        ix.encode_batch([["the"]], **kwargs)


def test_lowercase_follows_the_manifest(tmp_path):
    folder = tiny_artifact(tmp_path / "run", config={"vocab": {"source": "corpus", "lowercase": True}})
    ix = Indexer.from_artifact(folder)
    assert ix.lowercase
    assert ix.encode(["The", "CAT", "[PAD]", "[UNK]"]) == [2, 3, 0, 1]
    assert ix.split("The  Cat\n") == ["the", "cat"]
    assert not Indexer.from_artifact(folder, lowercase=False).lowercase
    assert Indexer.from_artifact(folder, lowercase=False).encode(["The"]) == [1]


def test_a_changed_vocab_txt_is_refused(tmp_path):
    folder = tiny_artifact(tmp_path / "run")
    text = (folder / "vocab.txt").read_text(encoding="utf-8")
    (folder / "vocab.txt").write_text(text.replace("cat\nsat\n", "sat\ncat\n"), encoding="utf-8")
    with pytest.raises(DataError, match="sha256 .* does not match") as exc:
        Indexer.from_artifact(folder)
    assert "vocab.txt" in str(exc.value)


def test_a_folder_without_manifest_is_refused(tmp_path):
    folder = tiny_artifact(tmp_path / "run")
    (folder / "manifest.json").unlink()
    with pytest.raises(DataError, match="no manifest.json"):
        Indexer.from_artifact(folder)


# --------------------------------------------------------------------------- drift


def test_same_word_index_is_no_drift(ix):
    drift = ix.check_word_index({"[UNK]": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6})
    assert drift.ok and drift == Drift(input_dim=7, source="<word_index>")
    assert drift.summary().startswith("no drift")


def test_drift_lists_moved_appeared_and_vanished(ix):
    # "cat" and "sat" swapped, "mat" gone, "dog" new, and an id past the matrix
    drift = ix.check_word_index({"[UNK]": 1, "the": 2, "sat": 3, "cat": 4, "on": 5, "dog": 6, "hat": 9})
    assert not drift.ok
    assert drift.moved == (Moved("sat", 4, 3), Moved("cat", 3, 4))
    assert drift.appeared == (Entry("dog", 6), Entry("hat", 9))
    assert drift.vanished == (Row("mat", 6),)
    assert drift.out_of_range == (Entry("hat", 9),)
    assert drift.summary() == (
        "vocabulary drift: 2 moved (sat 4->3, cat 3->4), 2 appeared (dog@6, hat@9), "
        "1 vanished (mat@6), 1 ids >= input_dim 7 (hat@9)"
    )
    data = drift.to_dict()
    assert data["counts"] == {"moved": 2, "appeared": 2, "vanished": 1, "out_of_range": 1}
    assert data["moved"][0] == {"token": "sat", "row": 4, "new_id": 3}
    json.dumps(data)  # JSON-able


def test_oov_row_compared_by_role(ix):
    drift = ix.check_word_index({"[UNK]": 7, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6})
    assert drift.moved == (Moved("[UNK]", 1, 7),) and drift.out_of_range == (Entry("[UNK]", 7),)


@pytest.mark.parametrize("tokens", [
    ["the", "cat", "sat", "on", "mat"],  # a token file's words: rows 2, 3, ...
    ["", "[UNK]", "the", "cat", "sat", "on", "mat"],  # TextVectorization.get_vocabulary()
    ["[PAD]", "[UNK]", "the", "cat", "sat", "on", "mat"],  # vocab.txt
    ["the", "cat", "the", "sat", "on", "mat"],  # a repeat keeps its first place
])
def test_token_lists_read_as_their_ids(ix, tokens):
    assert ix.check_word_index(tokens).ok


def test_token_list_shift_is_drift(ix):
    drift = ix.check_word_index(["a", "the", "cat", "sat", "on", "mat"])
    assert [m.token for m in drift.moved] == ["the", "cat", "sat", "on", "mat"]
    assert drift.appeared == (Entry("a", 2),)
    assert drift.out_of_range == (Entry("mat", 7),)


def test_token_file_with_counts(ix, tmp_path):
    path = tmp_path / "tokens.tsv"
    path.write_text("the\t9\ncat\t5\nsat\t4\non\t3\nmat\t1\n", encoding="utf-8")
    assert ix.check_word_index(path).ok
    path.write_text("the\t9\ncat\t5\nsat\t4\non\t3\n", encoding="utf-8")
    assert ix.check_word_index(str(path)).vanished == (Row("mat", 6),)


def test_keras_tokenizer_json_file(ix, tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(keras_tokenizer_json({"[UNK]": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6}))
    assert ix.check_word_index(path).ok
    # num_words limits the ids the tokenizer emits, as in Keras: "on" and "mat" are OOV to it
    path.write_text(keras_tokenizer_json({"[UNK]": 1, "the": 2, "cat": 3, "sat": 4, "on": 5, "mat": 6}, num_words=5))
    assert ix.check_word_index(path).vanished == (Row("on", 5), Row("mat", 6))


def test_a_broken_tokenizer_file_is_a_data_error(ix, tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text('{"the": 2, "cat": "3"}')
    with pytest.raises(DataError, match="tokenizer.json"):
        ix.check_word_index(path)
    with pytest.raises(StorageError, match="missing.json"):
        ix.check_word_index(tmp_path / "missing.json")
    with pytest.raises(DataError, match="not an integer id"):
        ix.check_word_index({"the": -2})


# --------------------------------------------------------------------------- pipeline-built artifacts


def test_indexer_on_a_pipeline_artifact(glove_run):
    folder = glove_run.artifact_dir
    ix = Indexer.from_artifact(folder)
    tokens = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert ix.tokens == tuple(tokens) == glove_run.matrix.tokens
    assert ix.lowercase  # glove_run counts a lower-cased vocabulary
    the = tokens.index("the")
    assert ix.encode(["The", "the", "zzzunknownzzz"]) == [the, the, 1]
    ids = ix.encode_batch([ix.split("The government said"), ix.split("police")], length=4)
    assert ids[1, 1:].tolist() == [0, 0, 0]
    assert ix.decode(ids[0]) == [tokens[i] for i in ids[0] if i != 0]
    # the artifact's own vocabulary, read back as a token file, is no drift
    assert check_vocab(folder, folder / "vocab.txt").ok


def test_drift_against_a_word_index_vocabulary_built_by_the_pipeline(tmp_path):
    """Build an artifact from a Keras tokenizer JSON, then change the tokenizer."""
    from pipeline.config import load_config
    from pipeline.runner import run

    word_index = {"[UNK]": 1, "the": 2, "of": 3, "and": 4, "to": 5, "in": 6, "a": 7}
    tok = tmp_path / "tokenizer.json"
    tok.write_text(keras_tokenizer_json(word_index), encoding="utf-8")
    config = load_config(None, [
        f"export.dir={json.dumps(str(tmp_path / 'artifacts'))}", 'name="wi"',
        'vectors.source="file"', 'vectors.path="gensim-test:test_glove.txt"',
        'vocab.source="word_index"', f"vocab.path={json.dumps(str(tok))}",
        "evaluate.similarity=[]", 'evaluate.analogies=""',
    ])
    folder = run(config).artifact_dir
    assert check_vocab(folder, tok).ok

    changed = dict(word_index, of=4, **{"and": 3})
    del changed["a"]
    changed["war"] = 7
    tok2 = tmp_path / "tokenizer2.json"
    tok2.write_text(keras_tokenizer_json(changed), encoding="utf-8")
    drift = check_vocab(folder, tok2)
    assert drift.moved == (Moved("and", 4, 3), Moved("of", 3, 4))
    assert drift.appeared == (Entry("war", 7),)
    assert drift.vanished == (Row("a", 7),)

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "vocab.txt").write_text((copy / "vocab.txt").read_text().replace("the\n", "The\n"))
    with pytest.raises(DataError, match="vocab.txt"):
        check_vocab(copy, tok)


def test_a_word_index_artifacts_own_vocab_txt_is_no_drift(tmp_path):
    # index 2 missing (a placeholder row), the OOV row appended last, a word holding a TAB
    tokens = ("[PAD]", "the", "[unused2]", "new\tyork", "cat", "[UNK]")
    weights = np.arange(12, dtype=np.float32).reshape(6, 2)
    weights[[0, 2]] = 0
    matrix = EmbeddingMatrix(weights, tokens, np.array([0, 1, 0, 1, 1, 0], bool), (5,))
    manifest = {"input_dim": 6, "output_dim": 2, "padding_idx": 0, "oov_idx": 5, "reserved_rows": [0, 2, 5]}
    folder = tmp_path / "wi"
    write_artifacts(folder, matrix, report={}, manifest=manifest, report_md="")
    assert check_vocab(folder, folder / "vocab.txt").ok
    # line i is id i: a swap is two moves, not a renumbering of everything
    edited = tmp_path / "edited.txt"
    edited.write_text("[PAD]\nthe\n[unused2]\ncat\nnew\tyork\n[UNK]\n", encoding="utf-8")
    drift = check_vocab(folder, edited)
    assert drift.moved == (Moved("cat", 4, 3), Moved("new\tyork", 3, 4))
    assert drift.appeared == () and drift.vanished == ()
    # the OOV token on another line: not this layout, so read under the token-file rules (words from row 2)
    other = tmp_path / "other.txt"
    other.write_text("[PAD]\nthe\ncat\n", encoding="utf-8")
    assert check_vocab(folder, other).moved == (Moved("[UNK]", 5, 1), Moved("the", 1, 2), Moved("cat", 4, 3))


def test_a_gap_fillers_text_in_input_is_unknown_not_the_zero_row():
    ix = Indexer(("[PAD]", "the", "[unused2]", "cat", "[UNK]"), padding_idx=0, oov_idx=4, reserved=frozenset({0, 2, 4}))
    assert ix.encode(["the", "[unused2]", "cat", "[UNK]", "[PAD]"]) == [1, 4, 3, 4, 0]
    assert ix.decode([2]) == ["[unused2]"]  # the row keeps its name in vocab.txt


def test_a_token_list_reads_as_the_same_tokens_in_a_file(tmp_path):
    # a word_index artifact: the OOV row last, so "words from the row after OOV" would put every word out of range
    ix = Indexer(("[PAD]", "the", "[unused2]", "cat", "[UNK]"), padding_idx=0, oov_idx=4, reserved=frozenset({0, 2, 4}))
    for tokens in (["", "[UNK]", "the", "cat"], ["the", "dog", "cat"]):
        path = tmp_path / "tokens.txt"
        path.write_text("".join(f"{t}\n" for t in tokens), encoding="utf-8")
        assert ix.check_word_index(tokens).to_dict()["counts"] == ix.check_word_index(path).to_dict()["counts"]
        assert ix.check_word_index(tokens).moved == ix.check_word_index(path).moved
    drift = ix.check_word_index(["the", "dog", "cat"])
    assert drift.moved == (Moved("[UNK]", 4, 1), Moved("the", 1, 2), Moved("cat", 3, 4))
    assert drift.appeared == (Entry("dog", 3),) and drift.out_of_range == ()


# --------------------------------------------------------------------------- properties

PROP_INDEXER = Indexer(("[PAD]", "[UNK]", *WORDS))
token_lists = st.lists(st.lists(st.sampled_from([*WORDS, "dog", "Cat"]), max_size=8), max_size=5)


@settings(max_examples=200, deadline=None)
@given(batch=token_lists, length=st.none() | st.integers(0, 10),
       pad=st.sampled_from(["pre", "post"]), truncate=st.sampled_from(["pre", "post"]))
def test_encode_batch_rows_are_the_encoded_sequences_cut_and_padded(batch, length, pad, truncate):
    out = PROP_INDEXER.encode_batch(batch, length, pad=pad, truncate=truncate)
    width = length if length is not None else max((len(b) for b in batch), default=0)
    assert out.shape == (len(batch), width)
    for row, tokens in zip(out.tolist(), batch):
        ids = PROP_INDEXER.encode(tokens)  # no id is 0: padding is only ever added
        kept = ids if len(ids) <= width else (ids[:width] if truncate == "post" else ids[len(ids) - width:])
        padding = [0] * (width - len(kept))
        assert row == (kept + padding if pad == "post" else padding + kept)


def test_the_token_file_an_artifact_was_built_from_is_no_drift_even_with_pad_and_unk_lines(tmp_path):
    folder = tiny_artifact(tmp_path / "run")
    source = tmp_path / "tokens.txt"  # what vocab.source = "file" reads: reserved lines skipped, TAB counts
    source.write_text("[PAD]\n[UNK]\n" + "".join(f"{w}\t{9 - i}\n" for i, w in enumerate(WORDS)), encoding="utf-8")
    assert check_vocab(folder, source).ok
    assert check_vocab(folder, folder / "vocab.txt").ok


def test_a_mapping_of_the_vocabularys_own_rows_reads_as_no_drift_placeholders_included():
    # a word_index vocabulary with a gap: row 3 is a placeholder, not a word
    ix = Indexer(("[PAD]", "[UNK]", "a", "[unused3]", "b"), reserved=frozenset({0, 1, 3}))
    inverse = {token: i for i, token in enumerate(ix.id_to_token)}
    drift = ix.check_word_index(inverse)
    assert drift.ok, drift.summary()  # the placeholder at its own row used to count as an appeared word
    moved = ix.check_word_index({**inverse, "[unused3]": 4, "b": 3})
    assert [(e.token, e.id) for e in moved.appeared] == [("[unused3]", 4)]  # not at its row: not ours
    assert [(m.token, m.row, m.new_id) for m in moved.moved] == [("b", 4, 3)]


def test_encode_batch_refuses_a_dtype_that_cannot_hold_every_id_and_decode_refuses_non_integers():
    ix = Indexer(("[PAD]", "[UNK]", *(f"w{i}" for i in range(300))))
    for dtype in (np.float16, np.int8, np.uint8):  # float16 gave id 300 for 301: silently wrong
        with pytest.raises(ValueError, match="must be an integer type that holds id 301"):
            ix.encode_batch([["w299"]], dtype=dtype)
    assert ix.encode_batch([["w299"]], dtype=np.int16).tolist() == [[301]]
    for bad in (2.7, "2", True):  # 2.7 was read as 2
        with pytest.raises(TypeError, match="ids must be integers"):
            ix.decode([bad])
    assert ix.decode([np.int64(2), 3]) == ["w0", "w1"]


@pytest.mark.parametrize("tokenizer", ["tokens.txt", "tokens.json"])
def test_check_vocab_decodes_the_tokenizer_as_the_run_read_its_vocabulary(tmp_path, tokenizer):
    # A latin-1 token file the run read with vectors.encoding = "latin-1": checking that very file
    # had failed with "bytes that are not valid utf-8" (check-vocab read every tokenizer as UTF-8).
    from pipeline.config import load_config
    from pipeline.runner import run

    (tmp_path / "tokens.txt").write_bytes("the\ncafé\nof\n".encode("latin-1"))
    (tmp_path / "tokens.json").write_bytes('{"the": 2, "café": 3, "of": 4}'.encode("latin-1"))
    run(load_config(None, [f'export.dir="{tmp_path / "artifacts"}"', 'name="lat"', 'vectors.source="file"',
                           'vectors.path="gensim-test:test_glove.txt"', 'vocab.source="file"',
                           f'vocab.path="{tmp_path / "tokens.txt"}"', 'vectors.encoding="latin-1"',
                           f'cache.dir="{tmp_path / "cache"}"']))
    folder = tmp_path / "artifacts" / "lat"
    indexer = Indexer.from_artifact(folder)
    assert (indexer.encoding, indexer.encoding_errors) == ("latin-1", "strict")
    assert indexer.id_to_token[2:] == ("the", "café", "of")
    drift = check_vocab(folder, tmp_path / tokenizer)
    assert drift.ok and drift.to_dict()["counts"] == {"moved": 0, "appeared": 0, "vanished": 0, "out_of_range": 0}
    # The artifact's own vocab.txt (always UTF-8) still reads as no drift.
    assert check_vocab(folder, folder / "vocab.txt").ok
