"""Writing an artifact folder atomically: the matrix, its vocabulary, the reports, the manifest.

Use :func:`write_artifacts` to publish ``<export.dir>/<name>/``, with the
manifest :func:`build_manifest` lays out. Everything is
written into a temporary folder beside the target, ``manifest.json`` last (it
is the success mark), then the new folder is swapped in whole. A run that
fails or is killed at any point leaves the previous folder as it was;
leftovers of a killed run are removed by the next one (:func:`clean_leftovers`).
Only a folder embpipe made is ever replaced (:func:`check_replaceable`): a
name that happens to match someone's own folder is refused, not wiped.

Artifact contract (the README repeats it):

- ``embeddings.npy``: float32 ``(input_dim, output_dim)``, no pickle;
- ``vocab.txt``: line ``i`` is the token of row ``i`` (padding and OOV included);
- ``oov.txt``: the tokens whose rows were initialised, not taken from a vector;
- ``report.json`` / ``report.md``: coverage, alignment, evaluation;
- ``manifest.json``: shapes, indices, dtype, sha256 of every file, source, config, versions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import DataError, PipelineError, StorageError
from pipeline.matrix import EmbeddingMatrix
from pipeline.sources.files import file_sha256
from pipeline.system import exchange_paths, remove_path

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
TMP_MARK = ".tmp-"
OLD_MARK = ".old-"
DATA_FILES = ("embeddings.npy", "vocab.txt", "oov.txt", "report.json", "report.md")  # every run writes these


# --------------------------------------------------------------------------- what manifest.json says


def build_manifest(
    config: Any,
    report: dict[str, Any],
    vocab: Any,
    vectors: Any,
    alignment: Any,
    matrix: EmbeddingMatrix,
    *,
    versions: dict[str, str],
    run: dict[str, Any],
) -> dict[str, Any]:
    """``manifest.json`` but its ``files`` (which :func:`write_artifacts` adds once they are written).

    ``report`` is :func:`pipeline.report.build_report`'s (its gate verdict is repeated here);
    ``run`` the run's timings, stage statuses and fingerprint.
    """
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": config.name,
        "status": "ok" if report["gate"]["passed"] else "rejected",
        "input_dim": matrix.input_dim,
        "output_dim": matrix.output_dim,
        "padding_idx": matrix.padding_idx,
        "oov_idx": matrix.oov_idx,
        "reserved_rows": sorted(int(i) for i in vocab.reserved),
        "dtype": "float32",
        "seed": config.seed,
        "source": vectors.source,
        "vocab_source": vocab.source,
        "coverage": {k: alignment.report.get(k) for k in ("types", "matched", "coverage", "weighted_coverage", "oov_share")},
        "gate": report["gate"],
        "config": config.to_dict(),
        "versions": versions,
        "run": run,
    }


# --------------------------------------------------------------------------- small writers


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """One token a line. A token holding a newline would shift every later row, so it is refused."""
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for i, line in enumerate(lines):
            if "\n" in line or "\r" in line:
                raise DataError(f"token of row {i} contains a line break (expected one-line tokens)", path)
            fh.write(line + "\n")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- atomic swap


def publish_dir(new: Path, target: Path) -> None:
    """Make ``new`` appear at ``target``, replacing what was there, with no moment of a half folder.

    On Linux the two folders are swapped atomically; elsewhere (or if the file
    system refuses) the old folder is renamed aside first and the new one
    renamed in: a reader may then miss the folder for an instant, but never sees
    a mix, and :func:`clean_leftovers` restores the old one if a kill lands between.
    """
    if target.exists() and not target.is_dir():
        raise StorageError("artifact path exists and is not a folder (expected a folder or nothing)", target)
    if target.exists():
        if exchange_paths(new, target):
            _remove_quietly(new)  # now holds the previous artifacts
            _fsync_dir(target.parent)
            return
        old = target.with_name(f".{target.name}{OLD_MARK}{uuid.uuid4().hex[:8]}")
        os.rename(target, old)
        os.rename(new, target)
        _remove_quietly(old)
    else:
        os.rename(new, target)
    _fsync_dir(target.parent)


def _remove_quietly(path: Path) -> None:
    """Remove a folder tree, file or link (a link is unlinked, never followed); what cannot be removed stays."""
    try:
        remove_path(path)
    except OSError as exc:
        log.debug("cannot remove %s: %s", path, exc)


def made_by_embpipe(folder: Path) -> bool:
    """Whether ``folder`` (an existing folder) is an artifact folder embpipe wrote, so a run may replace it.

    It is if its ``manifest.json`` reads as an embpipe manifest
    (:func:`pipeline.artifacts.read_manifest`: a web app's or a browser
    extension's ``manifest.json`` does not). A published folder whose manifest
    was damaged since (cut short, ``[]``, nested too deeply, unreadable) must
    still be repairable by a rerun, so it also counts as embpipe's if it holds a
    ``manifest.json`` of any content, at least one other file a run writes, and
    nothing a run does not write.
    """
    from pipeline.artifacts import read_manifest
    from pipeline.formats import PROJECTOR_DIR, SAFETENSORS_FILE, W2V_BINARY_FILE, W2V_TEXT_FILE

    manifest = folder / MANIFEST
    if not os.path.lexists(manifest):
        return False
    try:
        read_manifest(folder)
        return True
    except PipelineError:
        pass  # damaged: judged by the names below
    written = {*DATA_FILES, SAFETENSORS_FILE, W2V_TEXT_FILE, W2V_BINARY_FILE, PROJECTOR_DIR}
    names = {p.name for p in folder.iterdir()} - {MANIFEST}
    return bool(names) and names <= written


def check_replaceable(target: Path) -> None:
    """Raise :class:`StorageError` (exit 74) unless publishing at ``target`` would replace nothing but embpipe's work.

    Nothing there, an empty folder, or a folder :func:`made_by_embpipe` may be
    replaced; a file, or a folder holding anything else, is refused -- a name
    that matches someone's own folder (``export.dir = "/tmp"``, ``name = "x"``)
    must never delete it. The runner calls it before any stage runs, :func:`write_artifacts` again.
    """
    try:
        if not target.exists():
            return
        if not target.is_dir():
            raise StorageError("artifact path exists and is not a folder (expected a folder or nothing)", target)
        if not any(target.iterdir()) or made_by_embpipe(target):
            return
    except OSError as exc:
        raise StorageError(
            f"cannot look inside the existing folder to tell whether embpipe made it: {exc.strerror or exc} "
            "(expected a readable folder, or nothing, at the artifact path)",
            target,
        ) from None
    raise StorageError(
        "folder exists and is not an embpipe artifact folder (no embpipe manifest.json), so a run will not "
        "replace it: move it away, or choose another name or export.dir",
        target,
    )


def clean_leftovers(target: Path) -> list[Path]:
    """Remove what an interrupted run left beside ``target``; restore ``target`` if only its old copy survived.

    Call it while holding the run lock, so no live run's temporary folder is touched.
    """
    parent, removed = target.parent, []
    try:
        names = sorted(os.listdir(parent))
    except OSError:  # no folder yet (or none to list): nothing was left
        return removed
    # Exactly the names publish() and new_temp_dir() give, never a prefix: another run name in the
    # same folder, such as "a.old-1", has its own lock file ".a.old-1.lock" and its own folders here.
    name = re.escape(target.name)
    olds = [parent / n for n in names if re.fullmatch(rf"\.{name}{re.escape(OLD_MARK)}[0-9a-f]+", n)]
    temps = [parent / n for n in names if re.fullmatch(rf"\.{name}{re.escape(TMP_MARK)}[0-9]+-[0-9a-f]+", n)]
    if olds and not target.exists():
        os.rename(olds.pop(), target)  # killed between the two renames: put the last good one back
        log.warning("restored %s from an interrupted run", target)
    for p in [*olds, *temps]:
        _remove_quietly(p)
        removed.append(p)
    return removed


def new_temp_dir(target: Path) -> Path:
    """An empty folder beside ``target`` (same file system, so the final rename is atomic)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}{TMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
    except OSError as exc:
        raise StorageError(
            f"cannot create the output folder: {exc.strerror or exc} (expected a writable export.dir)",
            target.parent,
        ) from None
    return tmp


# --------------------------------------------------------------------------- the artifact folder


def write_artifacts(
    target: Path,
    matrix: EmbeddingMatrix,
    *,
    report: dict[str, Any],
    manifest: dict[str, Any] | Callable[[], dict[str, Any]],
    report_md: str,
    extra_writers: dict[str, Callable[[Path, EmbeddingMatrix], list[str]]] | None = None,
) -> dict[str, Any]:
    """Write every artifact into a temporary folder, the manifest last, then swap it in at ``target``.

    ``manifest`` (a dict, or a function called once the data files are written)
    is completed here with ``files`` (name -> sha256 and bytes) and
    returned as written. ``extra_writers`` map a format name to a function that
    writes its files into the folder and returns their names.
    """
    check_replaceable(target)
    tmp = new_temp_dir(target)
    try:
        files = _write_files(tmp, matrix, report, report_md, extra_writers or {})
        if callable(manifest):  # lets the caller put figures known only now (export time) in the manifest
            manifest = manifest()
        manifest = {**manifest, "files": {name: _file_entry(tmp / name) for name in files}}
        write_json(tmp / MANIFEST, manifest)
        for name in [*files, MANIFEST]:
            with open(tmp / name, "rb") as fh:
                os.fsync(fh.fileno())
        publish_dir(tmp, target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        where = _as_published(exc.filename, tmp, target) if exc.filename else target
        # numpy reports a short write as a bare OSError("857600 requested and 511968 written").
        why = exc.strerror or f"a write stopped short ({exc}): is the disk full?"
        raise StorageError(f"cannot write artifacts: {why} (expected room to write them)", where) from None
    except PipelineError as exc:  # e.g. a token a writer's format cannot hold: name the file users know
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.path is None:
            raise
        raise type(exc)(exc.message, _as_published(exc.path, tmp, target), exc.line) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote %s (%d x %d)", target, matrix.input_dim, matrix.output_dim)
    return manifest


def _as_published(path: str | os.PathLike, tmp: Path, target: Path) -> Path:
    """Where ``path`` inside the temporary folder ends up once published (other paths unchanged).

    >>> str(_as_published("/a/.out.tmp-1/vocab.txt", Path("/a/.out.tmp-1"), Path("/a/out")))
    '/a/out/vocab.txt'
    """
    path = Path(path)
    return target / path.relative_to(tmp) if path.is_relative_to(tmp) else path


def _write_files(
    folder: Path,
    matrix: EmbeddingMatrix,
    report: dict[str, Any],
    report_md: str,
    extra_writers: dict[str, Callable[[Path, EmbeddingMatrix], list[str]]],
) -> list[str]:
    weights = np.ascontiguousarray(matrix.weights, dtype=np.float32)
    np.save(folder / "embeddings.npy", weights, allow_pickle=False)
    write_lines(folder / "vocab.txt", matrix.tokens)
    write_lines(folder / "oov.txt", (matrix.tokens[i] for i in matrix.initialised))
    write_json(folder / "report.json", report)
    (folder / "report.md").write_text(report_md, encoding="utf-8")
    files = list(DATA_FILES)
    for fmt, writer in extra_writers.items():
        files.extend(writer(folder, matrix))
    return files


def _file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": file_sha256(path), "bytes": path.stat().st_size}


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
