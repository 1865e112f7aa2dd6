"""Matching vocabulary tokens to source vectors through ordered fallback rules.

Use :func:`align` after building a :class:`~pipeline.vocab.Vocabulary` and
getting :class:`~pipeline.sources.Vectors`; :func:`wanted_predicate` tells a
reader of a big vector file which source words could match at all, so it can
skip the rest without changing the result.

A rule is a normalisation applied to BOTH sides. For each rule in use we map
every normalised source word to the FIRST source word (file order, which is
frequency order in the common vector files) with that form; a token matches by
rule r when r(token) is in that map. Rules are tried in the configured order
and the first match wins:

* ``exact``    -- the token as is;
* ``lower``    -- ``str.lower``: "Apple" finds "apple", and "apple" finds a source that only has "Apple";
* ``casefold`` -- Unicode NFKC, then ``str.casefold``: "STRASSE" finds "straße", "ｆｉｌｅ" finds "file";
* ``digits``   -- every Unicode decimal digit becomes "#" (the GoogleNews
  vectors' convention: "1984" finds "####"). It does not change case
  ("Y2K" finds "Y#K", not "y#k"): each rule is one normalisation, and the
  configured order decides what is tried.
"""

from __future__ import annotations

import itertools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.config import AlignConfig
from pipeline.errors import ConfigError
from pipeline.sources import Vectors
from pipeline.vocab import Vocabulary

RESERVED_RULE = "reserved"

_DIGIT = re.compile(r"\d")  # on str patterns \d is any Unicode decimal digit (category Nd)
_ASCII_DIGITS = str.maketrans("0123456789", "##########")  # the digits rule, for ASCII words
# bytes.translate table: ASCII upper case to lower case and digits to "#" (see wanted_predicate)
_ASCII_PREFILTER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", b"abcdefghijklmnopqrstuvwxyz##########")


def _exact(token: str) -> str:
    return token


def _lower(token: str) -> str:
    return token.lower()


def _casefold(token: str) -> str:
    """NFKC then casefold; ASCII is skipped past NFKC, which cannot change it.

    >>> _casefold("ＡＢＣ")
    'abc'
    """
    if token.isascii():
        return token.casefold()
    return unicodedata.normalize("NFKC", token).casefold()


def _digits(token: str) -> str:
    """Every decimal digit, of any script, becomes '#'.

    >>> _digits("Route66")
    'Route##'
    """
    return _DIGIT.sub("#", token)


RULES: dict[str, Callable[[str], str]] = {
    "exact": _exact,
    "lower": _lower,
    "casefold": _casefold,
    "digits": _digits,
}


def _normalised(words: Sequence[str], rule: str) -> list[str]:
    """``RULES[rule]`` of every word; the ASCII words in one string operation on them all.

    For ASCII text, ``lower`` and ``casefold`` are ``str.lower`` and ``digits`` maps 0-9,
    so a joined string of ASCII words is transformed at once and split back (a word
    holding a newline would split apart: then each is transformed on its own).

    >>> _normalised(["Route66", "Ｘ1", "A"], "digits")
    ['Route##', 'Ｘ#', 'A']
    """
    fn = RULES[rule]
    words = list(words)
    if rule == "exact" or not words:
        return words
    is_ascii = list(map(str.isascii, words))
    ascii_words = words if all(is_ascii) else list(itertools.compress(words, is_ascii))
    blob = "\n".join(ascii_words)
    if not ascii_words or blob.count("\n") != len(ascii_words) - 1:
        return list(map(fn, words))
    forms = (blob.translate(_ASCII_DIGITS) if rule == "digits" else blob.lower()).split("\n")
    if ascii_words is words:
        return forms
    ascii_forms = iter(forms)  # the non-ASCII words need the full rule
    return [next(ascii_forms) if plain else fn(w) for w, plain in zip(words, is_ascii)]


def normalise(token: str, rule: str) -> str:
    """``token`` as rule ``rule`` sees it.

    >>> normalise("Ｘ1", "casefold"), normalise("Ｘ1", "digits")
    ('x1', 'Ｘ#')
    """
    return RULES[_check_rules([rule])[0]](token)


@dataclass(frozen=True, eq=False)
class Alignment:
    """For each vocabulary row, which source vector (if any) it takes, and by which rule.

    ``source_index[i]`` is the row of ``Vectors.matrix`` for vocab row ``i``, or -1.
    ``rule[i]`` is the rule name that matched ("exact", "lower", ...), "reserved"
    for reserved rows, or None when nothing matched.
    ``report`` holds: type coverage, weighted coverage (None without counts),
    counts by rule, top missing tokens [(token, count)], ...
    """

    source_index: np.ndarray
    rule: tuple[str | None, ...]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def matched(self) -> np.ndarray:
        """Bool mask of rows that take a source vector."""
        return self.source_index >= 0


def align(vocab: Vocabulary, vectors: Vectors, config: AlignConfig, *, top_missing: int = 20) -> Alignment:
    """Find each vocabulary word's source vector through ``config.rules``; see the module docstring.

    >>> # vocab [PAD] [UNK] Apple 1999 kiwi; source: apple, ####  ->
    >>> # source_index [-1, -1, 0, 1, -1], rule ('reserved', 'reserved', 'lower', 'digits', None)
    """
    rules = _check_rules(config.rules)
    n = len(vocab.tokens)
    source_index = np.full(n, -1, dtype=np.int64)
    rule: list[str | None] = [None] * n
    for i in vocab.reserved:
        rule[i] = RESERVED_RULE

    pending = list(vocab.word_rows)
    for name in rules:
        if not pending:
            break  # every word matched: no need to build the remaining rules' maps
        index = _first_index(vectors.words, name)
        found = list(map(index.get, _normalised([vocab.tokens[i] for i in pending], name)))
        still: list[int] = []
        for i, j in zip(pending, found):
            if j is None:
                still.append(i)
            else:
                source_index[i] = j
                rule[i] = name
        pending = still

    return Alignment(
        source_index=source_index,
        rule=tuple(rule),
        report=_report(vocab, source_index, rule, rules, top_missing, len(vectors.words)),
    )


