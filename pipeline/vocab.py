"""The project vocabulary: which tokens the model will see, and at which row.

Use :func:`build_vocabulary` from a ``[vocab]`` config section; it calls one of
the three readers, which are public for use from Python:

* :func:`read_token_file` -- a text file, one token a line (``source = "file"``);
* :func:`read_word_index` -- a Keras ``Tokenizer.to_json()`` file or a plain
  ``{"word": index}`` JSON object (``source = "word_index"``);
* :func:`count_corpus` -- tokens counted in a text corpus (``source = "corpus"``).

Row layout (the Keras ``Tokenizer(oov_token=...)`` / ``TextVectorization``
convention): row 0 is the padding token, row 1 the OOV token, words from row
2. A word_index keeps its own indices instead (row i is the word with index i),
see :func:`read_word_index`. Every rule that drops or changes an input line is
counted in ``Vocabulary.stats`` so the report can show it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import VocabConfig, check_reserved_tokens, resolve_input
from pipeline.errors import ConfigError, DataError
from pipeline.sources.corpus import nul_byte_error
from pipeline.sources.files import describe_file, open_binary, universal_newlines

log = logging.getLogger(__name__)

PADDING_IDX = 0
OOV_IDX = 1
MAX_EXAMPLES = 5  # how many duplicate / gap examples the stats keep
# A word_index may skip indices (each becomes a placeholder row), but not so many that the rows
# are mostly placeholders: {"the": 1, "of": 10**12} would otherwise ask for 10**12 rows.
MIN_GAPS_REFUSED = 1_000_000
GAPS_PER_WORD = 10

_COUNT = re.compile(r"[0-9]+")  # ASCII digits only: int() would also take "+3", " 3", "٣"
_SPACE_COUNT = re.compile(r"\S.*\s[0-9]+")  # "the 123": a count after a space, which is not our separator


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Tokens in row order: ``tokens[i]`` is row ``i`` of the matrix.

    Row ``padding_idx`` (0) is padding, row ``oov_idx`` the OOV token. ``counts[i]``
    is the corpus/file count of ``tokens[i]`` or None where unknown (reserved rows,
    or a source without counts). ``reserved`` holds the row indices that are not
    words (padding, OOV, gap fillers). ``stats`` has figures for the report
    (duplicates skipped, empty lines, gaps filled, truncated by max_size ...).
    """

    tokens: tuple[str, ...]
    counts: tuple[int | None, ...]
    padding_idx: int = 0
    oov_idx: int = 1
    reserved: frozenset[int] = frozenset({0, 1})
    source: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def word_rows(self) -> tuple[int, ...]:
        """Row indices of real words (every row not in ``reserved``), ascending."""
        return tuple(i for i in range(len(self.tokens)) if i not in self.reserved)


# --------------------------------------------------------------------------- entry point


