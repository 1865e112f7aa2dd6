"""Reading an exported artifact folder back, checked against its manifest.

:func:`load_artifact` is what the framework loaders, the ``Indexer`` and the
``evaluate`` / ``neighbours`` commands use: it refuses a folder whose
``embeddings.npy`` does not match the manifest (sha256, shape, dtype) or whose
padding row is not zero, naming the file, so a tampered or half-copied
artifact never reaches a model.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import DataError, StorageError, open_error
from pipeline.sources.files import file_sha256

MANIFEST = "manifest.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Artifact:
    folder: Path
    manifest: dict[str, Any]
    weights: np.ndarray
    tokens: tuple[str, ...]
    oov_tokens: frozenset[str]

    @property
    def padding_idx(self) -> int:
        return int(self.manifest["padding_idx"])

    @property
    def oov_idx(self) -> int:
        return int(self.manifest["oov_idx"])

    def matched_mask(self) -> np.ndarray:
        """Rows that hold a source vector: not reserved, not initialised."""
        mask = np.ones(len(self.tokens), dtype=bool)
        mask[list(self.manifest.get("reserved_rows", [self.padding_idx, self.oov_idx]))] = False
        for i, tok in enumerate(self.tokens):
            if tok in self.oov_tokens:
                mask[i] = False
        return mask

    def matched_rows(self) -> tuple[list[str], np.ndarray]:
        idx = np.flatnonzero(self.matched_mask())
        return [self.tokens[i] for i in idx], self.weights[idx]


def verify_file(folder: Path, manifest: dict[str, Any], name: str) -> Path:
    """The path of artifact file ``name``, after checking it exists and its sha256 matches the manifest.

    A missing file is bad data (65: the folder is incomplete); one that is there
    but cannot be read (a directory, no permission) is an I/O error (74).
    """
    path = folder / name
    if not os.path.lexists(path):  # a dangling link is there, and unreadable: 74 below
        raise DataError(f"{name} is missing (expected the file the manifest lists)", folder)
    expected = manifest["files"].get(name, {}).get("sha256")
    if not isinstance(expected, str):
        raise DataError(f"the manifest lists no sha256 for {name} (expected one for every file; "
                        "rebuild the folder with `embpipe run`)", folder / MANIFEST)
    actual = file_sha256(path)  # StorageError naming the file if it cannot be read
    if expected != actual:
        raise DataError(
            f"sha256 {actual[:12]}... does not match the manifest's {str(expected)[:12]}... "
            "(the file was changed after export; rebuild it with `embpipe run`)",
            path,
        )
    return path


def warn_if_rejected(folder: str | Path, manifest: dict[str, Any]) -> None:
    """Log a warning when ``folder`` holds a run that missed the quality gate (``<name>.rejected/``).

    Loading one is allowed (to look at what failed), but not silently: a model fed
    from it would use vectors the gate turned down.
    """
    if manifest.get("status") == "rejected":
        log.warning("%s holds a run that missed the quality gate (manifest status 'rejected'); "
                    "loading it anyway", folder)


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The checked ``manifest.json`` of ``folder``: DataError (65) for its content, StorageError (74) for I/O."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "artifact folder not found"
            raise StorageError(f"{what} (expected a folder written by `embpipe run`)", folder)
        data = path.read_bytes()
    except FileNotFoundError as exc:
        if os.path.lexists(path):  # a dangling symbolic link
            raise open_error(path, exc, "manifest") from None
        raise DataError("no manifest.json: not a finished embpipe artifact folder (was the run interrupted?)",
                        folder) from None
    except OSError as exc:  # no permission (for the file or the folder), or manifest.json is a folder
        raise open_error(path, exc, "manifest") from None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except RecursionError:  # json recurses once per level: 5,000 nested brackets overflow the stack
        raise DataError("manifest is nested too deeply (expected the JSON object `embpipe run` writes)", path) from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise DataError(f"manifest is not valid JSON: {exc} (expected the JSON object `embpipe run` writes)",
                        path) from None
    if not isinstance(manifest, dict):
        raise DataError("manifest is not a JSON object (expected an embpipe manifest)", path)
    for key in ("input_dim", "output_dim", "padding_idx", "oov_idx", "files"):
        if key not in manifest:
            raise DataError(f"manifest has no '{key}' (expected an embpipe manifest)", path)

    def is_count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    rows = manifest["input_dim"]
    for key in ("input_dim", "output_dim"):
        if not is_count(manifest[key]) or manifest[key] == 0:
            raise DataError(f"manifest {key} is {manifest[key]!r} (expected an integer >= 1)", path)
    reserved = manifest.get("reserved_rows", [])
    if not isinstance(reserved, list):
        raise DataError(f"manifest reserved_rows is {reserved!r} (expected a list of row indices)", path)
    for key, value in [("padding_idx", manifest["padding_idx"]), ("oov_idx", manifest["oov_idx"]),
                       *(("reserved_rows", v) for v in reserved)]:
        if not is_count(value) or value >= rows:
            raise DataError(f"manifest {key} holds {value!r} (expected a row index below input_dim {rows})", path)
    config = manifest.get("config") or {}
    if not isinstance(config, dict) or not isinstance(config.get("vocab") or {}, dict):
        raise DataError("manifest config is not an object with a vocab object (expected the run's config)", path)
    files = manifest["files"]
    if not isinstance(files, dict) or not all(isinstance(e, dict) for e in files.values()):
        raise DataError("manifest files is not an object of name: {sha256, bytes} (expected an embpipe manifest)", path)
    return manifest


def load_weights(folder: str | Path, manifest: dict[str, Any] | None = None, *, verify: bool = True,
                 mmap: bool = False) -> np.ndarray:
    """``embeddings.npy`` as float32, verified against the manifest (sha256, shape, zero padding row)."""
    folder = Path(folder)
    manifest = manifest or read_manifest(folder)
    path = verify_file(folder, manifest, "embeddings.npy") if verify else folder / "embeddings.npy"
    if not path.exists():
        raise DataError("embeddings.npy is missing (expected the matrix the manifest describes)", folder)
    shape = (int(manifest["input_dim"]), int(manifest["output_dim"]))
    try:
        header = _npy_header(path)
        if header is not None and header != (shape, np.dtype(np.float32)):
            # Said before loading: a header claiming 10**12 rows would ask for terabytes first.
            raise DataError(f"matrix is {header[1]} {header[0]}, the manifest says float32 {shape}", path)
        weights = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except OSError as exc:
        if exc.errno is not None:  # the file system refused (no permission, a folder): I/O, not the content
            raise open_error(path, exc) from None
        raise DataError(f"not a readable .npy matrix ({exc})", path) from None
    except (ValueError, EOFError) as exc:  # numpy reads what is not a .npy header as a pickle, which it refuses
        why = "not a .npy array; pickled data is never loaded" if "pickle" in str(exc) else (str(exc) or "empty file")
        raise DataError(f"not a readable .npy matrix ({why})", path) from None
    if not isinstance(weights, np.ndarray):  # an .npz archive under the .npy name
        raise DataError("an .npz archive, not a .npy matrix (expected the matrix np.save writes)", path)
    if weights.shape != shape or weights.dtype != np.float32:
        raise DataError(
            f"matrix is {weights.dtype} {weights.shape}, the manifest says float32 {shape}", path
        )
    pad = int(manifest["padding_idx"])
    if verify and np.any(weights[pad] != 0):
        raise DataError(f"padding row {pad} is not all zeros (expected zeros)", path)
    if verify and not np.isfinite(weights).all():  # one NaN row empties every neighbour list
        row = int(np.flatnonzero(~np.isfinite(weights).all(axis=1))[0])
        raise DataError(f"row {row} holds NaN or inf (expected finite numbers)", path)
    return weights


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype] | None:
    """The shape and dtype a version 1.0 or 2.0 ``.npy`` header announces; None for a file that is
    not one (:func:`numpy.load` then says what it is). Raises ValueError for a damaged header."""
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            return None
        fh.seek(0)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            return None
    return tuple(shape), dtype


def read_tokens(path: Path) -> list[str]:
    """The lines of a ``vocab.txt`` / ``oov.txt``, split on ``\\n`` only (as ``write_lines`` wrote them).

    Bytes that are not UTF-8 are bad data (65, naming the line); a file that
    cannot be read (a directory, no permission) an I/O error (74).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path.name} is missing (expected one token a line)", path.parent) from None
    except OSError as exc:
        raise open_error(path, exc) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"byte {data[exc.start]:#04x} is not UTF-8 (expected UTF-8 text, one token a line)",
                        path, line) from None
    lines = text.split("\n")
    if lines[-1] == "":  # the last line's end, or an empty file
        lines.pop()
    return lines


