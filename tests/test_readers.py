"""Tests for pipeline/sources/readers.py: formats, detection, gensim parity, filtering, and every error.

They also cover the modules behind read_vectors (sniff, rows, text_scan, binary);
the two-process reader (parallel_read) is tested in test_vcache.py.

gensim's ``KeyedVectors.load_word2vec_format`` is the reference for values
(``np.array_equal``, so bit-for-bit); inputs are tiny files written into
``tmp_path`` plus the files that ship with gensim.
"""

from __future__ import annotations

import bz2
import gzip
import logging
import zlib
from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import gensim_test_dir
from pipeline.errors import ConfigError, DataError, StorageError
from pipeline.sources import rows as rows_module
from pipeline.sources import binary, parallel_read, sniff, text_scan
from pipeline.sources.files import compression_of
from pipeline.sources.readers import FORMATS, detect_format, read_vectors

GENSIM_DATA = gensim_test_dir()


# --------------------------------------------------------------------------- helpers


def text_bytes(words, matrix, header=False, eol="\n", trailing=""):
    """Rows ``word v1 v2 ...`` with %r-exact floats (what gensim writes), optionally with a header."""
    matrix = np.asarray(matrix, dtype=np.float32)
    lines = [f"{len(words)} {matrix.shape[1]}"] if header else []
    lines += [w + " " + " ".join(repr(float(x)) for x in row) + trailing for w, row in zip(words, matrix)]
    return (eol.join(lines) + eol).encode("utf-8")


def binary_bytes(words, matrix, newline=False):
    """word2vec binary as gensim's ``save_word2vec_format(binary=True)`` writes it (``newline``: as word2vec.c)."""
    matrix = np.asarray(matrix, dtype="<f4")
    out = [f"{len(words)} {matrix.shape[1]}\n".encode()]
    for w, row in zip(words, matrix):
        out.append(w.encode("utf-8") + b" " + row.tobytes() + (b"\n" if newline else b""))
    return b"".join(out)


def sample_bytes(fmt):
    """WORDS and MATRIX in ``fmt`` (the .vec one with fastText's trailing space)."""
    if fmt == "word2vec-binary":
        return binary_bytes(WORDS, MATRIX)
    return text_bytes(WORDS, MATRIX, header=fmt != "glove", trailing=" " if fmt == "fasttext-vec" else "")


def write(tmp_path, name, data, compress=None):
    if compress == "gz":
        data = gzip.compress(data)
    elif compress == "bz2":
        data = bz2.compress(data)
    path = tmp_path / name
    path.write_bytes(data)
    return path


def gensim_load(path, fmt, **kwargs):
    from gensim.models import KeyedVectors

    return KeyedVectors.load_word2vec_format(
        str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove", **kwargs
    )


def assert_same_as_gensim(vectors, path, fmt, **kwargs):
    kv = gensim_load(path, fmt, **kwargs)
    # gensim 4.4 leaves a None key and a zero row at the end for each skipped duplicate.
    n = len(kv.key_to_index)
    assert list(vectors.words) == list(kv.index_to_key[:n])
    assert vectors.matrix.dtype == np.float32
    assert np.array_equal(vectors.matrix, kv.vectors[:n])


def error_of(cls, path, *args, **kwargs):
    """Read and return the error raised, checking its class, exit code and that it names the file."""
    with pytest.raises(cls) as info:
        read_vectors(path, *args, **kwargs)
    err = info.value
    assert err.exit_code == {DataError: 65, StorageError: 74, ConfigError: 78}[cls]
    assert str(path) in str(err)
    assert "\n" not in str(err)
    return err


def assert_line(err, line):
    assert err.line == line
    assert f":{line}: " in str(err)


RNG = np.random.default_rng(7)
WORDS = [f"w{i}" for i in range(12)]
MATRIX = RNG.standard_normal((12, 5)).astype(np.float32)


# --------------------------------------------------------------------------- a result checkable by hand


def test_small_glove_file_golden(tmp_path):
    path = write(tmp_path, "v.txt", b"the 0.5 -1 2e-3\ncat 1.25 0 -0.0\n")
    v = read_vectors(path)
    assert v.words == ("the", "cat")
    assert v.matrix.tolist() == [[0.5, -1.0, np.float32(2e-3).item()], [1.25, 0.0, -0.0]]
    assert v.dim == 3
    assert v.source["format"] == "glove"
    assert v.stats == {
        "lines_read": 2,
        "rows_read": 2,
        "blank_lines": 0,
        "dim": 3,
        "stopped_at_max_rows": False,
        "rows_parsed": 2,
        "rows_unwanted": 0,
        "duplicates": 0,
        "duplicate_examples": [],
    }


def test_source_describes_the_file(tmp_path):
    path = write(tmp_path, "v.vec", text_bytes(WORDS, MATRIX, header=True))
    v = read_vectors(path, "fasttext-vec")
    assert v.source["kind"] == "file"
    assert v.source["path"] == str(path)
    assert v.source["format"] == "fasttext-vec"  # the user's name is kept
    assert v.source["size"] == path.stat().st_size
    assert v.source["mtime_ns"] == path.stat().st_mtime_ns
    assert v.source["crc32"] == format(zlib.crc32(path.read_bytes()), "08x")
    assert v.stats["header_count"] == 12
    assert read_vectors(path).source["format"] == "word2vec-text"  # what detection says


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "name, expected",
    [
        ("test_glove.txt", "glove"),
        ("lee_fasttext.vec", "word2vec-text"),
        ("crime-and-punishment.vec", "word2vec-text"),
        ("euclidean_vectors.bin", "word2vec-binary"),
    ],
)
def test_detect_gensim_bundled_files(name, expected):
    assert detect_format(GENSIM_DATA / name) == expected


@pytest.mark.parametrize("name", ["crime-and-punishment.bin", "lee_fasttext.bin"])
def test_fasttext_bin_models_are_refused_with_a_reason(name):
    path = GENSIM_DATA / name
    err = error_of(DataError, path)
    assert "fastText .bin" in str(err)


@pytest.mark.parametrize("compress", [None, "gz", "bz2"])
@pytest.mark.parametrize(
    "data, expected",
    [
        (text_bytes(WORDS, MATRIX), "glove"),
        (text_bytes(WORDS, MATRIX, header=True), "word2vec-text"),
        (text_bytes(WORDS, MATRIX, header=True, trailing=" "), "word2vec-text"),  # fastText .vec style
        (text_bytes(WORDS, MATRIX, header=True, eol="\r\n"), "word2vec-text"),
        (binary_bytes(WORDS, MATRIX), "word2vec-binary"),
        (binary_bytes(WORDS, MATRIX, newline=True), "word2vec-binary"),
        (b"1 5\n", "word2vec-text"),  # header only: reading then says "no vectors"
    ],
    ids=["glove", "w2v-text", "fasttext-vec", "crlf", "w2v-binary", "w2v-binary-nl", "header-only"],
)
def test_detect_written_files(tmp_path, data, expected, compress):
    # The name says nothing: detection looks at the content only.
    assert detect_format(write(tmp_path, "vectors.dat", data, compress)) == expected


def test_detect_binary_vectors_of_zeros(tmp_path):
    # All-zero float32 bytes are NUL bytes: never a text row.
    path = write(tmp_path, "z.bin", binary_bytes(["a", "b"], np.zeros((2, 3))))
    assert detect_format(path) == "word2vec-binary"
    assert read_vectors(path).matrix.tolist() == [[0.0] * 3] * 2


