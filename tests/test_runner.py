"""pipeline/runner.py: stage caching by fingerprint, concurrency, kills, the gate, JSON logs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from pipeline.artifacts import load_artifact
from pipeline.config import load_config
from pipeline.errors import StorageError
from pipeline.runner import plan, run

VECTORS = "".join(f"w{i} {i % 7 * 0.5} {i % 5 * -0.25} {i % 3 * 1.5}\n" for i in range(400))


@pytest.fixture()
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vectors.txt").write_text(VECTORS)
    (tmp_path / "tokens.txt").write_text("".join(f"w{i}\t{1000 - i}\n" for i in range(0, 500, 2)))
    (tmp_path / "run.toml").write_text(
        'name = "r"\n[vectors]\nsource = "file"\npath = "vectors.txt"\n'
        '[vocab]\nsource = "file"\npath = "tokens.txt"\n[align]\nrules = ["exact", "lower"]\n[evaluate]\nanalogies = ""\nsimilarity = []\n'
    )
    return tmp_path


def cfg(*overrides):
    return load_config("run.toml", list(overrides))


def test_each_change_recomputes_exactly_the_stages_downstream_of_it(project):
    assert set(run(cfg()).cache.values()) == {"run"}
    assert set(run(cfg()).cache.values()) == {"skipped"}
    cases = [
        (["evaluate.top_k=3"], {"vocab": "hit", "vectors": "hit", "align": "hit", "matrix": "hit", "evaluate": "run"}),
        (["evaluate.top_k=3", "seed=5"], {"vocab": "hit", "vectors": "hit", "align": "hit", "matrix": "run", "evaluate": "run"}),
        (["evaluate.top_k=3", "seed=5", "align.rules=['exact']"], {"vocab": "hit", "vectors": "run", "align": "run", "matrix": "run", "evaluate": "run"}),
        (["evaluate.top_k=3", "seed=5", "align.rules=['exact']", "evaluate.gate.min_coverage=0.1"], None),
    ]
    for overrides, expected in cases:
        stages = run(cfg(*overrides)).cache
        if expected is None:  # only the gate changed: nothing recomputed, the folder is re-judged and rewritten
            assert {k: v for k, v in stages.items() if k != "export"} == dict.fromkeys(["vocab", "vectors", "align", "matrix", "evaluate"], "hit")
        else:
            assert {k: v for k, v in stages.items() if k != "export"} == expected
    # The vocabulary file changes: vocab and everything after it (vectors are filtered by the vocabulary).
    (project / "tokens.txt").write_text("w1\t5\nw3\t4\n")
    rows = {r["stage"]: r for r in plan(cfg())}
    assert rows["vocab"]["action"] == "run" and "input tokens.txt changed" in rows["vocab"]["why"]
    stages = run(cfg()).cache
    assert set(stages.values()) == {"run"}


def test_settings_the_vectors_source_does_not_use_recompute_nothing(project, tmp_path):
    # A file source: training's corpus, lowercase and parameters; it re-read the file and re-ran every stage.
    run(cfg())
    unused = ["vectors.lowercase=true", 'vectors.corpus=["other.txt"]', "vectors.train.epochs=9"]
    assert set(run(cfg(*unused)).cache.values()) == {"skipped"}
    # A trained source: a file source's path, format and trust_pickle (which had retrained it).
    from pipeline.runner import stage_fingerprints

    trained = load_config(None)
    fps, _ = stage_fingerprints(trained, tmp_path / "memo")
    other, _ = stage_fingerprints(load_config(None, ['vectors.path="x.txt"', 'vectors.format="glove"',
                                                     "vectors.trust_pickle=true"]), tmp_path / "memo")
    assert other == fps
    assert stage_fingerprints(load_config(None, ["vectors.lowercase=true"]), tmp_path / "memo")[0]["vectors"] != fps["vectors"]


@pytest.mark.parametrize("cache", [True, False])
def test_a_run_reads_each_input_file_once_for_its_hash(project, monkeypatch, cache):
    # With the cache off the vector file was hashed twice: for the stage fingerprints, then again by the reader.
    import pipeline.cache

    monkeypatch.setattr(pipeline.cache, "_SEEN", {})
    monkeypatch.setattr(pipeline.cache, "_RACY_NS", 0)  # the files were written a moment ago
    hashed = []
    real = pipeline.cache._DIGESTS["crc32"]
    monkeypatch.setitem(pipeline.cache._DIGESTS, "crc32", lambda path: hashed.append(Path(path).name) or real(path))
    run(cfg(f"cache.enabled={str(cache).lower()}", f"cache.dir={project / 'cache'}"))
    assert sorted(hashed) == ["tokens.txt", "vectors.txt"]
    manifest = json.loads((project / "artifacts" / "r" / "manifest.json").read_text())
    vectors = (project / "vectors.txt").read_bytes()
    assert manifest["source"]["crc32"] == format(zlib.crc32(vectors), "08x")
    assert manifest["source"]["size"] == len(vectors)


def test_force_recomputes_only_the_named_stage(project):
    run(cfg())
    stages = run(cfg(), force=("matrix",)).cache
    assert stages["matrix"] == "run" and stages["vectors"] == "hit" and stages["vocab"] == "hit"
    assert set(run(cfg(), force=("all",)).cache.values()) == {"run"}


def test_cached_results_equal_fresh_ones(project):
    first = run(cfg()).artifact_dir
    a = np.load(first / "embeddings.npy")
    rerun = run(cfg("evaluate.top_k=4"))  # all stages before evaluate come from the cache
    assert np.array_equal(np.load(rerun.artifact_dir / "embeddings.npy"), a)
    assert np.array_equal(a[2], np.array([0.0, 0.0, 0.0], np.float32))  # w0
    assert np.array_equal(a[3], np.array([1.0, -0.5, 3.0], np.float32))  # w2


@pytest.mark.parametrize("cache", ["true", "false"])
def test_a_changed_byte_in_an_extra_format_file_is_rebuilt_by_the_next_run(project, cache):
    # No loader reads vectors.w2v.txt, so only the rerun check can notice it (with the cache off it
    # hashes the published files on every rerun; with it, once per change of their stat).
    formats = ['export.formats=["word2vec"]', f"cache.enabled={cache}"]
    out = run(cfg(*formats)).artifact_dir
    good = (out / "vectors.w2v.txt").read_bytes()
    assert set(run(cfg(*formats)).cache.values()) == {"skipped"}
    _flip_last_byte("vectors.w2v.txt")(out)
    assert (out / "vectors.w2v.txt").read_bytes() != good
    assert run(cfg(*formats)).cache["export"] == "run"
    assert (out / "vectors.w2v.txt").read_bytes() == good
    assert set(run(cfg(*formats)).cache.values()) == {"skipped"}


def test_a_run_leaves_alone_the_lock_and_folders_of_a_name_that_starts_like_its_leftovers(project):
    # The clean-up of ".a.old-*" had renamed the lock file ".a.old-1.lock" of run name "a.old-1" into
    # artifacts/a (then exit 74 for every run of "a"), and removed ".b.tmp-1-ab.lock" while a run of
    # "b.tmp-1-ab" held it, so a second run of that name started beside the first.
    from pipeline.errors import LockHeldError
    from pipeline.lock import run_lock

    arts = project / "artifacts"
    assert run(cfg('name="a.old-1"')).cache["export"] == "run"
    assert run(cfg('name="a"')).cache["export"] == "run"
    assert (arts / "a").is_dir() and (arts / ".a.old-1.lock").is_file()
    assert run(cfg('name="b.tmp-1-ab"')).cache["export"] == "run"
    with run_lock(arts / "b.tmp-1-ab"):  # a run of that name in progress
        assert run(cfg('name="b"')).cache["export"] == "run"
        assert (arts / ".b.tmp-1-ab.lock").is_file()
        with pytest.raises(LockHeldError):
            run(cfg('name="b.tmp-1-ab"'), force=("all",))
    assert set(run(cfg('name="a.old-1"')).cache.values()) == {"skipped"}


def test_deleted_artifact_file_is_rewritten_not_reported_up_to_date(project):
    out = run(cfg()).artifact_dir
    (out / "embeddings.npy").unlink()
    assert run(cfg()).cache["export"] == "run"
    assert (out / "embeddings.npy").exists()


RUN_CLI = [sys.executable, "-m", "pipeline", "--log-format", "json", "run", "-c", "run.toml"]


def test_two_concurrent_runs_one_succeeds_one_exits_75(project):
    # A run that is slow enough to overlap: the second starts while the first holds the lock.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; from pathlib import Path; from pipeline.lock import run_lock\n"
         "with run_lock(Path('artifacts/r')):\n print('held', flush=True); time.sleep(3)"],
        stdout=subprocess.PIPE, text=True, cwd=project,
    )
    assert holder.stdout.readline().strip() == "held"
    second = subprocess.run(RUN_CLI, capture_output=True, text=True, cwd=project)
    assert second.returncode == 75, second.stderr
    assert f"pid {holder.pid}" in second.stderr.strip().splitlines()[-1]
    waited = subprocess.run(RUN_CLI[:-2] + ["--wait", "30", "-c", "run.toml"], capture_output=True, text=True, cwd=project)
    assert waited.returncode == 0, waited.stderr
    holder.wait()


def test_real_concurrent_runs(project):
    procs = [subprocess.Popen(RUN_CLI + ["--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=project)
             for _ in range(2)]
    codes = sorted(p.wait() for p in procs)
    assert codes in ([0, 0], [0, 75])  # the second either waited its turn after the first finished, or was refused
    for p in procs:
        p.stdout.close()
        p.stderr.close()


def test_sigkill_at_any_moment_leaves_last_good_artifacts(project):
    run(cfg())
    art = project / "artifacts" / "r"
    before = {p.name: p.read_bytes() for p in art.iterdir()}
    for delay in (0.2, 0.5, 0.8, 1.1, 1.5):
        proc = subprocess.Popen(RUN_CLI + ["--force", "--set", "seed=7"], cwd=project,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = {p.name: p.read_bytes() for p in art.iterdir()}
        if now != before:  # the killed run got as far as publishing: then it is complete and verifiable
            from pipeline.artifacts import load_artifact

            assert json.loads(now["manifest.json"])["seed"] == 7
            load_artifact(art)
        # a new run cleans up whatever the killed one left beside the folder
        run(cfg("seed=7"))
        assert sorted(p.name for p in (project / "artifacts").iterdir() if not p.name.startswith(".")) == ["r"]
        assert not [p for p in (project / "artifacts").iterdir() if ".tmp-" in p.name or ".old-" in p.name]
        run(cfg())
        before = {p.name: p.read_bytes() for p in art.iterdir()}


def test_json_logs_are_one_object_per_line(project):
    # A cache of its own: another test's run of the same vectors would make the first read here a cache hit.
    cli = RUN_CLI + ["--set", f"cache.dir={json.dumps(str(project / 'own-cache'))}"]
    out = subprocess.run(cli, capture_output=True, text=True, cwd=project)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stderr.splitlines()]
    assert all({"time", "level", "message"} <= e.keys() for e in events)
    done = {e["stage"]: e for e in events if e.get("event") == "done"}
    assert set(done) == {"vocab", "vectors", "align", "matrix", "evaluate"}
    cov = [e for e in events if e.get("event") == "coverage"][0]
    assert cov["coverage"] == pytest.approx(200 / 250)
    manifest = json.loads((project / "artifacts" / "r" / "manifest.json").read_text())
    assert set(manifest["run"]["stage_seconds"]) >= {"vocab", "vectors", "align", "matrix", "evaluate", "export"}
    assert manifest["run"]["cache"]["matrix"] == "run"
    # The first run parses the whole file once (for the vectors cache): its figures are fields of the record.
    [read] = [e for e in events if e.get("event") == "read"]
    assert (read["stage"], read["rows_read"], read["rows_parsed"], read["dim"]) == ("vectors", 400, 400, 3)
    again = subprocess.run(cli + ["--force", "vectors"], capture_output=True, text=True, cwd=project)
    [hit] = [json.loads(line) for line in again.stderr.splitlines() if '"vectors_cache_hit"' in line]
    assert (hit["rows_cached"], hit["rows_kept"]) == (400, 200)  # the tokens are w0, w2, ... w498
    assert out.stdout.count("\n") == 1  # stdout holds the result only, as one JSON line
    assert json.loads(out.stdout)["input_dim"] == manifest["input_dim"]


def test_json_logs_report_errors_as_json_lines_too(project):
    # A cron job appends stdout and stderr to one .jsonl file: a failed run must not break it.
    missed = subprocess.run(RUN_CLI + ["--set", "evaluate.gate.min_coverage=0.95"], capture_output=True, text=True,
                            cwd=project)
    assert missed.returncode == 3 and missed.stdout == ""
    last = [json.loads(line) for line in missed.stderr.splitlines()][-1]
    assert last["level"] == "error" and last["exit_code"] == 3 and "min_coverage 0.95" in last["message"]
    for args, code in ((["--set", "seed='x'"], 78), (["--no-such-flag"], 2)):
        bad = subprocess.run(RUN_CLI + args, capture_output=True, text=True, cwd=project)
        assert bad.returncode == code
        [record] = [json.loads(line) for line in bad.stderr.splitlines()]
        assert record["exit_code"] == code and record["level"] == "error"


def test_gate_rejects_then_accepts(project):
    with pytest.raises(Exception) as info:
        run(cfg("evaluate.gate.min_coverage=0.95"))
    assert info.value.exit_code == 3 and "coverage 0.8000 < evaluate.gate.min_coverage 0.95" in str(info.value)
    assert str(info.value).endswith("nothing published at artifacts/r")  # not "left as it was": there was none
    assert not (project / "artifacts" / "r").exists()
    assert json.loads((project / "artifacts" / "r.rejected" / "manifest.json").read_text())["status"] == "rejected"
    run(cfg("evaluate.gate.min_coverage=0.5"))
    assert (project / "artifacts" / "r" / "manifest.json").exists()
    with pytest.raises(Exception) as info:
        run(cfg("evaluate.gate.min_coverage=0.95"))
    assert str(info.value).endswith("artifacts/r left as it was")


def test_a_value_a_rounding_below_a_gate_threshold_meets_it():
    # A Spearman of exactly 0.5 computes as 0.49999999999999994: it had missed min 0.5 as "0.5000 < 0.5".
    from pipeline.runner import check_gate

    config = load_config(None, ["evaluate.gate.min_similarity_spearman=0.5", "evaluate.gate.min_coverage=0.8"])
    alignment = {"coverage": 0.8, "weighted_coverage": None, "oov_share": 0.2}

    def spearman(value):
        return {"similarity": [{"path": "pairs.tsv", "spearman": value}]}

    assert check_gate(config, alignment, spearman(0.49999999999999994)) == []
    assert check_gate(config, {**alignment, "coverage": 0.8 - 1e-15}, spearman(0.5)) == []
    assert check_gate(config, alignment, spearman(0.49996)) == [
        "similarity_spearman 0.4999600000 (pairs.tsv) < evaluate.gate.min_similarity_spearman 0.5"]
    assert check_gate(config, alignment, spearman(0.4)) == [
        "similarity_spearman 0.4000 (pairs.tsv) < evaluate.gate.min_similarity_spearman 0.5"]


def test_leftovers_of_a_killed_gate_failing_run_are_removed_by_the_next_run(project):
    with pytest.raises(Exception):
        run(cfg("evaluate.gate.min_coverage=0.95"))
    arts = project / "artifacts"
    (arts / ".r.rejected.tmp-123-abcd").mkdir()  # as if killed while writing r.rejected
    (arts / ".r.tmp-456-ef01").mkdir()
    run(cfg())
    assert sorted(p.name for p in arts.iterdir() if not p.name.startswith(".r.lock")) == ["r", "r.rejected"]


def test_a_name_ending_in_rejected_is_refused(project):
    with pytest.raises(Exception, match="must not end in '.rejected'") as info:
        cfg("name='r.rejected'")
    assert info.value.exit_code == 78


def test_unmeasurable_gate_threshold_is_a_miss(project):
    with pytest.raises(Exception, match="analogy_accuracy could not be measured"):
        run(cfg("evaluate.gate.min_analogy_accuracy=0.1"))


def test_plan_says_what_run_then_does(project, monkeypatch):
    monkeypatch.setenv("EMBPIPE_CACHE_DIR", str(project / "cache"))
    as_run = {"cached": "hit", "run": "run", "up to date": "skipped"}

    def check(*force):
        expected = {r["stage"]: as_run[r["action"]] for r in plan(cfg(), force=force)}
        assert run(cfg(), force=force).cache == expected
        return expected

    assert set(check().values()) == {"run"}
    assert set(check().values()) == {"skipped"}
    forced = check("matrix")
    assert forced["matrix"] == "run" and forced["export"] == "run" and forced["vocab"] == "hit"
    # A recomputed stage may come out different (threaded training): what is built on it is recomputed too.
    forced = check("vectors")
    assert {s for s, a in forced.items() if a == "run"} == {"vectors", "align", "matrix", "evaluate", "export"}
    assert forced["vocab"] == "hit"
    rows = {r["stage"]: r["why"] for r in plan(cfg(), force=("vectors",))}
    assert rows["vectors"] == "forced" and rows["align"] == "uses a forced stage (vectors)"
    import shutil

    shutil.rmtree(project / "cache" / "stages")  # the README says the cache is safe to delete
    assert set(check().values()) == {"skipped"}  # the published folder is still up to date
    assert set(check("evaluate").values()) == {"run"}  # nothing cached any more


# --------------------------------------------------------------------------- folders a run may replace


@pytest.mark.parametrize("folder", ["r", "r.rejected"])
def test_a_folder_embpipe_did_not_make_is_refused_before_any_stage_runs(project, monkeypatch, folder):
    # export.dir="/tmp" with name="x" used to wipe /tmp/x; <name>.rejected is replaced when the gate misses.
    mine = project / "artifacts" / folder
    mine.mkdir(parents=True)
    (mine / "thesis.txt").write_text("thesis")
    monkeypatch.setattr("pipeline.runner.get_vocabulary", lambda config: pytest.fail("a stage ran"))
    with pytest.raises(StorageError) as info:
        run(cfg())
    assert info.value.exit_code == 74 and info.value.path == str(Path("artifacts") / folder)
    assert "not an embpipe artifact folder" in str(info.value) and "move it away" in str(info.value)
    assert "\n" not in str(info.value)
    assert (mine / "thesis.txt").read_text() == "thesis" and [p.name for p in mine.iterdir()] == ["thesis.txt"]
    with pytest.raises(StorageError) as planned:  # plan says what run would do: refuse, not "export run"
        plan(cfg())
    assert planned.value.message == info.value.message and planned.value.path == info.value.path


def test_a_folder_with_someone_elses_manifest_json_is_refused(project):
    # A web app's folder has a manifest.json too; it is not an embpipe manifest and sits beside other files.
    app = project / "artifacts" / "r"
    app.mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "app", "manifest_version": 3}')
    (app / "index.html").write_text("<html>")
    with pytest.raises(StorageError, match="not an embpipe artifact folder"):
        run(cfg())
    assert sorted(p.name for p in app.iterdir()) == ["index.html", "manifest.json"]


def test_an_empty_folder_and_a_damaged_folder_embpipe_made_are_replaced(project):
    (project / "artifacts" / "r").mkdir(parents=True)
    out = run(cfg()).artifact_dir
    assert (out / "manifest.json").exists()
    (out / "manifest.json").write_bytes(b"\x00garbage")  # no longer a manifest, but the rest is embpipe's
    (out / "report.md").unlink()
    assert run(cfg()).cache["export"] == "run"
    load_artifact(out)


# --------------------------------------------------------------------------- a damaged published folder


def _edit_manifest(edit):
    def damage(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps(edit(manifest)))

    return damage


def _garbage_report(byte: bytes):
    def damage(folder: Path) -> None:  # same size: the cheap "up to date" check compares sizes only
        path = folder / "report.json"
        path.write_bytes(byte * path.stat().st_size)

    return damage


def _flip_last_byte(name: str):
    def damage(folder: Path) -> None:  # same size and, set back, same mtime: only the bytes say it changed
        path = folder / name
        st = path.stat()
        data = bytearray(path.read_bytes())
        data[-2] ^= 1
        path.write_bytes(bytes(data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    return damage


def _report(report: dict) -> dict:
    """A report without what depends on the cache's state (a forced read of the vectors is a cache hit)."""
    return {**report, "vectors": {k: v for k, v in report["vectors"].items() if k != "vectors_cache"}}


