"""Running the pipeline from a :class:`~pipeline.config.Config`: stages in order, cached, published atomically.

:func:`run` takes the run lock on the artifact folder, computes every stage's
fingerprint (cheap: configs and file identities only), and then produces each
stage's result lazily: from the stage cache when its fingerprint is there,
else by calling the stage function, whose inputs are the results of the stages
before it. When the published folder was made from exactly the same
fingerprint, nothing is loaded at all. :func:`plan` says what would run, and why,
without running anything. Python users::

    from pipeline.config import load_config
    from pipeline.runner import run
    result = run(load_config("configs/glove.toml"))
    result.artifact_dir, result.manifest["input_dim"]
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pipeline
from pipeline.cache import StageCache, content_key, default_cache_dir, file_identity, fingerprint, remembered_digest
from pipeline.config import REJECTED_SUFFIX, Config, resolve_input
from pipeline.errors import GateError, PipelineError, StorageError

log = logging.getLogger(__name__)

STAGES = ("vectors", "vocab", "align", "matrix", "evaluate", "export")
_IN_ORDER = ("vocab", "vectors", "align", "matrix", "evaluate", "export")  # each after the stages it uses
# Bump a stage's number when its logic changes: every cached result of it, and downstream, is then stale.
# matrix 2: "mean" with one matched vector is that vector; equal matched vectors have no spread (fallback)
STAGE_VERSIONS = {"vectors": 1, "vocab": 2, "align": 1, "matrix": 2, "evaluate": 1, "export": 1}


@dataclass(frozen=True, eq=False)
class RunResult:
    artifact_dir: Path
    manifest: dict[str, Any]
    report: dict[str, Any]
    cache: dict[str, str] = field(default_factory=dict)  # stage -> "hit" | "run" | "skipped"
    matrix: Any = None  # the EmbeddingMatrix, unless nothing had to be loaded (up to date)
    vectors: Any = None  # the source Vectors, likewise


def artifact_dir(config: Config) -> Path:
    """``<export.dir>/<name>``; a leading ``~`` is the home folder, as in the cache and input paths.

    If ``<name>`` is a symbolic link (artifacts kept on another disk), the folder it
    points to: the run publishes there, beside it, and the link stays.
    """
    folder = Path(os.path.expanduser(config.export.dir)) / config.name
    return Path(os.path.realpath(folder)) if folder.is_symlink() else folder


# --------------------------------------------------------------------------- stage inputs


def _vocab_corpus(config: Config) -> tuple[str, ...]:
    """The corpus a ``vocab.source = "corpus"`` vocabulary is counted from (the rule is :func:`pipeline.vocab.corpus_specs`)."""
    from pipeline.vocab import corpus_specs

    return corpus_specs(config.vocab, config.vectors.corpus)


def _input_files(config: Config) -> dict[str, list[Path]]:
    """The files each stage reads, resolved (missing ones raise StorageError here, before any work)."""
    from pipeline.sources.corpus import corpus_files

    files: dict[str, list[Path]] = {s: [] for s in STAGES}
    if config.vectors.source == "train":
        files["vectors"] = corpus_files(config.vectors.corpus, config.base_dir)
    else:
        files["vectors"] = [resolve_input(config.vectors.path, config.base_dir)]
    if config.vocab.source == "corpus":
        from pipeline.vocab import corpus_key

        files["vocab"] = corpus_files(_vocab_corpus(config), config.base_dir, corpus_key(config.vocab))
    else:
        files["vocab"] = [resolve_input(config.vocab.path, config.base_dir)]
    ev = config.evaluate
    files["evaluate"] = [resolve_input(p, config.base_dir) for p in (ev.analogies, *ev.similarity) if p]
    return files


def _upstream(config: Config) -> dict[str, tuple[str, ...]]:
    """Which stages each stage consumes. A vector *file* is read filtered to the vocabulary."""
    vectors_up = () if config.vectors.source == "train" else ("vocab",)
    return {
        "vocab": (),
        "vectors": vectors_up,
        "align": ("vocab", "vectors"),
        "matrix": ("align",),
        "evaluate": ("matrix",),
        "export": ("matrix", "evaluate"),
    }


def _stage_config(config: Config, stage: str) -> dict[str, Any]:
    c = config.to_dict()
    if stage == "vectors":
        # Only the settings the source uses: a --set of another source's key recomputes nothing.
        section = dict(c["vectors"])
        if config.vectors.source == "file":
            for key in ("train", "corpus", "lowercase"):
                section.pop(key)
            section["align_rules"] = c["align"]["rules"]  # the filter depends on them
        else:
            for key in ("path", "format", "trust_pickle"):
                section.pop(key)
        return section
    if stage == "vocab":
        v = dict(c["vocab"])
        v["corpus_used"] = list(_vocab_corpus(config)) if config.vocab.source == "corpus" else []
        v["encoding"] = [c["vectors"]["encoding"], c["vectors"]["encoding_errors"]]
        return v
    if stage == "evaluate":
        ev = dict(c["evaluate"])
        ev.pop("gate")  # the gate is checked on the report; changing it re-judges, never recomputes
        return ev
    if stage == "export":
        return {"export": c["export"], "name": c["name"], "gate": c["evaluate"]["gate"]}
    return c[stage]


def stage_fingerprints(config: Config, cache_root: Path | None) -> tuple[dict[str, str], dict[str, dict]]:
    """Each stage's fingerprint, and the parts it was made of (for :func:`plan` to say what changed)."""
    files = _input_files(config)
    ups = _upstream(config)
    fps: dict[str, str] = {}
    parts: dict[str, dict] = {}
    for stage in _IN_ORDER:
        p = {
            "upstream": {u: fps[u] for u in ups[stage]},
            "version": STAGE_VERSIONS[stage],
            "config": fingerprint(_stage_config(config, stage)),
            "seed": config.seed if stage == "matrix" or (stage == "vectors" and config.vectors.source == "train") else None,
            "files": {str(f): fingerprint(content_key(file_identity(f, cache_root))) for f in files[stage]},
        }
        parts[stage] = p
        fps[stage] = fingerprint(stage, p)
    return fps, parts