def test_detect_header_then_wrong_row_is_word2vec_text_so_reading_names_the_line(tmp_path):
    path = write(tmp_path, "v.txt", b"2 3\na 1 2\nb 1 2 3\n")
    assert detect_format(path) == "word2vec-text"
    err = error_of(DataError, path)
    assert_line(err, 2)
    assert "row has 2 values, expected 3 as the header on line 1 says" in str(err)


@pytest.mark.parametrize("first_bytes", [b"\x0a\x00\x80\x3f", b"\x32\x0a\x80\x3f"])
def test_binary_whose_first_vector_holds_a_newline_early_is_detected_as_binary(tmp_path, first_bytes):
    # Line 2 as text was "king \n" or "king 2\n": neither showed a binary byte, so auto read the
    # file as word2vec text and refused it: 16 of 3,000 random 300-d files (0.5%), none now.
    first = np.frombuffer(first_bytes, "<f4")[0]
    path = write(tmp_path, "v.bin", binary_bytes(["king", "queen"], [[first, 0.5, 0.25, 1], [1, 2, 3, 4]], newline=True))
    assert detect_format(path) == "word2vec-binary"
    kv = gensim_load(path, "word2vec-binary")
    v = read_vectors(path)
    assert v.words == ("king", "queen") and np.array_equal(v.matrix, kv.vectors, equal_nan=True)


def test_random_binary_files_are_all_detected_as_binary(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "r.bin"
    for dim in (2, 4, 25, 300):
        for _ in range(150):
            path.write_bytes(binary_bytes(["king", "queen"], rng.standard_normal((2, dim)), newline=True))
            assert detect_format(path) == "word2vec-binary", path.read_bytes()[:40]


def test_binary_header_dimension_larger_than_the_file_is_refused_before_reading(tmp_path, monkeypatch):
    # Each 1 MB read copied the whole buffer: a damaged dimension cost time quadratic in the file's
    # size (150 MB took 10 s) before the "truncated" error. A plain file is now refused at once.
    data = b"1000 1000000000000\nw " + np.zeros(1000, "<f4").tobytes()
    path = write(tmp_path, "v.bin", data)
    reads = []
    monkeypatch.setattr(binary._BinaryRecords, "_read_more", lambda self: reads.append(1) or False)
    with pytest.raises(DataError, match="the header's dimension 1000000000000 needs 4,000,000,000,000 bytes a vector, "
                                        "but only 4,002 follow the header") as info:
        read_vectors(path, "word2vec-binary")
    assert_line(info.value, 1)
    assert not reads  # not one chunk read past the header
    monkeypatch.undo()
    # Compressed, the size is not known up front: read until the end, then "truncated".
    gz = write(tmp_path, "v.bin.gz", b"1 5000\nw " + np.zeros(3000, "<f4").tobytes(), "gz")
    with pytest.raises(DataError, match="truncated: row 1 'w' at byte 9 has 12000 of its 20000 vector bytes"):
        read_vectors(gz, "word2vec-binary")


@pytest.mark.parametrize("text", ["2 3\n \nété 0.1234 0.5678 -0.25\nthe 0.1 0.2 0.3\n", "3 2\n\nété 0 1\nñu 1 0\nx 1 1\n"])
def test_text_whose_line_2_is_blank_and_later_words_not_ascii_is_still_text(tmp_path, text):
    # The first vector's bytes ran into the later rows: their non-ASCII words read as float bytes
    path = write(tmp_path, "w.txt", text.encode())
    assert detect_format(path) == "word2vec-text"
    assert read_vectors(path).words[0] == "été"


def test_a_short_text_row_before_a_non_ascii_word_is_still_text(tmp_path):
    path = write(tmp_path, "t.txt", "3 4\nking 0.1 0.2\nnaïve 1 2 3 4\nx 1 2 3 4\n".encode())
    assert detect_format(path) == "word2vec-text"
    with pytest.raises(DataError, match="row has 2 values, expected 4"):
        read_vectors(path)


@pytest.mark.parametrize("line", [b"--2 3", b"+-2 3", b"2 " + b"9" * 31, b"2 " + b"9" * 5000, b"2 3.0"])
def test_header_fields_are_a_sign_and_at_most_30_digits(line):
    # int() would refuse "--2" and (int-string limit) 5000 digits: such a line is simply not a header.
    assert sniff._header_numbers(line) is None
    assert sniff._header_numbers(b"+2 -3\n") == (2, -3)
    assert sniff._header_numbers(b"2 " + b"9" * 30) == (2, 10**30 - 1)


def test_detect_line_of_two_signs_then_rows_is_glove_and_reading_names_the_line(tmp_path):
    path = write(tmp_path, "v.txt", b"--2 3\na 1 2 3\n")
    assert detect_format(path) == "glove"
    err = error_of(DataError, path)
    assert_line(err, 2)  # "--2 3" is the first GloVe row (word "--2", dim 1), so line 2 has too many values


def test_detect_binary_row_without_control_bytes_by_its_high_bytes(tmp_path):
    # 415817.0 is b" \t\xcbH": no control byte but the tab; "\xcbH" cannot be text values.
    path = write(tmp_path, "v.bin", b"1 1\n0 " + np.array([415817.0], "<f4").tobytes())
    assert detect_format(path) == "word2vec-binary"
    assert read_vectors(path).matrix.tolist() == [[415817.0]]


def test_detect_non_ascii_words_of_a_text_file_are_still_text(tmp_path):
    # The high-byte rule looks only past the word: UTF-8 words (and a U+00A0 inside one) stay text.
    path = write(tmp_path, "v.vec", "2 2\n\u00e9t\u00e9 1.0 2.0\na\u00a0\u65e5 3 4\n".encode())
    assert detect_format(path) == "word2vec-text"
    assert read_vectors(path).words == ("\u00e9t\u00e9", "a\u00a0\u65e5")


def test_detect_and_read_1e39_without_an_overflow_warning(tmp_path):
    import warnings

    path = write(tmp_path, "v.vec", b"2 2\na 1e39 1\nb 1 2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" would fail here
        assert detect_format(path) == "word2vec-text"
        err = error_of(DataError, path)
    assert_line(err, 2)
    assert "NaN or infinite" in str(err)


def test_first_block_of_the_matrix_is_bounded_by_bytes_and_grows(tmp_path, monkeypatch):
    # Without a header the first block holds 1024 rows -- fewer when they are wide (one GloVe row of
    # 26M values would otherwise ask for 100 GiB). Here room for 2 rows of dim 5; 12 rows still read.
    monkeypatch.setattr(rows_module, "_FIRST_BLOCK_BYTES", 2 * 4 * 5)
    monkeypatch.setattr(rows_module, "_BATCH_VALUES", 5)  # one row a batch: the matrix grows 2, 4, 8, 16
    v = read_vectors(write(tmp_path, "v.txt", text_bytes(WORDS, MATRIX)), "glove")
    assert v.words == tuple(WORDS) and np.array_equal(v.matrix, MATRIX)
    rows = rows_module._Rows("v.txt", None, "utf-8", binary=False)
    rows.dim = 5
    rows._append(MATRIX[:1])
    assert rows.matrix.shape == (2, 5)


# --------------------------------------------------------------------------- gensim parity


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("test_glove.txt", "glove"),
        ("lee_fasttext.vec", "word2vec-text"),
        ("crime-and-punishment.vec", "word2vec-text"),
    ],
)
def test_bundled_files_equal_gensim(name, fmt):
    path = GENSIM_DATA / name
    v = read_vectors(path)
    assert v.source["format"] == fmt
    assert_same_as_gensim(v, path, fmt)


