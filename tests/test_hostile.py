"""Hand-made hostile inputs, one test each: through the library function and, for several, the CLI.

The files a scheduled job meets on a bad day: a 100 MB single line, a vector
file that changes dimension halfway, NUL bytes, a BOM, CRLF line ends, a
non-breaking space inside a token (GloVe 840B has them), a gzip file cut short,
a directory where a file is expected, a file nobody may read, an output folder
on a read-only path, a run name that escapes its folder, a pickle posing as a
vector file. Each must end in the project's own error -- one line on stderr,
naming the file (and line), with the documented exit code and no traceback --
or in the right result, in bounded time and memory.

Permission tests need permissions to be enforced: run as root (as in this CI),
they fork and drop to ``nobody`` in the child (see :func:`unprivileged`).
Each input that once crashed the code (an exception other than the project's
own, exit 1) keeps its test here, now passing.
"""

from __future__ import annotations

import ast
import bz2
import gzip
import json
import os
import pickle
import pwd
import resource
import select
import shutil
import signal
import subprocess
import stat
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.errors import ConfigError, DataError, PipelineError, StorageError
from pipeline.sources.corpus import corpus_files, iter_sentences
from pipeline.sources.readers import FORMATS, read_vectors
from pipeline.vocab import count_corpus, read_token_file, read_word_index

REPO = Path(__file__).resolve().parents[1]
BOM = b"\xef\xbb\xbf"


# --------------------------------------------------------------------------- helpers


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result, code: int, *fragments: str) -> str:
    """Exit ``code``, the last stderr line is ``embpipe: error: ...`` holding ``fragments``, no traceback."""
    stderr = result["stderr"] if isinstance(result, dict) else result.stderr
    exit_code = result["exit_code"] if isinstance(result, dict) else result.exit_code
    assert exit_code == code, stderr
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("embpipe: error: "), stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
    assert sum("error" in line for line in lines) == 1 and "Traceback" not in stderr, stderr
    return lines[-1]


CONFIG = (
    'name = "small"\nseed = 1\n'
    '[vectors]\nsource = "file"\npath = "vectors.txt"\n'
    '[vocab]\nsource = "file"\npath = "tokens.txt"\n'
    '[evaluate]\nanalogies = ""\nsimilarity = []\n'
)
VECTORS = b"the 0.5 1.5 2.5\nof 1.0 2.0 3.0\nand -1 -2 -3\n"
TOKENS = b"the\t50\nof\t30\nThe\t7\nzzzunknown\t3\n"


