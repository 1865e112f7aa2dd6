"""Tests for pipeline/vocab.py: tiny files in tmp_path, golden results checkable by eye."""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import pytest

from pipeline.config import VocabConfig
from pipeline.errors import ConfigError, DataError, StorageError
from pipeline import vocab as vocab_module
from pipeline.vocab import build_vocabulary, count_corpus, read_token_file, read_word_index, token_file_text


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


# --------------------------------------------------------------------------- token file


def test_token_file_golden(tmp_path):
    path = write(tmp_path, "vocab.txt", "the\t10\ncat\t3\n\nNew York\t2\nthe\t7\n[UNK]\t1\ndog\n  \n")
    vocab = read_token_file(path)
    assert vocab.tokens == ("[PAD]", "[UNK]", "the", "cat", "New York", "dog")
    assert vocab.counts == (None, None, 10, 3, 2, None)
    assert (vocab.padding_idx, vocab.oov_idx, vocab.reserved) == (0, 1, frozenset({0, 1}))
    assert vocab.word_rows == (2, 3, 4, 5)
    s = vocab.stats
    assert (s["lines"], s["words"], s["empty_lines"], s["duplicates"], s["reserved_skipped"], s["truncated"]) == (
        8, 4, 2, 1, 1, 0,
    )
    assert s["duplicate_examples"] == [{"token": "the", "line": 5, "first_line": 1}]
    assert vocab.source["kind"] == "file" and vocab.source["crc32"] == format(zlib.crc32(path.read_bytes()), "08x")


def test_token_is_everything_before_the_last_tab(tmp_path):
    path = write(tmp_path, "v.txt", "a\tb\t4\n  padded  \t 5 \n")
    assert read_token_file(path).tokens[2:] == ("a\tb", "padded")
    assert read_token_file(path).counts[2:] == (4, 5)


def test_token_file_bom_crlf_and_gzip(tmp_path):
    raw = "\ufeffalpha\t1\r\nbeta\t2\r\n".encode("utf-8")
    plain = write(tmp_path, "v.txt", raw)
    packed = write(tmp_path, "v.txt.gz", gzip.compress(raw))
    for path in (plain, packed):
        vocab = read_token_file(path)
        assert vocab.tokens == ("[PAD]", "[UNK]", "alpha", "beta")
        assert vocab.counts == (None, None, 1, 2)


def test_token_file_max_size_keeps_file_order(tmp_path):
    path = write(tmp_path, "v.txt", "c\nb\na\nd\n")
    vocab = read_token_file(path, max_size=2)
    assert vocab.tokens == ("[PAD]", "[UNK]", "c", "b")
    assert vocab.stats["truncated"] == 2


@pytest.mark.parametrize("count", ["x", "-1", "1.5", "+3", ""])
def test_token_file_bad_count_names_path_and_line(tmp_path, count):
    path = write(tmp_path, "v.txt", f"ok\t1\nbad\t{count}\n")
    with pytest.raises(DataError) as err:
        read_token_file(path)
    assert err.value.exit_code == 65
    assert str(err.value).startswith(f"{path}:2: count ")
    assert "non-negative integer" in str(err.value)


def test_token_file_count_too_long_for_int_is_a_data_error(tmp_path):
    path = write(tmp_path, "v.txt", "ok\t1\nbig\t" + "9" * 5000 + "\n")
    with pytest.raises(DataError) as err:
        read_token_file(path)
    assert err.value.exit_code == 65 and err.value.line == 2
    assert "5000 digits" in str(err.value)
    huge = "7" * 4300  # at the limit: read exactly
    assert read_token_file(write(tmp_path, "w.txt", f"a\t{huge}\n")).counts[2] == int(huge)


def test_token_file_without_tokens(tmp_path):
    path = write(tmp_path, "v.txt", "\n\n[PAD]\n[UNK]\t3\n")
    with pytest.raises(DataError, match="no tokens"):
        read_token_file(path)


def test_token_file_bad_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "v.txt", b"one\ntwo\nbad\xff\nfour\n")
    with pytest.raises(DataError) as err:
        read_token_file(path)
    assert err.value.line == 3 and "not valid utf-8" in str(err.value)
    # encoding_errors is respected
    assert read_token_file(path, encoding_errors="replace").tokens[4] == "bad\ufffd"
    assert read_token_file(path, encoding="latin-1").tokens[4] == "bad\xff"


