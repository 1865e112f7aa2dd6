"""Tests for pipeline/sources/corpus.py: reading a corpus a block at a time gives what reading it line by line gives.

The reference here is the plain definition (decode each line, drop a BOM on line 1,
lower-case if asked, ``str.split()``), written again in :func:`by_line`, not the
module's own line-by-line fallback. Blocks are made tiny so that one small file
has many of them, and lines mixing the spacings the fast path refuses
(tabs, runs of spaces, U+00A0, U+001F, CR) with ones it takes.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.sources.corpus as corpus
from pipeline.errors import DataError
from pipeline.sources.corpus import corpus_blocks, count_tokens, iter_sentences


def by_line(paths: list[Path], lowercase: bool = False, encoding: str = "utf-8", errors: str = "strict"):
    """The sentences of ``paths`` by the definition: one decoded, split line at a time."""
    out = []
    for path in paths:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            line = raw.decode(encoding, errors)
            if lineno == 1:
                line = line.removeprefix("\ufeff")
            tokens = (line.lower() if lowercase else line).split()
            if tokens:
                out.append(tokens)
    return out


@pytest.fixture
def tiny_blocks(monkeypatch):
    monkeypatch.setattr(corpus, "_BLOCK_BYTES", 64)


MIXED = (
    "\ufeffThe cat sat\n"
    "on the MAT\n"
    "\n"
    "  leading and trailing  \n"
    "tab\tseparated\twords\r\n"
    "ΣΟΦΟΣ λόγος İstanbul straße\n"
    "non\u00a0breaking and \u001fseparated\n"
    "a line that is longer than one whole block of sixty-four bytes, so it is read on\n"
    "last line without a newline"
)


@pytest.mark.parametrize("lowercase", [False, True])
def test_blocks_give_the_sentences_of_the_line_by_line_definition(tmp_path, tiny_blocks, lowercase):
    path = tmp_path / "c.txt"
    path.write_bytes(MIXED.encode("utf-8"))
    expected = by_line([path], lowercase)
    assert list(iter_sentences([path], lowercase=lowercase)) == expected
    blocks = list(corpus_blocks([path], lowercase=lowercase))
    assert len(blocks) > 3  # many blocks: the boundaries are exercised
    assert all(b.endswith(b"\n") and b"\n\n" not in b and not b.startswith(b"\n") for b in blocks)
    assert b"".join(blocks) == b"".join(" ".join(t).encode() + b"\n" for t in expected)
    counts, sentences = count_tokens([path], lowercase=lowercase)
    assert sentences == len(expected)
    assert list(counts.items()) == list(Counter(t for s in expected for t in s).items())  # order too


def test_clean_ascii_blocks_are_passed_on_without_reading_line_by_line(tmp_path, tiny_blocks, monkeypatch):
    path = tmp_path / "c.txt"
    path.write_text("".join(f"w{i} x y\n" for i in range(200)) + "\n\nend", encoding="utf-8")
    monkeypatch.setattr(corpus, "_normalise_by_line", lambda *a: pytest.fail("a clean block was read by line"))
    assert list(iter_sentences([path])) == by_line([path])


def test_several_files_and_gzip_keep_file_order(tmp_path, tiny_blocks):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt.gz"
    a.write_text("one two\nthree", encoding="utf-8")
    b.write_bytes(gzip.compress("four\n\nfive six seven\n".encode()))
    assert list(iter_sentences([a, b])) == by_line([a, b]) == [["one", "two"], ["three"], ["four"],
                                                               ["five", "six", "seven"]]
    assert count_tokens([a, b]) == ({"one": 1, "two": 1, "three": 1, "four": 1, "five": 1, "six": 1,
                                     "seven": 1}, 4)


@pytest.mark.parametrize("errors", ["replace", "ignore"])
def test_undecodable_bytes_with_replace_or_ignore(tmp_path, tiny_blocks, errors):
    path = tmp_path / "c.txt"
    path.write_bytes(b"good words here\nbad \xff\xfe byte\xe2\x80\nend \xc3\xa9t\xc3\xa9 line\n" * 5)
    assert list(iter_sentences([path], errors=errors)) == by_line([path], errors=errors)


def test_latin1_corpus(tmp_path, tiny_blocks):
    path = tmp_path / "c.txt"
    path.write_bytes("caf\u00e9 na\u00efve words\nplain ascii line here\n".encode("latin-1") * 4)
    assert list(iter_sentences([path], encoding="latin-1")) == by_line([path], encoding="latin-1")


def test_bad_byte_is_named_by_its_line_even_deep_in_a_block(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"fine line\n" * 1000 + b"broken \xff here\n" + b"fine line\n" * 10)
    with pytest.raises(DataError, match="not valid utf-8") as info:
        list(iter_sentences([path]))
    assert info.value.line == 1001


def test_nul_byte_is_named_by_its_line(tmp_path, tiny_blocks):
    path = tmp_path / "c.txt"
    path.write_bytes(b"fine line\n" * 20 + b"nul\x00here\n")
    with pytest.raises(DataError, match="NUL byte") as info:
        list(iter_sentences([path]))
    assert info.value.line == 21


LINE = st.lists(
    st.text(alphabet="ab\u00e9\u03a3\u0130 \t\r\u00a0\u001f\ufeffZ", max_size=12), max_size=12
).map("\n".join)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(text=LINE, lowercase=st.booleans(), block=st.integers(1, 40))
def test_any_text_any_block_size_reads_as_line_by_line(tmp_path_factory, text, lowercase, block):
    path = tmp_path_factory.mktemp("c") / "c.txt"
    path.write_bytes(text.encode("utf-8"))
    old = corpus._BLOCK_BYTES
    corpus._BLOCK_BYTES = block
    try:
        expected = by_line([path], lowercase)
        assert list(iter_sentences([path], lowercase=lowercase)) == expected
        counts, sentences = count_tokens([path], lowercase=lowercase)
        assert (list(counts.items()), sentences) == (
            list(Counter(t for s in expected for t in s).items()), len(expected))
    finally:
        corpus._BLOCK_BYTES = old


def test_the_other_spaces_are_every_character_str_split_splits_on():
    every = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(corpus._OTHER_SPACES) | {" ", "\n"} == every
    assert all(f"a{c}b".split() == ["a", "b"] for c in every)  # isspace is what split() splits on


def test_a_file_listed_twice_in_the_corpus_is_refused_naming_both_entries(tmp_path):
    # Through its folder and by name, or twice by name: its sentences were trained on and counted twice.
    from pipeline.errors import ConfigError

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a b c\n")
    (tmp_path / "data" / "b.txt").write_text("d e\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "data" / "b.txt")
    for specs, first, second in ((["data", "data/a.txt"], "data", "data/a.txt"),
                                 (["data/a.txt", "data/a.txt"], "data/a.txt", "data/a.txt"),
                                 (["data", "link.txt"], "data", "link.txt")):
        with pytest.raises(ConfigError, match=f"lists .* twice: through '{first}' and '{second}'") as info:
            corpus.corpus_files(specs, tmp_path)
        assert info.value.exit_code == 78
    assert [p.name for p in corpus.corpus_files(["data"], tmp_path)] == ["a.txt", "b.txt"]