def wanted_predicate(tokens: Iterable[str], rules: Sequence[str]) -> Callable[[str], bool]:
    """A test for source words: True iff ``r(word) == r(t)`` for some token t and rule r in ``rules``.

    Keeping only the source words it accepts (in file order) gives the same
    alignment as the full source: for each rule, every source word sharing a
    token's normal form is kept, so the first such word is still the first.

    >>> keep = wanted_predicate(["Apple"], ["lower"])
    >>> keep("APPLE"), keep("pear")
    (True, False)
    """
    rule_names = _check_rules(rules)
    tokens = list(tokens)
    checks = [(RULES[r], frozenset(_normalised(tokens, r))) for r in rule_names]
    keys = dict(zip(rule_names, (k for _, k in checks)))
    empty: frozenset[str] = frozenset()
    # For an ASCII word every rule is a C-level string method: casefold(w) == lower(w) (NFKC
    # changes no ASCII text) and digits(w) is a translation of 0-9. Only other words need `wanted`.
    exact_keys = keys.get("exact", empty)
    lowered_keys = keys.get("lower", empty) | keys.get("casefold", empty)
    digit_keys = keys.get("digits", empty)

    def wanted(word: str) -> bool:
        return any(fn(word) in keys for fn, keys in checks)

    def many(words: Iterable[str]) -> list[bool]:
        """``wanted`` of every word, in bulk (the vector readers pass whole chunks of a file).

        ASCII words are lower-cased and digit-mapped all at once (:func:`_normalised`), then
        only set lookups; each other word gets the full rules (casefold's NFKC, Unicode digits).
        """
        words = list(words)
        out = list(map(exact_keys.__contains__, words))
        if lowered_keys:
            out = list(map(operator.or_, out, map(lowered_keys.__contains__, _normalised(words, "lower"))))
        if digit_keys:
            out = list(map(operator.or_, out, map(digit_keys.__contains__, _normalised(words, "digits"))))
        for i in itertools.compress(range(len(words)), map(operator.not_, map(str.isascii, words))):
            out[i] = wanted(words[i])
        return out

    wanted.many = many  # type: ignore[attr-defined]  # the vector readers use it for whole chunks of words
    # For the readers' bytes: an ASCII word can be wanted only if its lower-cased, digits-to-"#" form
    # is that of some key (each rule's form of an ASCII word is ASCII and maps to it). One set lookup
    # per word then rules out nearly every row of a large file before its word is even decoded.
    # Only ASCII keys can match; one that holds a "\n" (never a word of a vectors file) splits apart
    # here, which at worst lets a few more words through to `many`.
    ascii_keys = "\n".join(k for _, ks in checks for k in ks if k.isascii()).encode("ascii")
    prefilter_keys = frozenset(ascii_keys.translate(_ASCII_PREFILTER).split(b"\n"))
    wanted.ascii_prefilter = (_ASCII_PREFILTER, prefilter_keys)  # type: ignore[attr-defined]
    return wanted


# --------------------------------------------------------------------------- helpers


def _check_rules(rules: Iterable[str]) -> tuple[str, ...]:
    """The rule names in order, repeats dropped; an unknown name is a ConfigError.

    >>> _check_rules(["lower", "exact", "lower"])
    ('lower', 'exact')
    """
    out: list[str] = []
    for r in rules:
        if r not in RULES:
            raise ConfigError(
                f"The 'align.rules' parameter must list only {', '.join(map(repr, RULES))}. Got {r!r} instead."
            )
        if r not in out:
            out.append(r)
    return tuple(out)


def _first_index(words: Sequence[str], rule: str) -> dict[str, int]:
    """Normalised form -> index of the first word having it.

    Built from the last word to the first, so that the first word's index is the
    one a form keeps.

    >>> _first_index(["Apple", "apple", "APPLE"], "lower")
    {'apple': 0}
    """
    forms = _normalised(words, rule)
    return dict(zip(reversed(forms), range(len(forms) - 1, -1, -1)))


def _report(
    vocab: Vocabulary,
    source_index: np.ndarray,
    rule: list[str | None],
    rules: tuple[str, ...],
    top_missing: int,
    source_words: int,
) -> dict[str, Any]:
    """Coverage figures for the report; weighted coverage needs a count on every word row."""
    rows = vocab.word_rows
    types = len(rows)
    matched_rows = [i for i in rows if source_index[i] >= 0]
    matched = len(matched_rows)
    coverage = matched / types if types else 0.0

    counts = [vocab.counts[i] for i in rows]
    weighted = None
    if types and all(c is not None for c in counts):
        total = sum(counts)
        if total > 0:
            weighted = sum(vocab.counts[i] for i in matched_rows) / total

    by_rule = {r: 0 for r in rules}
    for i in matched_rows:
        by_rule[rule[i]] += 1

    missing = [i for i in rows if source_index[i] < 0]
    # Most frequent first; unknown counts last; then row order.
    missing.sort(key=lambda i: (vocab.counts[i] is None, -(vocab.counts[i] or 0), i))
    return {
        "rules": list(rules),
        "source_words": source_words,
        "types": types,
        "matched": matched,
        "coverage": coverage,
        "weighted_coverage": weighted,
        "oov_share": 1.0 - coverage,
        "by_rule": by_rule,
        "missing": len(missing),
        "top_missing": [{"token": vocab.tokens[i], "count": vocab.counts[i]} for i in missing[:top_missing]],
    }