DAMAGES = {
    "manifest is []": (lambda f: (f / "manifest.json").write_text("[]"), "manifest.json"),
    "run is 5": (lambda f: (f / "manifest.json").write_text('{"run": 5}'), "manifest.json"),
    "files is 5": (_edit_manifest(lambda m: {**m, "files": 5}), "manifest.json"),
    "a files entry is 5": (_edit_manifest(lambda m: {**m, "files": {**m["files"], "vocab.txt": 5}}), "manifest.json"),
    "nested 5,000 deep": (lambda f: (f / "manifest.json").write_text("[" * 5000 + "]" * 5000), "manifest.json"),
    "fingerprint parts are damaged": (
        _edit_manifest(lambda m: {**m, "run": {"fingerprint": "x", "fingerprint_parts": {"export": {"upstream": 3}}}}),
        "upstream matrix, evaluate changed",
    ),
    "report is x x x": (_garbage_report(b"x"), "report.json"),
    "report is not UTF-8": (_garbage_report(b"\xff"), "report.json"),
    # These had been "up to date" (sizes only were compared), while the loaders refused the folder
    # and told the user to rebuild it with `embpipe run`, which then did nothing.
    "a byte of embeddings.npy flipped": (_flip_last_byte("embeddings.npy"), "embeddings.npy"),
    "a byte of vocab.txt flipped": (_flip_last_byte("vocab.txt"), "vocab.txt"),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_published_folder_is_rebuilt_by_run_and_run_force_and_plan_says_why(project, damage):
    fresh = run(cfg("export.dir='fresh'")).artifact_dir
    damage_it, named = DAMAGES[damage]
    out = run(cfg()).artifact_dir
    for force in ((), ("all",)):
        damage_it(out)
        rows = {r["stage"]: r for r in plan(cfg(), force=force)}
        assert rows["export"]["action"] == "run", rows["export"]
        assert named in rows["export"]["why"] if not force else rows["export"]["why"] == "forced", rows["export"]
        result = run(cfg(), force=force)
        assert result.cache["export"] == "run" and result.manifest["input_dim"] == 252
        art = load_artifact(out)  # verifies every file against the rebuilt manifest
        assert art.tokens == load_artifact(fresh).tokens
        for name in ("embeddings.npy", "vocab.txt", "oov.txt"):
            assert (out / name).read_bytes() == (fresh / name).read_bytes(), name
        assert _report(result.report) == _report(json.loads((fresh / "report.json").read_text()))
        assert json.loads((out / "report.json").read_text()) == result.report
    assert set(run(cfg()).cache.values()) == {"skipped"}  # and the rebuilt folder is up to date again


def test_loading_a_folder_that_missed_the_gate_warns_once(project, caplog):
    # It loaded without a word: a model fed from r.rejected/ used vectors the gate had turned down.
    import logging

    from pipeline.indexer import Indexer

    with pytest.raises(Exception):
        run(cfg("evaluate.gate.min_coverage=0.95"))
    rejected = project / "artifacts" / "r.rejected"

    def warnings_of(load):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="pipeline.artifacts"):
            load()
        return [r.getMessage() for r in caplog.records if r.name == "pipeline.artifacts"]

    said = f"{rejected} holds a run that missed the quality gate (manifest status 'rejected'); loading it anyway"
    assert warnings_of(lambda: load_artifact(rejected)) == [said]
    assert warnings_of(lambda: Indexer.from_artifact(rejected)) == [said]
    assert load_artifact(rejected).weights.shape == (252, 3)
    run(cfg("evaluate.gate.min_coverage=0.5"))
    assert warnings_of(lambda: load_artifact(project / "artifacts" / "r")) == []


@pytest.mark.parametrize("fmt", ["auto", "glove"])
def test_an_output_dim_above_the_vector_files_is_refused_before_any_stage_runs(project, monkeypatch, fmt):
    # It was refused only by the matrix stage, after the vocabulary and the vectors had been read.
    from pipeline.errors import ConfigError

    monkeypatch.setenv("EMBPIPE_CACHE_DIR", str(project / "cache"))
    with pytest.raises(ConfigError, match=r"source dimension 3\. Got 4 instead\.") as info:
        run(cfg("matrix.output_dim=4", f'vectors.format="{fmt}"'))
    assert info.value.exit_code == 78
    assert not (project / "cache" / "stages").exists() and not (project / "artifacts" / "r").exists()
    with pytest.raises(ConfigError, match=r"source dimension 3\. Got 4 instead\."):
        plan(cfg("matrix.output_dim=4", f'vectors.format="{fmt}"'))  # as run will: not a plan it cannot follow
    assert run(cfg("matrix.output_dim=2", f'vectors.format="{fmt}"')).manifest["output_dim"] == 2
