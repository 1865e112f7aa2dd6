"""The run configuration: one frozen dataclass per stage, read from TOML.

A config file has top-level ``name`` and ``seed`` and one table per stage
(``[vectors]``, ``[vocab]``, ``[align]``, ``[matrix]``, ``[export]``,
``[evaluate]``). :func:`load_config` reads it, applies ``--set`` overrides
(flag > file > default), and checks every key before any work starts: an
unknown key, a wrong type or an out-of-range value raises :class:`ConfigError`
(exit 78) naming the key, what it must be, and the closest valid key.

Input paths stay as written here; :func:`resolve_input` turns one into a real
path (relative to the config file's folder, or ``gensim-test:NAME`` for the
data files that ship with gensim) when a stage needs it.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

GENSIM_TEST_PREFIX = "gensim-test:"
REJECTED_SUFFIX = ".rejected"  # <export.dir>/<name>.rejected/ holds a gate-failing run's output
DEFAULT_CONFIG_NAME = "default.toml"


def _choice(*values: str, default: str) -> Any:
    return field(default=default, metadata={"choices": values})


def _range(default: Any, lo: float | None = None, hi: float | None = None) -> Any:
    return field(default=default, metadata={"min": lo, "max": hi})


@dataclass(frozen=True)
class TrainConfig:
    """gensim ``Word2Vec`` parameters, with gensim's names and defaults."""

    vector_size: int = _range(100, 1, 10_000)
    window: int = _range(5, 1, 1000)
    min_count: int = _range(2, 1)
    sg: int = _range(0, 0, 1)
    hs: int = _range(0, 0, 1)
    negative: int = _range(5, 0, 100)
    sample: float = _range(1e-3, 0.0, 1.0)
    alpha: float = _range(0.025, 0.0, 1.0)
    min_alpha: float = _range(0.0001, 0.0, 1.0)
    epochs: int = _range(5, 1, 10_000)
    workers: int = _range(2, 1, 256)


@dataclass(frozen=True)
class VectorsConfig:
    source: str = _choice("train", "file", default="train")
    corpus: tuple[str, ...] = ("gensim-test:lee_background.cor",)
    lowercase: bool = False
    path: str = ""
    format: str = _choice(
        "auto", "glove", "word2vec-text", "word2vec-binary", "fasttext-vec", "gensim", default="auto"
    )
    # gensim's own .model/.kv files are pickles: reading one runs code from the file.
    trust_pickle: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = _choice("strict", "replace", "ignore", default="strict")
    train: TrainConfig = TrainConfig()


@dataclass(frozen=True)
class VocabConfig:
    source: str = _choice("file", "word_index", "corpus", default="corpus")
    path: str = ""
    corpus: tuple[str, ...] = ()  # empty: reuse [vectors].corpus
    lowercase: bool = False
    min_count: int = _range(1, 1)
    max_size: int = _range(50_000, 1)
    oov_token: str = "[UNK]"
    padding_token: str = "[PAD]"


ALIGN_RULES = ("exact", "lower", "casefold", "digits")


@dataclass(frozen=True)
class AlignConfig:
    # At least one: with none, nothing could match and every row would be initialised.
    rules: tuple[str, ...] = field(default=ALIGN_RULES, metadata={"item_choices": ALIGN_RULES, "non_empty": True})


@dataclass(frozen=True)
class MatrixConfig:
    oov_init: str = _choice("normal", "uniform", "zeros", "mean", default="normal")
    output_dim: int = _range(0, 0)


@dataclass(frozen=True)
class ExportConfig:
    dir: str = "artifacts"
    formats: tuple[str, ...] = field(
        default=(), metadata={"item_choices": ("safetensors", "word2vec", "word2vec-binary", "projector")}
    )
    projector_max_rows: int = _range(0, 0)  # 0: every row


@dataclass(frozen=True)
class GateConfig:
    min_coverage: float = _range(0.0, 0.0, 1.0)
    min_weighted_coverage: float = _range(0.0, 0.0, 1.0)
    min_analogy_accuracy: float = _range(0.0, 0.0, 1.0)
    min_similarity_spearman: float = _range(-1.0, -1.0, 1.0)
    max_oov_share: float = _range(1.0, 0.0, 1.0)


@dataclass(frozen=True)
class EvaluateConfig:
    analogies: str = "gensim-test:questions-words.txt"
    similarity: tuple[str, ...] = ("gensim-test:wordsim353.tsv",)
    probes: tuple[str, ...] = ()
    top_k: int = _range(10, 1, 1000)
    restrict_vocab: int = _range(30_000, 0)  # 0: no limit
    case_insensitive: bool = True
    batch_size: int = _range(1024, 1)
    encoding_errors: str = _choice("strict", "replace", "ignore", default="strict")  # for the analogy and pair files
    gate: GateConfig = GateConfig()


