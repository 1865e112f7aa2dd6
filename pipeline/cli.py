"""The ``embpipe`` command line: parse, load the config, call one library function, print results.

Each command only parses its options and calls into the library; errors the
library raises (:class:`~pipeline.errors.PipelineError`) are turned into one
line on stderr and an exit code in one place, :meth:`EmbpipeGroup.invoke`.
stdout carries results only; progress and logs go to stderr.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import click

from pipeline import __version__
from pipeline.errors import ConfigError, PipelineError, StorageError

log = logging.getLogger("pipeline")

EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a command the reader of its output left (`| head`) ends with


class _Terminated(KeyboardInterrupt):
    """SIGTERM (what cron's kill, systemd and Kubernetes send to stop a job), raised like Ctrl-C's
    KeyboardInterrupt so that every clean-up on the way out runs for it too."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated()


# --------------------------------------------------------------------------- logging


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, stage, event, message, and any extra figures."""

    _std = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in self._std})
        return json.dumps(data, default=str, ensure_ascii=False)


def setup_logging(verbose: bool, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("pipeline").setLevel(logging.DEBUG if verbose else logging.INFO)
    # gensim's own INFO chatter only with -v.
    logging.getLogger("gensim").setLevel(logging.INFO if verbose else logging.WARNING)


# --------------------------------------------------------------------------- error mapping


class EmbpipeGroup(click.Group):
    """Maps the library's errors to exit codes, in this one place."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            if ctx.meta.get("embpipe.verbose"):
                traceback.print_exc()
            config = ctx.meta.get("embpipe.config")
            if isinstance(exc, ConfigError) and exc.path is None and config is not None:
                exc = ConfigError(exc.message, config.where(exc.message))  # a value the data ruled out, found late
            _error(ctx, "error", str(exc), exc.exit_code)
        except click.ClickException as exc:
            if not _json_logs(ctx):
                raise  # click prints the usage and the error
            _error(ctx, "usage error", exc.format_message(), exc.exit_code)
        except _Terminated:
            _error(ctx, "terminated", "stopped by SIGTERM; published artifacts are left as they were",
                   EXIT_TERMINATED)
        except KeyboardInterrupt:  # not a bug: the shell's code for SIGINT, not 1 (click's "Aborted!")
            _error(ctx, "interrupted", "stopped by SIGINT (Ctrl-C); published artifacts are left as they were",
                   EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader of stdout left early (`embpipe neighbours king | head -1`): stop quietly,
            # as a command killed by SIGPIPE does, and point stdout at /dev/null so that Python's
            # flush at exit does not complain about the pipe too.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
            except (OSError, ValueError):  # a stdout with no descriptor (io.UnsupportedOperation is both)
                pass
            ctx.exit(EXIT_BROKEN_PIPE)
        except (click.exceptions.Exit, click.Abort):
            raise
        except MemoryError as exc:  # not a bug: a job larger than this machine (numpy names the size)
            if ctx.meta.get("embpipe.verbose"):
                traceback.print_exc()
            _error(ctx, "error", f"out of memory: {str(exc) or 'an allocation failed'} (expected more memory, or a "
                   "smaller job: fewer vocabulary rows, a smaller vector_size or evaluate.batch_size)", EXIT_INTERNAL)
        except Exception as exc:  # a bug: say so in one line, the traceback only with -v
            if ctx.meta.get("embpipe.verbose"):
                traceback.print_exc()
            _error(ctx, "internal error", f"{exc.__class__.__name__}: {exc} (rerun with -v for the traceback)",
                   EXIT_INTERNAL)


def _json_logs(ctx: click.Context) -> bool:
    return ctx.meta.get("embpipe.log_format") == "json"


def _error(ctx: click.Context, kind: str, message: str, code: int) -> None:
    """Say ``message`` on stderr in one line, ``embpipe: <kind>: <message>`` or, with ``--log-format json``,
    a JSON record (``event`` the kind, ``exit_code``); then exit with ``code``."""
    if _json_logs(ctx):
        log.error(message, extra={"event": kind.replace(" ", "_"), "exit_code": code})
    else:
        click.echo(f"embpipe: {kind}: {message}", err=True)
    ctx.exit(code)


# --------------------------------------------------------------------------- shared options

# Input paths are not checked by click (no dir_okay / exists / readable): the library answers a
# directory, a missing or an unreadable file in one line with its own exit code (78 for the config,
# 74 for an input file), where click would print a usage error (exit 2).
config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(readable=False, path_type=Path),
    help="TOML config file. Without it, the embedded default (configs/default.toml).",
)
set_option = click.option(
    "--set", "-s", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
    help="Override a config key (repeatable); the value is TOML, e.g. --set evaluate.gate.min_coverage=0.9",
)


force_option = click.option(
    "--force", "-f", "force", multiple=True, is_flag=False, flag_value="all",
    type=click.Choice(["all", "vectors", "vocab", "align", "matrix", "evaluate"]),
    help="Recompute a stage, and every stage that uses it, even if cached (repeatable); --force alone: all.",
)
def _not_nan(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if value != value:  # FloatRange lets NaN through, and a deadline of NaN is never reached
        raise click.BadParameter("must be a number of seconds, not nan", ctx=ctx, param=param)
    return value


wait_option = click.option(
    "--wait", type=click.FloatRange(0), default=0.0, show_default=True, metavar="SECONDS", callback=_not_nan,
    help="If another run holds this artifact folder, wait this long for it (else exit 75 at once); inf: no limit.",
)


def _load(config_path: Path | None, overrides: tuple[str, ...], extra: list[str] | None = None):
    from pipeline.config import load_config

    config = load_config(config_path, [*(extra or []), *overrides])
    click.get_current_context().meta["embpipe.config"] = config  # for where a later ConfigError comes from
    return config


def _toml_abs_path(path: str) -> str:
    """A path given on the command line as a TOML string for ``--set``, made absolute: it is relative
    to the current folder, not to the config's."""
    return json.dumps(str(Path(path).resolve()), ensure_ascii=False)  # TOML takes no \ud83d-style pairs


def _write_out(out: Path, what: str, write: Callable[[BinaryIO], None]) -> bool:
    """``write(stream)`` to ``--out``; True when that was stdout (the summary then goes to stderr).

    ``-``, or a name for the file stdout already is (``/dev/stdout``, even when the shell
    sent it to a file), is written to stdout itself. A regular file is written as a
    temporary file beside it, renamed over it once complete: never half a file. A
    symbolic link is followed: the file it names is replaced and the link stays. Any
    other target (a named pipe, a device) is written to directly: renaming a file over
    it would replace the pipe or device itself.
    """
    if _is_stdout(out):
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            raise StorageError("cannot write the results: stdout is closed (expected an open stdout)", "<stdout>")
        with _writing_stdout():
            sys.stdout.flush()
            write(_WholeWrites(sys.stdout.buffer))
            sys.stdout.buffer.flush()  # a reader that left (`| head`) is a BrokenPipeError here, not at exit
        return True
    special = False
    try:
        special = out.exists() and not out.is_file()  # exists() raises for a name too long, or no access
        if special:
            with open(out, "wb") as fh:
                write(_WholeWrites(fh))
            return False
        from pipeline.system import write_atomic

        write_atomic(Path(os.path.realpath(out)), write)
    except OSError as exc:
        expected = "a reader at the other end" if special else "a writable folder"
        raise StorageError(f"cannot write {what}: {exc.strerror or exc} (expected {expected})", out) from None
    return False


class _WholeWrites:
    """A binary stream whose ``write`` writes all it is given or raises.

    A buffered stream's ``write`` of more than its buffer into a pipe whose reader
    left can return a short count instead of raising (65,536 of 297,780 bytes
    seen): the rest was lost and the command ended with exit 0. The rest is
    written again here, which then raises BrokenPipeError (exit 141).
    """

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        while view:
            n = self.stream.write(view)
            if not n:  # nothing taken and no error: do not spin
                raise BrokenPipeError(errno.EPIPE, "the output was not taken")
            view = view[n:]
        return len(data)

    def flush(self) -> None:
        self.stream.flush()


_STDOUT = Path("<stdout>")  # what --out - becomes; compared by identity: ./- is a file named "-"


def _saved(out: Path | None) -> str | None:
    """Where ``--out`` put the data, for the summary: its path, ``-`` for stdout, None without ``--out``."""
    return None if out is None else "-" if out is _STDOUT else str(out)


def _is_stdout(out: Path) -> bool:
    """Whether ``--out`` names this process's stdout: ``-``, or the same file (``/dev/stdout``, ``/proc/self/fd/1``)."""
    if out is _STDOUT:
        return True
    if sys.stdout is None:  # closed (`>&-`): no file is it
        return False
    try:
        return os.path.samestat(os.stat(out), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError):  # no such file; a stdout with no descriptor (io.UnsupportedOperation)
        return False


def _out_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    if value == "":  # Path("") is the current folder
        raise click.BadParameter("must name a file, not be empty", ctx=ctx, param=param)
    if value == "-":
        return _STDOUT
    return None if value is None else Path(value)


def _echo_json(data, err: bool = False) -> None:
    """A result on stdout (stderr when stdout carries data: ``--out -``): indented for a person, one
    line with ``--log-format json`` (a JSON-lines log)."""
    compact = _json_logs(click.get_current_context())
    text = json.dumps(data, indent=None if compact else 2, ensure_ascii=False, default=str)
    if err:
        click.echo(text, err=True)
    else:
        _echo(text)


def _echo(text: str) -> None:
    """A line of results on stdout; a stdout that cannot take it (a full disk) is a StorageError (exit 74).

    A reader that left the pipe (BrokenPipeError) is not an error: see :meth:`EmbpipeGroup.invoke`.
    """
    with _writing_stdout():
        click.echo(text)


@contextlib.contextmanager
def _writing_stdout():
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot write the results: {exc.strerror or exc} (expected a stdout that takes them)",
                           "<stdout>") from None


# --------------------------------------------------------------------------- commands


@click.group(cls=EmbpipeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="embpipe")
@click.option("-v", "--verbose", is_flag=True, help="Debug logs (and gensim's), tracebacks on errors.")
@click.option("--log-format", type=click.Choice(["human", "json"]), default="human", show_default=True,
              help="Logs on stderr as short lines, or one JSON object per line for schedulers.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, log_format: str) -> None:
    """embpipe: word vectors in, an aligned, evaluated embedding matrix out.

    \b
    Examples:
      embpipe run                                # embedded default: train on gensim's Lee corpus
      embpipe run -c configs/glove.toml --set matrix.oov_init=zeros
      embpipe neighbours king queen -a artifacts/default
    """
    ctx.meta["embpipe.verbose"] = verbose
    ctx.meta["embpipe.log_format"] = log_format
    setup_logging(verbose, log_format)


@cli.command()
@config_option
@set_option
@force_option
@wait_option
def run(config_path: Path | None, overrides: tuple[str, ...], force: tuple[str, ...], wait: float) -> None:
    """Run every stage and publish <export.dir>/<name>/.

    Stages whose inputs did not change are loaded from the cache; a rerun with
    nothing changed does no work. Exit codes: 0 ok, 3 quality gate missed,
    65 bad input data, 74 I/O error, 75 another run holds the folder, 78 bad config.

    \b
    Examples:
      embpipe run
      embpipe run --config configs/glove.toml
      embpipe run --set vectors.train.epochs=10 --set name=ep10
      embpipe run --force matrix --wait 600
    """
    from pipeline.runner import run as run_pipeline

    result = run_pipeline(_load(config_path, overrides), force=force, wait=wait)
    _echo_json({**_summary(result.manifest, result.report, result.artifact_dir), "stages": result.cache})


@cli.command()
@config_option
@set_option
@force_option
def plan(config_path: Path | None, overrides: tuple[str, ...], force: tuple[str, ...]) -> None:
    """Print which stages `embpipe run` would compute, and why, without running anything.

    \b
    Examples:
      embpipe plan --config configs/glove.toml
      embpipe plan --set evaluate.top_k=20
    """
    from pipeline.runner import plan as make_plan

    for row in make_plan(_load(config_path, overrides), force=force):
        _echo(f"{row['stage']:<9} {row['action']:<11} {row['why']}")


def _summary(manifest: dict, report: dict, folder: Path) -> dict:
    from pipeline.report import short_names

    ev = report.get("evaluation") or {}
    sims = ev.get("similarity") or []
    return {
        "artifacts": str(folder),
        "input_dim": manifest["input_dim"],
        "output_dim": manifest["output_dim"],
        "coverage": manifest["coverage"],
        "analogy_accuracy": (ev.get("analogies") or {}).get("cosadd", {}).get("accuracy"),
        # By file name, or by path where two files share a name (one would hide the other).
        "similarity": dict(zip(short_names([s["path"] for s in sims]), (s.get("spearman") for s in sims))),
    }


@cli.command()
@config_option
@set_option
@click.option("--vectors", "vectors_path", type=click.Path(readable=False), help="Vector file (sets vectors.source=file).")
@click.option("--vocab", "vocab_path", type=click.Path(readable=False),
              help="Token file, or a .json word_index (sets vocab.source).")
@click.option("--name", help="Run name: artifacts go to <export.dir>/<name>/ (default: the config's name; "
                             "'default', where `embpipe run` publishes, for the embedded config).")
def build(config_path, overrides, vectors_path, vocab_path, name) -> None:
    """Build and export the matrix without the analogy and similarity scores.

    \b
    Examples:
      embpipe build --vectors glove.6B.300d.txt --vocab tokens.txt --name glove300
      embpipe build --vectors vectors.bin --vocab tokenizer.json
    """
    from pipeline.config import check_name
    from pipeline.runner import run as run_pipeline

    for option, value in (("--vectors", vectors_path), ("--vocab", vocab_path)):
        if value == "":  # not "no option": an empty path would have trained on the default corpus
            raise click.BadParameter("must name a file, not be empty", param_hint=option)
    extra = ['evaluate.analogies=""', "evaluate.similarity=[]"]
    if vectors_path is not None:
        extra += ['vectors.source="file"', f"vectors.path={_toml_abs_path(vectors_path)}"]
    if vocab_path is not None:
        from pipeline.vocab import is_word_index_path

        kind = "word_index" if is_word_index_path(vocab_path) else "file"  # tok.json.gz and TOK.JSON too
        extra += [f'vocab.source="{kind}"', f"vocab.path={_toml_abs_path(vocab_path)}"]
    if name is not None:
        check_name(name, "--name")
        extra.append(f"name={json.dumps(name)}")
    result = run_pipeline(_load(config_path, overrides, extra))
    _echo_json(_summary(result.manifest, result.report, result.artifact_dir))


@cli.command()
@config_option
@set_option
@click.option("--out", type=click.Path(dir_okay=False, readable=False), callback=_out_path,
              help="Also save the vectors in word2vec format (binary if the name ends in .bin, any case; "
                   "'-': text on stdout, the summary on stderr).")
def vectors(config_path, overrides, out) -> None:
    """Train or read the [vectors] of a config and print what came out.

    \b
    Examples:
      embpipe vectors --set vectors.train.epochs=10 --out lee.bin
      embpipe vectors --set vectors.source=file --set vectors.path=glove.txt
      embpipe vectors --out - | head -3
    """
    from pipeline.formats import word2vec_keys
    from pipeline.runner import get_vectors
    from pipeline.sources.io import save_word2vec

    vecs = get_vectors(_load(config_path, overrides))
    to_stdout = False
    if out:
        keys = word2vec_keys(vecs.words, range(len(vecs)), out)
        to_stdout = _write_out(out, "vectors",
                               lambda fh: save_word2vec(fh, keys, vecs.matrix, binary=out.suffix.lower() == ".bin"))
    _echo_json({"count": len(vecs), "dim": vecs.dim, "source": vecs.source, "stats": vecs.stats,
                "saved": _saved(out)}, err=to_stdout)


@cli.command()
@config_option
@set_option
@click.option("--out", type=click.Path(dir_okay=False, readable=False), callback=_out_path,
              help="Write the vocabulary as a token file (token<TAB>count, row order; "
                   "'-': on stdout, the summary on stderr).")
def vocab(config_path, overrides, out) -> None:
    """Build the [vocab] of a config and print its size and first rows.

    \b
    Examples:
      embpipe vocab --out tokens.tsv
      embpipe vocab --set vocab.source=word_index --set vocab.path=tokenizer.json
      embpipe vocab --out - | head -5
    """
    from pipeline.runner import get_vocabulary
    from pipeline.vocab import token_file_text

    voc = get_vocabulary(_load(config_path, overrides))
    to_stdout = False
    if out:
        data = token_file_text(voc, out).encode("utf-8")
        to_stdout = _write_out(out, "the vocabulary", lambda fh: fh.write(data))
    _echo_json({"size": len(voc), "padding_idx": voc.padding_idx, "oov_idx": voc.oov_idx,
                "first": list(voc.tokens[:12]), "stats": voc.stats, "saved": _saved(out)},
               err=to_stdout)


@cli.command()
@click.argument("artifacts", type=click.Path(readable=False, path_type=Path))  # not a folder: exit 74
@config_option
@set_option
def evaluate(artifacts, config_path, overrides) -> None:
    """Evaluate an exported artifact folder with the [evaluate] section of a config; print the results.

    \b
    Examples:
      embpipe evaluate artifacts/default
      embpipe evaluate artifacts/glove --set 'evaluate.similarity=["gensim-test:simlex999.txt"]'
    """
    from pipeline.artifacts import load_artifact
    from pipeline.evaluate import evaluate as run_evaluation

    art = load_artifact(artifacts)
    config = _load(config_path, overrides)
    words, rows = art.matched_rows()
    _echo_json(run_evaluation(words, rows, config.evaluate, base_dir=config.base_dir))


@cli.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--artifacts", "-a", type=click.Path(readable=False, path_type=Path),
              default=Path("artifacts/default"), show_default=True, help="Artifact folder.")
@click.option("--top-k", "-k", type=click.IntRange(1, 1000), default=10, show_default=True)
def neighbours(words, artifacts, top_k) -> None:
    """Print the nearest neighbours (cosine) of WORDS among the matrix's vector-backed rows.

    \b
    Examples:
      embpipe neighbours government police -k 5
      embpipe neighbours king -a artifacts/glove
    """
    from pipeline.artifacts import load_artifact
    from pipeline.evaluate import nearest_neighbours

    art = load_artifact(artifacts)
    vocab_words, rows = art.matched_rows()
    result = nearest_neighbours(vocab_words, rows, list(words), top_k=top_k)
    for word in words:
        hits = result.get(word)
        if hits is None:
            _echo(f"{word}\t(not in the vocabulary's vector-backed rows)")
            continue
        _echo(word + "\t" + "  ".join(f"{w} {s:.3f}" for w, s in hits))


@cli.command("check-vocab")
@click.argument("artifacts", type=click.Path(readable=False, path_type=Path))  # not a folder: exit 74
@click.argument("tokenizer", type=click.Path(readable=False, path_type=Path))
@click.option("--limit", type=click.IntRange(0), default=20, show_default=True,
              help="How many moved / appeared / vanished entries to print (0: counts only).")
def check_vocab_command(artifacts: Path, tokenizer: Path, limit: int) -> None:
    """Check that TOKENIZER gives every token the row ARTIFACTS has for it; exit 65 on drift.

    TOKENIZER is a Keras Tokenizer.to_json() file or a {"word": index} object
    (.json), or a token file, one token a line (words from row 2; a saved
    TextVectorization vocabulary works too), or a vocab.txt (line i is id i),
    decoded as the run read its vocabulary (vectors.encoding in the manifest).
    The report (ok, counts, moved / appeared / vanished entries) goes to stdout
    as JSON.

    \b
    Examples:
      embpipe check-vocab artifacts/default tokenizer.json
      embpipe check-vocab artifacts/glove tokens.txt --limit 0
    """
    from pipeline.errors import DataError
    from pipeline.indexer import check_vocab

    drift = check_vocab(artifacts, tokenizer)
    _echo_json(drift.to_dict(limit=limit))
    if not drift.ok:
        raise DataError(drift.summary(), tokenizer)


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)
    cli.main(args=argv, prog_name="embpipe")


if __name__ == "__main__":
    main()