def test_bundled_binary_equals_gensim():
    path = GENSIM_DATA / "euclidean_vectors.bin"
    assert_same_as_gensim(read_vectors(path), path, "word2vec-binary")


def _double_rounding_decimals(n):
    """Decimals just above/below a float32 rounding midpoint: float64-then-float32 and direct rounding differ."""
    getcontext().prec = 60
    rng = np.random.default_rng(3)
    out = []
    for a in rng.standard_normal(n).astype(np.float32):
        b = np.nextafter(a, np.float32(np.inf))
        mid = (Decimal(float(a)) + Decimal(float(b))) / 2
        tiny = Decimal(float(np.spacing(float(mid)))) / 4
        out += [format(mid + tiny, "f")[:30], format(mid - tiny, "f")[:30], format(mid, "f")]
    return out


def test_many_decimal_values_equal_gensim_bit_for_bit(tmp_path):
    tokens = _double_rounding_decimals(200) + ["1e-45", "7e-46", "-0", "+1.5", "1E3", ".5", "5.", "3.4028235e38"]
    tokens += [repr(float(x)) for x in RNG.standard_normal(40)]
    tokens = tokens[: len(tokens) // 8 * 8]
    rows = [f"w{i} " + " ".join(tokens[j : j + 8]) for i, j in enumerate(range(0, len(tokens), 8))]
    glove = write(tmp_path, "g.txt", ("\n".join(rows) + "\n").encode())
    w2v = write(tmp_path, "w.txt", (f"{len(rows)} 8\n" + "\n".join(rows) + "\n").encode())
    assert_same_as_gensim(read_vectors(glove), glove, "glove")
    assert_same_as_gensim(read_vectors(w2v), w2v, "word2vec-text")


def test_spellings_only_python_float_accepts_still_equal_gensim(tmp_path):
    # The bulk parser refuses "1_000" and " 1"; the row-by-row fallback accepts them, as gensim does.
    path = write(tmp_path, "v.txt", b"a 1_000 2 3\nb 0.1 0.2 0.3\n")
    assert_same_as_gensim(read_vectors(path), path, "glove")


@pytest.mark.parametrize("newline", [False, True])
def test_binary_equals_gensim(tmp_path, newline):
    words = ["the", "caf\u00e9", "a\u00a0b", "x"]
    matrix = RNG.standard_normal((4, 7)).astype(np.float32)
    path = write(tmp_path, "v.bin", binary_bytes(words, matrix, newline=newline))
    v = read_vectors(path)
    assert v.words == tuple(words)
    assert np.array_equal(v.matrix, matrix)
    assert_same_as_gensim(v, path, "word2vec-binary")


def test_gensim_written_files_round_trip(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(6)
    kv.add_vectors(WORDS[:10], RNG.standard_normal((10, 6)).astype(np.float32))
    for binary, fmt in [(False, "word2vec-text"), (True, "word2vec-binary")]:
        path = tmp_path / f"kv-{binary}"
        kv.save_word2vec_format(str(path), binary=binary)
        v = read_vectors(path)
        assert v.source["format"] == fmt
        assert v.words == tuple(WORDS[:10])
        assert np.array_equal(v.matrix, kv.vectors)


decimal_token = st.one_of(
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(repr),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda x: f"{x:.17g}"),
    st.decimals(min_value=-10, max_value=10, places=20, allow_nan=False).map(str),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(decimal_token, min_size=3, max_size=3), min_size=1, max_size=6))
def test_random_decimals_equal_gensim(tmp_path, rows):
    lines = [f"w{i} " + " ".join(row) for i, row in enumerate(rows)]
    path = write(tmp_path, "h.txt", ("\n".join(lines) + "\n").encode())
    v = read_vectors(path, "glove")
    assert_same_as_gensim(v, path, "glove")
    kept = read_vectors(path, "glove", wanted={"w0"})
    assert np.array_equal(kept.matrix, v.matrix[:1])


@pytest.mark.parametrize("value", ["2\u00a0", "2\u0085", "\uff12", "2\t", "2\x0b", "2\x0c"])
def test_odd_but_accepted_numbers_equal_gensim(tmp_path, value):
    # gensim's np.float32(token) strips these (and reads a full-width digit); so do we, with its values.
    path = write(tmp_path, "v.txt", f"a 1 {value} 3\nb 4 5 6\n".encode("utf-8"))
    v = read_vectors(path, "glove")
    assert v.matrix[0].tolist() == [1, 2, 3]
    assert_same_as_gensim(v, path, "glove")