def build_vocabulary(
    config: VocabConfig,
    *,
    base_dir: str | os.PathLike,
    corpus: Sequence[str] = (),
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> Vocabulary:
    """Build the vocabulary the ``[vocab]`` section describes.

    ``base_dir`` is the folder relative paths resolve against (the config
    file's); ``corpus`` is ``[vectors].corpus``, counted when
    ``config.source == "corpus"`` and ``config.corpus`` is empty.
    """
    common = dict(
        padding_token=config.padding_token,
        oov_token=config.oov_token,
        encoding=encoding,
        encoding_errors=encoding_errors,
    )
    check_reserved_tokens(config)
    if config.source == "corpus":
        from pipeline.sources.corpus import corpus_files

        files = corpus_files(corpus_specs(config, corpus), base_dir, corpus_key(config))
        return count_corpus(
            files, min_count=config.min_count, max_size=config.max_size, lowercase=config.lowercase, **common
        )

    if not config.path:
        raise ConfigError(
            f"The 'vocab.path' parameter must name a file when vocab.source = {config.source!r}. Got '' instead."
        )
    if config.lowercase:
        # A token list or word_index names tokens exactly as the model sees them.
        log.warning("vocab.lowercase is ignored for vocab.source = %r (it applies to 'corpus' only)", config.source)
    path = resolve_input(config.path, base_dir)
    if config.source == "file":
        return read_token_file(path, max_size=config.max_size, **common)
    if config.source == "word_index":
        return read_word_index(path, max_size=config.max_size, **common)
    raise ConfigError(
        f"The 'vocab.source' parameter must be one of 'file', 'word_index', 'corpus'. Got {config.source!r} instead."
    )


def corpus_key(config: VocabConfig) -> str:
    """The config key that lists the corpus of :func:`corpus_specs`, for error messages."""
    return "vocab.corpus" if config.corpus else "vectors.corpus"


def corpus_specs(config: VocabConfig, corpus: Sequence[str]) -> tuple[str, ...]:
    """The corpus a ``source = "corpus"`` vocabulary is counted from: ``config.corpus``, else ``corpus``
    (``[vectors].corpus``). The stage fingerprint names the same files (``runner._vocab_corpus``)."""
    specs = tuple(config.corpus) or tuple(corpus)
    if not specs:
        raise ConfigError(
            "vocab.source = 'corpus' needs a corpus: set 'vocab.corpus' or 'vectors.corpus' "
            "(one or more files or folders)"
        )
    return specs


# --------------------------------------------------------------------------- source = "file"


def read_token_file(
    path: str | os.PathLike,
    *,
    max_size: int | None = None,
    padding_token: str = "[PAD]",
    oov_token: str = "[UNK]",
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> Vocabulary:
    """Read a token list: one token a line, optionally a TAB and a count.

    Rules (each counted in ``stats``):

    * the token is everything before the LAST tab (so a token may contain
      spaces, e.g. ``New York\\t12``), with surrounding whitespace stripped;
      with no tab the whole line is the token. A space does NOT separate a
      count: ``the 123`` is the token "the 123" (a warning is logged when the
      file looks space-separated);
    * the count must be a non-negative integer (ASCII digits), else DataError
      naming ``path:line``;
    * empty (or whitespace-only) lines are skipped (``empty_lines``);
    * a repeated token keeps its first line (``duplicates``, ``duplicate_examples``);
    * a token equal to the padding or OOV token is skipped (``reserved_skipped``);
      those rows are always 0 and 1;
    * ``max_size`` caps the number of word rows, keeping file order (``truncated``);
    * a NUL character is a DataError naming the line (a UTF-16 or binary file read as text).

    Rows keep file order from row 2. A UTF-8 BOM and CRLF line ends are fine.

    >>> # file "the\\t10\\ncat\\t3\\n"  ->  tokens ('[PAD]', '[UNK]', 'the', 'cat'), counts (None, None, 10, 3)
    """
    _check_layout(max_size, padding_token, oov_token)
    info = describe_file(path)
    lines = _split_lines(_read_text(path, encoding, encoding_errors))
    reserved_tokens = {padding_token, oov_token}
    words: list[str] = []
    counts: list[int | None] = []
    seen: dict[str, int] = {}  # token -> line it was first seen on
    empty = duplicates = reserved_skipped = 0
    tabbed = space_counted = 0  # to notice a "token count" file that uses a space, not a TAB
    duplicate_examples: list[dict[str, Any]] = []
    for lineno, line in enumerate(lines, start=1):
        if "\x00" in line:
            raise nul_byte_error(path, lineno, encoding)
        if not line.strip():
            empty += 1
            continue
        token, count = _parse_token_line(line, path, lineno)
        if count is None:
            space_counted += bool(_SPACE_COUNT.fullmatch(token))
        else:
            tabbed += 1
        if token in reserved_tokens:
            reserved_skipped += 1
            continue
        if token in seen:
            duplicates += 1
            if len(duplicate_examples) < MAX_EXAMPLES:
                duplicate_examples.append({"token": token, "line": lineno, "first_line": seen[token]})
            continue
        seen[token] = lineno
        words.append(token)
        counts.append(count)

    if not words:
        raise DataError(
            "no tokens (expected one token per line, optionally followed by a TAB and a count)", path
        )
    looks_space_separated = tabbed == 0 and space_counted == len(lines) - empty
    if looks_space_separated:
        log.warning(
            "%s: every line looks like 'token count' separated by a space; the count separator is a TAB, "
            "so each whole line was taken as the token",
            path,
        )
    words, counts, truncated = _cap(words, counts, max_size)
    stats = {
        "lines": len(lines),
        "words": len(words),
        "empty_lines": empty,
        "duplicates": duplicates,
        "duplicate_examples": duplicate_examples,
        "reserved_skipped": reserved_skipped,
        "truncated": truncated,
        "looks_space_separated": looks_space_separated,
    }
    return _standard_layout(words, counts, padding_token, oov_token, {"kind": "file", **info}, stats)


def _parse_token_line(line: str, path: str | os.PathLike, lineno: int) -> tuple[str, int | None]:
    """Split one non-empty line into token and count (None without a tab).

    >>> _parse_token_line("New York\\t12", "v.txt", 1), _parse_token_line(" cat ", "v.txt", 2)
    (('New York', 12), ('cat', None))
    """
    token, tab, count_text = line.rpartition("\t")
    if not tab:
        return line.strip(), None
    token, count_text = token.strip(), count_text.strip()
    if not _COUNT.fullmatch(count_text):
        raise DataError(
            f"count {count_text!r} is not a non-negative integer (expected 'token' or 'token<TAB>count' on each line)",
            path,
            lineno,
        )
    if not token:
        raise DataError("empty token before the tab (expected 'token<TAB>count')", path, lineno)
    try:
        return token, int(count_text)
    except ValueError:  # thousands of digits: past Python's int-string limit
        raise DataError(
            f"count of {len(count_text)} digits is too long to read (expected a count of at most 4300 digits)",
            path,
            lineno,
        ) from None


def token_file_text(vocab: Vocabulary, path: str | os.PathLike) -> str:
    """The vocabulary's word rows as a token file, in row order: ``token<TAB>count``, or ``token`` with no count.

    :func:`read_token_file` reads the text back to the same tokens and counts. A
    token it would read back as something else (one holding a line break or a
    NUL, with whitespace around it, or with a tab and no count after it) is a
    DataError naming its row and ``path``, the file it was to be written to.
    """
    lines = []
    for row, (token, count) in enumerate(zip(vocab.tokens, vocab.counts)):
        if row in vocab.reserved:
            continue
        line = token if count is None else f"{token}\t{count}"
        if not _reads_back(line, token, count):
            raise DataError(
                f"row {row} token {token!r} would read back from a token file as something else (expected "
                "no line break, NUL or surrounding whitespace, and a tab only when a count follows)",
                path,
            )
        lines.append(line + "\n")
    return "".join(lines)


def _reads_back(line: str, token: str, count: int | None) -> bool:
    if "\x00" in line or _split_lines(line) != [line]:
        return False
    try:
        return _parse_token_line(line, "", 1) == (token, count)
    except DataError:  # a tab followed by what is not a count
        return False


# --------------------------------------------------------------------------- source = "word_index"


def is_word_index_path(path: str | os.PathLike) -> bool:
    """Whether a tokenizer file is a JSON word_index: ``.json`` among its suffixes, in any case.

    >>> [is_word_index_path(p) for p in ("tok.json", "TOK.JSON", "tok.json.gz", "tokens.txt")]
    [True, True, True, False]
    """
    return ".json" in (suffix.lower() for suffix in Path(path).suffixes)


@dataclass(frozen=True)
class WordIndex:
    """A word_index file's entries as :func:`parse_word_index` checks them, before any row is laid out."""

    format: str  # "keras-tokenizer" or "plain"
    kept: dict[int, str]  # index -> word, below the limit (max_size or num_words); no padding entry
    oov_idx: int | None  # the OOV word's index among them; None: the OOV row is to be appended
    oov_source: str  # "tokenizer oov_token", "vocab.oov_token" or "appended"
    word_counts: dict[str, Any] | None  # the tokenizer's word_counts, unchecked
    truncated: int  # entries at or above the limit
    limit: int | None
    num_words: int | None


def parse_word_index(
    path: str | os.PathLike,
    *,
    max_size: int | None = None,
    padding_token: str = "[PAD]",
    oov_token: str = "[UNK]",
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> WordIndex:
    """The entries of a word_index file, checked by the rules of :func:`read_word_index`, without
    the rows: no placeholders for missing indices, so no limit on how many indices are missing
    (``embpipe check-vocab`` reports an id past the matrix as drift)."""
    _check_layout(max_size, padding_token, oov_token)
    data = _parse_json(_read_text(path, encoding, encoding_errors), path, "the file")
    if isinstance(data, dict) and _is_tokenizer(data):
        fmt = "keras-tokenizer"
        cfg = data["config"]
        word_index = _json_field(cfg, "word_index", path)
        word_counts = _json_field(cfg, "word_counts", path) if cfg.get("word_counts") is not None else None
        tokenizer_oov = cfg.get("oov_token")
        if tokenizer_oov is not None and not isinstance(tokenizer_oov, str):
            raise DataError(
                f"config.oov_token is a JSON {_json_type(tokenizer_oov)} (expected null or a string)", path
            )
        num_words = cfg.get("num_words")
        if num_words is not None and not _is_index(num_words):
            raise DataError(f"config.num_words is {num_words!r} (expected null or an integer >= 0)", path)
    elif isinstance(data, dict) and "class_name" in data:
        raise DataError("a Keras tokenizer file without config.word_index (expected Tokenizer.to_json() output)", path)
    else:
        fmt, word_index, word_counts, tokenizer_oov, num_words = "plain", data, None, None, None
    if not isinstance(word_index, dict):
        raise DataError(
            f"word_index is a JSON {_json_type(word_index)} (expected an object of word: integer index, "
            "or a Keras Tokenizer.to_json() file)",
            path,
        )

    by_index: dict[int, str] = {}
    for word, idx in word_index.items():
        # Line i of the exported vocab.txt is row i: a word must be one non-empty line.
        if not word:
            raise DataError(
                f"entry {word!r}: {idx!r} has an empty word (expected a non-empty word for each index: "
                "line i of vocab.txt is row i)",
                path,
            )
        if "\n" in word or "\r" in word:
            raise DataError(
                f"entry {word!r}: the word holds a line break (expected one-line words: line i of vocab.txt is row i)",
                path,
            )
        if not word.isascii() and not _utf8_encodable(word):
            raise DataError(
                f"entry {word!r}: the word holds a lone surrogate escape (expected text that UTF-8 can write: "
                "a pair such as \\ud83d\\ude00 for one character above U+FFFF)",
                path,
            )
        if not _is_index(idx):
            raise DataError(
                f"entry {word!r}: {idx!r} is not an integer index >= 0 (expected an object of word: integer index)",
                path,
            )
        if word == padding_token:
            if idx != PADDING_IDX:
                raise DataError(f"the padding token {word!r} has index {idx} (expected index 0 or absent)", path)
            continue
        if idx == PADDING_IDX:
            raise DataError(f"word {word!r} has index 0, which is reserved for padding (expected indices >= 1)", path)
        if idx in by_index:
            raise DataError(
                f"words {by_index[idx]!r} and {word!r} both have index {idx} (expected one word per index)", path
            )
        by_index[idx] = word
    if not by_index:
        raise DataError("no tokens (expected an object of word: integer index with indices >= 1)", path)

    # Mirror Keras num_words: sequences only ever hold indices < num_words.
    limits = [n for n in (max_size, num_words) if n]
    limit = min(limits) if limits else None
    kept = {i: w for i, w in by_index.items() if limit is None or i < limit}
    truncated = len(by_index) - len(kept)
    if all(w in (tokenizer_oov, oov_token) for w in kept.values()):  # padding and OOV rows alone: no use
        words = [i for i, w in by_index.items() if w not in (tokenizer_oov, oov_token)]
        if limit is None:
            raise DataError("no words: the file holds only the OOV token (expected an object of word: "
                            "integer index with words besides it)", path)
        what = "vocab.max_size" if limit == max_size else "the tokenizer's num_words"
        raise DataError(
            f"no word has an index below {limit} ({what}) (expected a limit above the smallest word index"
            + (f", {min(words)})" if words else "; the file holds only the OOV token)"),
            path,
        )

    word_to_index = {w: i for i, w in kept.items()}
    if tokenizer_oov is not None and tokenizer_oov in word_to_index:
        oov_idx, oov_source = word_to_index[tokenizer_oov], "tokenizer oov_token"
    elif oov_token in word_to_index:
        oov_idx, oov_source = word_to_index[oov_token], "vocab.oov_token"
    else:
        oov_idx, oov_source = None, "appended"
    return WordIndex(fmt, kept, oov_idx, oov_source, word_counts, truncated, limit, num_words)


def read_word_index(
    path: str | os.PathLike,
    *,
    max_size: int | None = None,
    padding_token: str = "[PAD]",
    oov_token: str = "[UNK]",
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> Vocabulary:
    """Read a Keras tokenizer JSON (``Tokenizer.to_json()``) or a plain ``{"word": index}`` object.

    Indices are kept: row i is the word with index i, so sequences the
    tokenizer produced index the matrix directly. Rules:

    * index 0 is padding: a word with index 0 is a DataError, except the
      padding token itself; the padding token at another index is a DataError;
    * every index must be a JSON integer >= 0 (not a string, float, bool);
      two words with one index is a DataError naming both;
    * a word must be non-empty and hold no line break (line i of ``vocab.txt`` is row i);
    * the OOV row: the tokenizer's ``config.oov_token`` if it is in the
      word_index (Keras gives it index 1), else ``oov_token`` if it is in the
      word_index, else a new row ``oov_token`` appended after the last kept
      index (``stats["oov_source"]`` says which);
    * an index missing between 1 and the largest becomes a reserved
      placeholder row ``[unused{i}]`` (``gaps``, ``gap_examples``); more than
      max(1,000,000, 10 x words) of them is a DataError (set ``max_size``);
    * ``max_size`` works like Keras ``num_words``: only indices < max_size are
      kept (so the matrix has at most max_size rows, plus an appended OOV row);
      a tokenizer's own ``num_words`` limits the same way, the smaller wins
      (``truncated`` counts dropped words);
    * counts come from the tokenizer's ``word_counts`` when present, else None.

    In ``to_json`` output ``word_index`` and ``word_counts`` are themselves
    JSON-encoded strings; a dict is accepted as well.

    >>> # file '{"the": 1, "cat": 3}'  ->  tokens ('[PAD]', 'the', '[unused2]', 'cat', '[UNK]'), oov_idx 4
    """
    wi = parse_word_index(path, max_size=max_size, padding_token=padding_token, oov_token=oov_token,
                          encoding=encoding, encoding_errors=encoding_errors)  # checks the arguments first
    info = describe_file(path)
    kept = wi.kept
    n_gaps = max(kept, default=0) - len(kept)
    max_gaps = max(MIN_GAPS_REFUSED, GAPS_PER_WORD * len(kept))
    if n_gaps > max_gaps:
        raise DataError(
            f"the largest index is {max(kept)} for {len(kept)} words: {n_gaps} missing indices would each need "
            f"a placeholder row (expected at most {max_gaps}; set vocab.max_size to keep only indices below it)",
            path,
        )

    oov_idx = wi.oov_idx
    n_rows = max(kept, default=0) + 1
    gap_rows = [i for i in range(1, n_rows) if i not in kept]
    placeholders = _placeholders(gap_rows, taken={padding_token, oov_token, *kept.values()})
    tokens = [padding_token] + [kept.get(i) or placeholders[i] for i in range(1, n_rows)]
    if oov_idx is None:
        oov_idx = n_rows
        tokens.append(oov_token)
    reserved = frozenset({PADDING_IDX, oov_idx, *gap_rows})

    if wi.word_counts is not None:
        _check_counts(wi.word_counts, path)
        counts = tuple(None if i in reserved else wi.word_counts.get(t) for i, t in enumerate(tokens))
    else:
        counts = (None,) * len(tokens)
    stats = {
        "format": wi.format,
        "words": len(tokens) - len(reserved),
        "gaps": len(gap_rows),
        "gap_examples": [placeholders[i] for i in gap_rows[:MAX_EXAMPLES]],
        "truncated": wi.truncated,
        "limit": wi.limit,
        "num_words": wi.num_words,
        "oov_source": wi.oov_source,
    }
    return Vocabulary(
        tokens=tuple(tokens),
        counts=counts,
        padding_idx=PADDING_IDX,
        oov_idx=oov_idx,
        reserved=reserved,
        source={"kind": "word_index", "format": wi.format, **info},
        stats=stats,
    )


def _placeholders(gap_rows: list[int], taken: set[str]) -> dict[int, str]:
    """A name for each missing index: ``[unused<i>]``, with ``#`` added while a real word has it.

    >>> _placeholders([2, 3], taken={"[unused3]"})
    {2: '[unused2]', 3: '[unused3]#'}
    """
    names = {}
    for i in gap_rows:
        name = f"[unused{i}]"
        while name in taken:
            name += "#"
        names[i] = name
    return names


def _utf8_encodable(word: str) -> bool:
    try:
        word.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_tokenizer(data: dict[str, Any]) -> bool:
    cfg = data.get("config")
    return isinstance(cfg, dict) and "word_index" in cfg


def _is_index(value: Any) -> bool:
    """True for a JSON integer >= 0 (``True`` is an int in Python, but not an index)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _json_field(cfg: dict[str, Any], name: str, path: str | os.PathLike) -> Any:
    """``cfg[name]``, decoding it when Keras stored it as a JSON string."""
    value = cfg[name]
    if isinstance(value, str):
        return _parse_json(value, path, f"config.{name}")
    return value


def _check_counts(word_counts: Any, path: str | os.PathLike) -> None:
    if not isinstance(word_counts, dict):
        raise DataError(f"config.word_counts is a JSON {_json_type(word_counts)} (expected an object)", path)
    for word, n in word_counts.items():
        if not _is_index(n):
            raise DataError(f"word_counts entry {word!r}: {n!r} is not a count (expected an integer >= 0)", path)


# --------------------------------------------------------------------------- source = "corpus"


def count_corpus(
    files: Sequence[str | os.PathLike],
    *,
    min_count: int = 1,
    max_size: int | None = None,
    lowercase: bool = False,
    padding_token: str = "[PAD]",
    oov_token: str = "[UNK]",
    encoding: str = "utf-8",
    encoding_errors: str = "strict",
) -> Vocabulary:
    """Count whitespace tokens in corpus files (one sentence a line) and keep the frequent ones.

    Words with count >= ``min_count`` are kept, sorted by count descending,
    ties in order of first appearance (a stable sort over first-seen order), and
    capped at ``max_size`` words. Tokens equal to the padding or OOV token are
    not words (``reserved_skipped``). A corpus with no tokens is a DataError; a
    ``min_count`` above every word's count is a ConfigError.

    >>> # corpus "b a b\\nc b a"  ->  tokens ('[PAD]', '[UNK]', 'b', 'a', 'c'), counts (None, None, 3, 2, 1)
    """
    if isinstance(files, (str, os.PathLike)):
        raise TypeError(f"files must be a list of corpus files, not one path: [{str(files)!r}]?")
    _check_layout(max_size, padding_token, oov_token)
    from pipeline.sources.corpus import count_tokens

    paths = [Path(f) for f in files]
    source = {"kind": "corpus", "files": [describe_file(p) for p in paths], "lowercase": lowercase}
    counter, sentences = count_tokens(paths, lowercase=lowercase, encoding=encoding, errors=encoding_errors)
    n_tokens = sum(counter.values())
    if n_tokens == 0:
        raise DataError(
            "no tokens in the corpus (expected text, one sentence per line)",
            paths[0] if len(paths) == 1 else ", ".join(map(str, paths)),
        )
    reserved_skipped = counter.pop(padding_token, 0) + counter.pop(oov_token, 0)
    frequent = [(w, n) for w, n in counter.items() if n >= min_count]
    if not counter:
        raise DataError(
            f"the corpus holds only the tokens {padding_token!r} and {oov_token!r} (expected words)",
            paths[0] if len(paths) == 1 else ", ".join(map(str, paths)),
        )
    if not frequent:  # an artifact of padding and OOV rows alone is no use to anyone
        raise ConfigError(
            f"The 'vocab.min_count' parameter must be at most {max(counter.values())}, the count of the "
            f"corpus's most frequent word (no word is kept). Got {min_count} instead."
        )
    frequent.sort(key=lambda wn: -wn[1])  # stable: equal counts stay in first-seen order
    words, counts, truncated = _cap([w for w, _ in frequent], [n for _, n in frequent], max_size)
    stats = {
        "sentences": sentences,
        "tokens": n_tokens,
        "types": len(counter),
        "words": len(words),
        "below_min_count": len(counter) - len(frequent),
        "reserved_skipped": reserved_skipped,
        "truncated": truncated,
        "min_count": min_count,
    }
    return _standard_layout(words, counts, padding_token, oov_token, source, stats)


# --------------------------------------------------------------------------- helpers


def _check_layout(max_size: int | None, padding_token: str, oov_token: str) -> None:
    """The readers' own arguments, checked as load_config checks a config's: ConfigError naming the key."""
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1):
        raise ConfigError(f"The 'vocab.max_size' parameter must be an integer >= 1 (None: no limit). "
                          f"Got {max_size!r} instead.")
    check_reserved_tokens(VocabConfig(padding_token=padding_token, oov_token=oov_token))


def _standard_layout(
    words: list[str],
    counts: list[int | None],
    padding_token: str,
    oov_token: str,
    source: dict[str, Any],
    stats: dict[str, Any],
) -> Vocabulary:
    """Padding at row 0, OOV at row 1, then ``words``.

    >>> _standard_layout(["a"], [3], "[PAD]", "[UNK]", {}, {}).tokens
    ('[PAD]', '[UNK]', 'a')
    """
    return Vocabulary(
        tokens=(padding_token, oov_token, *words),
        counts=(None, None, *counts),
        padding_idx=PADDING_IDX,
        oov_idx=OOV_IDX,
        reserved=frozenset({PADDING_IDX, OOV_IDX}),
        source=source,
        stats=stats,
    )


def _cap(words: list[str], counts: list[Any], max_size: int | None) -> tuple[list[str], list[Any], int]:
    """Keep the first ``max_size`` words; also return how many were dropped.

    >>> _cap(["a", "b", "c"], [3, 2, 1], 2)
    (['a', 'b'], [3, 2], 1)
    """
    if max_size is None or len(words) <= max_size:
        return words, counts, 0
    return words[:max_size], counts[:max_size], len(words) - max_size


def _read_text(path: str | os.PathLike, encoding: str, errors: str) -> str:
    """The whole file decoded (gzip/bz2 transparently), BOM removed; bad bytes -> DataError at their line.

    Reading whole keeps the line number of a decoding error exact (a streaming
    decoder fails at the start of its 8 KiB chunk, not at the bad line).
    Vocabulary files are small enough for that.
    """
    try:
        with open_binary(path) as fh:
            data = fh.read()
    # Opening errors are already StorageError; these are bad gzip/bz2 data: cut short (EOFError), a bad
    # header (BadGzipFile, an OSError) or damaged deflate data inside the stream (zlib.error).
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"file is damaged or cut short ({exc})", path) from None
    try:
        text = data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"bytes that are not valid {encoding} ({exc.reason}) "
            f"(expected {encoding} text, or set encoding_errors = \"replace\")",
            path,
            line,
        ) from None
    except LookupError:
        raise ConfigError(f"unknown text encoding {encoding!r} (expected e.g. 'utf-8' or 'latin-1')") from None
    return text.removeprefix("\ufeff")


def _split_lines(text: str) -> list[str]:
    """Lines by ``\\n``, ``\\r\\n`` or ``\\r`` only (``str.splitlines`` would also split on \\x0c, \\u2028 ...).

    >>> _split_lines("a\\r\\nb\\n")
    ['a', 'b']
    """
    lines = universal_newlines(text).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start an empty one
    return lines


def _parse_json(text: str, path: str | os.PathLike, what: str) -> Any:
    """``json.loads`` with a one-line DataError (naming the line) and duplicate keys refused."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                where = "" if what == "the file" else f"{what}: "  # the file is named before the message
                raise DataError(f"{where}key {key!r} appears twice (expected each word once)", path)
            obj[key] = value
        return obj

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        line = exc.lineno if what == "the file" else None
        raise DataError(f"{what} is not valid JSON: {exc.msg} (expected a JSON object)", path, line) from None
    except RecursionError:  # "[[[[..." 100,000 deep: valid JSON that Python's parser cannot follow
        raise DataError(f"{what} is nested too deeply to read (expected a JSON object of word: index)", path) from None
    except ValueError as exc:  # an integer of thousands of digits (Python's int-string limit)
        reason = str(exc).split(";")[0]  # drop the hint about sys.set_int_max_str_digits
        raise DataError(
            f"{what} is not usable JSON: {reason} (expected a JSON object of word: integer index)", path
        ) from None


def _json_type(value: Any) -> str:
    """JSON's name for a parsed value's type.

    >>> _json_type([1])
    'array'
    """
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "null"
    )
