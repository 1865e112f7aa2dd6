"""Fingerprints and the stage cache: a rerun with unchanged inputs recomputes nothing.

A stage's fingerprint is chained, as in Hugging Face ``datasets``: the hash of
the upstream fingerprints, the stage's name and logic version, its resolved
config section, the seed, and the *content identity* of every input file
(size and CRC-32, :func:`content_key`; never the name, path or mtime alone). A stage whose fingerprint has
a complete entry in the cache is loaded instead of run.

Entries are plain files, never pickles: each field of the stage's result
dataclass is stored as ``<field>.npy`` (arrays) or in ``fields.json``; the entry
is written into a temporary folder and renamed into place, and ``done.json``
is its completion mark, so a half-written entry is never read. ``done.json``
holds the sha256 of every other file of the entry, checked before a load, so a
file changed since (a bad disk, a stray edit) is recomputed, never used. A
temporary folder that a killed write left behind is removed when the next entry
is written beside it (:func:`remove_leftover_temp_folders`).

The cache folder is ``[cache] dir`` in the config; empty means
``$EMBPIPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/embpipe``, else ``~/.cache/embpipe``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import time
import typing
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import open_error
from pipeline.sources.files import file_crc32, file_sha256
from pipeline.system import exchange_paths, remove_path, write_atomic

log = logging.getLogger(__name__)

DONE = "done.json"


def default_cache_dir(configured: str = "") -> Path:
    if configured:
        return Path(os.path.expanduser(configured))
    if os.environ.get("EMBPIPE_CACHE_DIR"):
        return Path(os.environ["EMBPIPE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "embpipe"


# --------------------------------------------------------------------------- file identity


def file_identity(path: str | os.PathLike, cache_dir: Path | None = None) -> dict[str, Any]:
    """Path, size, mtime and CRC-32 of ``path`` (:func:`~pipeline.sources.files.describe_file`), the CRC-32
    reused while the file's stat is unchanged (:func:`remembered_digest`)."""
    st, crc = remembered_digest(path, "crc32", cache_dir)
    # The path as this call spells it: the same file may be named relative, absolute or by a link.
    return {"path": str(Path(path)), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "crc32": crc}


_DIGESTS = {"crc32": file_crc32, "sha256": file_sha256}
# A file changed this shortly before it was hashed is not remembered: a second change within
# the same tick of the file system's timestamps (2 s on FAT, 1 s on some network file systems) would
# leave its stat as it was. git's index calls such entries "racily clean".
_RACY_NS = 2_000_000_000
# The digests this process computed, by stat key: with the cache off a run still hashes each file once.
_SEEN: dict[tuple[str, str], str] = {}


def remembered_digest(path: str | os.PathLike, kind: str, cache_dir: Path | None = None) -> tuple[os.stat_result, str]:
    """The file's stat and its ``kind`` digest ("crc32" or "sha256"), reused while the stat is unchanged.

    Hashing a 1 GB vector file takes a second, so, as git does, the digest is
    remembered against the file's ``stat``, in this process and in
    ``<cache_dir>/identity/``; any change to the file changes its stat and
    forces a new hash. The memo is keyed by the resolved path, size, mtime,
    inode and ctime (which no ``touch -d`` can set back), and kept only for a
    file unchanged for ``_RACY_NS`` before it was hashed.
    """
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise open_error(p, exc) from None
    stat_key = f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}|{st.st_ctime_ns}"
    if (stat_key, kind) in _SEEN:
        return st, _SEEN[stat_key, kind]
    memo = None
    if cache_dir is not None:
        name = hashlib.blake2b(f"{kind}|{stat_key}".encode(), digest_size=16).hexdigest()
        memo = cache_dir / "identity" / f"{name}.json"
        try:
            data = json.loads(memo.read_text(encoding="utf-8"))
            if data.get("stat_key") == stat_key and isinstance(data.get(kind), str) \
                    and data.get("check") == _memo_check(stat_key, data[kind]):
                _SEEN[stat_key, kind] = data[kind]
                return st, data[kind]
        except (OSError, ValueError, AttributeError):  # AttributeError: JSON that is not an object
            pass
    started = time.time_ns()
    digest = _DIGESTS[kind](p)
    if max(st.st_mtime_ns, st.st_ctime_ns) >= started - _RACY_NS:
        return st, digest  # changed too recently to be remembered (see _RACY_NS)
    _SEEN[stat_key, kind] = digest
    if memo is not None:
        try:
            _write_json_atomic(memo, {"stat_key": stat_key, kind: digest, "check": _memo_check(stat_key, digest)})
        except OSError as exc:  # a cache that cannot be written costs speed (a hash next time), never the run
            log.debug("could not remember the %s of %s in %s: %s", kind, p, memo.parent, exc)
    return st, digest


def _memo_check(stat_key: str, digest: str) -> str:
    """A checksum of a hash memo's fields: a memo damaged since it was written (one changed hex digit of
    its digest would put a wrong hash in the manifest) is then hashed again, not trusted. About 1 us.

    >>> _memo_check("k", "ab") == _memo_check("k", "ab") != _memo_check("k", "ac")
    True
    """
    return hashlib.blake2b(f"{stat_key}\n{digest}".encode(), digest_size=8).hexdigest()


def content_key(identity: dict[str, Any]) -> dict[str, Any]:
    """The part of an identity that says what the bytes are (not where the file lives, nor when it was written)."""
    return {"size": identity["size"], "crc32": identity["crc32"]}


def fingerprint(*parts: Any) -> str:
    """A stable hex digest of JSON-able parts (dict key order does not matter).

    >>> fingerprint("vocab", 1, {"a": 1}) == fingerprint("vocab", 1, {"a": 1})
    True
    """
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