@pytest.mark.parametrize("control", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_a_number_with_an_information_separator_is_refused_as_gensim_does(tmp_path, control):
    # np.loadtxt would read "2\x1c" as 2; gensim's np.float32 refuses it, and so do we.
    path = write(tmp_path, "v.txt", f"a 1 2{control} 3\nb 4 5 6\n".encode())
    with pytest.raises(ValueError):
        gensim_load(path, "glove")
    assert "v.txt:1" in str(error_of(DataError, path, "glove"))


# --------------------------------------------------------------------------- compression


@pytest.mark.parametrize("compress", ["gz", "bz2"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_compressed_files_read_like_plain(tmp_path, fmt, compress):
    data = sample_bytes(fmt)
    plain = read_vectors(write(tmp_path, "plain", data), fmt)
    packed = read_vectors(write(tmp_path, "packed", data, compress), fmt)
    assert packed.words == plain.words == tuple(WORDS)
    assert np.array_equal(packed.matrix, plain.matrix)
    assert np.array_equal(plain.matrix, MATRIX)
    auto = read_vectors(write(tmp_path, "auto", data, compress))
    assert np.array_equal(auto.matrix, MATRIX)


@pytest.mark.parametrize("first_word", ["BZh", "BZh9", "BZh91AY"])
def test_a_text_file_starting_like_bzip2_is_read_as_text(tmp_path, first_word):
    # bzip2 is recognised by its whole stream header, not by the three letters a word may start with.
    path = write(tmp_path, "v.txt", f"{first_word} 1 2\nb 3 4\n".encode())
    v = read_vectors(path, "glove")
    assert v.words == (first_word, "b")
    assert_same_as_gensim(v, path, "glove")


def test_an_empty_bzip2_stream_is_still_bzip2(tmp_path):
    path = write(tmp_path, "v.txt.bz2", bz2.compress(b""))
    assert compression_of(path) == "bz2"
    with pytest.raises(DataError, match="no vectors"):
        read_vectors(path, "glove")


# --------------------------------------------------------------------------- tokens and lines


def test_crlf_bom_trailing_spaces_and_blank_lines(tmp_path):
    data = b"\xef\xbb\xbf2 3\r\nthe 1 2 3 \r\n\r\nof 4 5 6  \r\n\n"
    v = read_vectors(write(tmp_path, "v.vec", data))
    assert v.words == ("the", "of")
    assert v.matrix.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert v.stats["blank_lines"] == 2
    assert v.stats["lines_read"] == 5


def test_bom_before_a_glove_word_is_not_part_of_it(tmp_path):
    v = read_vectors(write(tmp_path, "v.txt", "\ufeffthe 1 2\n".encode("utf-8")))
    assert v.words == ("the",)


def test_non_breaking_space_stays_inside_the_word(tmp_path):
    # GloVe 840B has such tokens; only the ASCII space separates fields.
    path = write(tmp_path, "v.txt", "a\u00a0b 1 2\n.\u00a0. 3 4\n".encode())
    v = read_vectors(path)
    assert v.words == ("a\u00a0b", ".\u00a0.")
    assert_same_as_gensim(v, path, "glove")


def test_tab_is_not_a_separator(tmp_path):
    path = write(tmp_path, "v.txt", b"the\t1\t2\nof\t3\t4\n")
    err = error_of(DataError, path)
    assert_line(err, 1)
    assert "no values" in str(err) and "tabs" in str(err)


def test_nul_byte_in_a_word_is_an_error(tmp_path):
    path = write(tmp_path, "v.txt", b"the 1 2\nx\x00y 3 4\n")
    err = error_of(DataError, path, "glove")
    assert_line(err, 2)
    assert "NUL" in str(err)


def test_zero_filled_tail_is_an_error(tmp_path):
    # What a crash mid-write can leave behind.
    path = write(tmp_path, "v.txt", b"the 1 2\nof 3 4\n" + b"\x00" * 64)
    err = error_of(DataError, path, "glove")
    assert_line(err, 3)


def test_duplicates_keep_the_first_row(tmp_path):
    path = write(tmp_path, "v.txt", b"a 1 1\nb 2 2\na 3 3\nc 4 4\nb 5 5\na 6 6\n")
    v = read_vectors(path)
    assert v.words == ("a", "b", "c")
    assert v.matrix[:, 0].tolist() == [1, 2, 4]
    assert v.stats["duplicates"] == 3
    assert v.stats["duplicate_examples"] == ["a", "b", "a"]
    assert_same_as_gensim(v, path, "glove")


def test_duplicates_are_logged_once(tmp_path, caplog):
    path = write(tmp_path, "v.txt", b"a 1\na 2\na 3\n")
    with caplog.at_level(logging.INFO, logger="pipeline.sources.readers"):
        read_vectors(path)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 repeated word(s)" in warnings[0].getMessage()
    assert any("read 3 rows of dim 1" in r.getMessage() for r in caplog.records)


def test_long_reads_log_progress(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(text_scan, "_PROGRESS_SECONDS", 0.0)
    path = write(tmp_path, "v.txt", b"a 1\n" + b"b 2\n" * 70_000)
    with caplog.at_level(logging.INFO, logger="pipeline.sources.readers"):
        read_vectors(path)
    assert any(r.getMessage().endswith("read 65536 lines") for r in caplog.records)


# --------------------------------------------------------------------------- wanted and max_rows


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("as_callable", [False, True])
def test_wanted_gives_exactly_the_subset(tmp_path, fmt, as_callable):
    data = sample_bytes(fmt)
    path = write(tmp_path, "v", data, "gz")
    full = read_vectors(path, fmt)
    wanted = {"w7", "w2", "w11", "absent"}
    v = read_vectors(path, fmt, wanted=wanted.__contains__ if as_callable else wanted)
    assert v.words == ("w2", "w7", "w11")  # file order
    index = [full.words.index(w) for w in v.words]
    assert np.array_equal(v.matrix, full.matrix[index])
    assert v.stats["rows_parsed"] == 3
    assert v.stats["rows_unwanted"] == 9
    assert v.stats["rows_read"] == 12


def test_wanted_predicate_reads_the_rows_its_test_keeps_in_ascii_and_other_chunks(tmp_path, monkeypatch):
    """The readers' bytes prefilter (ASCII chunks) and the decoded test (other chunks) keep the same rows."""
    import pipeline.sources.text_scan as text_scan
    from pipeline.align import wanted_predicate

    words = [f"W{i}" for i in range(60)] + ["straße", "STRASSE", "x12", "X99", "ｗ3", "k\u212a"] + [f"w{i}" for i in range(60)]
    data = text_bytes(words, np.arange(len(words) * 3, dtype=np.float32).reshape(-1, 3) / 8)
    path = write(tmp_path, "v.txt", data)
    monkeypatch.setattr(text_scan, "_CHUNK_BYTES", 64)  # ASCII chunks and chunks with non-ASCII words
    keep = wanted_predicate(["w7", "W30", "strasse", "X00", "w3", "kk"], ["exact", "lower", "casefold", "digits"])
    v = read_vectors(path, "glove", wanted=keep)
    plain = read_vectors(path, "glove", wanted=lambda w: keep(w))  # no prefilter: every word decoded and tested
    full = read_vectors(path, "glove")
    expected = [w for w in full.words if keep(w)]
    assert list(v.words) == list(plain.words) == expected
    assert {"X99", "straße", "ｗ3", "w3"} <= set(expected)  # digits, casefold, NFKC
    np.testing.assert_array_equal(v.matrix, full.matrix[[full.words.index(w) for w in expected]])
    assert v.stats["rows_unwanted"] == plain.stats["rows_unwanted"] == len(words) - len(expected)


def test_prefilter_still_serves_the_ascii_words_of_chunks_that_hold_other_words(tmp_path, monkeypatch):
    """Real GloVe files have a non-ASCII word in nearly every chunk: only those words skip the prefilter."""
    import pipeline.sources.text_scan as text_scan
    from pipeline.align import wanted_predicate

    words = [w for i in range(150) for w in (f"w{i}", f"W{i}x")] + [f"é{i}" for i in range(30)] + ["Ｗ7", "naïve"]
    order = np.random.default_rng(3).permutation(len(words))
    words = [words[i] for i in order]  # non-ASCII words spread over every chunk
    path = write(tmp_path, "v.txt", text_bytes(words, np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2)))
    monkeypatch.setattr(text_scan, "_CHUNK_BYTES", 200)
    keep = wanted_predicate(["w7", "W12X", "é3", "NAÏVE", "w1"], ["exact", "lower", "casefold", "digits"])
    decoded = []
    decode = text_scan._TextScan._decode
    monkeypatch.setattr(text_scan._TextScan, "_decode", lambda self, raw, lines: decoded.extend(raw) or decode(self, raw, lines))
    v = read_vectors(path, "glove", wanted=keep)
    monkeypatch.undo()
    full = read_vectors(path, "glove")
    expected = [w for w in full.words if keep(w)]
    assert list(v.words) == expected and {"Ｗ7", "naïve", "é3", "W12x", "w7"} <= set(expected)
    np.testing.assert_array_equal(v.matrix, full.matrix[[full.words.index(w) for w in expected]])
    assert v.stats["rows_unwanted"] == len(words) - len(expected)
    table, keys = keep.ascii_prefilter  # decoded: the ASCII words whose prefilter form is a key, every other word
    assert all(w.translate(table) in keys for w in decoded if w.isascii()) and len(decoded) < len(words) / 2
    assert {w for w in decoded if not w.isascii()} == {w.encode() for w in words if not w.isascii()}
    bad = write(tmp_path, "bad.txt", text_bytes(words, np.zeros((len(words), 2))).replace("é29 ".encode(), b"\xff29 "))
    line = [i for i, w in enumerate(words) if w == "é29"][0] + 1
    assert f":{line}:" in str(error_of(DataError, bad, "glove", wanted=keep))


def test_wanted_nothing_gives_an_empty_matrix_of_the_right_width(tmp_path):
    v = read_vectors(write(tmp_path, "v.txt", text_bytes(WORDS, MATRIX)), wanted=set())
    assert v.words == () and v.matrix.shape == (0, 5)


def test_wanted_checks_structure_of_unwanted_lines_but_not_their_numbers(tmp_path):
    short = write(tmp_path, "short.txt", b"a 1 2\nb 1\nc 3 4\n")
    err = error_of(DataError, short, wanted={"a"})
    assert_line(err, 2)
    # Numbers are only converted for kept rows: an unwanted 'x' is not looked at.
    wordy = write(tmp_path, "wordy.txt", b"a 1 2\nb 1 x\nc 3 nan\n")
    assert read_vectors(wordy, wanted={"a"}).matrix.tolist() == [[1, 2]]
    assert_line(error_of(DataError, wordy, wanted={"a", "b"}), 2)
    assert_line(error_of(DataError, wordy, wanted={"a", "c"}), 3)


def test_wanted_rejects_a_single_string(tmp_path):
    with pytest.raises(TypeError):
        read_vectors(write(tmp_path, "v.txt", b"a 1\n"), wanted="a")


@pytest.mark.parametrize("fmt", FORMATS)
def test_max_rows_is_gensims_limit(tmp_path, fmt):
    data = sample_bytes(fmt)
    path = write(tmp_path, "v", data)
    v = read_vectors(path, fmt, max_rows=4)
    assert v.words == tuple(WORDS[:4])
    assert v.stats["stopped_at_max_rows"] is True
    assert_same_as_gensim(v, path, fmt, limit=4)
    assert read_vectors(path, fmt, max_rows=100).stats["stopped_at_max_rows"] is False


@pytest.mark.parametrize("max_rows", [1, 2, 3, 4, None])
def test_lines_read_counts_the_rows_and_blank_lines_read(tmp_path, max_rows):
    # Three rows on lines 1, 3 and 4 (line 2 blank). lines_read counts the rows read and the blank
    # lines passed on the way, not the line of a row beyond max_rows, nor one when the file ran out.
    path = write(tmp_path, "v.txt", b"a 1 2\n\nb 3 4\nc 5 6\n")
    v = read_vectors(path, "glove", max_rows=max_rows)
    assert v.stats["rows_read"] == min(max_rows or 3, 3)
    assert v.stats["lines_read"] == v.stats["rows_read"] + v.stats["blank_lines"] == {1: 2, 2: 3}.get(max_rows, 4)


def test_max_rows_counts_rows_of_the_file_not_kept_rows(tmp_path):
    path = write(tmp_path, "v.txt", text_bytes(WORDS, MATRIX))
    assert read_vectors(path, wanted={"w1", "w5"}, max_rows=3).words == ("w1",)


def test_max_rows_stops_before_a_header_mismatch_is_seen(tmp_path):
    path = write(tmp_path, "v.txt", b"5 2\na 1 2\nb 3 4\n")
    assert read_vectors(path, max_rows=2).words == ("a", "b")


# --------------------------------------------------------------------------- batches


def test_many_batches_equal_one(tmp_path, monkeypatch):
    path = write(tmp_path, "v.txt", text_bytes(WORDS, MATRIX))
    whole = read_vectors(path)
    monkeypatch.setattr(rows_module, "_BATCH_VALUES", 7)  # a batch of 2 rows
    assert np.array_equal(read_vectors(path).matrix, whole.matrix)
    bin_path = write(tmp_path, "v.bin", binary_bytes(WORDS, MATRIX))
    assert np.array_equal(read_vectors(bin_path).matrix, MATRIX)


def test_error_line_numbers_in_a_later_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_module, "_BATCH_VALUES", 4)
    lines = [f"w{i} {i} {i}" for i in range(10)]
    lines[7] = "w7 7 inf"
    path = write(tmp_path, "v.txt", ("\n".join(lines) + "\n").encode())
    assert_line(error_of(DataError, path), 8)
    lines[7] = "w7 7 seven"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    assert_line(error_of(DataError, path), 8)


def test_binary_matrix_grows_past_its_first_allocation(tmp_path):
    words = [f"w{i}" for i in range(3000)]
    matrix = RNG.standard_normal((3000, 2)).astype(np.float32)
    path = write(tmp_path, "v.bin", binary_bytes(words, matrix))
    v = read_vectors(path, wanted=lambda w: w != "w0")  # filtered: no size known up front
    assert np.array_equal(v.matrix, matrix[1:])


# --------------------------------------------------------------------------- encodings


def test_invalid_utf8_is_an_error_naming_the_line(tmp_path):
    path = write(tmp_path, "v.txt", b"the 1 2\ncaf\xe9 3 4\n")
    err = error_of(DataError, path)
    assert_line(err, 2)
    assert 'encoding_errors = "replace"' in str(err)


def test_invalid_utf8_in_an_unwanted_line_is_still_an_error(tmp_path):
    path = write(tmp_path, "v.txt", b"the 1 2\ncaf\xe9 3 4\n")
    assert_line(error_of(DataError, path, wanted={"the"}), 2)


def test_encoding_errors_replace_and_ignore(tmp_path):
    path = write(tmp_path, "v.txt", b"the 1 2\ncaf\xe9 3 4\n")
    assert read_vectors(path, encoding_errors="replace").words == ("the", "caf\ufffd")
    assert read_vectors(path, encoding_errors="ignore").words == ("the", "caf")
    assert read_vectors(path, encoding="latin-1").words == ("the", "caf\u00e9")
    assert_same_as_gensim(read_vectors(path, encoding_errors="replace"), path, "glove", unicode_errors="replace")


def test_invalid_utf8_in_a_binary_word(tmp_path):
    path = write(tmp_path, "v.bin", binary_bytes(["ok"], [[1, 2]]).replace(b"ok", b"o\xff"))
    err = error_of(DataError, path)
    assert "row 1 at byte 4" in str(err)
    assert read_vectors(path, encoding_errors="replace").words == ("o\ufffd",)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"format": "csv"}, "'format'"),
        ({"encoding_errors": "skip"}, "'encoding_errors'"),
        ({"encoding": "no-such-codec"}, "'encoding'"),
        ({"encoding": "utf-16"}, "ASCII-compatible"),
        # Stateful: "+AGE-" is not itself, so an ASCII word would not be what it decodes to. The
        # config refused these, the library took them: one check now (pipeline.config.check_encoding).
        ({"encoding": "utf-7"}, "stateless"),
        ({"encoding": "iso2022_jp"}, "stateless"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path, kwargs, key):
    with pytest.raises(ConfigError) as info:
        read_vectors(write(tmp_path, "v.txt", b"a 1\n"), **kwargs)
    assert info.value.exit_code == 78
    assert key in str(info.value)


