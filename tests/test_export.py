"""pipeline/export.py and pipeline/artifacts.py: atomic publication, leftovers, verification on load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.artifacts import load_artifact, read_manifest
from pipeline.errors import DataError, StorageError
from pipeline.export import clean_leftovers, write_artifacts
from pipeline.indexer import Indexer
from pipeline.matrix import EmbeddingMatrix


def make_matrix(rows: int = 6, dim: int = 4, fill: float = 1.0) -> EmbeddingMatrix:
    weights = np.full((rows, dim), fill, dtype=np.float32)
    weights[0] = 0
    tokens = ("[PAD]", "[UNK]", *[f"w{i}" for i in range(rows - 2)])
    matched = np.array([False, False] + [True] * (rows - 3) + [False])
    return EmbeddingMatrix(weights, tokens, matched, initialised=(1, rows - 1))


def publish(target: Path, m: EmbeddingMatrix, **manifest) -> dict:
    base = {"input_dim": m.input_dim, "output_dim": m.output_dim, "padding_idx": 0, "oov_idx": 1,
            "reserved_rows": [0, 1], **manifest}
    return write_artifacts(target, m, report={"ok": True}, manifest=base, report_md="# r\n")


def test_folder_contents_and_manifest_hashes(tmp_path):
    target = tmp_path / "run"
    m = make_matrix()
    manifest = publish(target, m)
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["embeddings.npy", "vocab.txt", "oov.txt", "report.json", "report.md", "manifest.json"]
    )
    assert np.array_equal(np.load(target / "embeddings.npy", allow_pickle=False), m.weights)
    assert (target / "vocab.txt").read_text().splitlines() == list(m.tokens)
    assert (target / "oov.txt").read_text().splitlines() == ["[UNK]", "w3"]
    import hashlib

    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((target / name).read_bytes()).hexdigest()
    assert json.loads((target / "manifest.json").read_text()) == manifest
    art = load_artifact(target)
    assert art.matched_rows()[0] == ["w0", "w1", "w2"]


def test_republish_replaces_whole_folder_and_leaves_no_temp(tmp_path):
    target = tmp_path / "run"
    publish(target, make_matrix(fill=1.0))
    publish(target, make_matrix(rows=8, fill=2.0))
    assert np.load(target / "embeddings.npy").shape == (8, 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failure_while_writing_keeps_previous_artifacts(tmp_path, monkeypatch):
    target = tmp_path / "run"
    publish(target, make_matrix(fill=1.0))
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def broken(folder, matrix):
        raise OSError(28, "No space left on device")

    with pytest.raises(Exception, match="No space left"):
        write_artifacts(target, make_matrix(fill=3.0), report={}, manifest={}, report_md="",
                        extra_writers={"broken": broken})
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the temporary folder is gone


def test_clean_leftovers_restores_old_copy_and_removes_temps(tmp_path):
    target = tmp_path / "run"
    publish(target, make_matrix())
    # A run killed between "rename old aside" and "rename new in":
    os.rename(target, tmp_path / ".run.old-deadbeef")
    (tmp_path / ".run.tmp-123-abcd").mkdir()
    clean_leftovers(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    load_artifact(target)


def test_tampered_or_reshaped_matrix_is_refused(tmp_path):
    target = tmp_path / "run"
    publish(target, make_matrix())
    w = np.load(target / "embeddings.npy")
    w[3, 2] += 1e-3
    np.save(target / "embeddings.npy", w)
    with pytest.raises(DataError, match=r"embeddings.npy.*sha256") as info:
        load_artifact(target)
    assert info.value.exit_code == 65


def test_folder_without_manifest_is_refused(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(DataError, match="no manifest.json"):
        load_artifact(tmp_path / "half")


KILLER = textwrap.dedent(
    """
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from test_export import make_matrix, publish
    from pathlib import Path
    i = 0
    while True:  # publish again and again until killed
        i += 1
        publish(Path({target!r}), make_matrix(rows=20000, dim=50, fill=float(i % 7 + 1)))
    """
)


def test_sigkill_during_export_never_leaves_a_broken_folder(tmp_path):
    target = tmp_path / "run"
    publish(target, make_matrix(rows=20000, dim=50, fill=9.0))
    code = KILLER.format(tests=str(Path(__file__).parent), target=str(target))
    for delay in (0.3, 0.45, 0.6, 0.8, 1.0, 1.3):
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        clean_leftovers(target)
        art = load_artifact(target)  # verifies sha256, shape and padding against the manifest
        fill = float(art.weights[5, 0])
        assert fill in {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0}
        assert np.all(art.weights[2:] == fill)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def _replace_matrix(target, save):
    """Write a new embeddings.npy and update the manifest's sha256 and size to match, as a careless edit would."""
    import hashlib

    path = target / "embeddings.npy"
    save(path)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"]["embeddings.npy"].update(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), bytes=path.stat().st_size
    )
    (target / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, message", [
    ("nan", "row 3 holds NaN or inf"),
    ("inf", "row 3 holds NaN or inf"),
    ("empty", "not a readable .npy matrix"),
    ("garbage", r"not a readable \.npy matrix \(not a \.npy array; pickled data is never loaded\)$"),
    ("npz", "an .npz archive"),
])
def test_a_matrix_that_matches_its_manifest_but_is_unusable_is_refused(tmp_path, damage, message):
    target = tmp_path / "run"
    publish(target, make_matrix())
    w = np.load(target / "embeddings.npy")
    if damage in ("nan", "inf"):
        w[3, 1] = np.nan if damage == "nan" else np.inf
        _replace_matrix(target, lambda p: np.save(p, w))
    elif damage == "empty":
        _replace_matrix(target, lambda p: p.write_bytes(b""))
    elif damage == "garbage":  # numpy would suggest allow_pickle=True or pickle.load()
        _replace_matrix(target, lambda p: p.write_bytes(b"not an array\n" * 10))
    else:
        def save_npz(p):
            with open(p, "wb") as fh:  # a file object: np.savez adds no .npz suffix
                np.savez(fh, w=w)

        _replace_matrix(target, save_npz)
    with pytest.raises(DataError, match=message) as info:
        load_artifact(target)
    assert info.value.exit_code == 65