# --------------------------------------------------------------------------- stage results on disk

# ".<entry>.tmp-<pid>-<random>": the folder an entry is written in before it is renamed into place.
_TEMP_FOLDER = re.compile(r"\..+\.tmp-(\d+)-[0-9a-f]+")
# A temporary folder this old is left over whatever its PID says (the PID may have been reused).
TEMP_FOLDER_MAX_AGE = 24 * 3600


def remove_leftover_temp_folders(folder: Path) -> None:
    """Remove the temporary entry folders in ``folder`` that no running process is writing.

    A write interrupted by SIGKILL (or a power cut) leaves its folder, as large as
    the entry, and no one else would ever remove it. Called before a cache writes
    a new entry in ``folder``: one listdir, plus a stat and a signal-0 ``kill`` for
    each temporary folder only. The folder of a live process is left alone (it is
    writing it), unless it is older than a day: that PID is most likely a new process.
    A process of another host sharing the cache over a network file system looks dead
    from here: its write then fails and costs it a rebuild next time, never a wrong entry.
    """
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        match = _TEMP_FOLDER.fullmatch(name)
        if match is None:
            continue
        path = folder / name
        try:
            old = now - path.lstat().st_mtime > TEMP_FOLDER_MAX_AGE
        except OSError:  # gone already: its writer renamed or removed it
            continue
        if old or not _process_exists(int(match.group(1))):
            log.debug("removing %s, left over by an interrupted cache write", path)
            shutil.rmtree(path, ignore_errors=True)


def _process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (signal 0 checks without sending anything)."""
    if pid <= 0:  # not a PID os.getpid() gives; kill(0, ...) would mean our own process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user
        return True
    except (OverflowError, OSError):  # not a valid PID
        return False
    return True


def _write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to a temporary file beside ``path`` and rename it into place (OSError on failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, ensure_ascii=False, default=_json_default).encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (frozenset, set)):
        return sorted(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in the cache")


class StageCache:
    """Stores and loads stage result dataclasses by fingerprint under ``<root>/stages/<stage>/<fp>/``."""

    def __init__(self, root: Path, enabled: bool = True):
        self.root = Path(root)
        self.enabled = enabled
        self.write_failed = False  # a read-only cache fails every stage: warn once, not once a stage

    def entry(self, stage: str, fp: str) -> Path:
        return self.root / "stages" / stage / fp

    def has(self, stage: str, fp: str) -> bool:
        return self.enabled and (self.entry(stage, fp) / DONE).is_file()

    def save(self, stage: str, fp: str, result: Any, skip: tuple[str, ...] = ()) -> None:
        if not self.enabled:
            return
        final = self.entry(stage, fp)
        remove_leftover_temp_folders(final.parent)
        tmp = final.with_name(f".{fp}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        try:
            tmp.mkdir(parents=True)
            fields: dict[str, Any] = {}
            for f in dataclasses.fields(result):
                if f.name in skip:
                    continue
                value = getattr(result, f.name)
                if isinstance(value, np.ndarray):
                    np.save(tmp / f"{f.name}.npy", value, allow_pickle=False)
                else:
                    fields[f.name] = value
            (tmp / "fields.json").write_text(
                json.dumps(fields, ensure_ascii=False, default=_json_default), encoding="utf-8"
            )
            digests = {p.name: file_sha256(p) for p in sorted(tmp.iterdir())}
            (tmp / DONE).write_text(json.dumps({"stage": stage, "fingerprint": fp, "sha256": digests}), encoding="utf-8")
            if final.is_dir() and not final.is_symlink() and exchange_paths(tmp, final):
                shutil.rmtree(tmp, ignore_errors=True)  # now the old entry, which a reader never saw half-deleted
            else:
                remove_path(final)  # an old entry, or a file rename could not replace with a folder
                os.rename(tmp, final)
        except OSError as exc:  # a cache that cannot be written costs speed, never the run
            log.log(
                logging.DEBUG if self.write_failed else logging.WARNING,
                "could not write the %s cache entry: %s (stages will be recomputed; expected a writable cache.dir)",
                stage, exc,
            )
            self.write_failed = True
            shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:  # a bug or Ctrl-C: leave no half-written folder behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def load(self, stage: str, fp: str, cls: type, mmap: bool = False) -> Any | None:
        """The cached result, or None if missing or damaged (a damaged entry is removed)."""
        if not self.has(stage, fp):
            return None
        folder = self.entry(stage, fp)
        try:
            digests = json.loads((folder / DONE).read_text(encoding="utf-8")).get("sha256")
            if not isinstance(digests, dict):
                raise ValueError("no file hashes in its completion mark (written by an older embpipe)")
            for name, digest in digests.items():
                if file_sha256(folder / name) != digest:
                    raise ValueError(f"{name} differs from what was written")
            fields = json.loads((folder / "fields.json").read_text(encoding="utf-8"))
            hints = typing.get_type_hints(cls)
            kwargs: dict[str, Any] = {}
            for f in dataclasses.fields(cls):
                npy = folder / f"{f.name}.npy"
                if npy.name in digests:
                    kwargs[f.name] = np.load(npy, allow_pickle=False, mmap_mode="r" if mmap else None)
                elif f.name in fields:
                    kwargs[f.name] = _restore(hints[f.name], fields[f.name])
            return cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - any damage means: recompute
            log.warning("damaged %s cache entry %s (%s): recomputing", stage, folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
            return None


def _restore(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        if args and typing.get_origin(args[0]) is tuple:
            return tuple(tuple(v) for v in value)
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if origin is frozenset or hint is frozenset:
        return frozenset(value)
    return value