# --------------------------------------------------------------------------- storage errors


def test_missing_file(tmp_path):
    err = error_of(StorageError, tmp_path / "nope.txt")
    assert "no such file" in str(err)


def test_directory(tmp_path):
    err = error_of(StorageError, tmp_path)
    assert "is a directory" in str(err)


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path, "v.txt", b"a 1\n")
    real_open = open

    def deny(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    # Tests may run as root, where chmod 000 does not stop reading; make open() refuse instead.
    monkeypatch.setattr("pipeline.sources.files.open", deny, raising=False)
    err = error_of(StorageError, path)
    assert "permission denied" in str(err)


# --------------------------------------------------------------------------- data errors


@pytest.mark.parametrize("fmt", ["auto", *FORMATS])
def test_empty_file_has_no_vectors(tmp_path, fmt):
    err = error_of(DataError, write(tmp_path, "v.txt", b""), fmt)
    assert "no vectors" in str(err)


@pytest.mark.parametrize("fmt", ["auto", *FORMATS])
def test_blank_lines_only_have_no_vectors(tmp_path, fmt):
    err = error_of(DataError, write(tmp_path, "v.txt", b"\n\n"), fmt)
    assert "no vectors" in str(err) or "header" in str(err)


@pytest.mark.parametrize("fmt", ["auto", "word2vec-text", "word2vec-binary"])
def test_header_only_has_no_vectors(tmp_path, fmt):
    err = error_of(DataError, write(tmp_path, "v.txt", b"3 5\n"), fmt)
    assert "no vectors" in str(err)


def test_header_saying_zero_rows(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"0 5\n"))
    assert "no vectors" in str(err)
    assert_line(err, 1)