# --------------------------------------------------------------------------- the stages


def get_vectors(config: Config, vocab=None, work_dir: Path | None = None):
    """Train or read the source vectors; a file is read filtered to what ``vocab`` could match."""
    if config.vectors.source == "train":
        import tempfile

        from pipeline.sources.train import train_vectors

        def train(folder: Path):
            return train_vectors(config.vectors, base_dir=config.base_dir, seed=config.seed, work_dir=folder)

        work_dir = work_dir or _work_folder(config)
        if work_dir is not None:
            return train(work_dir)
        with tempfile.TemporaryDirectory(prefix="embpipe-work-") as tmp:  # removed after training
            return train(Path(tmp))
    if config.vectors.format == "gensim":
        from pipeline.sources.gensim_model import read_gensim_model

        return read_gensim_model(
            resolve_input(config.vectors.path, config.base_dir), trust_pickle=config.vectors.trust_pickle
        )
    wanted = None
    if vocab is not None:
        from pipeline.align import wanted_predicate

        wanted = wanted_predicate([vocab.tokens[i] for i in vocab.word_rows], config.align.rules)
    path = resolve_input(config.vectors.path, config.base_dir)
    options = {"encoding": config.vectors.encoding, "encoding_errors": config.vectors.encoding_errors, "wanted": wanted}
    cache_root = default_cache_dir(config.cache.dir) if config.cache.enabled else None
    if cache_root is not None and config.cache.vectors:
        from pipeline.sources.vcache import cached_read

        return cached_read(path, config.vectors.format, cache_dir=cache_root, **options)
    from pipeline.sources.readers import read_vectors

    # stage_fingerprints computed the CRC-32 already: this process remembers it (for a file unchanged for 2 s).
    return read_vectors(path, config.vectors.format, identity=file_identity(path, cache_root), **options)