def test_token_file_space_separated_counts_warn(tmp_path, caplog):
    path = write(tmp_path, "v.txt", "the 10\ncat 3\n")
    with caplog.at_level(logging.WARNING, logger="pipeline.vocab"):
        vocab = read_token_file(path)
    assert vocab.tokens[2:] == ("the 10", "cat 3")  # the rule is TAB; we warn, we do not guess
    assert vocab.stats["looks_space_separated"] is True
    assert "TAB" in caplog.text


@pytest.mark.parametrize("counts", [True, False])
def test_token_file_text_reads_back_to_the_same_tokens_and_counts(tmp_path, counts):
    # spaces, a no-break space, a tab (before a count), non-ASCII, a token that looks like "token count"
    words = {"New York": 9, "a\xa0b": 7, "x\ty": 5, "café": 4, "the 123": 3, "#": 2}
    if counts:
        vocab = read_token_file(write(tmp_path, "t.tsv", "".join(f"{w}\t{n}\n" for w, n in words.items())))
    else:  # no counts; a word_index keeps its own ids, a token file numbers its words from row 2
        vocab = read_word_index(write(tmp_path, "wi.json", json.dumps({w: i for i, w in enumerate(words, 1)
                                                                      if "\t" not in w})))
    again = read_token_file(write(tmp_path, "again.tsv", token_file_text(vocab, tmp_path / "again.tsv")))
    assert [(vocab.tokens[i], vocab.counts[i]) for i in vocab.word_rows] == \
        [(again.tokens[i], again.counts[i]) for i in again.word_rows]
    assert len(again.word_rows) == len(words) - (not counts)


@pytest.mark.parametrize("token", ["a\tb", " a", "a ", " ", "a\nb", "a\rb", "a\x00b"])
def test_token_file_text_refuses_a_token_it_cannot_hold(tmp_path, token):
    vocab = vocab_module.Vocabulary(("[PAD]", "[UNK]", "the", token), (None, None, None, None))
    with pytest.raises(DataError, match=r"row 3 token .* would read back from a token file as something else") as info:
        token_file_text(vocab, tmp_path / "out.tsv")
    assert info.value.path == str(tmp_path / "out.tsv")


def test_token_file_missing_is_storage_error(tmp_path):
    with pytest.raises(StorageError) as err:
        read_token_file(tmp_path / "nope.txt")
    assert err.value.exit_code == 74


# --------------------------------------------------------------------------- word_index


def keras_json(word_index, word_counts=None, oov_token=None, num_words=None):
    """What keras Tokenizer.to_json() writes: the dicts inside are JSON strings."""
    config = {
        "num_words": num_words,
        "filters": "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n",
        "lower": True,
        "split": " ",
        "char_level": False,
        "oov_token": oov_token,
        "document_count": 2,
        "word_counts": json.dumps(word_counts or {}),
        "word_docs": json.dumps({}),
        "index_docs": json.dumps({}),
        "index_word": json.dumps({str(i): w for w, i in word_index.items()}),
        "word_index": json.dumps(word_index),
    }
    return json.dumps({"class_name": "Tokenizer", "config": config})


def test_keras_tokenizer_json_golden(tmp_path):
    text = keras_json({"<OOV>": 1, "the": 2, "cat": 3}, {"the": 5, "cat": 2}, oov_token="<OOV>")
    vocab = read_word_index(write(tmp_path, "tok.json", text))
    assert vocab.tokens == ("[PAD]", "<OOV>", "the", "cat")
    assert vocab.counts == (None, None, 5, 2)
    assert (vocab.oov_idx, vocab.reserved) == (1, frozenset({0, 1}))
    assert vocab.stats["format"] == "keras-tokenizer"
    assert vocab.stats["oov_source"] == "tokenizer oov_token"


def test_keras_tokenizer_with_dict_word_index(tmp_path):
    data = {"class_name": "Tokenizer", "config": {"word_index": {"a": 1, "b": 2}, "oov_token": None}}
    vocab = read_word_index(write(tmp_path, "tok.json", json.dumps(data)))
    # no OOV token in the word_index: one is appended after the last index
    assert vocab.tokens == ("[PAD]", "a", "b", "[UNK]")
    assert vocab.oov_idx == 3 and vocab.counts == (None,) * 4