def test_glove_row_with_wrong_number_of_values_golden(tmp_path):
    rows = [f"w{i} " + " ".join(["0.1"] * 50) for i in range(10)]
    rows[6] = "w6 " + " ".join(["0.1"] * 49)
    path = write(tmp_path, "v.txt", ("\n".join(rows) + "\n").encode())
    err = error_of(DataError, path)
    assert str(err) == f"{path}:7: row has 49 values, expected 50 as on line 1 (is this really GloVe text?)"


def test_row_with_more_values(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"a 1 2\nb 1 2 3\n"))
    assert_line(err, 2)
    assert "row has 3 values, expected 2" in str(err)


def test_row_with_an_empty_word(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"a 1 2\n 1 2\n"))
    assert_line(err, 2)
    assert "word is empty" in str(err)


def test_row_without_values(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"a 1 2\nlonely\n"))
    assert_line(err, 2)
    assert "no values" in str(err)


def test_double_space_is_an_empty_value(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"a 1  2\nb 3  4\n"))
    assert_line(err, 1)
    assert "value 2 is not a number: ''" in str(err)


@pytest.mark.parametrize("bad", ["abc", "1,5", "0x10", "1.2.3", "--1"])
def test_non_numeric_value(tmp_path, bad):
    path = write(tmp_path, "v.txt", f"a 1 2\nb 3 4\nc 5 {bad}\n".encode())
    err = error_of(DataError, path)
    assert_line(err, 3)
    assert f"value 2 is not a number: {bad!r}" in str(err)


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-inf", "Infinity", "1e39"])
def test_nan_inf_and_float32_overflow(tmp_path, bad):
    path = write(tmp_path, "v.vec", f"3 2\na 1 2\nb 3 {bad}\nc 5 6\n".encode())
    err = error_of(DataError, path)
    assert_line(err, 3)
    assert "NaN or infinite" in str(err) and "'b'" in str(err)


def test_nan_in_binary(tmp_path):
    matrix = np.array([[1, 2], [3, np.nan]], dtype=np.float32)
    err = error_of(DataError, write(tmp_path, "v.bin", binary_bytes(["a", "b"], matrix)))
    assert "NaN or infinite" in str(err) and "row 2" in str(err)


def test_header_says_more_rows_than_the_file_has(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"3 2\na 1 2\nb 3 4\n"))
    assert_line(err, 1)
    assert "header says 3 rows but the file has 2" in str(err)


def test_header_says_fewer_rows_than_the_file_has(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"1 2\na 1 2\nb 3 4\n"))
    assert_line(err, 3)
    assert "more rows than the 1" in str(err)


def test_header_dim_differs_from_rows(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"2 3\na 1 2\nb 3 4\n"), "word2vec-text")
    assert_line(err, 2)
    assert "expected 3 as the header on line 1 says" in str(err)


@pytest.mark.parametrize(
    "header, fmt",
    [
        (b"abc 5", "word2vec-text"),
        (b"3 5.0", "word2vec-text"),
        (b"3", "fasttext-vec"),
        (b"1 2 3", "word2vec-binary"),
    ],
)
def test_header_that_is_not_two_integers(tmp_path, header, fmt):
    err = error_of(DataError, write(tmp_path, "v.txt", header + b"\na 1 2 3 4 5\n"), fmt)
    assert_line(err, 1)
    assert "expected a header 'count dim'" in str(err)


@pytest.mark.parametrize("header", [b"-3 5", b"3 -5", b"3 0"])
@pytest.mark.parametrize("fmt", ["auto", "word2vec-text", "word2vec-binary"])
def test_header_with_negative_or_zero_numbers(tmp_path, header, fmt):
    err = error_of(DataError, write(tmp_path, "v.txt", header + b"\na 1 2 3 4 5\n"), fmt)
    assert_line(err, 1)
    assert "count >= 0 and a dim >= 1" in str(err)


def test_glove_read_as_word2vec_text_says_so(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"the 1 2\n"), "word2vec-text")
    assert_line(err, 1)
    assert 'format = "glove"' in str(err)


