"""Tests for pipeline/align.py: which source row each token takes, by which rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.align import RULES, align, normalise, wanted_predicate
from pipeline.config import ALIGN_RULES, AlignConfig
from pipeline.errors import ConfigError
from pipeline.sources import Vectors
from pipeline.vocab import Vocabulary


def make_vocab(words, counts=None, extra_reserved=()):
    tokens = ("[PAD]", "[UNK]", *words)
    counts = (None, None, *(counts or [None] * len(words)))
    return Vocabulary(tokens=tokens, counts=counts, reserved=frozenset({0, 1, *extra_reserved}))


def make_vectors(words):
    # row j is [j, j]: a vector says which source row it came from
    matrix = np.repeat(np.arange(len(words), dtype=np.float32)[:, None], 2, axis=1)
    return Vectors(words=tuple(words), matrix=matrix)


def test_rules_match_the_config_choices():
    assert tuple(RULES) == ALIGN_RULES


def test_align_golden():
    vocab = make_vocab(["Apple", "apple", "1999", "STRASSE", "KIWI", "banana"], [50, 40, 30, 20, 10, 5])
    vectors = make_vectors(["apple", "APPLE", "####", "straße", "Kiwi", "[UNK]"])
    result = align(vocab, vectors, AlignConfig())
    assert result.source_index.tolist() == [-1, -1, 0, 0, 2, 3, 4, -1]
    assert result.rule == ("reserved", "reserved", "lower", "exact", "digits", "casefold", "lower", None)
    assert result.matched.tolist() == [False, False, True, True, True, True, True, False]
    r = result.report
    assert (r["types"], r["matched"], r["missing"]) == (6, 5, 1)
    assert r["coverage"] == pytest.approx(5 / 6)
    assert r["oov_share"] == pytest.approx(1 / 6)
    assert r["weighted_coverage"] == pytest.approx(150 / 155)
    assert r["by_rule"] == {"exact": 1, "lower": 2, "casefold": 1, "digits": 1}
    assert r["top_missing"] == [{"token": "banana", "count": 5}]


def test_lower_works_both_ways_and_first_source_word_wins():
    # "apple" finds a source that only has "Apple"
    only_title = align(make_vocab(["apple"]), make_vectors(["x", "Apple"]), AlignConfig(rules=("lower",)))
    assert only_title.source_index.tolist() == [-1, -1, 1]
    # several source words share the form: the first in file order is taken
    many = align(make_vocab(["apple"]), make_vectors(["APPLE", "Apple", "aPPle"]), AlignConfig(rules=("lower",)))
    assert many.source_index.tolist() == [-1, -1, 0]


def test_rule_order_decides():
    vocab, vectors = make_vocab(["Apple"]), make_vectors(["apple", "Apple"])
    assert align(vocab, vectors, AlignConfig(rules=("exact", "lower"))).source_index[2] == 1
    lower_first = align(vocab, vectors, AlignConfig(rules=("lower", "exact")))
    assert (lower_first.source_index[2], lower_first.rule[2]) == (0, "lower")


def test_only_configured_rules_apply():
    vocab, vectors = make_vocab(["Apple", "1999"]), make_vectors(["apple", "####"])
    result = align(vocab, vectors, AlignConfig(rules=("exact",)))
    assert result.source_index.tolist() == [-1, -1, -1, -1]
    assert result.report["by_rule"] == {"exact": 0}


def test_digits_rule_is_unicode_and_keeps_case():
    assert normalise("Route66", "digits") == "Route##"
    assert normalise("٣٤", "digits") == "##"  # Arabic-Indic digits are decimal digits too
    assert normalise("½", "digits") == "½"  # a vulgar fraction is not a decimal digit
    vocab = make_vocab(["Y2K"])
    assert align(vocab, make_vectors(["y#k"]), AlignConfig(rules=("digits",))).source_index[2] == -1
    assert align(vocab, make_vectors(["Y#K"]), AlignConfig(rules=("digits",))).source_index[2] == 0


def test_casefold_applies_nfkc():
    assert normalise("ｆｉｌｅ", "casefold") == "file"  # fullwidth letters
    assert normalise("ﬁle", "casefold") == "file"  # the "fi" ligature
    assert normalise("Straße", "casefold") == "strasse"
    assert normalise("Straße", "lower") == "straße"


def test_reserved_rows_never_match():
    vocab = make_vocab(["[unused2]", "cat"], extra_reserved={2})
    result = align(vocab, make_vectors(["[PAD]", "[UNK]", "[unused2]", "cat"]), AlignConfig())
    assert result.source_index.tolist() == [-1, -1, -1, 3]
    assert result.rule[:3] == ("reserved",) * 3
    assert result.report["types"] == 1


def test_weighted_coverage_needs_counts_and_top_missing_order():
    vocab = make_vocab(["a", "b", "c", "d", "e"], [1, 9, 5, 9, 2])
    result = align(vocab, make_vectors(["e"]), AlignConfig(), top_missing=3)
    assert result.report["weighted_coverage"] == pytest.approx(2 / 26)
    # count descending, then row
    assert result.report["top_missing"] == [
        {"token": "b", "count": 9},
        {"token": "d", "count": 9},
        {"token": "c", "count": 5},
    ]
    no_counts = align(make_vocab(["a", "b"]), make_vectors(["a"]), AlignConfig())
    assert no_counts.report["weighted_coverage"] is None
    assert no_counts.report["top_missing"] == [{"token": "b", "count": None}]


def test_unknown_rule_is_config_error():
    with pytest.raises(ConfigError) as err:
        align(make_vocab(["a"]), make_vectors(["a"]), AlignConfig(rules=("exact", "stem")))
    assert err.value.exit_code == 78 and "'stem'" in str(err.value)


class CountingWords(tuple):
    """A word tuple that counts full passes over it."""

    passes = 0

    def __iter__(self):
        type(self).passes += 1
        return super().__iter__()


def test_rule_maps_are_built_lazily():
    CountingWords.passes = 0
    vectors = Vectors(words=CountingWords(["a", "b"]), matrix=np.zeros((2, 2), np.float32))
    align(make_vocab(["a", "b"]), vectors, AlignConfig())
    assert CountingWords.passes == 1  # everything matched exactly: lower/casefold/digits never built


# --------------------------------------------------------------------------- filtered loading


def test_wanted_predicate_golden():
    keep = wanted_predicate(["Apple", "1999"], ["exact", "lower", "digits"])
    assert [w for w in ["APPLE", "pear", "2024", "Apple", "apples", "19x9"] if keep(w)] == ["APPLE", "2024", "Apple"]


def aligned_vectors(result, vectors):
    """Per vocab row: (rule, source word, vector) -- comparable across different sources."""
    return [
        (rule, vectors.words[j] if j >= 0 else None, vectors.matrix[j].tolist() if j >= 0 else None)
        for rule, j in zip(result.rule, result.source_index.tolist())
    ]


def filtered(vectors, keep):
    rows = [j for j, w in enumerate(vectors.words) if keep(w)]
    return Vectors(words=tuple(vectors.words[j] for j in rows), matrix=vectors.matrix[rows])


def test_filtering_with_the_predicate_gives_the_same_alignment():
    vocab = make_vocab(["Apple", "apple", "1999", "STRASSE", "KIWI", "banana"], [5, 4, 3, 2, 1, 1])
    words = ["the", "APPLE", "Apple", "2024", "straße", "of", "kiwi", "Strasse", "apple", "1999"]
    vectors = make_vectors(words)
    config = AlignConfig()
    small = filtered(vectors, wanted_predicate(vocab.tokens[2:], config.rules))
    assert set(small.words) == set(words) - {"the", "of"}
    full, part = align(vocab, vectors, config), align(vocab, small, config)
    assert aligned_vectors(full, vectors) == aligned_vectors(part, small)
    assert full.report["by_rule"] == part.report["by_rule"]


ALPHABET = "aAbB1٣ßSsｓİi"
token = st.text(alphabet=ALPHABET, min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    tokens=st.lists(token, max_size=6, unique=True),
    source=st.lists(token, max_size=12, unique=True),
    rules=st.lists(st.sampled_from(ALIGN_RULES), min_size=1, max_size=4, unique=True),
)
def test_filtering_never_changes_the_alignment(tokens, source, rules):
    tokens = [t for t in tokens if t not in ("[PAD]", "[UNK]")]
    vocab, vectors, config = make_vocab(tokens), make_vectors(source), AlignConfig(rules=tuple(rules))
    small = filtered(vectors, wanted_predicate(tokens, rules))
    assert aligned_vectors(align(vocab, vectors, config), vectors) == aligned_vectors(
        align(vocab, small, config), small
    )


def test_bulk_wanted_test_agrees_with_the_word_by_word_one():
    tokens = ["Apple", "straße", "İstanbul", "x12", "٣٤", "ﬁne", "DON'T", "a\u00a0b", "Ǆemal"]
    words = ["apple", "APPLE", "STRASSE", "straße", "i̇stanbul", "x99", "X12", "x٣", "٩٩", "fine", "ﬁne",
             "don't", "a\u00a0b", "ǆemal", "pear", "12", "x1", "", "Z9z"]
    for rules in (["exact"], ["lower"], ["casefold"], ["digits"], ["exact", "lower", "casefold", "digits"],
                  ["digits", "lower"]):
        keep = wanted_predicate(tokens, rules)
        assert keep.many(words) == [keep(w) for w in words], rules
        ascii_words = [w for w in words if w.isascii()]
        assert keep.many(ascii_words) == [keep(w) for w in ascii_words], rules  # the all-ASCII fast path


PREFILTER_ALPHABET = "aAzZ09#_K\u212a\u0130i\u00df"  # with non-ASCII tokens whose lower case is ASCII (Kelvin sign)


@settings(max_examples=300, deadline=None)
@given(
    tokens=st.lists(st.text(alphabet=PREFILTER_ALPHABET, min_size=1, max_size=4), max_size=8),
    words=st.lists(st.text(alphabet="aAzZ09#_Kki", min_size=1, max_size=4), max_size=30),
    rules=st.lists(st.sampled_from(ALIGN_RULES), min_size=1, max_size=4, unique=True),
)
def test_ascii_prefilter_never_drops_a_wanted_word(tokens, words, rules):
    """Readers drop an ASCII row whose prefilter form is not a key, before decoding it: never a wanted one."""
    keep = wanted_predicate(tokens, rules)
    table, keys = keep.ascii_prefilter
    for w in words:
        if keep(w):
            assert w.encode("ascii").translate(table) in keys, (w, tokens, rules)


def test_ascii_prefilter_rules_out_words_no_rule_could_match():
    keep = wanted_predicate(["Apple", "x1999"], ["exact", "lower", "digits"])
    table, keys = keep.ascii_prefilter
    passed = [w for w in ["APPLE", "apple", "x2024", "X1999", "pear", "x19", "Apples"] if w.encode().translate(table) in keys]
    assert passed == ["APPLE", "apple", "x2024", "X1999"]


# Final sigma and what its context skips (apostrophe, soft hyphen, a combining accent), dotted I, sharp s,
# Kelvin sign, full-width A, Arabic-Indic and superscript digits, a ligature, a titlecase digraph, a Roman
# numeral, Hangul jamo (NFKC composes L + V into a syllable) and half-width katakana with its voicing mark.
BULK_ALPHABET = ("aZ09 \n'\u00ad\u0301\u03a3\u03c3\u0130\u00df\u0663\u00b2\uff21K\u212a\ufb01\u01c5"
                 "\u216b\u1100\u1161\uff76\uff9e")


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text(alphabet=BULK_ALPHABET, max_size=5), max_size=12),
    rule=st.sampled_from(ALIGN_RULES),
)
def test_bulk_normal_forms_equal_the_rule_applied_word_by_word(words, rule):
    """Words are transformed in one joined string: the same forms as one by one, with words that hold a
    newline, final sigmas beside case-ignorable marks, and NFKC compositions that must not cross words."""
    from pipeline.align import _first_index, _normalised

    expected = [RULES[rule](w) for w in words]
    assert _normalised(words, rule) == expected
    first: dict[str, int] = {}
    for j, form in enumerate(expected):
        first.setdefault(form, j)
    assert _first_index(words, rule) == first


@settings(max_examples=300, deadline=None)
@given(
    tokens=st.lists(st.text(alphabet=BULK_ALPHABET.replace("\n", ""), min_size=1, max_size=4), max_size=8),
    words=st.lists(st.text(alphabet=BULK_ALPHABET, min_size=1, max_size=4), max_size=30),
    rules=st.lists(st.sampled_from(ALIGN_RULES), min_size=1, max_size=4, unique=True),
)
def test_bulk_wanted_test_equals_the_word_by_word_one_on_any_text(tokens, words, rules):
    """``many`` (what the readers call on whole chunks) says exactly what ``wanted`` says word by word."""
    keep = wanted_predicate(tokens, rules)
    assert keep.many(words) == [keep(w) for w in words]