def test_plain_word_index_gaps_and_appended_oov(tmp_path):
    vocab = read_word_index(write(tmp_path, "wi.json", '{"the": 1, "cat": 3}'))
    assert vocab.tokens == ("[PAD]", "the", "[unused2]", "cat", "[UNK]")
    assert vocab.oov_idx == 4
    assert vocab.reserved == frozenset({0, 2, 4})
    assert vocab.word_rows == (1, 3)
    stats = vocab.stats
    assert (stats["gaps"], stats["gap_examples"], stats["oov_source"]) == (1, ["[unused2]"], "appended")


def test_word_index_placeholder_never_takes_a_real_words_name(tmp_path):
    # index 2 is missing and a real word is called "[unused2]": the placeholder must differ,
    # or vocab.txt would hold the same line twice and the word's index would be ambiguous
    vocab = read_word_index(write(tmp_path, "wi.json", '{"the": 1, "[unused2]": 3, "[unused2]#": 4, "x": 6}'))
    assert vocab.tokens[1:7] == ("the", "[unused2]##", "[unused2]", "[unused2]#", "[unused5]", "x")
    assert len(set(vocab.tokens)) == len(vocab.tokens)
    assert vocab.reserved == frozenset({0, 2, 5, 7}) and vocab.word_rows == (1, 3, 4, 6)
    assert vocab.stats["gap_examples"] == ["[unused2]##", "[unused5]"]


def test_word_index_lone_surrogate_is_a_data_error(tmp_path):
    path = write(tmp_path, "wi.json", '{"the": 1, "lone\\ud800": 2}')
    with pytest.raises(DataError) as err:
        read_word_index(path)
    assert err.value.exit_code == 65 and "lone surrogate" in str(err.value) and "'lone\\ud800'" in str(err.value)
    # a proper pair is one character, and fine
    assert read_word_index(write(tmp_path, "ok.json", '{"smile\\ud83d\\ude00": 1}')).tokens[1] == "smile\U0001f600"


def test_plain_word_index_uses_configured_oov_token(tmp_path):
    vocab = read_word_index(write(tmp_path, "wi.json", '{"[UNK]": 1, "a": 2, "[PAD]": 0}'))
    assert vocab.tokens == ("[PAD]", "[UNK]", "a")
    assert vocab.oov_idx == 1 and vocab.stats["oov_source"] == "vocab.oov_token"


def test_word_index_max_size_mirrors_keras_num_words(tmp_path):
    wi = {"<OOV>": 1, "a": 2, "b": 3, "c": 4}
    path = write(tmp_path, "tok.json", keras_json(wi, oov_token="<OOV>"))
    vocab = read_word_index(path, max_size=3)  # keep indices < 3
    assert vocab.tokens == ("[PAD]", "<OOV>", "a")
    assert vocab.stats["truncated"] == 2
    assert read_word_index(path, max_size=100).tokens == ("[PAD]", "<OOV>", "a", "b", "c")
    # the tokenizer's own num_words limits too; the smaller wins
    limited = write(tmp_path, "tok2.json", keras_json(wi, oov_token="<OOV>", num_words=4))
    assert read_word_index(limited, max_size=100).tokens == ("[PAD]", "<OOV>", "a", "b")


def test_word_index_limit_that_keeps_no_word_is_refused(tmp_path):
    wi = {"<OOV>": 1, "a": 2, "b": 3}
    path = write(tmp_path, "tok.json", keras_json(wi, oov_token="<OOV>"))
    for max_size in (1, 2):  # nothing, or the OOV token alone
        with pytest.raises(DataError, match=r"no word has an index below \d \(vocab.max_size\).*smallest word index, 2"):
            read_word_index(path, max_size=max_size)
    limited = write(tmp_path, "tok2.json", keras_json(wi, oov_token="<OOV>", num_words=2))
    with pytest.raises(DataError, match="the tokenizer's num_words"):
        read_word_index(limited)
    assert read_word_index(path, max_size=3).tokens == ("[PAD]", "<OOV>", "a")