@dataclass(frozen=True)
class CacheConfig:
    enabled: bool = True
    dir: str = ""  # empty: $EMBPIPE_CACHE_DIR, else $XDG_CACHE_HOME/embpipe, else ~/.cache/embpipe
    vectors: bool = True  # a vector file is parsed whole once and memory-mapped after (pipeline/sources/vcache.py)


@dataclass(frozen=True)
class Config:
    name: str = "default"
    seed: int = _range(42, 0, 2**63 - 1)
    vectors: VectorsConfig = VectorsConfig()
    vocab: VocabConfig = VocabConfig()
    align: AlignConfig = AlignConfig()
    matrix: MatrixConfig = MatrixConfig()
    export: ExportConfig = ExportConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    cache: CacheConfig = CacheConfig()
    # Not a key: the folder relative input paths resolve against.
    base_dir: str = field(default=".", metadata={"internal": True})
    source: str = field(default="<embedded default>", metadata={"internal": True})
    overridden: tuple[str, ...] = field(default=(), metadata={"internal": True})  # the keys --set gave

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain TOML-able data (for the manifest)."""
        return _to_plain(self)

    def where(self, message: str) -> str:
        """Where a config error found after loading (a value the data rules out) comes from.

        The ``--set`` that gave the key the message names, else the config file.

        >>> Config(source="run.toml", overridden=("matrix.output_dim",)).where("The 'matrix.output_dim' parameter ...")
        '--set matrix.output_dim'
        """
        key = _key_named(message)
        return f"--set {key}" if key and _overridden(key, self.overridden) else self.source


def _to_plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {
            f.name: _to_plain(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if not f.metadata.get("internal")
        }
    if isinstance(obj, tuple):
        return [_to_plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- reading


def default_config_text() -> str:
    """The embedded default config (the same text as ``configs/default.toml``)."""
    from importlib import resources

    return resources.files("pipeline").joinpath(DEFAULT_CONFIG_NAME).read_text(encoding="utf-8")


_CONFIG_MAX_BYTES = 16 << 20


def load_config(path: str | os.PathLike | None = None, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a TOML config (or the embedded default), apply ``section.key=value`` overrides, validate.

    >>> load_config(None, ["matrix.oov_init=zeros"]).matrix.oov_init
    'zeros'
    """
    if isinstance(overrides, str):
        raise TypeError(f"overrides must be a list of 'section.key=value' strings, not one string: [{overrides!r}]?")
    if path is None:
        text, where, base_dir = default_config_text(), "<embedded default>", Path.cwd()
    else:
        where = str(path)
        try:
            # At most _CONFIG_MAX_BYTES: -c /dev/zero must not fill the memory (a pipe, as from the
            # shell's <(...), is fine). utf-8-sig: Windows Notepad saves UTF-8 with a byte-order
            # mark, which TOML does not allow.
            with open(path, "rb") as fh:
                raw = fh.read(_CONFIG_MAX_BYTES + 1)
            if len(raw) > _CONFIG_MAX_BYTES:
                raise ConfigError(f"config is larger than {_CONFIG_MAX_BYTES >> 20} MiB (expected a TOML file)", where)
            text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads
        except FileNotFoundError:
            raise ConfigError("config file not found (expected a TOML file)", where) from None
        except IsADirectoryError:
            raise ConfigError("config path is a directory (expected a TOML file)", where) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc} (expected a UTF-8 TOML file)", where) from None
        base_dir = Path(path).resolve().parent
    import tomllib  # TOML parsing, suggestions and package lookups are imported where used:
    # the stage configs are also imported by code that reads no config (align, a cached read).

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc), text)
        raise ConfigError(f"invalid TOML: {exc} (expected TOML syntax)", where, line) from None
    except (RecursionError, ValueError) as exc:  # nesting too deep, an integer of thousands of digits
        raise ConfigError(f"invalid TOML: {_toml_limit(exc)} (expected TOML syntax)", where) from None
    for item in overrides:
        _apply_override(data, item)
    overridden = tuple(item.partition("=")[0].strip() for item in overrides)
    try:
        config = _validated(data, where)
    except ConfigError as err:  # name the --set that gave the bad value, not the file that did not
        key = _key_named(err.message)
        if key and _overridden(key, overridden):
            raise ConfigError(err.message, f"--set {key}") from None
        raise
    return dataclasses.replace(config, base_dir=str(base_dir), source=where, overridden=overridden)