def _work_folder(config: Config) -> Path | None:
    """Where training keeps its prepared corpus, ``<cache>/work/<name>/``; None: a temporary folder.

    The prepared one-sentence-per-line corpus is scratch, kept beside the cache, not the artifacts.
    With the cache turned off it is not kept (a full copy of the corpus left in ~/.cache), and a
    cache that cannot be written costs speed, never the run (the next run prepares it again).
    """
    if not config.cache.enabled:
        return None
    import tempfile

    folder = default_cache_dir(config.cache.dir) / "work" / config.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # tried: modes, read-only mounts and ACLs all decide it
            pass
    except OSError as exc:
        log.warning("cannot use %s for the prepared corpus (%s): using a temporary folder", folder, exc)
        return None
    return folder


def get_vocabulary(config: Config):
    from pipeline.vocab import build_vocabulary

    return build_vocabulary(
        config.vocab,
        base_dir=config.base_dir,
        corpus=config.vectors.corpus,
        encoding=config.vectors.encoding,
        encoding_errors=config.vectors.encoding_errors,
    )


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The evaluate stage's result, as a dataclass so the stage cache can store it."""

    report: dict[str, Any]


def check_gate(config: Config, alignment_report: dict[str, Any], evaluation: dict[str, Any]) -> list[str]:
    """The gate thresholds missed, as readable strings (empty: passed)."""
    gate, missed = config.evaluate.gate, []

    def low(name: str, value: float | None, minimum: float, default: float = 0.0, what: str = "") -> None:
        # A threshold that is set but cannot be measured is missed: the gate must prove quality.
        if value is None and minimum > default:
            missed.append(f"{name} could not be measured{what} but evaluate.gate.min_{name} is {minimum}")
        # A value a rounding away from the threshold meets it: a Spearman of exactly 0.5 computes as
        # 0.49999999999999994, which had missed min_similarity_spearman = 0.5 as "0.5000 < 0.5".
        elif value is not None and value < minimum and not math.isclose(value, minimum, rel_tol=1e-9, abs_tol=1e-12):
            shown = f"{value:.4f}" if round(value, 4) < minimum else f"{value:.10f}"
            missed.append(f"{name} {shown}{what} < evaluate.gate.min_{name} {minimum}")

    low("coverage", alignment_report.get("coverage"), gate.min_coverage)
    low("weighted_coverage", alignment_report.get("weighted_coverage"), gate.min_weighted_coverage,
        what=" (no token counts)" if alignment_report.get("weighted_coverage") is None else "")
    analogies = evaluation.get("analogies") or {}
    low("analogy_accuracy", (analogies.get("cosadd") or {}).get("accuracy"), gate.min_analogy_accuracy)
    sims = evaluation.get("similarity") or []
    if not sims:
        low("similarity_spearman", None, gate.min_similarity_spearman, default=-1.0)
    from pipeline.report import short_names

    for sim, name in zip(sims, short_names([s["path"] for s in sims])):
        low("similarity_spearman", sim.get("spearman"), gate.min_similarity_spearman, default=-1.0,
            what=f" ({name})")
    share = alignment_report.get("oov_share")
    if share is not None and share > gate.max_oov_share:
        missed.append(f"oov_share {share:.4f} > evaluate.gate.max_oov_share {gate.max_oov_share}")
    return missed