def test_word_index_max_size_then_appended_oov(tmp_path):
    vocab = read_word_index(write(tmp_path, "wi.json", '{"a": 1, "b": 2, "c": 3}'), max_size=3)
    assert vocab.tokens == ("[PAD]", "a", "b", "[UNK]")
    assert vocab.oov_idx == 3


@pytest.mark.parametrize(
    "text, message",
    [
        ('["a", "b"]', "word_index is a JSON array"),
        ('{"a": "1"}', "entry 'a': '1' is not an integer index"),
        ('{"a": 1.0}', "entry 'a': 1.0 is not an integer index"),
        ('{"a": -2}', "entry 'a': -2 is not an integer index"),
        ('{"a": true}', "entry 'a': True is not an integer index"),
        ('{"a": 0}', "word 'a' has index 0, which is reserved for padding"),
        ('{"a": 1, "b": 1}', "words 'a' and 'b' both have index 1"),
        ('{"a": 1, "a": 2}', "wi.json: key 'a' appears twice"),  # not "wi.json: the file: key ..."
        ('{"[PAD]": 3}', "the padding token '[PAD]' has index 3"),
        ("{}", "no tokens"),
        ('{"class_name": "Tokenizer", "config": {}}', "without config.word_index"),
        # Line i of vocab.txt is row i: a word must be one non-empty line.
        ('{"the": 1, "": 2}', "entry '': 2 has an empty word"),
        ('{"the": 1, "new\\nline": 2}', "entry 'new\\nline': the word holds a line break"),
        ('{"the": 1, "a\\rb": 2}', "entry 'a\\rb': the word holds a line break"),
        ('{"class_name": "Tokenizer", "config": {"word_index": {"a": 1}, "oov_token": ["x"]}}',
         "config.oov_token is a JSON array (expected null or a string)"),
        ('{"class_name": "Tokenizer", "config": {"word_index": {"a": 1}, "oov_token": {"x": 1}}}',
         "config.oov_token is a JSON object (expected null or a string)"),
        # What Python's json module cannot take: a RecursionError and a ValueError (int-string limit).
        ("[" * 100_000, "the file is nested too deeply to read"),
        ('{"class_name": "Tokenizer", "config": {"word_index": "' + "[" * 100_000 + '"}}',
         "config.word_index is nested too deeply to read"),
        ('{"a": 1' + "0" * 5000 + "}", "the file is not usable JSON: Exceeds the limit (4300 digits)"),
    ],
)
def test_word_index_errors(tmp_path, text, message):
    path = write(tmp_path, "wi.json", text)
    with pytest.raises(DataError) as err:
        read_word_index(path)
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))


def test_word_index_with_far_too_many_gaps_is_refused_unless_max_size_cuts_it(tmp_path):
    # {"the": 1, "of": 10**12} would need 10**12 - 2 placeholder rows.
    path = write(tmp_path, "wi.json", json.dumps({"the": 1, "of": 10**12}))
    with pytest.raises(DataError, match="set vocab.max_size to keep only indices below it") as err:
        read_word_index(path)
    assert "999999999998 missing indices" in str(err.value) and str(err.value).startswith(str(path))
    assert read_word_index(path, max_size=10).tokens == ("[PAD]", "the", "[UNK]")


def test_word_index_gap_limit_is_a_million_or_ten_per_word(tmp_path, monkeypatch):
    monkeypatch.setattr(vocab_module, "MIN_GAPS_REFUSED", 10)  # so that the boundary is small: max(10, 10 x 2)
    path = write(tmp_path, "wi.json", json.dumps({"a": 1, "b": 22}))  # 20 gaps: allowed
    assert read_word_index(path).stats["gaps"] == 20
    path = write(tmp_path, "wi.json", json.dumps({"a": 1, "b": 23}))  # 21 gaps: refused
    with pytest.raises(DataError, match="21 missing indices"):
        read_word_index(path)