def _overridden(key: str, overridden: typing.Sequence[str]) -> bool:
    """Whether a --set of one of ``overridden`` set ``key`` (or a table holding it, or a key inside it)."""
    return any(k == key or k.startswith(key + ".") or key.startswith(k + ".") for k in overridden)


def _validated(data: dict[str, Any], where: str) -> Config:
    config = _build(Config, data, "", where)
    check_name(config.name, where)
    check_encoding(config.vectors.encoding, where=where)
    check_reserved_tokens(config.vocab, where)
    check_objective(config.vectors.train, where)
    for key, folder in (("export.dir", config.export.dir), ("cache.dir", config.cache.dir)):
        if os.path.expanduser(folder).startswith("~"):  # "~nobody/x" stays as it is: a folder named "~nobody"
            raise ConfigError(f"The '{key}' parameter must start with '~' only for the home folder or a "
                              f"known user's. Got {folder!r} instead.", where)
    for section in ("vectors", "vocab"):  # else the path resolves to the config's own folder
        stage = getattr(config, section)
        if stage.source in ("file", "word_index") and not stage.path:
            raise ConfigError(f"The '{section}.path' parameter must name a file when {section}.source = "
                              f"{stage.source!r}. Got '' instead.", where)
    empty = "must list one or more corpus files or folders{}. Got [] instead."
    if not config.vectors.corpus and config.vectors.source == "train":
        raise ConfigError("The 'vectors.corpus' parameter " + empty.format(""), where)
    if not config.vectors.corpus and not config.vocab.corpus and config.vocab.source == "corpus":
        # vocab.corpus = [] counts vectors.corpus
        raise ConfigError("The 'vocab.corpus' parameter " + empty.format(" (or vectors.corpus)"), where)
    trained_dim = config.vectors.train.vector_size
    if config.vectors.source == "train" and config.matrix.output_dim > trained_dim:
        # Known now, before any training: a file's dimension is known only once it is read.
        raise ConfigError(
            f"The 'matrix.output_dim' parameter must be <= vectors.train.vector_size ({trained_dim}). "
            f"Got {config.matrix.output_dim} instead.",
            where,
        )
    return config


def _key_named(message: str) -> str | None:
    """The config key a validation message is about.

    >>> _key_named("The 'matrix.oov_init' parameter must be one of ..."), _key_named("unknown key 'vectorz' (...)")
    ('matrix.oov_init', 'vectorz')
    """
    m = re.match(r"The '([^']+)' parameter|unknown key '([^']+)'", message)
    return (m.group(1) or m.group(2)) if m else None


def _toml_error_line(message: str, text: str) -> int | None:
    """The line tomllib's message names; "at end of document" is the file's last line.

    >>> _toml_error_line("Invalid value (at end of document)", "a = 1\\nb = [1,\\n")
    2
    """
    m = re.search(r"line (\d+)", message)
    if m:
        return int(m.group(1))
    if "end of document" in message:
        return max(text.count("\n") + (not text.endswith("\n")), 1)
    return None


def _toml_limit(exc: Exception) -> str:
    """What a RecursionError or ValueError from tomllib means, in a few words (no traceback, no hint to sys)."""
    if isinstance(exc, RecursionError):
        return "tables or arrays nested too deeply to read"
    return str(exc).split(";")[0]  # "Exceeds the limit (4300 digits) for integer string conversion: ..."