def make_project(folder: Path) -> Path:
    """A small GloVe-file project, as in test_cli.py: run.toml, vectors.txt, tokens.txt."""
    (folder / "run.toml").write_text(CONFIG, encoding="utf-8")
    (folder / "vectors.txt").write_bytes(VECTORS)
    (folder / "tokens.txt").write_bytes(TOKENS)
    return folder


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project folder with a small GloVe-file config; the cwd is the project (outputs go to ./artifacts)."""
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def gz_cut(data: bytes) -> bytes:
    packed = gzip.compress(data)
    return packed[: len(packed) * 2 // 3]


def gz_damaged(data: bytes) -> bytes:
    """A full-length gzip file whose deflate data starts with garbage: zlib says "invalid block type"."""
    packed = gzip.compress(data)
    return packed[:10] + b"\xff" * 8 + packed[18:]


def numbers_text(n_rows: int, dim: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(repr(float(x)) for x in row) for row in rng.standard_normal((n_rows, dim)).astype(np.float32)]


# --------------------------------------------------------------------------- running as nobody

try:
    NOBODY = pwd.getpwnam("nobody").pw_uid
except KeyError:  # pragma: no cover - every Linux image here has it
    NOBODY = 65534


def unprivileged(fn, timeout: float = 60.0):
    """``fn()``'s (JSON-able) result, computed where file permissions are enforced.

    Not root: ``fn()`` is called here. Root (who may read a chmod-000 file): in
    a forked child that dropped to uid/gid ``nobody`` first. The child cannot
    import from /root (where this venv's interpreter lives), so every module it
    needs must be imported before the fork (see the ``warm`` fixture).
    """
    if os.geteuid() != 0:
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            except OSError as exc:
                payload = {"skip": f"cannot drop root privileges here ({exc})"}
            else:
                try:
                    payload = {"result": fn()}
                except BaseException as exc:  # noqa: BLE001 - reported to the parent
                    payload = {"crash": f"{exc.__class__.__name__}: {exc}"}
            with os.fdopen(write_end, "wb") as fh:
                fh.write(json.dumps(payload, default=str).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                pytest.fail(f"the unprivileged child did not finish in {timeout} s")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    payload = json.loads(b"".join(chunks) or b"{}")
    if "skip" in payload:
        pytest.skip(payload["skip"])
    assert "crash" not in payload, payload.get("crash")
    return payload["result"]


@pytest.fixture()
def shared_dir(tmp_path):
    """A folder the unprivileged child can use (pytest's tmp_path is private to root)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="embpipe-hostile-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o777)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """One full CLI run here first, so that every module a run imports is loaded before a fork."""
    folder = make_project(tmp_path_factory.mktemp("warm"))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = invoke("run", "-c", "run.toml", "--set", 'export.formats=["word2vec"]')
        assert result.exit_code == 0, result.output
        load_config(folder / "run.toml")
    finally:
        os.chdir(cwd)


def cli_in(folder: Path, *args: str):
    """A function that runs the CLI in ``folder`` (cache inside it) and returns exit code and output."""

    def run():
        os.chdir(folder)
        os.environ["EMBPIPE_CACHE_DIR"] = str(folder / "cache")
        result = CliRunner().invoke(cli, list(args))
        return {"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}

    return run


def open_to_all(folder: Path) -> Path:
    """Let the unprivileged child write in ``folder`` (and read what root wrote there)."""
    for p in [folder, *folder.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    return folder


# --------------------------------------------------------------------------- a 100 MB single line
# These three share one 100 MB file, each read in its own child process (memory is measured per
# process, and a MemoryError or a hang cannot take pytest down). About 9 s in all, the slowest tests here.

HUGE_VALUES = (100 << 20) // 4  # "w" then 100 MB of " 0.1": one line, 26,214,400 values

_HUGE_SCRIPT = r"""
import json, resource, sys, time
from pathlib import Path
which, path = sys.argv[1], Path(sys.argv[2])
out = {}
started = time.monotonic()
try:
    from pipeline.errors import PipelineError
    try:
        if which == "vectors":
            import numpy as np
            from pipeline.sources.readers import read_vectors
            v = read_vectors(path)
            out.update(ok=True, words=list(v.words), shape=list(v.matrix.shape),
                       all_point_one=bool((v.matrix == np.float32(0.1)).all()))
        elif which == "corpus":
            from pipeline.sources.corpus import iter_sentences
            n_sentences = n_tokens = 0
            first = []
            for tokens in iter_sentences([path]):
                n_sentences += 1
                n_tokens += len(tokens)
                first = first or tokens[:2]
            out.update(ok=True, sentences=n_sentences, tokens=n_tokens, first=first)
        elif which == "tokens":
            from pipeline.vocab import read_token_file
            voc = read_token_file(path)
            out.update(ok=True, n_tokens=len(voc.tokens), longest=max(map(len, voc.tokens)))
    except PipelineError as exc:
        out.update(ok=False, error=exc.__class__.__name__, message=str(exc)[:300], line=exc.line)
except BaseException as exc:
    out.update(ok=False, crash=f"{exc.__class__.__name__}: {str(exc)[:300]}")
out["seconds"] = round(time.monotonic() - started, 2)
out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""
HUGE_MEMORY_LIMIT = 6 << 30  # address space of each child: an allocation explosion fails, not the machine


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (HUGE_MEMORY_LIMIT, HUGE_MEMORY_LIMIT))


@pytest.fixture(scope="module")
def huge_line(tmp_path_factory):
    """{"vectors" | "corpus" | "tokens": the child's report} for one 100 MB line read by each reader."""
    path = tmp_path_factory.mktemp("huge") / "huge.txt"
    with open(path, "wb") as fh:
        fh.write(b"w")
        chunk = b" 0.1" * (1 << 18)
        for _ in range(HUGE_VALUES // (1 << 18)):
            fh.write(chunk)
        fh.write(b"\n")
    reports = {}
    for which in ("vectors", "corpus", "tokens"):  # one at a time: on two cores, side by side is slower
        try:
            child = subprocess.run([sys.executable, "-c", _HUGE_SCRIPT, which, str(path)], capture_output=True,
                                   timeout=120, preexec_fn=_limit_memory, cwd=REPO)
        except subprocess.TimeoutExpired:
            reports[which] = {"ok": False, "crash": "hang: no result in 120 s"}
            continue
        lines = child.stdout.decode().strip().splitlines()
        reports[which] = json.loads(lines[-1]) if lines else {"ok": False, "crash": child.stderr.decode()[-500:]}
    path.unlink()
    return reports


def assert_bounded(report, seconds=60, peak_mb=4000):
    assert "crash" not in report, report
    assert report["seconds"] < seconds, report
    assert report["peak_mb"] < peak_mb, report


def test_100mb_single_line_vector_file(huge_line):
    # The right outcome: one row of dim 26,214,400 (nothing in the format forbids it), read in bounded
    # memory -- or a DataError. Not a MemoryError from a 1024-row first allocation.
    report = huge_line["vectors"]
    assert_bounded(report)
    if report["ok"]:
        assert report["words"] == ["w"] and report["shape"] == [1, HUGE_VALUES] and report["all_point_one"]
    else:
        assert report["error"] == "DataError", report


def test_100mb_single_line_corpus(huge_line):
    # One sentence of 26,214,401 tokens. iter_sentences holds the whole line as one token list
    # (about 20x the line in memory, ~2 GB here): bounded, but see the review note.
    report = huge_line["corpus"]
    assert_bounded(report)
    assert report["ok"] and report["sentences"] == 1 and report["tokens"] == HUGE_VALUES + 1, report
    assert report["first"] == ["w", "0.1"]


def test_100mb_single_line_token_file(huge_line):
    # No tab: the whole line is one token, as the documented rule says (a warning is not required).
    report = huge_line["tokens"]
    assert_bounded(report)
    assert report["ok"] and report["n_tokens"] == 3 and report["longest"] == 1 + 4 * HUGE_VALUES, report


# --------------------------------------------------------------------------- dimension switches halfway


def test_glove_file_switching_dimension_halfway_names_the_first_bad_line(tmp_path):
    lines = [f"w{i} {row}" for i, row in enumerate(numbers_text(6, 4))]
    lines += [f"x{i} {row}" for i, row in enumerate(numbers_text(6, 3, seed=1))]
    path = tmp_path / "v.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for kwargs in ({}, {"wanted": {"w0"}}):  # the structure is checked on unwanted rows too
        with pytest.raises(DataError) as info:
            read_vectors(path, **kwargs)
        assert info.value.line == 7 and "row has 3 values, expected 4 as on line 1" in str(info.value)
        assert str(info.value).startswith(f"{path}:7: ")


def test_word2vec_text_switching_dimension_halfway_names_the_first_bad_line(tmp_path):
    rows = [f"w{i} {row}" for i, row in enumerate(numbers_text(6, 4))]
    rows += [f"x{i} {row}" for i, row in enumerate(numbers_text(6, 5, seed=1))]
    path = tmp_path / "v.vec.gz"
    path.write_bytes(gzip.compress(("12 4\n" + "\n".join(rows) + "\n").encode()))
    with pytest.raises(DataError) as info:
        read_vectors(path)
    assert info.value.line == 8 and "row has 5 values, expected 4 as the header on line 1 says" in str(info.value)


def test_word2vec_binary_switching_dimension_halfway_names_the_byte(tmp_path):
    def record(word, dim):
        return word.encode() + b" " + np.arange(dim, dtype="<f4").tobytes() + b"\n"

    path = tmp_path / "v.bin"
    path.write_bytes(b"6 4\n" + b"".join(record(f"w{i}", 4) for i in range(3)) +
                     b"".join(record(f"x{i}", 3) for i in range(3)))
    with pytest.raises(DataError) as info:
        read_vectors(path)
    assert "byte" in str(info.value) and str(path) in str(info.value)


def test_cli_dimension_switch_is_exit_65_naming_the_line(project):
    (project / "vectors.txt").write_bytes(b"the 1 2 3\nof 1 2 3\nand 1 2\nx 1 2\n")
    assert_one_line_error(invoke("run", "-c", "run.toml"), 65, "vectors.txt:3: row has 2 values, expected 3")


# --------------------------------------------------------------------------- NUL bytes


def glove_lines(n: int = 6) -> list[bytes]:
    return [f"w{i} {row}".encode() for i, row in enumerate(numbers_text(n, 3))]


def test_nul_byte_in_a_word(tmp_path):
    lines = glove_lines()
    lines[4] = b"w\x004 1 2 3"
    path = tmp_path / "v.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match="NUL byte") as info:
        read_vectors(path)
    assert info.value.line == 5


def test_nul_byte_in_the_first_lines_is_taken_for_a_binary_file(tmp_path):
    # Format detection reads the first two lines: a NUL there means "binary", refused as a whole.
    path = tmp_path / "v.txt"
    path.write_bytes(b"th\x00e 1 2 3\nof 1 2 3\n")
    with pytest.raises(DataError, match="binary file but not word2vec binary"):
        read_vectors(path)
    with pytest.raises(DataError, match="NUL byte") as info:  # with the format given: the line
        read_vectors(path, "glove")
    assert info.value.line == 1


@pytest.mark.parametrize("value", [b"2\x00", b"\x002", b"\x00"])
def test_nul_byte_in_a_number(tmp_path, value):
    lines = glove_lines()
    lines[3] = b"w3 1 " + value + b" 3"
    path = tmp_path / "v.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match="value 2 is not a number") as info:
        read_vectors(path)
    assert info.value.line == 4
    # Numbers are checked on the rows that are kept (documented): a row nobody wants is not converted.
    assert read_vectors(path, wanted={"w0"}).words == ("w0",)


def test_cli_nul_byte_in_a_vector_word_is_exit_65_naming_the_line(project):
    (project / "vectors.txt").write_bytes(b"the 1 2 3\nof 1 2 3\nand 1 2 3\nba\x00d 1 2 3\n")
    assert_one_line_error(invoke("run", "-c", "run.toml"), 65, "vectors.txt:4:", "NUL byte")


@pytest.mark.parametrize("data", [b"the\no\x00f\nand\n", "the\nof\n".encode("utf-16-le")], ids=["nul", "utf-16-le"])
def test_nul_byte_in_a_token_file_is_a_data_error_naming_the_line(tmp_path, data):
    # read_vectors refuses a NUL in a word ("real tokens never hold one, but a binary or UTF-16 file
    # read as text ... does"); the token file reader should say the same.
    path = tmp_path / "tokens.txt"
    path.write_bytes(data)
    with pytest.raises(DataError, match="NUL") as info:
        read_token_file(path)
    assert info.value.line in (1, 2)


def test_nul_byte_in_a_corpus_is_a_data_error_naming_the_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"the cat sat\non the m\x00at\n")
    with pytest.raises(DataError, match="NUL") as info:
        count_corpus([path])
    assert info.value.line == 2


def test_nul_byte_in_word_index_and_config(tmp_path):
    wi = tmp_path / "wi.json"
    wi.write_bytes(b'{"the": 1,\n"o\x00f": 2}')
    with pytest.raises(DataError, match="not valid JSON") as info:
        read_word_index(wi)
    assert info.value.line == 2
    wi.write_bytes(b'{"the": 1, "o\\u0000f": 2}')  # an escaped NUL is valid JSON: a word like any other
    assert read_word_index(wi).tokens[2] == "o\x00f"
    toml = tmp_path / "run.toml"
    toml.write_bytes(b'seed = 1\nname = "a\x00b"\n')
    with pytest.raises(ConfigError) as info:
        load_config(toml)
    assert info.value.line == 2


# --------------------------------------------------------------------------- BOM


@pytest.mark.parametrize("fmt", FORMATS)
def test_bom_vectors(tmp_path, fmt):
    if fmt == "word2vec-binary":
        data = b"2 2\nthe " + np.array([1, 2], "<f4").tobytes() + b"\nof " + np.array([3, 4], "<f4").tobytes()
    else:
        data = (b"" if fmt == "glove" else b"2 2\n") + b"the 1.0 2.0\nof 3.0 4.0\n"
    path = tmp_path / "v"
    path.write_bytes(BOM + data)
    for asked in ("auto", fmt):
        v = read_vectors(path, asked)
        assert v.words == ("the", "of") and v.matrix.tolist() == [[1, 2], [3, 4]]


def test_bom_token_file_word_index_and_corpus(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_bytes(BOM + b"the\t3\nof\n")
    assert read_token_file(tokens).tokens == ("[PAD]", "[UNK]", "the", "of")
    wi = tmp_path / "wi.json"
    wi.write_bytes(BOM + b'{"the": 1, "of": 2}')
    assert read_word_index(wi).tokens == ("[PAD]", "the", "of", "[UNK]")
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(BOM + b"the of\nthe\n")
    assert list(iter_sentences([corpus])) == [["the", "of"], ["the"]]
    # A BOM is only ever skipped at the very start of a file, never inside it.
    corpus.write_bytes(b"the\n" + BOM + b"of\n")
    assert list(iter_sentences([corpus])) == [["the"], ["\ufeffof"]]


def test_bom_config(tmp_path):
    # Windows Notepad saves UTF-8 with a BOM; every other input here accepts it.
    path = tmp_path / "run.toml"
    path.write_bytes(BOM + CONFIG.encode())
    assert load_config(path).name == "small"


def test_cli_bom_everywhere(project):
    (project / "run.toml").write_bytes(BOM + CONFIG.encode())
    (project / "vectors.txt").write_bytes(BOM + VECTORS)
    (project / "tokens.txt").write_bytes(BOM + TOKENS)
    result = invoke("run", "-c", "run.toml")
    assert result.exit_code == 0, result.output
    art = project / "artifacts" / "small"
    assert (art / "vocab.txt").read_text(encoding="utf-8").split("\n")[:3] == ["[PAD]", "[UNK]", "the"]
    assert np.load(art / "embeddings.npy", allow_pickle=False)[2].tolist() == [0.5, 1.5, 2.5]


# --------------------------------------------------------------------------- CRLF


@pytest.mark.parametrize("fmt", ["glove", "word2vec-text", "fasttext-vec"])
def test_crlf_vectors(tmp_path, fmt):
    head = b"" if fmt == "glove" else b"2 2\r\n"
    tail = b" " if fmt == "fasttext-vec" else b""
    path = tmp_path / "v"
    path.write_bytes(head + b"the 1.5 2.5" + tail + b"\r\nof 3.5 -4.5" + tail + b"\r\n")
    v = read_vectors(path)
    assert v.words == ("the", "of") and v.matrix.tolist() == [[1.5, 2.5], [3.5, -4.5]]


def test_crlf_token_file_word_index_corpus_and_config(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_bytes(b"the\t3\r\nNew York\t2\r\nof\r\n")
    voc = read_token_file(tokens)
    assert voc.tokens == ("[PAD]", "[UNK]", "the", "New York", "of") and voc.counts[2:] == (3, 2, None)
    wi = tmp_path / "wi.json"
    wi.write_bytes(b'{\r\n  "the": 1,\r\n  "of": 2\r\n}\r\n')
    assert read_word_index(wi).tokens == ("[PAD]", "the", "of", "[UNK]")
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"the of\r\nthe\r\n")
    assert count_corpus([corpus]).tokens == ("[PAD]", "[UNK]", "the", "of")
    toml = tmp_path / "run.toml"
    toml.write_bytes(CONFIG.replace("\n", "\r\n").encode())
    assert load_config(toml).vocab.path == "tokens.txt"  # no "\r" left in any value


def test_cli_crlf_everywhere(project):
    (project / "run.toml").write_bytes(CONFIG.replace("\n", "\r\n").encode())
    (project / "vectors.txt").write_bytes(VECTORS.replace(b"\n", b"\r\n"))
    (project / "tokens.txt").write_bytes(TOKENS.replace(b"\n", b"\r\n"))
    result = invoke("run", "-c", "run.toml")
    assert result.exit_code == 0, result.output
    art = project / "artifacts" / "small"
    assert (art / "vocab.txt").read_bytes() == b"[PAD]\n[UNK]\nthe\nof\nThe\nzzzunknown\n"
    assert np.load(art / "embeddings.npy", allow_pickle=False)[3].tolist() == [1.0, 2.0, 3.0]


# --------------------------------------------------------------------------- non-breaking space inside a token


def test_nbsp_inside_a_token_is_part_of_it_in_vectors_and_token_files(tmp_path):
    vec = tmp_path / "v.txt"
    vec.write_bytes("a\u00a0b 1 2 3\na 4 5 6\nb 7 8 9\n".encode())
    v = read_vectors(vec)
    assert v.words == ("a\u00a0b", "a", "b") and v.matrix[0].tolist() == [1, 2, 3]
    tokens = tmp_path / "tokens.txt"
    tokens.write_bytes("a\u00a0b\t4\nb\n".encode())
    assert read_token_file(tokens).tokens[2:] == ("a\u00a0b", "b")
    # A corpus is split by str.split(), as gensim's LineSentence does: U+00A0 separates tokens there.
    corpus = tmp_path / "c.txt"
    corpus.write_bytes("a\u00a0b c\n".encode())
    assert list(iter_sentences([corpus])) == [["a", "b", "c"]]


def test_cli_nbsp_token_gets_the_vector_of_the_nbsp_word(project):
    # GloVe 840B has tokens like "a\xa0b": the vocabulary's "a\xa0b" must get that row, not "a"'s or "b"'s.
    (project / "vectors.txt").write_bytes("a 4 5 6\na\u00a0b 1 2 3\nb 7 8 9\nA\u00a0B 9 9 9\n".encode())
    (project / "tokens.txt").write_bytes("b\na\u00a0b\na\nA\u00a0b\n".encode())
    result = invoke("run", "-c", "run.toml")
    assert result.exit_code == 0, result.output
    art = project / "artifacts" / "small"
    vocab = (art / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    m = np.load(art / "embeddings.npy", allow_pickle=False)
    rows = {tok: m[i].tolist() for i, tok in enumerate(vocab)}
    assert vocab == ["[PAD]", "[UNK]", "b", "a\u00a0b", "a", "A\u00a0b"]
    assert rows["a\u00a0b"] == [1, 2, 3] and rows["a"] == [4, 5, 6] and rows["b"] == [7, 8, 9]
    assert rows["A\u00a0b"] == [1, 2, 3]  # the "lower" rule: "a\xa0b", not "A\xa0B"


# --------------------------------------------------------------------------- gzip cut short


@pytest.mark.parametrize("fmt", FORMATS)
def test_gzip_cut_short_vectors(tmp_path, fmt):
    words = [f"w{i}" for i in range(400)]
    if fmt == "word2vec-binary":
        data = b"400 8\n" + b"".join(w.encode() + b" " + np.full(8, i, "<f4").tobytes() for i, w in enumerate(words))
    else:
        head = b"" if fmt == "glove" else b"400 8\n"
        data = head + b"".join(f"{w} {row}\n".encode() for w, row in zip(words, numbers_text(400, 8)))
    path = tmp_path / "v.gz"
    path.write_bytes(gz_cut(data))
    for asked in ("auto", fmt):
        with pytest.raises(DataError, match="gzip data is damaged or cut short") as info:
            read_vectors(path, asked)
        assert info.value.exit_code == 65 and str(path) in str(info.value)


def test_bzip2_cut_short_inside_its_first_block_does_not_blame_line_1(tmp_path):
    # bzip2 decompresses 900 kB blocks: a cut in the first block fails the read of the first lines
    data = b"".join(f"w{i} {row}\n".encode() for i, row in enumerate(numbers_text(2000, 8)))
    packed = bz2.compress(data)
    path = tmp_path / "v.txt.bz2"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match=r"bzip2 data is damaged or cut short while reading the first lines \(") as info:
        read_vectors(path)
    assert info.value.line is None and "line 1" not in str(info.value)


def test_gzip_cut_short_corpus_token_file_and_word_index(tmp_path):
    corpus = tmp_path / "c.gz"
    corpus.write_bytes(gz_cut(b"".join(f"the cat {i} sat\n".encode() for i in range(3000))))
    with pytest.raises(DataError, match="cut short") as info:
        count_corpus(corpus_files([corpus.name], tmp_path))
    assert info.value.line is not None and info.value.line > 1
    tokens = tmp_path / "t.gz"
    tokens.write_bytes(gz_cut(b"".join(f"tok{i}\t{i}\n".encode() for i in range(3000))))
    with pytest.raises(DataError, match="cut short"):
        read_token_file(tokens)
    wi = tmp_path / "wi.json.gz"
    wi.write_bytes(gz_cut(json.dumps({f"w{i}": i + 1 for i in range(3000)}).encode()))
    with pytest.raises(DataError, match="cut short"):
        read_word_index(wi)


def test_gzip_damaged_in_the_middle_corpus(tmp_path):
    corpus = tmp_path / "c.gz"
    corpus.write_bytes(gz_damaged(b"".join(f"the cat {i} sat\n".encode() for i in range(3000))))
    with pytest.raises(DataError, match="damaged"):
        count_corpus([corpus])


def gz_flipped(data: bytes) -> bytes:
    """A full-length gzip file with 16 bytes flipped halfway: deflate decodes garbage, then the CRC fails."""
    packed = bytearray(gzip.compress(data))
    middle = len(packed) // 2
    packed[middle:middle + 16] = bytes(b ^ 0x5A for b in packed[middle:middle + 16])
    return bytes(packed)


def test_gzip_vectors_whose_damage_decodes_to_garbage_rows_are_reported_damaged_not_as_a_bad_row(tmp_path):
    # These flipped bytes still inflate, to rows of the wrong shape, long before the CRC at the end fails:
    # the message had been "v.gz:2496: row has 70 values ... is this really GloVe text?".
    data = b"".join(f"w{i} {row}\n".encode() for i, row in enumerate(numbers_text(5000, 50)))
    path = tmp_path / "v.gz"
    path.write_bytes(gz_flipped(data))
    with gzip.open(path) as fh, pytest.raises(gzip.BadGzipFile, match="CRC check failed"):
        fh.read()  # the damage is real: gzip itself fails, at the end
    with pytest.raises(DataError, match=r"gzip data is damaged or cut short \(CRC check failed") as info:
        read_vectors(path, "glove")
    assert info.value.line is None and info.value.exit_code == 65


def test_gzip_corpus_that_fails_its_crc_names_no_line(tmp_path):
    # Damaged (not cut short) data may have inflated to garbage lines: a line number would be a guess.
    corpus = tmp_path / "c.gz"
    corpus.write_bytes(gz_flipped(b"".join(f"the cat {i} sat on the mat {i * 7}\n".encode() for i in range(20000))))
    with pytest.raises(DataError, match=r"corpus file is damaged or cut short \(CRC check failed") as info:
        count_corpus([corpus])
    assert info.value.line is None


@pytest.mark.parametrize("reader", [read_token_file, read_word_index], ids=["token file", "word_index"])
def test_gzip_damaged_in_the_middle_token_file(tmp_path, reader):
    path = tmp_path / "t.gz"
    payload = json.dumps({f"w{i}": i + 1 for i in range(3000)}) if reader is read_word_index else \
        "".join(f"tok{i}\t{i}\n" for i in range(3000))
    path.write_bytes(gz_damaged(payload.encode()))
    with pytest.raises(DataError, match="damaged"):
        reader(path)


def test_cli_gzip_cut_short_is_exit_65(project):
    (project / "vectors.gz").write_bytes(gz_cut(b"".join(f"w{i} 1 2 3\n".encode() for i in range(5000))))
    assert_one_line_error(invoke("run", "-c", "run.toml", "--set", 'vectors.path="vectors.gz"'), 65,
                          "vectors.gz:", "gzip data is damaged or cut short")
    (project / "c.gz").write_bytes(gz_cut(b"".join(f"the of {i}\n".encode() for i in range(5000))))
    result = invoke("run", "-c", "run.toml", "--set", 'vocab.source="corpus"', "--set", 'vocab.corpus=["c.gz"]')
    assert_one_line_error(result, 65, "c.gz:", "cut short")
    (project / "t.gz").write_bytes(gz_cut(b"".join(f"tok{i}\n".encode() for i in range(5000))))
    assert_one_line_error(invoke("run", "-c", "run.toml", "--set", 'vocab.path="t.gz"'), 65, "t.gz:", "cut short")


# --------------------------------------------------------------------------- a directory where a file is expected


def test_directory_as_vectors_vocab_and_config_in_the_library(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for read in (read_vectors, read_token_file, read_word_index):
        with pytest.raises(StorageError, match="is a directory") as info:
            read(folder)
        assert info.value.exit_code == 74
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(folder)


@pytest.mark.parametrize("key, source", [("vectors.path", None), ("vocab.path", "file"), ("vocab.path", "word_index")])
def test_cli_directory_as_an_input_file_is_exit_74(project, key, source):
    (project / "folder").mkdir()
    args = ["run", "-c", "run.toml", "--set", f'{key}="folder"']
    if source:
        args += ["--set", f'vocab.source="{source}"']
    assert_one_line_error(invoke(*args), 74, "folder: cannot read file: is a directory")


def test_cli_directory_as_the_config_is_exit_78(project):
    # click does not check the path: load_config answers in one line (ConfigError), not a usage error.
    (project / "folder").mkdir()
    assert_one_line_error(invoke("run", "-c", "folder"), 78, "folder: config path is a directory")


def test_cli_build_directory_as_vectors_or_vocab_is_exit_74(project):
    (project / "folder").mkdir()
    assert_one_line_error(invoke("build", "--vectors", "folder", "--vocab", "tokens.txt"), 74,
                          "folder: cannot read file: is a directory")
    assert_one_line_error(invoke("build", "--vectors", "vectors.txt", "--vocab", "folder"), 74,
                          "folder: cannot read file: is a directory")


def test_cli_corpus_entry_folder_without_files_is_exit_65(project):
    (project / "corpus" / "sub").mkdir(parents=True)
    (project / "corpus" / "sub" / "deep.txt").write_text("the of\n")  # folders are not recursive
    result = invoke("run", "-c", "run.toml", "--set", 'vocab.source="corpus"', "--set", 'vocab.corpus=["corpus"]')
    assert_one_line_error(result, 65, "corpus: corpus folder has no files")
    (project / "corpus" / "a.txt").write_text("the of the\n")  # a file beside the subfolder: read, sub skipped
    result = invoke("run", "-c", "run.toml", "--set", 'vocab.source="corpus"', "--set", 'vocab.corpus=["corpus"]')
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- unreadable files (chmod 000)


@pytest.mark.parametrize("name, code, fragment", [
    ("vectors.txt", 74, "vectors.txt: cannot read file: permission denied"),
    ("tokens.txt", 74, "tokens.txt: cannot read file: permission denied"),
])
def test_unreadable_input_file_is_exit_74(warm, shared_dir, name, code, fragment):
    open_to_all(make_project(shared_dir))
    (shared_dir / name).chmod(0)
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml"))
    assert_one_line_error(result, code, fragment)


def test_an_export_dir_this_user_cannot_write_is_exit_74_before_any_stage_runs(warm, shared_dir):
    # The lock file was there and writable, the folder not: every stage ran (a training run for
    # nothing), then "cannot create the output folder: Permission denied".
    open_to_all(make_project(shared_dir))
    (shared_dir / "artifacts").mkdir()
    (shared_dir / "artifacts" / ".small.lock").touch()
    open_to_all(shared_dir)
    (shared_dir / "artifacts").chmod(0o555)
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml"))
    if "skip" in result:
        pytest.skip(result["skip"])
    assert_one_line_error(result, 74, "artifacts: cannot write into export.dir: no write permission")
    assert "stage vectors" not in result["stderr"]


def test_unreadable_corpus_file_is_exit_74(warm, shared_dir):
    open_to_all(make_project(shared_dir))
    (shared_dir / "c.txt").write_text("the of\n")
    (shared_dir / "c.txt").chmod(0)
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml", "--set", 'vocab.source="corpus"',
                                 "--set", 'vocab.corpus=["c.txt"]'))
    assert_one_line_error(result, 74, "c.txt: cannot read file: permission denied")


def test_unreadable_vector_file_in_the_library(warm, shared_dir):
    path = shared_dir / "v.txt"
    path.write_bytes(VECTORS)
    path.chmod(0)

    def read():
        try:
            read_vectors(path)
        except PipelineError as exc:
            return [exc.__class__.__name__, exc.exit_code, str(exc)]
        return None

    assert unprivileged(read) == ["StorageError", 74, f"{path}: cannot read file: permission denied "
                                                      "(expected an existing, readable file)"]


def test_unreadable_config(warm, shared_dir):
    open_to_all(make_project(shared_dir))
    (shared_dir / "run.toml").chmod(0)

    def load():
        try:
            load_config(shared_dir / "run.toml")
        except PipelineError as exc:
            return [exc.__class__.__name__, exc.exit_code, str(exc)]
        return None

    kind, code, message = unprivileged(load)
    assert (kind, code) == ("ConfigError", 78) and "Permission denied" in message and "\n" not in message
    # Through the CLI the same one line, exit 78 (click does not check readability first).
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml"))
    assert_one_line_error(result, 78, "run.toml", "Permission denied")


def test_unreadable_corpus_folder_is_exit_74(warm, shared_dir):
    open_to_all(make_project(shared_dir))
    (shared_dir / "corpus").mkdir()
    (shared_dir / "corpus" / "a.txt").write_text("the of\n")
    (shared_dir / "corpus").chmod(0)
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml", "--set", 'vocab.source="corpus"',
                                 "--set", 'vocab.corpus=["corpus"]'))
    assert_one_line_error(result, 74, "corpus: cannot read corpus folder: permission denied")


# --------------------------------------------------------------------------- output on a read-only path


def test_export_dir_under_a_read_only_folder_is_exit_74(warm, shared_dir):
    open_to_all(make_project(shared_dir))
    (shared_dir / "ro").mkdir()
    (shared_dir / "ro").chmod(0o555)
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml", "--set", 'export.dir="ro/artifacts"'))
    assert_one_line_error(result, 74, "ro/artifacts", "expected a writable export.dir")
    assert list((shared_dir / "ro").iterdir()) == []


def test_read_only_artifact_folder_keeps_the_earlier_artifacts(warm, shared_dir):
    open_to_all(make_project(shared_dir))
    first = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml"))
    assert first["exit_code"] == 0, first["stderr"]
    art = shared_dir / "artifacts" / "small"
    before = snapshot(art)
    (shared_dir / "artifacts").chmod(0o555)
    again = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml", "--set", 'matrix.oov_init="zeros"'))
    assert_one_line_error(again, 74, "artifacts", "expected a writable export.dir")
    assert snapshot(art) == before
    assert sorted(p.name for p in (shared_dir / "artifacts").iterdir()) == [".small.lock", "small"]


def test_export_dir_that_is_a_regular_file_is_exit_74(project):
    assert invoke("run", "-c", "run.toml").exit_code == 0
    before = snapshot(project / "artifacts" / "small")
    (project / "out").write_text("not a folder")
    assert_one_line_error(invoke("run", "-c", "run.toml", "--set", 'export.dir="out"'), 74, "out: ",
                          "export.dir is not a folder")
    assert (project / "out").read_text() == "not a folder"
    assert snapshot(project / "artifacts" / "small") == before


def test_artifact_path_that_is_a_regular_file_is_exit_74(project):
    (project / "artifacts").mkdir()
    (project / "artifacts" / "small").write_text("not a folder")
    assert_one_line_error(invoke("run", "-c", "run.toml"), 74, "artifacts/small", "not a folder")
    assert (project / "artifacts" / "small").read_text() == "not a folder"


def assert_small_artifacts(art: Path) -> None:
    """The artifacts of the small project (VECTORS aligned to TOKENS), published whole."""
    assert (art / "vocab.txt").read_bytes() == b"[PAD]\n[UNK]\nthe\nof\nThe\nzzzunknown\n"
    m = np.load(art / "embeddings.npy", allow_pickle=False)
    assert m.shape == (6, 3) and m[2].tolist() == [0.5, 1.5, 2.5] and m[4].tolist() == [0.5, 1.5, 2.5]
    assert json.loads((art / "manifest.json").read_text(encoding="utf-8"))["input_dim"] == 6


# cache.py: "a cache that cannot be written costs speed, never the run". A read-only home in a
# Kubernetes pod (~/.cache/embpipe) is the real case; a regular file in its place needs no chmod.
# Every writer is on the way: the hash memo (cache.remembered_digest), the vectors cache
# (sources/vcache.py), the stage cache, and the prepared-corpus work folder of training.


@pytest.mark.parametrize("extra", [[], ["--set", "cache.vectors=false"]], ids=["vectors cache", "stage cache only"])
def test_cache_dir_that_cannot_be_written_costs_speed_not_the_run(project, extra):
    (project / "cachefile").write_text("x")
    for _ in range(2):  # the second run finds nothing cached either, and still succeeds
        result = invoke("run", "-c", "run.toml", "--set", 'cache.dir="cachefile"', "--force", *extra)
        assert result.exit_code == 0, result.stderr
        assert set(json.loads(result.stdout)["stages"].values()) == {"run"}
    assert_small_artifacts(project / "artifacts" / "small")
    assert (project / "cachefile").read_text() == "x"


@pytest.mark.parametrize("command", ["run", "plan"])
def test_cli_a_missing_safetensors_package_names_the_set_that_asked_for_it(project, monkeypatch, command):
    # The line had named "<embedded default>" instead of the --set, and `plan` had printed a normal plan.
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors.numpy -> ImportError
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    result = invoke(command, "-c", "run.toml", "--set", 'export.formats=["safetensors"]')
    assert_one_line_error(result, 78, "--set export.formats: The 'export.formats' parameter lists 'safetensors' "
                                      "but the safetensors package is not installed")
    assert not (project / "artifacts").exists()


@pytest.mark.parametrize("key", ["vectors.corpus", "vocab.corpus"])
def test_cli_a_corpus_listing_a_file_twice_names_the_key_and_the_set_that_gave_it(project, key):
    # The message had said "<embedded default>: The 'corpus' parameter lists ... twice".
    (project / "corpus.txt").write_text("the of and\n", encoding="utf-8")
    result = invoke("run", "-c", "run.toml", "--set", 'vectors.source="train"', "--set", 'vocab.source="corpus"',
                    "--set", f'{key}=["corpus.txt", "./corpus.txt"]')
    assert_one_line_error(result, 78, f"--set {key}: The '{key}' parameter lists ",
                          "twice: through 'corpus.txt' and './corpus.txt'")
    (project / "twice.toml").write_text((project / "run.toml").read_text(encoding="utf-8").replace(
        'source = "file"\npath = "vectors.txt"', 'source = "train"\ncorpus = ["corpus.txt", "corpus.txt"]'),
        encoding="utf-8")
    assert_one_line_error(invoke("run", "-c", "twice.toml"), 78, "twice.toml: The 'vectors.corpus' parameter lists ")


def test_training_with_a_cache_dir_that_cannot_be_written_uses_a_temporary_work_folder(project):
    # The prepared corpus goes under <cache>/work/<name>/; when that cannot be created, a temporary folder.
    (project / "cachefile").write_text("x")
    (project / "corpus.txt").write_text("the of and the of\nof the and a\n" * 50, encoding="utf-8")
    result = invoke(
        "run", "-c", "run.toml", "--set", 'cache.dir="cachefile"', "--set", 'vectors.source="train"',
        "--set", 'vectors.corpus=["corpus.txt"]', "--set", "vectors.train.min_count=1",
        "--set", "vectors.train.vector_size=3", "--set", "vectors.train.epochs=1", "--set", "vectors.train.workers=1",
    )
    assert result.exit_code == 0, result.stderr
    assert "using a temporary folder" in result.stderr
    art = project / "artifacts" / "small"
    assert np.load(art / "embeddings.npy", allow_pickle=False).shape == (6, 3)
    assert (project / "cachefile").read_text() == "x"


def test_training_whose_work_folder_cannot_be_written_any_more_uses_a_temporary_one(project, monkeypatch):
    # The folder exists from an earlier run but takes no new file (a read-only mount, a chmod by
    # someone else; here the immutable flag, which binds root too). The stale prepared corpus could
    # not be removed: "internal error: PermissionError", exit 1.
    monkeypatch.setenv("EMBPIPE_CACHE_DIR", str(project / "cache"))
    (project / "corpus.txt").write_text("the of and the of\nof the and a\n" * 50, encoding="utf-8")
    args = ["run", "-c", "run.toml", "--set", 'vectors.source="train"', "--set", 'vectors.corpus=["corpus.txt"]',
            "--set", "vectors.train.min_count=1", "--set", "vectors.train.vector_size=3",
            "--set", "vectors.train.epochs=1", "--set", "vectors.train.workers=1"]
    assert invoke(*args).exit_code == 0
    work = project / "cache" / "work" / "small"
    assert any(work.glob("corpus-*.txt"))
    if subprocess.run(["chattr", "+i", str(work)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here")
    try:
        (project / "corpus.txt").write_text("a the of\n" * 80, encoding="utf-8")  # prepared again
        result = invoke(*args)
    finally:
        subprocess.run(["chattr", "-i", str(work)], check=True)
    assert result.exit_code == 0, result.stderr
    assert "using a temporary folder" in result.stderr
    assert np.load(project / "artifacts" / "small" / "embeddings.npy", allow_pickle=False).shape == (6, 3)


def test_cache_turned_off_writes_nothing_in_the_cache_folder(project, monkeypatch):
    # Training had kept a full copy of the corpus in <cache>/work/<name>/ even with the cache off.
    monkeypatch.setenv("EMBPIPE_CACHE_DIR", str(project / "cache"))
    (project / "corpus.txt").write_text("the of and the of\nof the and a\n" * 50, encoding="utf-8")
    trained = ["--set", 'vectors.source="train"', "--set", 'vectors.corpus=["corpus.txt"]',
               "--set", "vectors.train.min_count=1", "--set", "vectors.train.vector_size=3",
               "--set", "vectors.train.epochs=1", "--set", "vectors.train.workers=1"]
    for extra in ([], trained):
        result = invoke("run", "-c", "run.toml", "--set", "cache.enabled=false", *extra)
        assert result.exit_code == 0, result.stderr
        assert set(json.loads(result.stdout)["stages"].values()) == {"run"}
        assert not (project / "cache").exists(), sorted(p.name for p in (project / "cache").rglob("*"))


def test_read_only_cache_dir_costs_speed_not_the_run(warm, shared_dir):
    # The pod case itself: the cache folder exists, owned by someone else, and cannot be written.
    open_to_all(make_project(shared_dir))
    (shared_dir / "cache").mkdir(mode=0o555)
    (shared_dir / "cache").chmod(0o555)
    result = unprivileged(cli_in(shared_dir, "run", "-c", "run.toml"))
    assert result["exit_code"] == 0, result["stderr"]
    assert_small_artifacts(shared_dir / "artifacts" / "small")
    assert list((shared_dir / "cache").iterdir()) == []


# --------------------------------------------------------------------------- run names that escape their folder


@pytest.mark.parametrize("name", ["a/b", "..", "../x", "a..b", "/abs", ".hidden", "", "a\\b", "x/", "a\x00b", "é"])
def test_run_name_that_is_not_a_plain_folder_name_is_exit_78(project, name):
    result = invoke("run", "-c", "run.toml", "--set", f"name={json.dumps(name)}")
    assert_one_line_error(result, 78, "'name' parameter")
    assert not (project / "artifacts").exists() and not (project.parent / "x").exists()
    path = project / "named.toml"
    path.write_text(CONFIG.replace('name = "small"', f"name = {json.dumps(name)}"), encoding="utf-8")
    with pytest.raises(ConfigError, match="'name' parameter"):
        load_config(path)


def test_build_name_with_a_slash_is_exit_78(project):
    result = invoke("build", "--vectors", "vectors.txt", "--vocab", "tokens.txt", "--name", "../escape")
    assert_one_line_error(result, 78, "'name' parameter")
    assert not (project.parent / "escape").exists()


# --------------------------------------------------------------------------- pickles


def test_every_np_load_in_the_package_refuses_pickles():
    calls = []
    for path in sorted((REPO / "pipeline").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in ("np", "numpy")):
                kw = {k.arg: k.value for k in node.keywords}
                refuses = isinstance(kw.get("allow_pickle"), ast.Constant) and kw["allow_pickle"].value is False
                calls.append((f"{path.relative_to(REPO)}:{node.lineno}", refuses))
    assert calls, "no np.load( found: did the package move?"
    assert [where for where, refuses in calls if not refuses] == []


class _Marker:
    """Unpickling this creates ``path`` (so a test can tell whether anything was unpickled)."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def pickle_files(folder: Path, marker: Path) -> dict[str, bytes]:
    protocols = range(pickle.HIGHEST_PROTOCOL + 1)
    files = {f"protocol {p}": pickle.dumps(_Marker(str(marker)), protocol=p) for p in protocols}
    files["gzip pickle"] = gzip.compress(files["protocol 4"])
    files["bz2 pickle"] = bz2.compress(files["protocol 2"])
    npy = folder / "obj.npy"
    np.save(npy, np.array([_Marker(str(marker))], dtype=object), allow_pickle=True)
    files["object .npy"] = npy.read_bytes()
    return files


def test_pickle_given_as_a_vector_file_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "UNPICKLED"
    for label, data in pickle_files(tmp_path, marker).items():
        path = tmp_path / "vectors.pkl"
        path.write_bytes(data)
        for fmt in ("auto", *FORMATS):
            with pytest.raises(DataError) as info:
                read_vectors(path, fmt)
            assert str(path) in str(info.value), (label, fmt)
        assert not marker.exists(), f"{label} was unpickled"


def test_cli_pickle_as_vectors_is_exit_65_and_never_unpickled(project):
    marker = project / "UNPICKLED"
    (project / "vectors.txt").write_bytes(pickle.dumps(_Marker(str(marker)), protocol=4))
    assert_one_line_error(invoke("run", "-c", "run.toml"), 65, "vectors.txt")
    (project / "vectors.txt").write_bytes(pickle.dumps(_Marker(str(marker)), protocol=0))  # text-like
    assert_one_line_error(invoke("run", "-c", "run.toml"), 65, "vectors.txt")
    assert not marker.exists()


# --------------------------------------------------------------------------- word_index that asks for too much

_HUGE_INDEX_SCRIPT = r"""
import sys, json
from pipeline.errors import PipelineError
from pipeline.vocab import read_word_index
try:
    v = read_word_index(sys.argv[1])
    print(json.dumps({"ok": True, "rows": len(v.tokens)}))
except PipelineError as exc:
    print(json.dumps({"ok": False, "error": exc.__class__.__name__, "message": str(exc)}))
"""


def test_word_index_with_a_huge_index_is_a_data_error_not_a_hang(tmp_path):
    path = tmp_path / "wi.json"
    path.write_text(json.dumps({"the": 1, "of": 10**12}), encoding="utf-8")
    try:
        out = subprocess.run([sys.executable, "-c", _HUGE_INDEX_SCRIPT, str(path)], capture_output=True,
                             timeout=20, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)),
                             cwd=REPO)
    except subprocess.TimeoutExpired:
        pytest.fail("read_word_index did not finish in 20 s")
    lines = out.stdout.decode().strip().splitlines()
    assert lines, out.stderr.decode()[-300:]
    assert json.loads(lines[-1]).get("error") == "DataError", lines[-1]


def test_cli_word_index_with_a_huge_index_is_capped_by_max_size(project):
    # Through a config, vocab.max_size (default 50000) cuts the index before any row is made.
    (project / "wi.json").write_text(json.dumps({"the": 1, "of": 10**12}), encoding="utf-8")
    result = invoke("run", "-c", "run.toml", "--set", 'vocab.source="word_index"', "--set", 'vocab.path="wi.json"')
    assert result.exit_code == 0, result.output
    assert (project / "artifacts" / "small" / "vocab.txt").read_text().split("\n")[:-1] == ["[PAD]", "the", "[UNK]"]


def test_cli_word_index_word_with_a_line_break_is_exit_65(project):
    (project / "wi.json").write_text(json.dumps({"the": 1, "new\nline": 2}), encoding="utf-8")
    result = invoke("run", "-c", "run.toml", "--set", 'vocab.source="word_index"', "--set", 'vocab.path="wi.json"')
    assert_one_line_error(result, 65, "wi.json")


# --------------------------------------------------------------------------- a folder that is not embpipe's


def test_cli_run_never_deletes_a_folder_embpipe_did_not_make(project, monkeypatch):
    # `cd ws; embpipe run --set 'export.dir="."' --set name=precious` used to replace ws/precious whole.
    (project / "precious").mkdir()
    (project / "precious" / "thesis.txt").write_text("thesis")
    # Refused before any work: not even the inputs are hashed.
    monkeypatch.setattr("pipeline.runner.stage_fingerprints", lambda *a: pytest.fail("inputs were fingerprinted"))
    result = invoke("run", "-c", "run.toml", "--set", 'export.dir="."', "--set", "name=precious")
    assert_one_line_error(result, 74, "precious: ", "not an embpipe artifact folder", "move it away")
    assert (project / "precious" / "thesis.txt").read_text() == "thesis"
    assert [p.name for p in (project / "precious").iterdir()] == ["thesis.txt"]


# --------------------------------------------------------------------------- a damaged published folder


def _edit_report(art: Path, **fields) -> None:
    """Change report.json and its sha256 and size in the manifest to match, as a careless edit would."""
    import hashlib

    data = json.dumps({**json.loads((art / "report.json").read_text()), **fields}).encode()
    (art / "report.json").write_bytes(data)
    manifest = json.loads((art / "manifest.json").read_text())
    manifest["files"]["report.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (art / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [
    lambda art: (art / "manifest.json").write_text('{"run": 5}'),
    lambda art: (art / "manifest.json").write_text("[" * 5000 + "]" * 5000),
    lambda art: (art / "report.json").write_bytes(b"\xff" * (art / "report.json").stat().st_size),
    lambda art: _edit_report(art, evaluation="x"),
    lambda art: _edit_report(art, evaluation={"analogies": "x"}),
    lambda art: _edit_report(art, evaluation={"similarity": [1]}),
], ids=["manifest run is 5", "manifest nested 5,000 deep", "report.json not UTF-8, same size",
        "evaluation a string", "analogies a string", "similarity of numbers"])
def test_cli_rerun_run_force_and_plan_rebuild_a_damaged_published_folder(project, damage):
    assert invoke("run", "-c", "run.toml").exit_code == 0
    art = project / "artifacts" / "small"
    good = snapshot(art)
    for args in (["plan"], ["run"], ["run", "--force"]):
        damage(art)
        result = invoke(*args, "-c", "run.toml")
        assert result.exit_code == 0, result.output
        if args == ["plan"]:
            export = [line for line in result.stdout.splitlines() if line.startswith("export")]
            assert export and " run " in export[0] and ".json" in export[0], result.stdout
        else:
            after = snapshot(art)
            assert {n: after[n] for n in ("embeddings.npy", "vocab.txt", "oov.txt")} == \
                {n: good[n] for n in ("embeddings.npy", "vocab.txt", "oov.txt")}
            assert json.loads(result.stdout)["input_dim"] == 6
            assert invoke("neighbours", "the", "-a", str(art)).exit_code == 0  # verifies every file


# --------------------------------------------------------------------------- reading artifacts back


@pytest.fixture()
def published(project):
    assert invoke("run", "-c", "run.toml").exit_code == 0
    return project / "artifacts" / "small"


def _as_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _swap_the_and_of(path: Path) -> None:
    text = path.read_text()
    path.write_text(text.replace("the\nof\n", "of\nthe\n"))


ARTIFACT_COMMANDS = [["neighbours", "the", "-a", "artifacts/small"], ["evaluate", "artifacts/small", "-c", "run.toml"],
                     ["check-vocab", "artifacts/small", "tokens.txt"]]


@pytest.mark.parametrize("damage, code, fragment", [
    (lambda art: (art / "manifest.json").write_text("[" * 5000 + "]" * 5000), 65,
     "manifest.json: manifest is nested too deeply"),
    (lambda art: _as_directory(art / "manifest.json"), 74, "manifest.json: cannot read manifest: is a directory"),
], ids=["manifest nested 5,000 deep", "manifest a folder"])
@pytest.mark.parametrize("command", ARTIFACT_COMMANDS, ids=lambda c: c[0])
def test_cli_commands_reading_a_bad_manifest_exit_65_or_74(published, command, damage, code, fragment):
    damage(published)
    assert_one_line_error(invoke(*command), code, fragment)


@pytest.mark.parametrize("damage, code, fragment", [
    (lambda art: _swap_the_and_of(art / "vocab.txt"), 65, "vocab.txt: sha256"),  # used to label neighbours wrongly
    (lambda art: (art / "oov.txt").write_bytes(b"\xff\xfe\n"), 65, "oov.txt: sha256"),
    (lambda art: _as_directory(art / "vocab.txt"), 74, "vocab.txt: cannot read file: is a directory"),
    (lambda art: _as_directory(art / "oov.txt"), 74, "oov.txt: cannot read file: is a directory"),
], ids=["vocab lines swapped", "oov not UTF-8", "vocab a folder", "oov a folder"])
@pytest.mark.parametrize("command", ARTIFACT_COMMANDS[:2], ids=lambda c: c[0])
def test_cli_neighbours_and_evaluate_check_vocab_and_oov(published, command, damage, code, fragment):
    damage(published)
    assert_one_line_error(invoke(*command), code, fragment)


def test_framework_loaders_and_indexer_refuse_a_deep_manifest_with_a_data_error(published):
    from pipeline.frameworks import torch_embedding
    from pipeline.indexer import Indexer

    (published / "manifest.json").write_text("[" * 5000 + "]" * 5000)
    loaders = [Indexer.from_artifact]
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        loaders.append(torch_embedding)
    for load in loaders:
        with pytest.raises(DataError, match="nested too deeply") as info:
            load(published)
        assert info.value.path == str(published / "manifest.json")


def published_for_nobody(folder: Path) -> None:
    """A project in ``folder`` with its artifacts published, every file open to the unprivileged child."""
    import pipeline.artifacts  # noqa: F401 - the unprivileged child cannot import
    import pipeline.evaluate  # noqa: F401
    import pipeline.indexer  # noqa: F401

    open_to_all(make_project(folder))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        assert invoke("run", "-c", "run.toml").exit_code == 0
    finally:
        os.chdir(cwd)
    open_to_all(folder)


@pytest.mark.parametrize("name, fragment", [
    ("manifest.json", "manifest.json: cannot read manifest: permission denied"),
    ("vocab.txt", "vocab.txt: cannot read file: permission denied"),
    ("oov.txt", "oov.txt: cannot read file: permission denied"),
])
def test_cli_neighbours_on_an_unreadable_artifact_file_is_exit_74(warm, shared_dir, name, fragment):
    published_for_nobody(shared_dir)
    (shared_dir / "artifacts" / "small" / name).chmod(0)
    result = unprivileged(cli_in(shared_dir, "neighbours", "the", "-a", "artifacts/small"))
    assert_one_line_error(result, 74, fragment)


@pytest.mark.parametrize("command", [["neighbours", "the", "-a", "artifacts/small"],
                                     ["evaluate", "artifacts/small", "-c", "run.toml"],
                                     ["check-vocab", "artifacts/small", "tokens.txt"]], ids=lambda c: c[0])
def test_cli_unreadable_artifact_folder_is_exit_74_not_a_usage_error(warm, shared_dir, command):
    published_for_nobody(shared_dir)
    (shared_dir / "artifacts" / "small").chmod(0)
    result = unprivileged(cli_in(shared_dir, *command))
    assert_one_line_error(result, 74, "artifacts/small/manifest.json: cannot read manifest: permission denied")


def test_cli_check_vocab_with_an_unreadable_tokenizer_is_exit_74(warm, shared_dir):
    published_for_nobody(shared_dir)
    (shared_dir / "tokens.txt").chmod(0)
    result = unprivileged(cli_in(shared_dir, "check-vocab", "artifacts/small", "tokens.txt"))
    assert_one_line_error(result, 74, "tokens.txt: cannot read file: permission denied")


# --------------------------------------------------------------------------- files named by --out


@pytest.mark.parametrize("command", ["vocab", "vectors"])
def test_cli_out_through_a_symlink_replaces_the_file_it_names_and_keeps_the_link(project, command):
    (project / "real.txt").write_text("keep?\n")
    (project / "link.txt").symlink_to("real.txt")
    result = invoke(command, "-c", "run.toml", "--out", "link.txt")
    assert result.exit_code == 0, result.output
    assert (project / "link.txt").is_symlink() and os.readlink(project / "link.txt") == "real.txt"
    written = (project / "real.txt").read_text()
    assert written.splitlines()[0] == ("the\t50" if command == "vocab" else "3 3")
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []  # no temporary file left


@pytest.mark.parametrize("command", ["vocab", "vectors"])
def test_cli_out_to_a_named_pipe_writes_into_the_pipe_and_keeps_it(project, command):
    import stat

    fifo = project / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader first, so the writer's open does not block
    try:
        result = invoke(command, "-c", "run.toml", "--out", str(fifo))
        assert result.exit_code == 0, result.output
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # renaming a file over it would have replaced the pipe
    assert received.splitlines()[0] == ("the\t50" if command == "vocab" else "3 3")


def embpipe_process(folder: Path, *args: str, **popen):
    """``python -m pipeline ARGS`` in ``folder`` as a real process (stdout a real file or pipe, not CliRunner's)."""
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=folder, stderr=subprocess.PIPE, **popen)


@pytest.mark.parametrize("command", ["vocab", "vectors"])
def test_cli_out_dash_writes_the_data_to_stdout_and_the_summary_to_stderr(project, command):
    to_file = invoke(command, "-c", "run.toml", "--out", "saved.txt")
    assert to_file.exit_code == 0, to_file.output
    result = invoke(command, "-c", "run.toml", "--out", "-")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == (project / "saved.txt").read_bytes()  # the same bytes as a file gets
    summary = json.loads(result.stderr[result.stderr.index("{"):])
    expected = {**json.loads(to_file.stdout), "saved": "-"}
    summary["stats"].pop("vectors_cache", None), expected["stats"].pop("vectors_cache", None)  # "built", then "hit"
    assert summary == expected
    assert not (project / "-").exists()


@pytest.mark.parametrize("command", ["vocab", "vectors"])
def test_cli_out_dev_stdout_sent_to_a_file_appends_the_data_there_and_keeps_the_summary(project, command):
    invoke(command, "-c", "run.toml", "--out", "saved.txt")
    shell_file = project / "log.txt"
    shell_file.write_text("earlier output\n")
    with open(shell_file, "ab") as stdout:  # as the shell's `>> log.txt`
        proc = embpipe_process(project, command, "-c", "run.toml", "--out", "/dev/stdout", stdout=stdout)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    # Renaming a temporary file over log.txt (what a regular --out file gets) had dropped the earlier
    # output and sent the summary to the replaced file, which nobody could read any more.
    assert shell_file.read_bytes() == b"earlier output\n" + (project / "saved.txt").read_bytes()
    summary = json.loads(stderr[stderr.index(b"{"):])
    assert summary["saved"] == "/dev/stdout"


@pytest.mark.parametrize("args", [["vectors", "--out", "-"], ["vocab", "--out", "-"], ["neighbours", "the", "-a",
                                                                                        "artifacts/small"]])
def test_cli_stdout_closed_by_its_reader_ends_quietly_with_exit_141(project, args):
    if args[0] == "neighbours":
        assert invoke("run", "-c", "run.toml").exit_code == 0
    else:
        args = [args[0], "-c", "run.toml", *args[1:]]
    proc = embpipe_process(project, *args, stdout=subprocess.PIPE)
    proc.stdout.close()  # the reader left at once, as `| head -0` does: every write to stdout fails
    _, stderr = proc.communicate(timeout=120)
    # 128 + SIGPIPE, as the shell reports a command the pipe's reader left; no "internal error" line
    assert proc.returncode == 141, stderr
    assert b"Traceback" not in stderr and b"error" not in stderr.lower(), stderr


def test_cli_vocab_out_stdout_whose_reader_leaves_midway_exits_141_not_0(project):
    # 300 KB in one write: the buffered stream took 65,536 bytes, said so without an error, and the
    # command ended with exit 0 and '"saved": "-"', though most of the vocabulary never arrived.
    (project / "big.tsv").write_text("".join(f"word{i}\t{i}\n" for i in range(20000)), encoding="utf-8")
    proc = embpipe_process(project, "vocab", "-c", "run.toml", "--set", 'vocab.path="big.tsv"', "--out", "-",
                           stdout=subprocess.PIPE)
    assert proc.stdout.read(10) == b"word0\t0\nwo"  # the reader takes a little, as `| head -c 10` does, then leaves
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141, stderr
    assert b"Traceback" not in stderr and b"error" not in stderr.lower(), stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args", [["vocab"], ["vocab", "--out", "-"], ["plan"]])
def test_cli_stdout_on_a_full_disk_is_exit_74_in_one_line(project, args):
    with open("/dev/full", "wb") as full:  # every write: ENOSPC
        proc = embpipe_process(project, args[0], "-c", "run.toml", *args[1:], stdout=full)
        _, stderr = proc.communicate(timeout=120)
    # It was "internal error: OSError: [Errno 28] ..." with exit 1, as if embpipe had a bug
    assert_one_line_error({"exit_code": proc.returncode, "stderr": stderr.decode()}, 74,
                          "<stdout>: cannot write the results: No space left on device")


def test_cli_out_of_memory_is_one_line_that_says_so_not_a_bug(project, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (200000, 10000) and data type float32")

    monkeypatch.setattr("pipeline.runner.run", too_big)
    result = invoke("run", "-c", "run.toml")
    # it was "internal error: MemoryError: ... (rerun with -v for the traceback)", as for a bug
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "embpipe: error: out of memory: Unable to allocate 7.45 GiB for an array with shape (200000, 10000) and data "
        "type float32 (expected more memory, or a smaller job: fewer vocabulary rows, a smaller vector_size or "
        "evaluate.batch_size)"]


def test_cli_out_with_a_name_too_long_is_exit_74(project):
    result = invoke("vocab", "-c", "run.toml", "--out", "a" * 300 + ".tsv")  # Path.exists() raised ENAMETOOLONG
    assert_one_line_error(result, 74, "cannot write the vocabulary: File name too long")


def test_cli_out_keeps_the_replaced_files_permissions_takes_a_name_near_the_limit_and_any_case_of_bin(project):
    # A 0600 file had become 0644 (a temporary file renamed over it); a 249-character name, valid alone,
    # failed with "File name too long" (the temporary name added a suffix); and "V.BIN" was written as text.
    from gensim.models import KeyedVectors

    private = project / "private.tsv"
    private.write_text("old\n")
    private.chmod(0o600)
    assert invoke("vocab", "-c", "run.toml", "--out", "private.tsv").exit_code == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text().startswith("the\t50")
    long_name = "n" * 245 + ".tsv"
    assert invoke("vocab", "-c", "run.toml", "--out", long_name).exit_code == 0
    assert (project / long_name).read_text().startswith("the\t50")
    assert invoke("vectors", "-c", "run.toml", "--out", "V.BIN").exit_code == 0
    kv = KeyedVectors.load_word2vec_format(str(project / "V.BIN"), binary=True)
    assert kv.index_to_key == ["the", "of", "and"] and kv["of"].tolist() == [1.0, 2.0, 3.0]
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_cli_out_dot_slash_dash_is_a_file_named_dash(project):
    result = invoke("vocab", "-c", "run.toml", "--out", "./-")
    assert result.exit_code == 0 and json.loads(result.stdout)["saved"] == "-"
    assert (project / "-").read_text().splitlines()[0] == "the\t50"


@pytest.mark.parametrize("out", ["saved.tsv", "-"])
def test_cli_out_with_stdout_closed(project, out):
    (project / "saved.tsv").write_text("old\n")
    proc = subprocess.run(["sh", "-c", f'exec "$0" -m pipeline vocab -c run.toml --out {out} >&-', sys.executable],
                          cwd=project, capture_output=True, timeout=120)
    if out == "-":  # the data has nowhere to go
        assert_one_line_error({"exit_code": proc.returncode, "stderr": proc.stderr.decode()}, 74,
                              "<stdout>: cannot write the results: stdout is closed")
    else:  # was "internal error: AttributeError" (sys.stdout is None); the summary is lost, the file written
        assert proc.returncode == 0, proc.stderr
        assert (project / "saved.tsv").read_text().splitlines()[0] == "the\t50"


def test_cli_out_of_memory_without_a_size_says_an_allocation_failed(project, monkeypatch):
    def too_big(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr("pipeline.runner.run", too_big)
    result = invoke("run", "-c", "run.toml")
    assert result.stderr.startswith("embpipe: error: out of memory: an allocation failed (expected")


@pytest.mark.parametrize("command", ["vocab", "vectors"])
def test_cli_out_empty_is_a_usage_error(project, command):
    result = invoke(command, "-c", "run.toml", "--out", "")
    assert result.exit_code == 2 and "must name a file, not be empty" in result.stderr, result.output


def test_cli_vocab_out_refuses_a_token_a_token_file_would_read_back_as_another(project):
    (project / "wi.json").write_text(json.dumps({"the": 2, "c\t5": 3, "of": 4}))
    result = invoke("vocab", "-c", "run.toml", "--set", 'vocab.source="word_index"', "--set", 'vocab.path="wi.json"',
                    "--out", "wi.tsv")
    assert_one_line_error(result, 65, "wi.tsv: row 3 token 'c\\t5' would read back from a token file as something else")
    assert not (project / "wi.tsv").exists()


# --------------------------------------------------------------------------- config keys that name no file


@pytest.mark.parametrize("section, source", [("vectors", "file"), ("vocab", "file"), ("vocab", "word_index")])
@pytest.mark.parametrize("command", ["run", "plan", "vectors", "vocab"])
def test_cli_file_source_without_a_path_is_exit_78_naming_the_key(project, command, section, source):
    text = CONFIG.replace(f'[{section}]\nsource = "file"\npath = "{"vectors" if section == "vectors" else "tokens"}.txt"\n',
                          f'[{section}]\nsource = "{source}"\n')
    assert text != CONFIG
    (project / "nopath.toml").write_text(text, encoding="utf-8")
    result = invoke(command, "-c", "nopath.toml")
    assert_one_line_error(result, 78, f"nopath.toml: The '{section}.path' parameter must name a file when "
                                      f"{section}.source = '{source}'")


def test_cli_build_with_an_empty_name_is_exit_78_and_publishes_nothing(project):
    result = invoke("build", "--vectors", "vectors.txt", "--vocab", "tokens.txt", "--name", "")
    assert_one_line_error(result, 78, "--name: The 'name' parameter")
    assert not (project / "artifacts").exists()


def test_cli_check_vocab_on_a_manifest_whose_config_is_not_an_object_is_exit_65(published):
    manifest = json.loads((published / "manifest.json").read_text())
    (published / "manifest.json").write_text(json.dumps({**manifest, "config": "x"}))
    assert_one_line_error(invoke("check-vocab", str(published), "tokens.txt"), 65, "manifest config is not an object")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_cli_check_vocab_refuses_a_device_or_pipe_as_tokenizer_before_reading_it(published, special):
    # /dev/zero was read until the memory ran out; a named pipe with no writer waited forever
    if special == "fifo":
        special = str(published.parent.parent / "tok.fifo")
        os.mkfifo(special)
    result = invoke("check-vocab", str(published), special)
    assert_one_line_error(result, 74, f"{special}: not a regular file")


def test_cli_check_vocab_reads_a_json_tokenizer_whatever_the_case_of_its_suffix(published):
    tokens = (published / "vocab.txt").read_text().splitlines()
    word_index = json.dumps({w: i for i, w in enumerate(tokens) if i >= 2})
    for name in ("tok.json", "TOK.JSON", "tok.Json"):
        (published.parent.parent / name).write_text(word_index)
        result = invoke("check-vocab", str(published), name)
        # tok.JSON was read as a token file: its one line a single token, "1 appeared, 3 vanished"
        assert result.exit_code == 0 and json.loads(result.stdout)["ok"], (name, result.output)


def test_cli_check_vocab_reports_an_id_far_past_the_matrix_as_drift(published):
    # It was refused as a word_index whose gaps need too many placeholder rows, with advice to set
    # vocab.max_size, which check-vocab does not have, and no report.
    (published.parent.parent / "far.json").write_text(json.dumps({"the": 2, "of": 5_000_000}))
    result = invoke("check-vocab", str(published), "far.json")
    assert_one_line_error(result, 65, "vocabulary drift:", "1 ids >= input_dim")
    report = json.loads(result.stdout)
    assert not report["ok"] and [e["token"] for e in report["out_of_range"]] == ["of"]
    assert report["out_of_range"][0]["id"] == 5_000_000


def test_cli_check_vocab_drift_line_cuts_long_tokens_and_escapes_control_characters(published):
    long_token = "x" * 5000
    (published.parent.parent / "odd.json").write_text(json.dumps({long_token: 2, "a\x1b[31mb": 3}))
    line = assert_one_line_error(invoke("check-vocab", str(published), "odd.json"), 65, "vocabulary drift:")
    assert len(line) < 600 and "x" * 41 not in line and "\x1b" not in line and "'a\\x1b[31mb'" in line


def test_cli_summary_keeps_two_similarity_files_that_share_a_name(project):
    pairs = "the\tof\t5\nof\tThe\t3\nthe\tThe\t1\n"  # words of tokens.txt that have vectors
    for folder, text in (("d1", pairs), ("d2", pairs.replace("\t1\n", "\t9\n"))):
        (project / folder).mkdir()
        (project / folder / "ws.tsv").write_text(text)
    result = invoke("run", "-c", "run.toml", "--set", 'evaluate.similarity=["d1/ws.tsv", "d2/ws.tsv"]')
    assert result.exit_code == 0, result.output
    similarity = json.loads(result.stdout)["similarity"]
    # keyed by file name, one of the two was lost; by path where the names are the same
    assert sorted(similarity) == [str(project / "d1" / "ws.tsv"), str(project / "d2" / "ws.tsv")]
    assert similarity[str(project / "d1" / "ws.tsv")] != similarity[str(project / "d2" / "ws.tsv")]


# --------------------------------------------------------------------------- config values the data rules out, found late


def test_cli_config_value_ruled_out_late_names_the_set_or_the_file(project):
    # vectors.txt has 3 dimensions: known only once the file is read
    result = invoke("run", "-c", "run.toml", "--set", "matrix.output_dim=5")
    assert_one_line_error(result, 78, "error: --set matrix.output_dim: The 'matrix.output_dim' parameter must be")
    (project / "dim.toml").write_text(CONFIG + "[matrix]\noutput_dim = 5\n", encoding="utf-8")
    result = invoke("run", "-c", "dim.toml")
    assert_one_line_error(result, 78, "error: dim.toml: The 'matrix.output_dim' parameter must be")
    result = invoke("vocab", "-c", "run.toml", "--set", 'vocab.source="corpus"', "--set", 'vocab.corpus=["tokens.txt"]',
                    "--set", "vocab.min_count=1000")
    assert_one_line_error(result, 78, "error: --set vocab.min_count: The 'vocab.min_count' parameter must be at most")


def test_cli_unquoted_toml_date_for_a_string_says_to_quote_it(project):
    result = invoke("run", "-c", "run.toml", "--set", "name=2026-01-01")
    assert_one_line_error(result, 78, "--set name: The 'name' parameter must be a string. "
                                      "Got the TOML date or time 2026-01-01 (quote it for a string) instead.")


# --------------------------------------------------------------------------- an artifact folder that is a symbolic link


def test_cli_run_publishes_into_the_folder_a_linked_artifact_name_points_to(project):
    (project / "disk" / "small").mkdir(parents=True)  # artifacts kept on another disk
    (project / "artifacts").mkdir()
    (project / "artifacts" / "small").symlink_to(project / "disk" / "small", target_is_directory=True)
    for _ in range(2):  # the first run fills the empty folder, the second replaces it with a rebuilt one
        result = invoke("run", "-c", "run.toml", "--force")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["artifacts"] == str(project / "disk" / "small")
        assert (project / "artifacts" / "small").is_symlink()
        assert json.loads((project / "disk" / "small" / "manifest.json").read_text())["input_dim"] == 6
        assert sorted(p.name for p in (project / "artifacts").iterdir()) == ["small"]  # nothing left beside
        assert sorted(p.name for p in (project / "disk").iterdir() if p.name.startswith(".small.")) in (
            [], [".small.lock"])
    rerun = invoke("run", "-c", "run.toml")
    assert rerun.exit_code == 0 and set(json.loads(rerun.stdout)["stages"].values()) == {"skipped"}
    assert invoke("neighbours", "the", "-a", "artifacts/small").exit_code == 0