@pytest.mark.parametrize("reader", [read_token_file, read_word_index], ids=["token file", "word_index"])
def test_gzip_with_damaged_deflate_data_is_a_data_error(tmp_path, reader):
    # A cut-short stream is an EOFError; garbage inside a full-length one is a zlib.error.
    packed = gzip.compress(json.dumps({f"w{i}": i + 1 for i in range(3000)}).encode())
    path = write(tmp_path, "t.gz", packed[:10] + b"\xff" * 8 + packed[18:])
    with pytest.raises(DataError, match="file is damaged or cut short") as err:
        reader(path)
    assert str(err.value).startswith(str(path))


@pytest.mark.parametrize("data, line", [
    (b"the\nof\x00\nand\n", 2),
    (b"the\rof\r\x00and\r", 3),  # old Mac line ends count as lines too
    ("the\nof\n".encode("utf-16-le"), 1),  # UTF-16 without a BOM: valid UTF-8, every other byte NUL
])
def test_nul_byte_in_a_token_file_names_its_line(tmp_path, data, line):
    with pytest.raises(DataError) as err:
        read_token_file(write(tmp_path, "tokens.txt", data))
    assert err.value.line == line
    assert "line holds a NUL byte (is this a UTF-16 or binary file" in str(err.value)


def test_word_index_invalid_json_names_line(tmp_path):
    with pytest.raises(DataError) as err:
        read_word_index(write(tmp_path, "wi.json", '{\n"a": 1,\n"b" 2}'))
    assert err.value.line == 3 and "not valid JSON" in str(err.value)


# --------------------------------------------------------------------------- corpus


def test_count_corpus_golden(tmp_path):
    path = write(tmp_path, "c.txt", "b a b\n\nc b a [UNK]\n")
    vocab = count_corpus([path])
    assert vocab.tokens == ("[PAD]", "[UNK]", "b", "a", "c")
    assert vocab.counts == (None, None, 3, 2, 1)
    s = vocab.stats
    assert (s["sentences"], s["tokens"], s["types"], s["reserved_skipped"]) == (2, 7, 3, 1)


def test_count_corpus_that_keeps_no_word_is_refused(tmp_path):
    path = write(tmp_path, "c.txt", "b a b\nc b a\n")
    with pytest.raises(ConfigError, match=r"'vocab.min_count' parameter must be at most 3.*Got 4 instead") as err:
        count_corpus([path], min_count=4)
    assert err.value.exit_code == 78
    assert count_corpus([path], min_count=3).tokens == ("[PAD]", "[UNK]", "b")
    with pytest.raises(DataError, match="only the tokens '\\[PAD\\]' and '\\[UNK\\]'"):
        count_corpus([write(tmp_path, "r.txt", "[UNK] [PAD]\n[UNK]\n")])


def test_count_corpus_ties_keep_first_appearance(tmp_path):
    path = write(tmp_path, "c.txt", "y x z\nz x y\n")
    assert count_corpus([path]).tokens[2:] == ("y", "x", "z")


def test_count_corpus_min_count_max_size_lowercase(tmp_path):
    path = write(tmp_path, "c.txt", "The the cat\nthe Cat dog\n")
    assert count_corpus([path], min_count=2).tokens[2:] == ("the",)
    vocab = count_corpus([path], lowercase=True, min_count=2)
    assert vocab.tokens[2:] == ("the", "cat") and vocab.counts[2:] == (3, 2)
    assert vocab.stats["below_min_count"] == 1
    capped = count_corpus([path], lowercase=True, max_size=1)
    assert capped.tokens[2:] == ("the",) and capped.stats["truncated"] == 2


def test_count_corpus_nul_byte_names_its_line(tmp_path):
    path = write(tmp_path, "c.txt", b"the cat\n\non the m\x00at\n")
    with pytest.raises(DataError, match="line holds a NUL byte") as err:
        count_corpus([path])
    assert err.value.line == 3 and str(err.value).startswith(f"{path}:3: ")


def test_count_corpus_empty(tmp_path):
    with pytest.raises(DataError, match="no tokens"):
        count_corpus([write(tmp_path, "c.txt", "\n  \n")])


# --------------------------------------------------------------------------- build_vocabulary