def _apply_override(data: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or "" in (part.strip() for part in key.split(".")):  # "=1", ".seed=1", "a..b=1"
        raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. --set matrix.oov_init=zeros")
    import tomllib

    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if raw.lstrip().startswith(("[", "{", '"', "'")):  # meant as an array, table or string, but not TOML
            why = str(exc).split(" (at line")[0]  # its position is in "v = <raw>", not in what was typed
            raise ConfigError(f"--set {key!r}: invalid TOML value {raw!r}: {why} "
                              "(expected e.g. [\"a.tsv\"] or \"text\")") from None
        value = raw  # a bare word (zeros, glove.txt): take it as a string
    except (RecursionError, ValueError) as exc:  # valid-looking TOML beyond what tomllib can read
        raise ConfigError(f"--set {key!r}: invalid TOML: {_toml_limit(exc)} (expected a TOML value)") from None
    *parents, last = key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {item!r}: {part!r} is a value, not a table")
        node = child
    node[last] = value


# Folder names hold at most 255 bytes; a run also makes ".<name>.lock", "<name>.rejected" and
# ".<name>.tmp-<pid>-<random>" beside the folder.
_NAME_MAX = 128


def check_reserved_tokens(vocab: VocabConfig, where: str | None = None) -> None:
    """Rows 0 and 1's tokens: two different, non-empty, one-line tokens (line i of ``vocab.txt`` is row i)."""
    for key in ("padding_token", "oov_token"):
        token = getattr(vocab, key)
        if not token or "\n" in token or "\r" in token:
            raise ConfigError(
                f"The 'vocab.{key}' parameter must be a non-empty token without line breaks "
                f"(line i of vocab.txt is row i). Got {token!r} instead.",
                where,
            )
    if vocab.padding_token == vocab.oov_token:
        raise ConfigError(
            "The 'vocab.padding_token' and 'vocab.oov_token' parameters must differ. "
            f"Got {vocab.padding_token!r} for both instead.",
            where,
        )


def check_objective(train: TrainConfig, where: str | None = None) -> None:
    """Word2Vec needs hierarchical softmax or negative sampling to train its output layer."""
    if not train.hs and not train.negative:
        raise ConfigError("The 'vectors.train.negative' parameter must be > 0 when 'vectors.train.hs' is 0 "
                          "(one of them trains the output layer). Got 0 instead.", where)


def check_name(name: str, where: str) -> None:
    """A run name must be one safe folder name: it becomes ``<export.dir>/<name>/``."""
    if len(name) > _NAME_MAX:
        raise ConfigError(f"The 'name' parameter must be at most {_NAME_MAX} characters "
                          f"(it names folders). Got {len(name)} characters instead.", where)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or ".." in name:
        raise ConfigError(
            f"The 'name' parameter must be a folder name of letters, digits, '.', '_' or '-' "
            f"(no '/' or '..'). Got {name!r} instead.",
            where,
        )
    if name.endswith(REJECTED_SUFFIX):
        raise ConfigError(
            f"The 'name' parameter must not end in '{REJECTED_SUFFIX}': '<name>{REJECTED_SUFFIX}' is where a run "
            f"that misses the quality gate puts its output. Got {name!r} instead.",
            where,
        )


# ASCII bytes that a stateful or escaping codec reads as something else: a shift into
# ISO-2022 or HZ, a UTF-7 base64 run, a raw-unicode escape, an IDNA label.
_ASCII_PROBES = (bytes(range(128)), b"\x1b$B!\"\x1b(B", b"\x1b$)C\x0e!!\x0f", b"~{!!~}", b"+AGE-", b"\\u00e9", b"xn--caf-dma")


def check_encoding(encoding: str, name: str = "vectors.encoding", where: str | None = None) -> None:
    """ConfigError unless ``encoding`` (the value of parameter ``name``) is one every reader can use.

    Files are split into lines and tokens as bytes, and pure-ASCII text is taken as it is
    without decoding, so every ASCII byte sequence must decode to itself: utf-16 (not
    ASCII-compatible) and utf-7 or iso2022_jp (stateful: ``+AGE-`` is not itself) are refused.
    """
    import codecs

    try:
        codecs.lookup(encoding)
        ok = "a b\n".encode(encoding) == b"a b\n" and all(
            probe.decode(encoding) == probe.decode("ascii") for probe in _ASCII_PROBES
        )
    except (LookupError, UnicodeError):
        ok = False
    if not ok:
        raise ConfigError(
            f"The '{name}' parameter must be an ASCII-compatible, stateless text encoding "
            f"such as 'utf-8' or 'latin-1'. Got {encoding!r} instead.",
            where,
        )


def _build(cls: type, data: Any, prefix: str, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"The '{prefix.rstrip('.')}' parameter must be a table. Got {data!r} instead.", where)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            close = _closest_key(prefix, key, list(fields))
            hint = f"; did you mean '{close}'?" if close else ""
            valid = ", ".join(fields)
            raise ConfigError(
                f"unknown key '{prefix}{key}' (valid keys here: {valid}){hint}", where
            )
        kwargs[key] = _check_value(f"{prefix}{key}", hints[key], fields[key], value, where)
    return cls(**kwargs)


def _closest_key(prefix: str, key: str, here: list[str]) -> str | None:
    """The key a user most likely meant by ``prefix + key``, which is not a key, or None.

    A key of this table that the name starts with or that starts it (``cache.directory``:
    ``cache.dir``, ``export.format``: ``export.formats``); then the same name in another table
    (``train`` is ``vectors.train``, ``evaluate.min_coverage`` is ``evaluate.gate.min_coverage``),
    a key before a table; then the closest spelling here (``nme``: ``name``); then a close
    spelling of a key elsewhere (``vectors.epoch``: ``vectors.train.epochs``). Never the table
    the name is written in.

    >>> _closest_key("", "gate", ["name"]), _closest_key("cache.", "directory", ["enabled", "dir", "vectors"])
    ('evaluate.gate', 'cache.dir')
    """
    import difflib

    stems = [f for f in here if len(f) >= 3 and (key.startswith(f) or f.startswith(key))]
    if stems:
        return prefix + stems[0]
    tables = _dotted_keys(Config, tables_only=True)
    everywhere = [k for k in _dotted_keys(Config) if not prefix.startswith(k + ".")]  # not where it was written
    elsewhere = [k for k in everywhere if k.rsplit(".", 1)[-1] == key]
    if elsewhere:  # nearest to where it was written, a key before a table, the shallowest
        return max(elsewhere, key=lambda k: (k.startswith(prefix), k not in tables, -k.count(".")))
    close = difflib.get_close_matches(key, here, n=1, cutoff=0.6)
    if close:
        return prefix + close[0]
    by_name = {k.rsplit(".", 1)[-1]: k for k in reversed(everywhere)}  # a misspelt key of another table
    close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.8)
    return by_name[close[0]] if close else None


