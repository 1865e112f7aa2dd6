"""pipeline/cli.py: commands end to end through click's CliRunner; bad input gives one line and an exit code."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import cli

GLOVE = "gensim-test:test_glove.txt"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project folder with a small GloVe-file config; the cwd is the project (outputs go to ./artifacts)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tokens.txt").write_text("the\t50\nof\t30\nThe\t7\nzzzunknown\t3\n", encoding="utf-8")
    (tmp_path / "run.toml").write_text(
        'name = "small"\nseed = 1\n'
        '[vectors]\nsource = "file"\npath = "vectors.txt"\n'
        '[vocab]\nsource = "file"\npath = "tokens.txt"\n'
        '[evaluate]\nanalogies = ""\nsimilarity = []\n',
        encoding="utf-8",
    )
    return tmp_path


def write_vectors(folder: Path, text: str = "the 0.5 1.5 2.5\nof 1.0 2.0 3.0\nand -1 -2 -3\n") -> Path:
    path = folder / "vectors.txt"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_run_builds_the_documented_artifact_folder(project):
    write_vectors(project)
    result = invoke("run", "-c", "run.toml")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["input_dim"] == 6 and summary["output_dim"] == 3
    art = project / "artifacts" / "small"
    m = np.load(art / "embeddings.npy", allow_pickle=False)
    assert m.dtype == np.float32 and m.shape == (6, 3)
    assert (art / "vocab.txt").read_text().splitlines() == ["[PAD]", "[UNK]", "the", "of", "The", "zzzunknown"]
    assert np.array_equal(m[0], np.zeros(3))
    assert np.array_equal(m[2], np.array([0.5, 1.5, 2.5], np.float32))  # exact
    assert np.array_equal(m[3], np.array([1.0, 2.0, 3.0], np.float32))
    assert np.array_equal(m[4], m[2])  # "The" matched "the" by the lower rule
    assert (art / "oov.txt").read_text().splitlines() == ["[UNK]", "zzzunknown"]
    manifest = json.loads((art / "manifest.json").read_text())
    assert (manifest["input_dim"], manifest["output_dim"], manifest["padding_idx"], manifest["oov_idx"]) == (6, 3, 0, 1)
    assert manifest["coverage"]["coverage"] == 0.75
    assert manifest["coverage"]["weighted_coverage"] == pytest.approx(87 / 90)
    assert manifest["source"]["format"] == "glove"
    assert set(manifest["versions"]) >= {"embpipe", "gensim", "numpy"}
    assert set(manifest["files"]) == {"embeddings.npy", "vocab.txt", "oov.txt", "report.json", "report.md"}
    report = json.loads((art / "report.json").read_text())
    assert report["alignment"]["by_rule"]["lower"] == 1
    assert "zzzunknown" in (art / "report.md").read_text()


def test_rerun_with_nothing_changed_does_no_work_and_plan_says_why(project):
    vec = write_vectors(project)
    assert invoke("run", "-c", "run.toml").exit_code == 0
    again = json.loads(invoke("run", "-c", "run.toml").stdout)
    assert set(again["stages"].values()) == {"skipped"}
    plan = invoke("plan", "-c", "run.toml").stdout
    assert all("up to date" in line or "cached" in line for line in plan.splitlines()), plan
    # Editing [matrix] recomputes matrix and what follows, never the vectors.
    changed = json.loads(invoke("run", "-c", "run.toml", "--set", 'matrix.oov_init="zeros"').stdout)["stages"]
    assert changed == {"vocab": "hit", "vectors": "hit", "align": "hit", "matrix": "run", "evaluate": "run", "export": "run"}
    # Changing the vector file's content (same name) invalidates vectors and downstream.
    vec.write_text("the 9 9 9\nof 1.0 2.0 3.0\n")
    plan = invoke("plan", "-c", "run.toml").stdout
    assert "vectors   run         input vectors.txt changed" in plan
    stages = json.loads(invoke("run", "-c", "run.toml").stdout)["stages"]
    assert stages["vocab"] == "hit" and stages["vectors"] == "run"
    m = np.load(project / "artifacts" / "small" / "embeddings.npy")
    assert np.array_equal(m[2], np.array([9, 9, 9], np.float32))


def test_gate_miss_keeps_the_published_artifacts(project):
    write_vectors(project)
    assert invoke("run", "-c", "run.toml").exit_code == 0
    art = project / "artifacts" / "small"
    before = {p.name: p.read_bytes() for p in art.iterdir()}
    result = invoke("run", "-c", "run.toml", "--set", "evaluate.gate.min_coverage=0.9",
                    "--set", 'matrix.oov_init="zeros"')
    assert result.exit_code == 3
    assert "coverage 0.7500 < evaluate.gate.min_coverage 0.9" in result.stderr
    assert {p.name: p.read_bytes() for p in art.iterdir()} == before
    rejected = json.loads((project / "artifacts" / "small.rejected" / "manifest.json").read_text())
    assert rejected["status"] == "rejected"


def test_stage_commands(project):
    write_vectors(project)
    assert invoke("run", "-c", "run.toml").exit_code == 0
    out = invoke("neighbours", "the", "nope", "-a", "artifacts/small", "-k", "1").stdout.splitlines()
    assert out[0] == "the\tThe 1.000"  # "The" took the vector of "the" (lower rule): the closest row
    assert out[1].startswith("nope\t(not in")
    vocab = json.loads(invoke("vocab", "-c", "run.toml").stdout)
    assert vocab["size"] == 6 and vocab["first"][:3] == ["[PAD]", "[UNK]", "the"]
    vecs = json.loads(invoke("vectors", "-c", "run.toml", "--out", "copy.bin").stdout)
    assert vecs["count"] == 3 and vecs["dim"] == 3
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format("copy.bin", binary=True)
    assert np.array_equal(kv["and"], np.array([-1, -2, -3], np.float32))
    ev = json.loads(invoke("evaluate", "artifacts/small", "-c", "run.toml",
                           "--set", 'evaluate.similarity=["gensim-test:wordsim353.tsv"]').stdout)
    assert ev["similarity"][0]["pairs"] == 353


@pytest.mark.parametrize("command", ["vectors", "vocab"])
def test_out_into_a_missing_folder_is_an_io_error(project, command):
    write_vectors(project)
    result = invoke(command, "-c", "run.toml", "--out", "no/such/folder/out.txt")
    assert result.exit_code == 74, result.output
    assert result.stderr.strip().splitlines()[-1].startswith("embpipe: error: no/such/folder/out.txt: cannot write")


def test_vectors_out_refuses_a_word_with_a_line_break_and_keeps_the_old_file(project):
    # word2vec binary holds any bytes in a word; word2vec format cannot write a line break back.
    rows = [(b"the", [1, 2, 3]), (b"x\ny", [4, 5, 6])]
    write_vectors(project, b"2 3\n" + b"".join(w + b" " + np.array(v, "<f4").tobytes() + b"\n" for w, v in rows))
    (project / "copy.txt").write_text("earlier output\n")
    result = invoke("vectors", "-c", "run.toml", "--set", 'vectors.format="word2vec-binary"', "--out", "copy.txt")
    assert result.exit_code == 65, result.output
    assert "'x\\ny' holds a line break" in result.stderr.strip().splitlines()[-1]
    assert (project / "copy.txt").read_text() == "earlier output\n"
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".copy")) == []


BAD_VECTORS = {
    "empty vector file": (b"", 65, "no vectors"),
    "wrong number of values": (b"the 1 2 3\nof 1 2\n", 65, "vectors.txt:2"),
    "non-numeric value": (b"the 1 2 3\nof 1 x 3\n", 65, "vectors.txt:2"),
    "NaN": (b"the 1 2 3\nof 1 nan 3\n", 65, "vectors.txt:2"),
    "inf": (b"the 1 2 3\nof 1 inf 3\n", 65, "vectors.txt:2"),
    "header disagrees with body": (b"5 3\nthe 1 2 3\nof 1 2 3\n", 65, "vectors.txt"),
    "not UTF-8": (b"the 1 2 3\n\xff\xfe 1 2 3\n", 65, "vectors.txt:2"),
}


@pytest.mark.parametrize("case", list(BAD_VECTORS))
def test_bad_vector_file_one_line_exit_code_and_no_damage(project, case):
    write_vectors(project)
    assert invoke("run", "-c", "run.toml").exit_code == 0
    art = project / "artifacts" / "small"
    before = {p.name: p.read_bytes() for p in art.iterdir()}
    content, code, where = BAD_VECTORS[case]
    write_vectors(project, content)
    result = invoke("run", "-c", "run.toml")
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("embpipe: error: ") and where in lines[-1], result.stderr
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in art.iterdir()} == before


def test_truncated_word2vec_binary(project):
    rows = [("the", [1, 2, 3]), ("of", [4, 5, 6])]
    data = b"2 3\n" + b"".join(w.encode() + b" " + np.array(v, "<f4").tobytes() + b"\n" for w, v in rows)
    write_vectors(project, data[:-7])
    result = invoke("run", "-c", "run.toml")
    assert result.exit_code == 65 and "truncated" in result.stderr and "vectors.txt" in result.stderr


def test_encoding_errors_replace_accepts_bad_bytes(project):
    write_vectors(project, b"the 1 2 3\n\xff\xfe 1 2 3\n")
    result = invoke("run", "-c", "run.toml", "--set", 'vectors.encoding_errors="replace"')
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "setup, code, fragment",
    [
        (lambda p: None, 74, "vectors.txt: cannot read"),  # missing vector file
        (lambda p: (p / "vectors.txt").mkdir(), 74, "is a directory"),
        (lambda p: (write_vectors(p), (p / "tokens.txt").write_text("\n\n")), 65, "no tokens"),
        (lambda p: (write_vectors(p), (p / "tokens.txt").unlink(), (p / "wi.json").write_text('["a", "b"]')), 65, "wi.json"),
        (lambda p: (write_vectors(p), (p / "run.toml").write_text((p / "run.toml").read_text().replace("[vocab]", "[vocab]\nmax_sise = 3"))), 78, "did you mean 'vocab.max_size'"),
    ],
    ids=["missing file", "directory", "no tokens", "word_index not an object", "typo'd key"],
)
def test_bad_inputs(project, setup, code, fragment):
    setup(project)
    args = ["run", "-c", "run.toml"]
    if (project / "wi.json").exists():
        args += ["--set", 'vocab.source="word_index"', "--set", 'vocab.path="wi.json"']
    result = invoke(*args)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("embpipe: error: ") and fragment in lines[-1], result.stderr
    assert sum("error" in line for line in lines) == 1 and "Traceback" not in result.stderr


def test_empty_corpus(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text("\n \n")
    result = invoke("run", "--set", 'vectors.corpus=["c.txt"]')
    assert result.exit_code == 65 and "c.txt" in result.stderr


def test_python_dash_m_and_help_is_fast_without_gensim(tmp_path):
    code = "import sys, runpy; sys.argv=['embpipe','--help']\ntry:\n runpy.run_module('pipeline', run_name='__main__')\nexcept SystemExit: pass\nprint('gensim' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Usage: embpipe" in out and out.strip().endswith("False False")
    for cmd in ("run", "plan", "build", "vectors", "vocab", "evaluate", "neighbours"):
        assert "Examples:" in invoke(cmd, "--help").stdout


def test_build_takes_paths_with_emoji_and_a_gzipped_word_index(project):
    import gzip

    folder = project / "data \U0001f600"
    folder.mkdir()
    write_vectors(folder)
    (folder / "tok.json.gz").write_bytes(gzip.compress(json.dumps({"of": 1, "the": 2}).encode()))
    result = invoke("build", "--vectors", str(folder / "vectors.txt"), "--vocab", str(folder / "tok.json.gz"),
                    "--name", "emoji")
    assert result.exit_code == 0, result.output
    art = project / "artifacts" / "emoji"
    assert (art / "vocab.txt").read_text(encoding="utf-8").split("\n")[:3] == ["[PAD]", "of", "the"]
    m = np.load(art / "embeddings.npy")
    assert np.array_equal(m[1], np.array([1.0, 2.0, 3.0], np.float32))


@pytest.mark.parametrize("args", [["evaluate", "{p}"], ["neighbours", "the", "-a", "{p}"],
                                  ["check-vocab", "{p}", "tokens.txt"]])
@pytest.mark.parametrize("exists", [True, False])
def test_an_artifact_folder_that_is_a_file_or_missing_is_an_io_error(project, args, exists):
    path = project / "not-a-folder"
    if exists:
        path.write_text("x\n", encoding="utf-8")
    (project / "tokens.txt").write_text("the\n", encoding="utf-8")
    result = invoke(*[a.format(p="not-a-folder") for a in args])
    assert result.exit_code == 74, result.output
    reason = "is a file, not a folder" if exists else "artifact folder not found"
    assert result.stderr.strip().splitlines() == [f"embpipe: error: not-a-folder: {reason} "
                                                  "(expected a folder written by `embpipe run`)"]


def test_wait_nan_is_a_usage_error(project):
    # FloatRange(0) lets "nan" through, and a deadline of NaN is never reached: it waited forever.
    result = CliRunner().invoke(cli, ["run", "-c", "run.toml", "--wait", "nan"])
    assert result.exit_code == 2 and "not nan" in result.output


@pytest.mark.parametrize("sent, code, message", [
    (signal.SIGINT, 130, "embpipe: interrupted: stopped by SIGINT (Ctrl-C); published artifacts are left as they were"),
    (signal.SIGTERM, 143, "embpipe: terminated: stopped by SIGTERM; published artifacts are left as they were"),
], ids=["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_exits_in_one_line_and_keeps_the_published_folder(tmp_path, sent, code, message):
    common = ["--set", 'export.dir="out"', "--set", "vectors.train.workers=1", "--set", 'evaluate.analogies=""']
    first = subprocess.run([sys.executable, "-m", "pipeline", "run", *common, "--set", "vectors.train.epochs=1"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "out" / "default" / "embeddings.npy").read_bytes()
    # SIGINT as in a terminal's foreground job: a test run started in the background (`cmd &` in a
    # script) ignores SIGINT, and a Python started ignoring it keeps ignoring it, as it should.
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", *common, "--set", "vectors.train.epochs=500"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stderr:  # interrupt it in the middle of training
        if "epoch 2/500" in line:
            break
    proc.send_signal(sent)  # SIGTERM: what cron's kill, systemd and Kubernetes send
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    lines = err.strip().splitlines()  # the epochs logged after the one read above, then the error
    assert out == "" and "Traceback" not in err and "Aborted" not in err
    assert lines[-1] == message
    assert (tmp_path / "out" / "default" / "embeddings.npy").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".default.lock", "default"]  # no leftovers


def test_build_refuses_an_empty_path_and_takes_an_upper_case_json_word_index(project):
    write_vectors(project)
    result = CliRunner().invoke(cli, ["build", "--vectors", "", "--vocab", "tokens.txt"])
    assert result.exit_code == 2 and "--vectors" in result.output  # it trained on the default corpus instead
    (project / "TOK.JSON").write_text(json.dumps({"of": 1, "the": 2}), encoding="utf-8")
    summary = json.loads(invoke("build", "--vectors", "vectors.txt", "--vocab", "TOK.JSON").stdout)
    assert summary["coverage"]["matched"] == 2  # read as a word_index, not as one token per line
