"""Turning tokens into the row ids an exported matrix expects, and checking a tokenizer against it.

Use :class:`Indexer` when a model is fed from Python without a framework
tokenizer, and :meth:`Indexer.check_word_index` (or :func:`check_vocab`, what
``embpipe check-vocab`` calls) in a scheduled job to catch a tokenizer that
drifted away from the matrix: a word whose id moved now reads another word's
vector, silently.

Row conventions, from ``manifest.json``: row ``padding_idx`` (0) is padding,
row ``oov_idx`` (1) is the OOV token ``[UNK]``, words from row 2, or, for a
vocabulary built from a Keras ``word_index``, row i is the word with index i.
Line i of ``vocab.txt`` is the token of row i. No framework is needed here.

>>> ix = Indexer.from_artifact("artifacts/default")        # doctest: +SKIP
>>> ix.encode_batch([["the", "police"], ["said"]], length=3)  # doctest: +SKIP
array([[ 2, 94,  0],
       [38,  0,  0]])
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from pipeline.artifacts import read_manifest, read_tokens, verify_file, warn_if_rejected
from pipeline.errors import DataError

SIDES = ("pre", "post")


class Moved(NamedTuple):
    """A token both sides know, at different rows: the model would read ``row``'s vector for ``new_id``'s word."""

    token: str
    row: int  # its row in the exported matrix (vocab.txt line)
    new_id: int  # the id the tokenizer gives it now


class Entry(NamedTuple):
    """A token the tokenizer has, with its id."""

    token: str
    id: int


class Row(NamedTuple):
    """A token the matrix has, with its row."""

    token: str
    row: int


@dataclass(frozen=True)
class Drift:
    """How a tokenizer's ids differ from the exported vocabulary; ``ok`` when they agree.

    * ``moved``: (token, row in the matrix, tokenizer id) for tokens at a different id;
    * ``appeared``: (token, tokenizer id) for tokens the tokenizer has and the matrix has not;
    * ``vanished``: (token, row) for word rows of the matrix the tokenizer no longer has;
    * ``out_of_range``: (token, tokenizer id) for ids >= ``input_dim`` (an index error in a model).

    Reserved rows (padding, OOV, ``[unused{i}]`` gap fillers) are not words:
    they never vanish. The OOV row is compared by role: a tokenizer whose own
    OOV token has another id than the matrix's ``oov_idx`` counts as moved.
    """

    moved: tuple[Moved, ...] = ()
    appeared: tuple[Entry, ...] = ()
    vanished: tuple[Row, ...] = ()
    out_of_range: tuple[Entry, ...] = ()
    input_dim: int = 0
    source: str = ""

    @property
    def ok(self) -> bool:
        return not (self.moved or self.appeared or self.vanished or self.out_of_range)

    def summary(self, examples: int = 3) -> str:
        """One line: the counts and a few examples of each kind.

        >>> Drift(moved=(Moved("cat", 3, 4),), input_dim=10).summary()
        'vocabulary drift: 1 moved (cat 3->4), 0 appeared, 0 vanished'
        """
        if self.ok:
            return "no drift: every tokenizer id is the matrix row of the same token"

        def ex(items: Sequence[tuple], fmt) -> str:
            if not items:
                return ""
            shown = ", ".join(fmt(i) for i in items[:examples])
            more = ", ..." if len(items) > examples else ""
            return f" ({shown}{more})"

        parts = [
            f"{len(self.moved)} moved" + ex(self.moved, lambda m: f"{_shown(m.token)} {m.row}->{m.new_id}"),
            f"{len(self.appeared)} appeared" + ex(self.appeared, lambda e: f"{_shown(e.token)}@{e.id}"),
            f"{len(self.vanished)} vanished" + ex(self.vanished, lambda r: f"{_shown(r.token)}@{r.row}"),
        ]
        if self.out_of_range:
            parts.append(
                f"{len(self.out_of_range)} ids >= input_dim {self.input_dim}"
                + ex(self.out_of_range, lambda e: f"{_shown(e.token)}@{e.id}")
            )
        return "vocabulary drift: " + ", ".join(parts)

    def to_dict(self, limit: int | None = 100) -> dict[str, Any]:
        """Plain JSON-able data: counts, and up to ``limit`` entries of each kind (None: all)."""

        def rows(items: Sequence[tuple]) -> list[dict[str, Any]]:
            return [i._asdict() for i in (items if limit is None else items[:limit])]

        return {
            "ok": self.ok,
            "source": self.source,
            "input_dim": self.input_dim,
            "counts": {
                "moved": len(self.moved),
                "appeared": len(self.appeared),
                "vanished": len(self.vanished),
                "out_of_range": len(self.out_of_range),
            },
            "moved": rows(self.moved),
            "appeared": rows(self.appeared),
            "vanished": rows(self.vanished),
            "out_of_range": rows(self.out_of_range),
            "summary": self.summary(),
        }


@dataclass(frozen=True, eq=False)
class Indexer:
    """Tokens to row ids and back, exactly as an exported matrix is laid out.

    Build it with :meth:`from_artifact`. ``tokens[i]`` is the token of row i;
    a token that appears on several rows (it should not) maps to its first.
    ``lowercase``: a token not found as written is looked up lower-cased, as
    the vocabulary was counted (the manifest's ``vocab.lowercase`` for a corpus
    vocabulary); the reserved tokens ``[PAD]``/``[UNK]`` still match exactly.
    ``encoding``/``encoding_errors``: how a tokenizer file is decoded by
    :meth:`check_word_index`, as the run that built the artifact read its
    vocabulary file (the manifest's ``vectors.encoding`` and ``encoding_errors``).
    """

    tokens: tuple[str, ...]
    padding_idx: int = 0
    oov_idx: int = 1
    reserved: frozenset[int] = frozenset({0, 1})
    lowercase: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    token_to_id: Mapping[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A gap filler's text ("[unused3]") is not a word: written in input, it is unknown.
        fillers = self.reserved - {self.padding_idx, self.oov_idx}
        mapping: dict[str, int] = {}
        for i, tok in enumerate(self.tokens):
            if i not in fillers:
                mapping.setdefault(tok, i)
        object.__setattr__(self, "token_to_id", mapping)

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_artifact(cls, folder: str | os.PathLike, *, lowercase: bool | None = None,
                      verify: bool = True) -> Indexer:
        """Read ``vocab.txt`` and ``manifest.json`` of an artifact folder.

        With ``verify`` (the default) ``vocab.txt`` must match the manifest's
        sha256 and hold ``input_dim`` lines, else :class:`DataError` naming
        the file: a vocabulary edited after export would shift ids silently.
        ``lowercase=None`` follows the manifest (true only for a corpus
        vocabulary counted with ``vocab.lowercase = true``). Tokenizer files are
        later decoded with the run's ``vectors.encoding`` and ``encoding_errors``.
        """
        folder = Path(folder)
        manifest = read_manifest(folder)
        warn_if_rejected(folder, manifest)
        path = folder / "vocab.txt"
        if verify:
            verify_file(folder, manifest, "vocab.txt")
        tokens = read_tokens(path)
        if len(tokens) != int(manifest["input_dim"]):
            raise DataError(
                f"vocab.txt has {len(tokens)} lines, the manifest says input_dim {manifest['input_dim']} "
                "(expected one line per matrix row)", path
            )
        padding_idx, oov_idx = int(manifest["padding_idx"]), int(manifest["oov_idx"])
        config = manifest.get("config") or {}
        if lowercase is None:
            vocab_cfg = config.get("vocab") if isinstance(config.get("vocab"), dict) else {}
            lowercase = vocab_cfg.get("source", "corpus") == "corpus" and bool(vocab_cfg.get("lowercase", False))
        reserved = frozenset(int(i) for i in manifest.get("reserved_rows", [padding_idx, oov_idx]))
        text = config.get("vectors")  # the vocabulary file was read with these (runner.get_vocabulary)
        text = text if isinstance(text, dict) else {}
        return cls(tuple(tokens), padding_idx, oov_idx, reserved | {padding_idx, oov_idx}, lowercase,
                   encoding=str(text.get("encoding", "utf-8")), encoding_errors=str(text.get("encoding_errors", "strict")))

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def id_to_token(self) -> tuple[str, ...]:
        """``id_to_token[i]`` is the token of row i (the lines of ``vocab.txt``)."""
        return self.tokens

    @property
    def padding_token(self) -> str:
        return self.tokens[self.padding_idx]

    @property
    def oov_token(self) -> str:
        return self.tokens[self.oov_idx]

    def id(self, token: str) -> int:
        """The row of one token; ``oov_idx`` when the vocabulary does not have it.

        >>> Indexer(("[PAD]", "[UNK]", "cat")).id("dog")
        1
        """
        row = self.token_to_id.get(token)
        if row is None and self.lowercase:  # exact first: "[PAD]" and "[UNK]" keep their rows
            row = self.token_to_id.get(token.lower())
        return self.oov_idx if row is None else row

    def split(self, text: str) -> list[str]:
        """The corpus tokenizer embpipe counts vocabularies with: whitespace split, lower-cased if the vocabulary was.

        >>> Indexer(("[PAD]", "[UNK]"), lowercase=True).split("The  cat\\n")
        ['the', 'cat']
        """
        return (text.lower() if self.lowercase else text).split()

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Row ids of a token list (unknown tokens -> ``oov_idx``). Pass ``split(text)`` for raw text.

        >>> Indexer(("[PAD]", "[UNK]", "cat", "sat")).encode(["cat", "dog", "sat"])
        [2, 1, 3]
        """
        if isinstance(tokens, str):
            raise TypeError("encode() takes a list of tokens, not a string; use encode(indexer.split(text))")
        return [self.id(t) for t in tokens]

    def decode(self, ids: Iterable[int], *, skip_padding: bool = True) -> list[str]:
        """Tokens of row ids; padding ids are dropped unless ``skip_padding=False``.

        >>> Indexer(("[PAD]", "[UNK]", "cat")).decode([2, 1, 0])
        ['cat', '[UNK]']
        """
        out = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"ids must be integers; got {i!r}")
            i = int(i)
            if skip_padding and i == self.padding_idx:
                continue
            if not 0 <= i < len(self.tokens):
                raise IndexError(f"id {i} is outside the vocabulary's {len(self.tokens)} rows")
            out.append(self.tokens[i])
        return out

    def encode_batch(
        self,
        batch: Iterable[Iterable[str]],
        length: int | None = None,
        *,
        truncate: str = "post",
        pad: str = "post",
        dtype: Any = np.int64,
    ) -> np.ndarray:
        """A ``(len(batch), length)`` id array, padded with ``padding_idx``.

        ``length=None`` is the longest sequence. A longer sequence loses tokens
        at its end (``truncate="post"``) or start (``"pre"``); a shorter one is
        padded after (``pad="post"``) or before (``"pre"``). The semantics are
        Keras ``pad_sequences``'s, but the defaults are ``"post"`` (what
        ``TextVectorization`` and ``torch...pad_sequence`` do); Keras
        ``pad_sequences``'s own defaults are ``"pre"``/``"pre"``.

        >>> ix = Indexer(("[PAD]", "[UNK]", "a", "b", "c"))
        >>> ix.encode_batch([["a", "b", "c"], ["b"]], length=2).tolist()
        [[2, 3], [3, 0]]
        >>> ix.encode_batch([["a", "b", "c"], ["b"]], length=2, truncate="pre", pad="pre").tolist()
        [[3, 4], [0, 3]]
        """
        for name, value in (("truncate", truncate), ("pad", pad)):
            if value not in SIDES:
                raise ValueError(f"The '{name}' parameter of encode_batch must be 'pre' or 'post'. Got {value!r} instead.")
        if length is not None and (isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0):
            raise ValueError(f"The 'length' parameter of encode_batch must be an int >= 0 or None. Got {length!r} instead.")
        kind = np.dtype(dtype)
        if kind.kind not in "iu" or np.iinfo(kind).max < len(self.tokens) - 1:
            raise ValueError(f"The 'dtype' parameter of encode_batch must be an integer type that holds id "
                             f"{len(self.tokens) - 1}. Got {kind} instead.")
        seqs = [self.encode(tokens) for tokens in batch]
        width = int(length) if length is not None else max((len(s) for s in seqs), default=0)
        out = np.full((len(seqs), width), self.padding_idx, dtype=dtype)
        for r, seq in enumerate(seqs):
            if len(seq) > width:
                seq = seq[:width] if truncate == "post" else seq[len(seq) - width:]
            if not seq:
                continue
            if pad == "post":
                out[r, : len(seq)] = seq
            else:
                out[r, width - len(seq):] = seq
        return out

    # ------------------------------------------------------------------ drift

    def check_word_index(self, source: Mapping[str, int] | Sequence[str] | str | os.PathLike) -> Drift:
        """Compare a tokenizer's ids with this vocabulary's rows; see :class:`Drift`.

        ``source`` may be:

        * a ``{"word": id}`` mapping (Keras ``Tokenizer.word_index``, a Hugging
          Face ``vocab.json`` ...), taken as is (a Keras tokenizer's
          ``num_words`` is not applied: pass its ``to_json()`` file for that);
        * a path to a ``.json`` file: a Keras ``Tokenizer.to_json()`` file or a
          plain ``{"word": id}`` object, read by
          :func:`pipeline.vocab.read_word_index` (a tokenizer's ``num_words``
          limits it as Keras does);
        * a token list, or a path to any other file with one token a line (an
          optional TAB and count after it, as ``vocab.source = "file"`` reads,
          see :func:`pipeline.vocab.read_token_file`): empty entries and the
          padding / OOV tokens are skipped, a repeat keeps its first place, and
          the words take rows 2, 3, ... So the token file an artifact was built
          from and Keras ``TextVectorization.get_vocabulary()`` (``""``,
          ``"[UNK]"``, words) read as their ids;
        * a file laid out as this vocabulary's ``vocab.txt`` (the padding token
          on the first line, the OOV token on line ``oov_idx``): line i is id
          i, each line whole. A ``vocab.txt`` with gap placeholders or the OOV
          row last (a word_index vocabulary) reads as its ids too.
        """
        from pipeline.vocab import is_word_index_path

        if isinstance(source, (str, os.PathLike)) and not is_word_index_path(source):
            return self._token_file_drift(Path(source))
        return self._compare(*self._tokenizer_ids(source))

    def _token_file_drift(self, path: Path) -> Drift:
        """Token-file rules first; a file laid out as ``vocab.txt`` (padding first, the OOV
        token on line ``oov_idx``) is read line i = id i when those rules fail or find drift."""
        rows = _read_row_list(path, self.padding_token)
        vocab_layout = rows is not None and rows[self.oov_idx: self.oov_idx + 1] == [self.oov_token]
        try:
            drift = self._compare(*self._read_tokenizer_file(path))
        except DataError:  # e.g. a TAB inside a token, which the token-file rules read as a count
            if not vocab_layout:
                raise
        else:
            if drift.ok or not vocab_layout:
                return drift
        return self._compare(*self._row_list_ids(rows), str(path))

    def _tokenizer_ids(self, source: Any) -> tuple[dict[str, int], int | None, str]:
        """(word -> id without reserved entries, the tokenizer's own OOV id or None, a name for messages)."""
        if isinstance(source, Mapping):
            ids = {}
            for word, idx in source.items():
                if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or idx < 0:
                    raise DataError(f"word_index entry {word!r}: {idx!r} is not an integer id >= 0")
                ids[str(word)] = int(idx)
            oov_id = ids.pop(self.oov_token, None)
            # The padding token and this vocabulary's gap placeholders at their own rows are not words
            # (as in a vocab.txt read line by line): the inverse of id_to_token reads as no drift.
            ids = {w: i for w, i in ids.items() if not (i in self.reserved and self._token_at(i) == w)}
            return ids, oov_id, "<word_index>"
        if isinstance(source, (str, os.PathLike)):
            return self._read_tokenizer_file(Path(source))
        if isinstance(source, Iterable):
            return *self._token_list_ids(list(source)), "<token list>"
        raise TypeError(f"check_word_index() takes a mapping, a token list or a path; got {type(source).__name__}")

    def _read_tokenizer_file(self, path: Path) -> tuple[dict[str, int], int | None, str]:
        from pipeline.vocab import is_word_index_path, parse_word_index, read_token_file

        common = {"padding_token": self.padding_token, "oov_token": self.oov_token,
                  "encoding": self.encoding, "encoding_errors": self.encoding_errors}
        if is_word_index_path(path):
            # The entries as they are (no max_size: every id the tokenizer emits counts), not laid
            # out as rows: an id far past the others is drift to report, not a gap too large to fill.
            entries = parse_word_index(path, **common)
            ids = {w: i for i, w in entries.kept.items() if i != entries.oov_idx}
            return ids, entries.oov_idx, str(path)
        vocab = read_token_file(path, **common)
        ids = {vocab.tokens[i]: i for i in range(len(vocab.tokens)) if i not in vocab.reserved}
        own_oov = vocab.stats.get("oov_source") != "appended"  # an appended OOV row is not the tokenizer's
        return ids, (vocab.oov_idx if own_oov else None), str(path)

    def _row_list_ids(self, rows: Sequence[str]) -> tuple[dict[str, int], int | None]:
        """Ids of a row list such as an artifact's ``vocab.txt``: line i is id i.

        The padding line, the OOV token's line (its id is returned) and this
        vocabulary's own placeholders at their rows are not words.

        >>> Indexer(("[PAD]", "[UNK]", "a"))._row_list_ids(["[PAD]", "b", "[UNK]", "a"])
        ({'b': 1, 'a': 3}, 2)
        """
        ids: dict[str, int] = {}
        oov_id = None
        for i, tok in enumerate(rows):
            if i == self.padding_idx and tok == self.padding_token:
                continue
            if tok == self.oov_token and oov_id is None:
                oov_id = i
            elif not (i in self.reserved and self._token_at(i) == tok):
                ids.setdefault(tok, i)
        return ids, oov_id

    def _token_at(self, row: int) -> str | None:
        return self.tokens[row] if row < len(self.tokens) else None

    def _token_list_ids(self, tokens: Sequence[str]) -> tuple[dict[str, int], int]:
        """Rows of a token list under the token-file rules (see :meth:`check_word_index`), and its OOV id.

        As a token file, the list reads as padding at 0, OOV at 1 and words
        from 2, whatever the layout of this vocabulary's own rows.

        >>> Indexer(("[PAD]", "[UNK]", "a"))._token_list_ids(["", "[UNK]", "a", "b", "a"])
        ({'a': 2, 'b': 3}, 1)
        """
        from pipeline.vocab import OOV_IDX

        skip = {"", self.padding_token, self.oov_token}
        ids: dict[str, int] = {}
        row = OOV_IDX + 1
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"a token list holds strings; got {type(tok).__name__} {tok!r}")
            if tok in skip or tok in ids:
                continue
            ids[tok] = row
            row += 1
        return ids, OOV_IDX

    def _compare(self, word_ids: dict[str, int], oov_id: int | None, where: str) -> Drift:
        words = {tok: i for i, tok in enumerate(self.tokens) if i not in self.reserved}
        moved = [Moved(t, words[t], i) for t, i in word_ids.items() if t in words and words[t] != i]
        if oov_id is not None and oov_id != self.oov_idx:
            moved.append(Moved(self.oov_token, self.oov_idx, oov_id))
        appeared = [Entry(t, i) for t, i in word_ids.items() if t not in words]
        vanished = [Row(t, r) for t, r in words.items() if t not in word_ids]
        all_ids = list(word_ids.items()) + ([(self.oov_token, oov_id)] if oov_id is not None else [])
        out_of_range = [Entry(t, i) for t, i in all_ids if i >= len(self.tokens)]
        return Drift(
            moved=tuple(sorted(moved, key=lambda m: (m.new_id, m.token))),
            appeared=tuple(sorted(appeared, key=lambda e: (e.id, e.token))),
            vanished=tuple(sorted(vanished, key=lambda r: (r.row, r.token))),
            out_of_range=tuple(sorted(out_of_range, key=lambda e: (e.id, e.token))),
            input_dim=len(self.tokens),
            source=where,
        )