def test_build_vocabulary_resolves_relative_paths(tmp_path):
    write(tmp_path, "v.txt", "a\nb\n")
    write(tmp_path, "wi.json", '{"a": 1}')
    write(tmp_path, "c.txt", "b b a\n")
    assert build_vocabulary(VocabConfig(source="file", path="v.txt"), base_dir=tmp_path).tokens[2:] == ("a", "b")
    assert build_vocabulary(VocabConfig(source="word_index", path="wi.json"), base_dir=tmp_path).tokens == (
        "[PAD]", "a", "[UNK]",
    )
    # corpus: [vectors].corpus is used when [vocab].corpus is empty; [vocab].corpus wins when given
    write(tmp_path, "other.txt", "z\n")
    assert build_vocabulary(VocabConfig(), base_dir=tmp_path, corpus=["c.txt"]).tokens[2:] == ("b", "a")
    own = VocabConfig(corpus=("other.txt",))
    assert build_vocabulary(own, base_dir=tmp_path, corpus=["c.txt"]).tokens[2:] == ("z",)


def test_build_vocabulary_passes_limits_and_tokens(tmp_path):
    write(tmp_path, "c.txt", "<s> a a b\n")
    config = VocabConfig(max_size=1, padding_token="<s>", oov_token="<unk>")
    vocab = build_vocabulary(config, base_dir=tmp_path, corpus=["c.txt"])
    assert vocab.tokens == ("<s>", "<unk>", "a")


def test_build_vocabulary_config_errors(tmp_path):
    with pytest.raises(ConfigError) as err:
        build_vocabulary(VocabConfig(source="file"), base_dir=tmp_path)
    assert err.value.exit_code == 78 and "vocab.path" in str(err.value)
    with pytest.raises(ConfigError, match="needs a corpus"):
        build_vocabulary(VocabConfig(source="corpus"), base_dir=tmp_path)
    with pytest.raises(ConfigError, match="must differ"):
        build_vocabulary(VocabConfig(padding_token="x", oov_token="x"), base_dir=tmp_path, corpus=["c"])


@pytest.mark.parametrize("max_size", [0, -1, 2.5, True])
def test_readers_refuse_a_max_size_below_one(tmp_path, max_size):
    # -1 silently dropped the last word, 0 kept only the reserved rows (and meant "no limit" to read_word_index)
    tokens = write(tmp_path, "t.txt", "the\ncat\ndog\n")
    index = write(tmp_path, "wi.json", json.dumps({"the": 1, "cat": 2}))
    corpus = write(tmp_path, "c.txt", "the cat dog\n")
    for read in (lambda: read_token_file(tokens, max_size=max_size), lambda: read_word_index(index, max_size=max_size),
                 lambda: count_corpus([corpus], max_size=max_size)):
        with pytest.raises(ConfigError, match=r"'vocab.max_size' parameter must be an integer >= 1"):
            read()


@pytest.mark.parametrize("reserved, message", [
    ({"padding_token": "X", "oov_token": "X"}, "must differ"),
    ({"padding_token": ""}, "'vocab.padding_token' parameter must be a non-empty token"),
    ({"oov_token": "a\nb"}, "'vocab.oov_token' parameter must be a non-empty token without line breaks"),
])
def test_readers_check_the_reserved_tokens_as_the_config_does(tmp_path, reserved, message):
    tokens = write(tmp_path, "t.txt", "the\ncat\n")
    index = write(tmp_path, "wi.json", json.dumps({"the": 1, "cat": 2}))
    corpus = write(tmp_path, "c.txt", "the cat\n")
    for read in (lambda: read_token_file(tokens, **reserved), lambda: read_word_index(index, **reserved),
                 lambda: count_corpus([corpus], **reserved)):
        with pytest.raises(ConfigError, match=message):
            read()


def test_count_corpus_refuses_one_path_for_its_list_of_files(tmp_path):
    corpus = write(tmp_path, "corp.txt", "the cat\n")
    for one in (str(corpus), corpus):
        with pytest.raises(TypeError, match=r"not one path: \['.*corp.txt'\]\?"):
            count_corpus(one)


def test_word_index_holding_only_the_oov_token_says_so(tmp_path):
    path = write(tmp_path, "wi.json", json.dumps({"[UNK]": 1}))
    with pytest.raises(DataError, match=r"no words: the file holds only the OOV token") as info:
        read_word_index(path)  # it said "no word has an index below None (vocab.max_size)"
    assert "None" not in str(info.value)