def versions() -> dict[str, str]:
    out = {"embpipe": pipeline.__version__, "python": platform.python_version()}
    for dist in ("gensim", "numpy", "scikit-learn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# --------------------------------------------------------------------------- running


class _Stages:
    """Produces stage results lazily: cache hit, or compute from upstream results and store."""

    def __init__(self, config: Config, fps: dict[str, str], cache: StageCache, force: frozenset[str]):
        self.config, self.fps, self.cache, self.force = config, fps, cache, force
        self.results: dict[str, Any] = {}
        self.status: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def get(self, stage: str) -> Any:
        if stage in self.results:
            return self.results[stage]
        cls, compute = self._spec(stage)
        t0 = time.perf_counter()
        result = None
        if stage not in self.force and "all" not in self.force:
            result = self.cache.load(stage, self.fps[stage], cls, mmap=stage == "vectors")
        if result is not None:
            self.status[stage] = "hit"
            log.info("stage %s: cache hit", stage, extra={"stage": stage, "event": "cache_hit"})
        else:
            log.info("stage %s: start", stage, extra={"stage": stage, "event": "start"})
            result = compute()
            self.status[stage] = "run"
            self.cache.save(stage, self.fps[stage], result, skip=("keyed_vectors",))
        self.seconds[stage] = round(time.perf_counter() - t0, 4)
        log.info(
            "stage %s: %s in %.2fs", stage, self.status[stage], self.seconds[stage],
            extra={"stage": stage, "event": "done", "seconds": self.seconds[stage], "cache": self.status[stage]},
        )
        self.results[stage] = result
        return result

    def _spec(self, stage: str):
        c = self.config
        if stage == "vectors":
            from pipeline.sources import Vectors

            vocab = (lambda: self.get("vocab")) if c.vectors.source == "file" else (lambda: None)
            return Vectors, lambda: get_vectors(c, vocab())
        if stage == "vocab":
            from pipeline.vocab import Vocabulary

            return Vocabulary, lambda: get_vocabulary(c)
        if stage == "align":
            from pipeline.align import Alignment, align

            return Alignment, lambda: align(self.get("vocab"), self.get("vectors"), c.align)
        if stage == "matrix":
            from pipeline.matrix import EmbeddingMatrix, build_matrix

            return EmbeddingMatrix, lambda: build_matrix(
                self.get("vocab"), self.get("align"), self.get("vectors"), c.matrix, seed=c.seed
            )
        if stage == "evaluate":
            from pipeline.evaluate import evaluate

            def compute():
                words, rows = self.get("matrix").matched_rows()
                return Evaluation(evaluate(words, rows, c.evaluate, base_dir=c.base_dir))

            return Evaluation, compute
        raise KeyError(stage)


@dataclass(frozen=True)
class _Published:
    """What is published at the target: its manifest, and its report if the folder is up to date.

    ``manifest`` is None when there is none or it does not read as an embpipe
    manifest; ``damage`` says why a folder that exists cannot be reused as it is
    (None when it can, or when it was simply made from other inputs).
    """

    manifest: dict[str, Any] | None
    report: dict[str, Any] | None
    damage: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.report is not None

    def previous_parts(self) -> dict[str, dict]:
        """The earlier run's fingerprint parts per stage, the ones that are objects (for :func:`_why`)."""
        run = (self.manifest or {}).get("run")
        parts = run.get("fingerprint_parts") if isinstance(run, dict) else None
        return {k: v for k, v in parts.items() if isinstance(v, dict)} if isinstance(parts, dict) else {}


def _published(folder: Path, export_fingerprint: str, cache_root: Path | None) -> _Published:
    """Read what is published at ``folder``; it is up to date if made from this fingerprint and intact.

    Intact means: every file the manifest lists is there with its size and
    sha256, and ``report.json``, which a run returns without recomputing, reads
    as a JSON object of the shape a run writes. The sha256 are remembered against
    each file's stat in ``cache_root`` (:func:`pipeline.cache.remembered_digest`), so
    only the first rerun after a publish, or after a file was touched, reads the
    files; with no ``cache_root`` (the cache off) every rerun reads them. Anything
    that cannot be read as expected makes the folder not up to date, so the run
    rebuilds it -- never an error: the folder is embpipe's own output.
    """
    from pipeline.artifacts import read_manifest

    if not os.path.lexists(folder / "manifest.json"):  # lexists never raises: an unreadable folder reads as empty
        return _Published(None, None)
    try:
        manifest = read_manifest(folder)
    except PipelineError as exc:
        return _Published(None, None, f"published manifest.json cannot be used: {exc.message}")
    run = manifest.get("run")
    if not isinstance(run, dict) or run.get("fingerprint") != export_fingerprint:
        return _Published(manifest, None)
    if not isinstance(manifest.get("coverage"), dict):  # a run returns it to its caller
        return _Published(manifest, None, "published manifest.json has no coverage object")
    for name, entry in manifest["files"].items():
        try:  # the size first: a file cut short or replaced is not hashed
            intact = (folder / name).stat().st_size == entry.get("bytes") \
                and remembered_digest(folder / name, "sha256", cache_root)[1] == entry.get("sha256")
        except (OSError, ValueError, PipelineError):  # ValueError: a name holding a NUL byte
            intact = False
        if not intact:
            return _Published(manifest, None, f"published {name} is missing or changed")
    try:  # its sha256 was checked above, if the manifest lists it
        if "report.json" not in manifest["files"]:
            raise ValueError("not a report.json the manifest lists")
        report = json.loads((folder / "report.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        report = None
    if not isinstance(report, dict):
        return _Published(manifest, None, "published report.json is missing or changed")
    if not _report_readable(report):
        return _Published(manifest, None, "published report.json does not have the shape a run writes")
    return _Published(manifest, report)


def _report_readable(report: dict[str, Any]) -> bool:
    """Whether the parts of a published report that a run's caller reads (the CLI's summary) have their types.

    Only a hand-edited report.json (with the manifest's sha256 edited to match) or one from
    another version can fail this.
    """
    evaluation = report.get("evaluation") or {}
    if not isinstance(evaluation, dict):
        return False
    analogies, similarity = evaluation.get("analogies"), evaluation.get("similarity") or []
    if analogies is not None and not (isinstance(analogies, dict) and isinstance(analogies.get("cosadd"), dict)):
        return False
    return isinstance(similarity, list) and all(isinstance(s, dict) and isinstance(s.get("path"), str)
                                                for s in similarity)


def _forced_stages(config: Config, force: tuple[str, ...] | frozenset[str]) -> list[str]:
    """The stages to recompute: those named, and every stage that uses one of them, directly or not.

    A recomputed stage may come out different (training on several threads is not
    bit-reproducible), so a stage built on it must not be taken from the cache.
    """
    if "all" in force:
        return list(STAGES)
    ups, forced = _upstream(config), set()
    for stage in _IN_ORDER:
        if stage in force or any(u in forced for u in ups[stage]):
            forced.add(stage)
    return [s for s in STAGES if s in forced]


def plan(config: Config, force: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What :func:`run` would do, per stage, and why; runs nothing.

    Each row: ``stage``, ``action`` ("cached", "run", "up to date") and ``why``.
    Like :func:`run`, an up-to-date published folder means no stage runs,
    whatever the stage cache holds; forcing any stage rewrites the folder. Where
    :func:`run` would refuse a folder it did not make, so does this (StorageError), and
    so it does a requested export format whose package is missing or an ``output_dim``
    above the vector file's (ConfigError).
    """
    from pipeline.export import check_replaceable

    target = artifact_dir(config)
    _extra_writers(config)  # a requested format's missing package: run would stop, so does plan
    _check_output_dim(config)  # and an output_dim above the vector file's
    check_replaceable(target)
    check_replaceable(target.with_name(target.name + REJECTED_SUFFIX))
    cache_root = default_cache_dir(config.cache.dir)
    cache = StageCache(cache_root, config.cache.enabled)
    memo_root = cache_root if config.cache.enabled else None  # where files' hashes are remembered
    fps, parts = stage_fingerprints(config, memo_root)
    published = _published(target, fps["export"], memo_root)
    previous = published.previous_parts()
    no_record = "no earlier run of this name"
    if published.manifest is None and published.damage:
        no_record = f"no record of the earlier run: {published.damage}"
    forced_stages, ups = _forced_stages(config, force), _upstream(config)
    up_to_date = published.up_to_date
    rows = []
    for stage in _IN_ORDER:
        if up_to_date and not forced_stages:
            action, why = "up to date", "published artifacts made from these inputs"
        elif stage in forced_stages:
            action, why = "run", "forced"
            if stage not in force and "all" not in force:
                why = f"uses a forced stage ({', '.join(u for u in ups[stage] if u in forced_stages)})"
        elif stage == "export":
            action = "run"
            if up_to_date:
                why = f"forced {', '.join(forced_stages)}"
            else:  # a damaged folder made from these inputs: say what is wrong with it, not "not in the cache"
                why = published.damage or _why(parts[stage], previous.get(stage), action, no_record)
        else:
            action = "cached" if cache.has(stage, fps[stage]) else "run"
            why = _why(parts[stage], previous.get(stage), action, no_record)
        rows.append({"stage": stage, "action": action, "fingerprint": fps[stage], "why": why})
    return rows


def _why(now: dict, before: dict | None, action: str, no_record: str = "no earlier run of this name") -> str:
    if action != "run":
        return "inputs unchanged"
    if before is None:
        return no_record

    def part(key: str) -> dict:  # the earlier manifest is a file on disk: any part may be damaged
        value = before.get(key)
        return value if isinstance(value, dict) else {}

    changed = []
    for f, h in now["files"].items():
        if part("files").get(f) != h:
            changed.append(f"input {Path(f).name} changed" if f in part("files") else f"new input {Path(f).name}")
    if now["config"] != before.get("config"):
        changed.append("config section changed")
    if now["seed"] != before.get("seed"):
        changed.append("seed changed")
    if now["version"] != before.get("version"):
        changed.append("stage logic version changed")
    if now["upstream"] != before.get("upstream"):
        changed.append("upstream " + ", ".join(k for k in now["upstream"] if now["upstream"][k] != part("upstream").get(k)) + " changed")
    return "; ".join(changed) or "not in the cache"


def run(config: Config, *, force: tuple[str, ...] = (), wait: float = 0.0) -> RunResult:
    """Run every stage of ``config`` and publish ``<export.dir>/<name>/``.

    ``force`` names stages to recompute ("all" for every one). Holds the run
    lock for the whole run (``wait`` seconds to get it, else exit 75). Raises
    :class:`GateError` (exit 3) after writing the new artifacts to
    ``<export.dir>/<name>.rejected/`` when a gate threshold is missed; the
    published folder is then left as it was. Raises :class:`StorageError`
    (exit 74) before any stage runs if either folder exists and is not one
    embpipe made (:func:`pipeline.export.check_replaceable`): it is never replaced.
    """
    from pipeline.export import check_replaceable, clean_leftovers, now_iso
    from pipeline.lock import run_lock

    target = artifact_dir(config)
    extra_writers = _extra_writers(config)  # a requested format's missing package fails now, not after training
    _check_output_dim(config)
    started, t0 = now_iso(), time.perf_counter()
    rejected = target.with_name(target.name + REJECTED_SUFFIX)
    with run_lock(target, wait=wait):
        clean_leftovers(target)
        clean_leftovers(rejected)  # a killed gate-failing run wrote there, under the same lock
        # Refuse to replace someone's own folder now, not after the stages ran. <name>.rejected too:
        # whether the gate misses is known only at the end.
        check_replaceable(target)
        check_replaceable(rejected)
        cache_root = default_cache_dir(config.cache.dir)
        memo_root = cache_root if config.cache.enabled else None  # where files' hashes are remembered
        fps, parts = stage_fingerprints(config, memo_root)
        published = _published(target, fps["export"], memo_root)
        forced = frozenset(_forced_stages(config, force))
        if published.up_to_date and not forced:
            log.info("artifacts up to date: %s", target, extra={"stage": "export", "event": "up_to_date"})
            return RunResult(target, published.manifest, published.report, {s: "skipped" for s in STAGES})
        if published.damage:
            log.warning("rebuilding %s: %s", target, published.damage, extra={"stage": "export", "event": "rebuild"})
        if not os.access(target.parent, os.W_OK | os.X_OK):  # found now, not after a long training
            raise StorageError("cannot write into export.dir: no write permission "
                               "(expected a writable export.dir)", target.parent)
        stages = _Stages(config, fps, StageCache(cache_root, config.cache.enabled), forced)
        return _finish(config, stages, fps, parts, target, started, t0, extra_writers)


def _finish(config, stages: _Stages, fps, parts, target: Path, started: str, t0: float, extra_writers) -> RunResult:
    from pipeline.export import build_manifest, now_iso, write_artifacts
    from pipeline.report import build_report, render_report

    vocab, vectors, alignment = stages.get("vocab"), stages.get("vectors"), stages.get("align")
    matrix, evaluation = stages.get("matrix"), stages.get("evaluate").report
    log.info(
        "coverage %.2f%% of %d tokens (weighted %s)", 100 * alignment.report["coverage"], alignment.report["types"],
        "n/a" if alignment.report.get("weighted_coverage") is None else f"{100 * alignment.report['weighted_coverage']:.2f}%",
        extra={"stage": "align", "event": "coverage",
               **{k: alignment.report.get(k) for k in ("types", "matched", "coverage", "weighted_coverage")}},
    )
    missed = check_gate(config, alignment.report, evaluation)
    report = build_report(config.name, missed, vocab, vectors, alignment, matrix, evaluation)
    out = target if not missed else target.with_name(target.name + REJECTED_SUFFIX)
    t_export = time.perf_counter()

    def manifest() -> dict[str, Any]:  # called once the data files are written, so the timings include them
        stages.seconds["export"] = round(time.perf_counter() - t_export, 4)
        stages.status["export"] = "run"
        run = {
            "started": started,
            "finished": now_iso(),
            "seconds": round(time.perf_counter() - t0, 4),
            "stage_seconds": dict(stages.seconds),
            "cache": dict(stages.status),
            "fingerprint": fps["export"],
            "fingerprint_parts": parts,
        }
        return build_manifest(config, report, vocab, vectors, alignment, matrix, versions=versions(), run=run)

    manifest_data = write_artifacts(
        out, matrix, report=report, manifest=manifest, report_md=render_report(report), extra_writers=extra_writers,
    )
    if not missed:
        log.info("published %s", target, extra={"stage": "export", "event": "published"})
    else:
        raise GateError(
            f"quality gate missed: {'; '.join(missed)}; new artifacts kept in {out}, "
            + (f"{target} left as it was" if os.path.lexists(target) else f"nothing published at {target}")
        )
    return RunResult(target, manifest_data, report, dict(stages.status), matrix, vectors)


def _check_output_dim(config: Config) -> None:
    """ConfigError now, before any stage, if ``matrix.output_dim`` exceeds a vector file's dimension.

    The matrix stage checks it too (for every source); for a file the first lines already tell.
    """
    if not config.matrix.output_dim or config.vectors.source != "file" or config.vectors.format == "gensim":
        return
    from pipeline.matrix import check_output_dim
    from pipeline.sources.readers import peek_dim

    dim = peek_dim(resolve_input(config.vectors.path, config.base_dir), config.vectors.format, config.vectors.encoding)
    if dim is not None:
        check_output_dim(config.matrix.output_dim, dim)


def _extra_writers(config: Config):
    if not config.export.formats:
        return {}
    from pipeline.formats import writers_for

    return writers_for(config.export)