@pytest.mark.parametrize("edit, message", [
    (lambda m: 7, "not a JSON object"),
    (lambda m: {**m, "input_dim": "nine"}, "input_dim is 'nine'"),
    (lambda m: {**m, "padding_idx": 99}, "padding_idx holds 99"),
    (lambda m: {**m, "oov_idx": None}, "oov_idx holds None"),
    (lambda m: {**m, "reserved_rows": [0, -1]}, "reserved_rows holds -1"),
    (lambda m: {**m, "reserved_rows": "x"}, "reserved_rows is 'x' \\(expected a list of row indices\\)"),
    (lambda m: {**m, "config": "x"}, "manifest config is not an object"),
    (lambda m: {**m, "config": {"vocab": 3}}, "manifest config is not an object with a vocab object"),
    (lambda m: {**m, "files": []}, "manifest files is not an object"),
])
def test_a_manifest_with_wrong_types_or_ranges_is_a_data_error(tmp_path, edit, message):
    target = tmp_path / "run"
    publish(target, make_matrix())
    manifest = json.loads((target / "manifest.json").read_text())
    (target / "manifest.json").write_text(json.dumps(edit(manifest)))
    with pytest.raises(DataError, match=message) as info:
        load_artifact(target)
    assert info.value.exit_code == 65


# --------------------------------------------------------------------------- only embpipe's folders are replaced


@pytest.mark.parametrize("contents", [
    {"thesis.txt": "thesis"},
    {"manifest.json": '{"name": "app", "manifest_version": 3}', "index.html": "<html>"},  # a web app's folder
    {"manifest.json": "garbage", "notes.txt": "mine"},  # damaged manifest, and a file embpipe never writes
    {"vocab.txt": "the\n", "embeddings.npy": "mine"},  # embpipe's names, but no manifest.json: the user's copy
])
def test_write_artifacts_never_replaces_a_folder_embpipe_did_not_make(tmp_path, contents):
    target = tmp_path / "precious"
    target.mkdir()
    for name, text in contents.items():
        (target / name).write_text(text)
    with pytest.raises(StorageError) as info:
        publish(target, make_matrix())
    assert info.value.exit_code == 74 and info.value.path == str(target)
    assert "not an embpipe artifact folder" in info.value.message and "move it away" in info.value.message
    assert {p.name: p.read_text() for p in target.iterdir()} == contents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]  # no temporary folder left


def _unlink(folder: Path, *names: str) -> None:
    for name in names or [p.name for p in folder.iterdir()]:
        (folder / name).unlink()