def _shown(token: str, width: int = 40) -> str:
    """A token as the one-line summary shows it: as it is if printable, else its repr; cut to ``width``.

    >>> print(_shown("cat"), _shown("a\\x1bb"), _shown("x" * 50))
    cat 'a\\x1bb' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...
    """
    text = token if token.isprintable() else repr(token)
    return text if len(text) <= width else text[:width] + "..."


def _read_row_list(path: Path, padding_token: str) -> list[str] | None:
    """The lines of ``path`` if its first line is ``padding_token`` (an artifact's ``vocab.txt``), else None.

    Such a file is read as ``vocab.txt`` is written: one token a line, whole
    (a TAB is part of the token, not a count separator).
    """
    from pipeline.sources.files import open_binary

    padding = padding_token.encode("utf-8")
    with open_binary(path) as fh:  # a pipe or a device is refused (StorageError), as every input is
        try:
            if fh.readline(len(padding) + 3).rstrip(b"\r\n") != padding:  # not the whole of a one-line file
                return None
            data = fh.read()
        except (OSError, EOFError, zlib.error):
            return None  # read_token_file reports it
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 2
        raise DataError("not valid utf-8 (expected a vocab.txt written by embpipe)", path, line) from None
    lines = text.split("\n")
    if lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    return [padding_token, *(line.rstrip("\r") for line in lines)]


def check_vocab(artifacts: str | os.PathLike, tokenizer: Mapping[str, int] | Sequence[str] | str | os.PathLike) -> Drift:
    """The drift between an artifact folder's vocabulary and a tokenizer (what ``embpipe check-vocab`` runs).

    >>> check_vocab("artifacts/default", "tokenizer.json").ok   # doctest: +SKIP
    True
    """
    return Indexer.from_artifact(artifacts).check_word_index(tokenizer)