def test_word2vec_text_read_as_glove_says_so(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", b"2 3\na 1 2 3\nb 4 5 6\n"), "glove")
    assert_line(err, 2)
    assert 'looks like a word2vec header: use format = "word2vec-text"' in str(err)


def test_text_file_read_as_binary_is_refused(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", text_bytes(WORDS, MATRIX, header=True)), "word2vec-binary")
    assert_line(err, 2)
    assert "text row" in str(err)


@pytest.mark.parametrize("cut", [-1, -10, -21, -23])
def test_truncated_binary(tmp_path, cut):
    data = binary_bytes(WORDS, MATRIX)
    err = error_of(DataError, write(tmp_path, "v.bin", data[:cut]))
    assert "truncated" in str(err) and "row 12" in str(err)


def test_binary_cut_between_rows_disagrees_with_header(tmp_path):
    data = binary_bytes(WORDS, MATRIX)
    row = len(WORDS[-1]) + 1 + 4 * 5
    err = error_of(DataError, write(tmp_path, "v.bin", data[:-row]))
    assert_line(err, 1)
    assert "header says 12 rows but the file ends after 11" in str(err)


def test_binary_with_more_rows_than_header(tmp_path):
    data = binary_bytes(WORDS, MATRIX).replace(b"12 5\n", b"11 5\n", 1)
    err = error_of(DataError, write(tmp_path, "v.bin", data))
    assert "more data after the 11 rows" in str(err)


def test_binary_with_wider_rows_than_header_says(tmp_path):
    # Rows of 6 floats read as 5: misaligned records are caught, never returned.
    wide = RNG.standard_normal((12, 6)).astype(np.float32)
    data = binary_bytes(WORDS, wide).replace(b"12 6\n", b"12 5\n", 1)
    error_of(DataError, write(tmp_path, "v.bin", data))


@pytest.mark.parametrize("fmt", FORMATS)
def test_gzip_cut_short(tmp_path, fmt):
    data = sample_bytes(fmt)
    packed = gzip.compress(data)
    err = error_of(DataError, write(tmp_path, "v.gz", packed[: len(packed) - 30]), fmt)
    assert "gzip data is damaged or cut short" in str(err)


def test_gzip_cut_inside_the_first_lines_with_auto(tmp_path):
    packed = gzip.compress(text_bytes(WORDS, MATRIX))
    err = error_of(DataError, write(tmp_path, "v.gz", packed[:40]))
    assert "gzip data is damaged" in str(err)


def test_gzip_corrupted_in_the_middle(tmp_path):
    packed = bytearray(gzip.compress(text_bytes(WORDS * 20, np.tile(MATRIX, (20, 1)))))
    packed[len(packed) // 2] ^= 0xFF
    error_of(DataError, write(tmp_path, "v.gz", bytes(packed)), "glove")


def test_bz2_cut_short(tmp_path):
    packed = bz2.compress(text_bytes(WORDS, MATRIX))
    err = error_of(DataError, write(tmp_path, "v.bz2", packed[: len(packed) - 30]), "glove")
    assert "bzip2 data is damaged or cut short" in str(err)


def test_utf16_file_is_refused(tmp_path):
    err = error_of(DataError, write(tmp_path, "v.txt", "the 1 2\n".encode("utf-16")))
    assert "binary" in str(err)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=80).map(lambda b: b.replace(b"\x00", b" ")), cuts=st.lists(st.integers(0, 80), max_size=10))
def test_spaces_before_counts_like_bytes_count(data, cuts):
    from pipeline.sources.text_scan import _spaces_before

    positions = np.array(sorted(min(c, len(data)) for c in cuts + [0]), dtype=np.int64)
    got = _spaces_before(np.frombuffer(data, dtype=np.uint8), positions)
    assert got.tolist() == [data.count(b" ", 0, p) for p in positions.tolist()]


def test_spaces_before_with_reused_scratch_arrays():
    # A scan lends the same work arrays to every chunk: what a longer chunk left in them
    # (spaces past the end of a shorter one) must not count.
    from pipeline.sources.text_scan import _Scratch, _spaces_before

    scratch = _Scratch()
    rng = np.random.default_rng(5)
    for n in (100, 3, 64, 0, 97, 250, 8):
        data = rng.choice(np.frombuffer(b" ab", np.uint8), n).tobytes()
        positions = np.array(sorted(rng.integers(0, n + 1, 6).tolist() + [n]), dtype=np.int64)
        got = _spaces_before(np.frombuffer(data, dtype=np.uint8), positions, scratch)
        assert got.tolist() == [data.count(b" ", 0, p) for p in positions.tolist()], n


@settings(max_examples=300, deadline=None)
@given(data=st.lists(st.sampled_from([b"\n", b"a", b" ", b"\r"]), max_size=120).map(b"".join),
       long_line=st.sampled_from([1, 4, 2048]))
def test_line_ends_found_one_by_one_match_the_numpy_pass(data, long_line):
    # With long_lines the "\n"s are found by bytes.find until the chunk shows shorter lines than
    # _LONG_LINE_BYTES; then the numpy pass takes over. Either way: every "\n", in order.
    import pipeline.sources.text_scan as text_scan

    a = np.frombuffer(data, dtype=np.uint8)
    expected = [i for i, byte in enumerate(data) if byte == 0x0A]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(text_scan, "_LONG_LINE_BYTES", long_line)
        for guess in (False, True):
            assert text_scan._line_ends(data, a, text_scan._Scratch(), long_lines=guess).tolist() == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_rows=st.integers(1, 60), bad=st.one_of(st.none(), st.tuples(st.integers(0, 59), st.sampled_from([-2, -1, 1, 3]))),
       extra=st.sampled_from(["", "blank", "trailing", "trailing on the bad row", "crlf", "leading"]), chunk=st.sampled_from([40, 97, 1 << 20]))