def load_artifact(folder: str | Path, *, verify: bool = True, mmap: bool = False) -> Artifact:
    """Read and check an artifact folder.

    >>> art = load_artifact("artifacts/default")          # doctest: +SKIP
    >>> art.weights.shape == (art.manifest["input_dim"], art.manifest["output_dim"])  # doctest: +SKIP
    True
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    warn_if_rejected(folder, manifest)
    weights = load_weights(folder, manifest, verify=verify, mmap=mmap)
    # Both files label rows: a vocab.txt with two lines swapped, or an oov.txt that lost a line, would
    # give wrong neighbours with no error, so they are checked against the manifest like the matrix.
    tokens = read_tokens(verify_file(folder, manifest, "vocab.txt") if verify else folder / "vocab.txt")
    if len(tokens) != weights.shape[0]:
        raise DataError(f"vocab.txt has {len(tokens)} lines, the matrix {weights.shape[0]} rows", folder / "vocab.txt")
    oov_path = folder / "oov.txt"
    if verify and "oov.txt" in manifest["files"]:
        oov = frozenset(read_tokens(verify_file(folder, manifest, "oov.txt")))
    else:  # a manifest that does not list it (written before oov.txt existed)
        oov = frozenset(read_tokens(oov_path)) if oov_path.exists() else frozenset()
    return Artifact(folder, manifest, weights, tuple(tokens), oov)