@pytest.mark.parametrize("damage", [
    lambda t: None,  # intact
    lambda t: (t / "manifest.json").write_text("[" * 5000),  # a damaged manifest beside embpipe's files only
    lambda t: (_unlink(t, "vocab.txt", "oov.txt"), (t / "manifest.json").write_bytes(b"\xff")),
    lambda t: _unlink(t),  # empty
], ids=["intact", "manifest nested too deeply", "manifest not UTF-8, files missing", "empty"])
def test_write_artifacts_replaces_empty_and_embpipe_made_folders(tmp_path, damage):
    target = tmp_path / "run"
    publish(target, make_matrix(fill=1.0))
    damage(target)
    publish(target, make_matrix(rows=8, fill=2.0))
    assert load_artifact(target).weights.shape == (8, 4)


# --------------------------------------------------------------------------- reading back: 65 content, 74 I/O


def test_a_manifest_nested_too_deeply_is_a_data_error_naming_it(tmp_path):
    target = tmp_path / "run"
    publish(target, make_matrix())
    (target / "manifest.json").write_text("[" * 5000 + "]" * 5000)
    for read in (read_manifest, load_artifact, Indexer.from_artifact):
        with pytest.raises(DataError, match="nested too deeply") as info:
            read(target)
        assert info.value.path == str(target / "manifest.json") and info.value.exit_code == 65


def test_a_manifest_that_cannot_be_read_is_a_storage_error_naming_it(tmp_path):
    target = tmp_path / "run"
    publish(target, make_matrix())
    (target / "manifest.json").unlink()
    (target / "manifest.json").mkdir()
    for read in (read_manifest, load_artifact, Indexer.from_artifact):
        with pytest.raises(StorageError, match="cannot read manifest: is a directory") as info:
            read(target)
        assert info.value.path == str(target / "manifest.json") and info.value.exit_code == 74


def _swap_lines(path: Path, i: int, j: int) -> None:
    lines = path.read_text().splitlines()
    lines[i], lines[j] = lines[j], lines[i]
    path.write_text("\n".join(lines) + "\n")


def _rehash(target: Path, name: str) -> None:
    """Make the manifest's sha256 of ``name`` match the file again, as a careless edit would."""
    import hashlib

    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"][name]["sha256"] = hashlib.sha256((target / name).read_bytes()).hexdigest()
    (target / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("name, damage, error, message", [
    # Two labels swapped: same size, same line count, wrong neighbour names unless the sha256 is checked.
    ("vocab.txt", lambda t: _swap_lines(t / "vocab.txt", 2, 3), DataError, "sha256"),
    ("oov.txt", lambda t: (t / "oov.txt").write_text("[UNK]\n"), DataError, "sha256"),
    ("oov.txt", lambda t: (t / "oov.txt").write_bytes(b"\xff\xfe\n"), DataError, "sha256"),
    ("oov.txt", lambda t: ((t / "oov.txt").write_bytes(b"[UNK]\n\xff\n"), _rehash(t, "oov.txt")), DataError,
     "byte 0xff is not UTF-8"),
    ("vocab.txt", lambda t: ((t / "vocab.txt").unlink(), (t / "vocab.txt").mkdir()), StorageError,
     "cannot read file: is a directory"),
    ("oov.txt", lambda t: ((t / "oov.txt").unlink(), (t / "oov.txt").mkdir()), StorageError,
     "cannot read file: is a directory"),
], ids=["vocab lines swapped", "oov line lost", "oov not UTF-8", "oov not UTF-8, manifest rehashed", "vocab a folder",
        "oov a folder"])
def test_load_artifact_checks_vocab_and_oov_against_the_manifest(tmp_path, name, damage, error, message):
    target = tmp_path / "run"
    publish(target, make_matrix())
    damage(target)
    with pytest.raises(error, match=message) as info:
        load_artifact(target)
    assert info.value.path == str(target / name) and info.value.exit_code == error.exit_code
    assert "\n" not in str(info.value)


def test_a_short_write_says_the_disk_may_be_full_and_keeps_the_published_folder(tmp_path, monkeypatch):
    # numpy reports a full disk as a bare OSError("857600 requested and 511968 written"): no errno, no file.
    target = tmp_path / "run"
    publish(target, make_matrix())
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def short_write(*args, **kwargs):
        raise OSError("857600 requested and 511968 written")

    monkeypatch.setattr(np, "save", short_write)
    with pytest.raises(StorageError) as err:
        publish(target, make_matrix(fill=2.0))
    assert err.value.exit_code == 74 and err.value.path == str(target)
    assert err.value.message == ("cannot write artifacts: a write stopped short (857600 requested and 511968 written): "
                                 "is the disk full? (expected room to write them)")
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the temporary folder is gone