def test_a_chunks_fast_shape_check_finds_the_row_a_line_by_line_check_finds(tmp_path, n_rows, bad, extra, chunk):
    # A chunk whose total of spaces is right skips counting each row's; any single wrong row (too few or
    # too many values, a leading space, trailing blanks) must still be named at its line, as gensim would.
    dim = 3
    lines = [f"w{i} " + " ".join(str(i + j) for j in range(dim)) for i in range(n_rows)]
    if bad is not None and bad[0] < n_rows:
        i, change = bad
        values = lines[i].split(" ")[1:]
        values = values[:dim + change] if change < 0 else values + ["7"] * change
        lines[i] = " ".join([f"w{i}", *values]) + (" " if extra == "trailing on the bad row" else "")
    if extra == "blank":
        lines.insert(n_rows // 2, "")
    elif extra == "trailing":
        lines = [line + " " for line in lines]  # word2vec's C tool ends each row with a space
    elif extra == "leading":
        lines[n_rows // 2] = " " + lines[n_rows // 2]
    body = ("\r\n" if extra == "crlf" else "\n").join(lines) + "\n"
    path = tmp_path / "v.txt"
    path.write_bytes(body.encode())

    # The first line whose stripped text is not a word and as many values as the first row has (GloVe has no header).
    rows = [(lineno, line.rstrip()) for lineno, line in enumerate(body.split("\n")[:-1], 1) if line.rstrip()]
    dim = rows[0][1].count(" ")
    expected = next((lineno for lineno, line in rows if line.startswith(" ") or line.count(" ") != dim), None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(text_scan, "_CHUNK_BYTES", chunk)
        try:
            v = read_vectors(path, "glove", wanted={"w0"}, workers=1)
        except DataError as err:
            assert err.line == expected, (str(err), expected)
        else:
            assert expected is None
            assert v.words == ("w0",) and v.matrix.tolist() == [[float(x) for x in rows[0][1].split(" ")[1:]]]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_rows=st.integers(4, 40), data=st.data(), change=st.integers(1, 2), workers=st.sampled_from([1, 2]))
def test_two_wrong_rows_whose_errors_cancel_are_named_when_either_is_kept(tmp_path, n_rows, data, change, workers):
    # One row short of values and one with too many keep the chunk's total of spaces right. If the
    # alignment keeps either, the first of the two is named (it once went through: one value was
    # broadcast over the row, or numpy raised a traceback); if it keeps neither, neither is parsed.
    short, long = data.draw(st.lists(st.integers(1, n_rows - 1), min_size=2, max_size=2, unique=True))
    wanted = data.draw(st.sets(st.sampled_from([f"w{i}" for i in range(n_rows)])) | st.none())
    lines = [f"w{i} " + " ".join(str(i + j) for j in range(3)) for i in range(n_rows)]
    lines[short] = " ".join(lines[short].split(" ")[:4 - change])
    lines[long] += " 7" * change
    path = tmp_path / "v.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parallel_read, "_PARALLEL_BYTES", 0)  # two processes, however small the file
        kept_a_wrong_row = wanted is None or bool({f"w{short}", f"w{long}"} & wanted)
        if kept_a_wrong_row:
            with pytest.raises(DataError) as err:
                read_vectors(path, "glove", wanted=wanted, workers=workers)
            assert err.value.line == min(short, long) + 1
        else:
            v = read_vectors(path, "glove", wanted=wanted, workers=workers)
            assert v.words == tuple(sorted(wanted, key=lambda w: int(w[1:])))
            assert v.matrix.tolist() == [[float(int(w[1:]) + j) for j in range(3)] for w in v.words]


def test_long_rows_then_short_rows_read_as_gensim_reads_them(tmp_path, monkeypatch):
    """Chunks of long rows switch the scan to finding line ends one by one; short rows after them switch it back."""
    import pipeline.sources.text_scan as text_scan

    rng = np.random.default_rng(11)
    long_rows = rng.standard_normal((30, 40)).astype(np.float32)  # ~450-byte lines
    short_rows = rng.integers(-9, 10, (400, 40)).astype(np.float32)  # ~180-byte lines ("-3.0 4.0 ...")
    words = [f"long{i}" for i in range(30)] + [f"s{i}" for i in range(400)]
    body = text_bytes(words[:30], long_rows) + text_bytes(words[30:], short_rows) + text_bytes([f"end{i}" for i in range(30)], long_rows)
    path = write(tmp_path, "v.txt", body)
    monkeypatch.setattr(text_scan, "_CHUNK_BYTES", 2000)
    monkeypatch.setattr(text_scan, "_LONG_LINE_BYTES", 400)
    switches = []
    line_ends = text_scan._line_ends
    monkeypatch.setattr(text_scan, "_line_ends", lambda *a, long_lines: switches.append(long_lines) or line_ends(*a, long_lines=long_lines))
    v = read_vectors(path, "glove")
    assert switches[-1] is True and False in switches[switches.index(True):]  # long, short, long again
    kv = gensim_load(path, "glove")
    assert v.words == tuple(kv.index_to_key)
    np.testing.assert_array_equal(v.matrix, kv.vectors)
    assert v.stats["lines_read"] == 460
    bad = write(tmp_path, "bad.txt", body.replace(b"s399 ", b"s399 1 "))
    assert ":430:" in str(error_of(DataError, bad, "glove"))


@pytest.mark.parametrize("compress", [None, "gz"])
@pytest.mark.parametrize("chunk", [5, 64, 1000])
def test_any_chunk_size_reads_the_same_rows_and_line_numbers(tmp_path, monkeypatch, compress, chunk):
    """Chunks shorter than a line, and chunks cutting lines anywhere, in plain files (sought back) and gzip."""
    import pipeline.sources.text_scan as text_scan

    words = [f"w{i}" for i in range(40)]
    matrix = np.arange(40 * 30, dtype=np.float32).reshape(40, 30) / 7  # rows of ~300 bytes
    path = write(tmp_path, "v.txt", b"\xef\xbb\xbf" + text_bytes(words, matrix), compress)
    whole = read_vectors(path)
    monkeypatch.setattr(text_scan, "_CHUNK_BYTES", chunk)
    v = read_vectors(path)
    assert v.words == whole.words == tuple(words)
    np.testing.assert_array_equal(v.matrix, whole.matrix)
    assert v.stats == whole.stats
    kept = read_vectors(path, wanted={"w3", "w39"})
    np.testing.assert_array_equal(kept.matrix, whole.matrix[[3, 39]])
    bad = write(tmp_path, "bad.txt", text_bytes(words, matrix).replace(b"\nw33 ", b"\nw33 1 "), compress)
    assert_line(error_of(DataError, bad), 34)


def test_a_pool_worker_reads_a_large_file_in_its_own_process(tmp_path, monkeypatch, in_daemon_process):
    """A daemonic process (a Pool worker) may not start another: it reads the whole file itself."""
    import pipeline.sources.parallel_read as parallel_read

    monkeypatch.setattr(parallel_read, "_PARALLEL_BYTES", 0)
    words = [f"w{i}" for i in range(300)]
    path = write(tmp_path, "v.txt", text_bytes(words, np.arange(600, dtype=np.float32).reshape(300, 2)))
    outcome = in_daemon_process(lambda: read_vectors(path, "glove", wanted={"w5", "w250"}, workers=2).words)
    assert outcome == ("ok", ("w5", "w250"))


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_device_is_refused_before_it_is_opened(tmp_path, kind):
    # Opening a pipe waited for a writer forever, and /dev/zero was hashed forever.
    import os

    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero here")
    with pytest.raises(StorageError, match="not a regular file") as err:
        read_vectors(path, "glove")
    assert err.value.exit_code == 74 and err.value.path == str(path)


def test_a_file_with_bare_cr_line_ends_says_so(tmp_path):
    path = tmp_path / "cr.txt"
    path.write_bytes(b"the 0.1 0.2\rof 0.3 0.4\r")
    with pytest.raises(DataError, match=r"cr.txt:1: value 2 is not a number: '0.2\\rof' .*only LF or CRLF end a line"):
        read_vectors(path, "glove")


@pytest.mark.parametrize("wrong_dim", [3, 5])
def test_word2vec_binary_with_a_wrong_header_dimension_says_so(tmp_path, wrong_dim):
    # It quoted float bytes as a "word" that is "not valid utf-8" and suggested encoding_errors = "replace".
    rows = np.arange(12, dtype=np.float32).reshape(3, 4) + 0.5
    good = b"3 4\n" + b"".join(w + b" " + r.tobytes() for w, r in zip((b"the", b"of", b"and"), rows))
    path = tmp_path / "v.bin"
    path.write_bytes(good.replace(b"3 4\n", f"3 {wrong_dim}\n".encode(), 1))
    offset = 4 + len(b"the ") + 4 * wrong_dim
    with pytest.raises(DataError, match=rf"row 2 at byte {offset} does not start with utf-8 text .*: either the "
                                        rf"header's dimension {wrong_dim} is wrong"):
        read_vectors(path, "word2vec-binary")
    # With encoding_errors = "replace" set, only the header (or damage) is left to blame: no advice to set it.
    with pytest.raises(DataError, match=rf"is wrong.*float32 values\)$") as info:
        read_vectors(path, "word2vec-binary", encoding_errors="replace")
    assert "encoding_errors" not in str(info.value)
    path.write_bytes(good)  # the same rows with the right header read back exactly
    assert np.array_equal(read_vectors(path, "word2vec-binary").matrix, rows)


def test_an_int_path_is_refused_and_the_callers_file_stays_open():
    from gensim.test.utils import datapath as gensim_datapath

    # open() takes an int for a file descriptor: reading "3" used to close the caller's file 3
    with open(gensim_datapath("test_glove.txt"), "rb") as fh:
        with pytest.raises(TypeError, match="a path must be a str or os.PathLike, not int"):
            read_vectors(fh.fileno())
        assert fh.read(4) == b"the "


def test_peek_dim_reads_the_size_from_the_first_lines_only(tmp_path):
    from pipeline.sources.readers import peek_dim

    assert peek_dim(write(tmp_path, "g.txt", text_bytes(WORDS, MATRIX))) == MATRIX.shape[1]
    header = f"{len(WORDS)} {MATRIX.shape[1]}\n".encode()
    assert peek_dim(write(tmp_path, "w.txt", header + text_bytes(WORDS, MATRIX))) == MATRIX.shape[1]
    assert peek_dim(write(tmp_path, "w.bin", binary_bytes(WORDS, MATRIX)), "word2vec-binary") == MATRIX.shape[1]
    assert peek_dim(write(tmp_path, "g.gz", gzip.compress(text_bytes(WORDS, MATRIX)))) == MATRIX.shape[1]
    assert peek_dim(write(tmp_path, "blank.txt", b"\n" + text_bytes(WORDS, MATRIX)), "glove") is None
    assert peek_dim(tmp_path / "missing.txt") is None  # reading reports it, with its own message