def _dotted_keys(cls: type, prefix: str = "", tables_only: bool = False) -> list[str]:
    """Every key and table of a config dataclass, dotted: ``name``, ..., ``evaluate.gate.min_coverage``."""
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("internal"):
            continue
        table = dataclasses.is_dataclass(hints[f.name])
        if table or not tables_only:
            keys.append(prefix + f.name)
        if table:
            keys += _dotted_keys(hints[f.name], f"{prefix}{f.name}.", tables_only)
    return keys


def _check_value(name: str, hint: Any, f: dataclasses.Field, value: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        got = repr(value)
        if isinstance(value, (datetime.date, datetime.time)):  # TOML reads an unquoted 2026-01-01 as a date
            got = f"the TOML date or time {value.isoformat()} (quote it for a string)"
        return ConfigError(f"The '{name}' parameter must be {expected}. Got {got} instead.", where)

    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{name}.", where)
    origin = typing.get_origin(hint)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]  # a single path where a list is expected
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        choices = f.metadata.get("item_choices")
        if not value and f.metadata.get("non_empty"):
            raise bad(f"a list of one or more of {', '.join(map(repr, choices))}")
        for v in value:
            if not v.strip():  # "" would name the config's own folder as a corpus file
                raise bad("a list of non-empty strings")
            if "\x00" in v:  # no path, token or name holds one; os.stat would raise ValueError
                raise bad("a list of strings without NUL characters")
            if choices and v not in choices:
                raise ConfigError(
                    f"The '{name}' parameter must list only {', '.join(map(repr, choices))}. "
                    f"Got {v!r} instead.",
                    where,
                )
        return tuple(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        value = float(value)
    elif hint is str:
        if not isinstance(value, str):
            raise bad("a string")
        if "\x00" in value:
            raise bad("a string without NUL characters")
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise bad("one of " + ", ".join(map(repr, choices)))
    if isinstance(value, float) and math.isnan(value):
        # nan < lo and nan > hi are both False: it would pass any range (and any gate).
        raise bad("a number (not nan)")
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    # inf passes a one-sided range (inf >= 0), yet no bounded parameter means infinity.
    unbounded = isinstance(value, float) and math.isinf(value) and (lo is not None or hi is not None)
    if unbounded or (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            raise bad(f"in the range [{lo}, {hi}]")
        raise bad(f">= {lo}" if lo is not None else f"<= {hi}")
    return value


# --------------------------------------------------------------------------- paths


def gensim_test_dir() -> Path:
    """The folder of gensim's bundled test data, found without importing gensim (it costs ~1.7 s)."""
    import importlib.util

    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("'gensim-test:' paths need gensim installed (pip install gensim)")
    return Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"


def resolve_input(spec: str, base_dir: str | os.PathLike) -> Path:
    """Turn a path as written in a config into a real path.

    >>> resolve_input("data/v.txt", "/proj/configs").as_posix()
    '/proj/configs/data/v.txt'
    """
    if spec.startswith(GENSIM_TEST_PREFIX):
        return gensim_test_dir() / spec[len(GENSIM_TEST_PREFIX):]
    path = Path(os.path.expanduser(spec))
    return path if path.is_absolute() else Path(base_dir) / path
