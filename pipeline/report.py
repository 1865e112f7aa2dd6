"""A run's report: ``report.json``'s dict, and ``report.md`` for people to read.

:func:`build_report` gathers the dict (the gate's verdict and each stage's
figures); :func:`render_report` renders the whole of ``report.md`` from it: the run summary, the gate
verdict, coverage by rule, the most frequent tokens with no vector, then the
evaluation (:func:`render_markdown`: analogy table per section, word
similarity, nearest neighbours). Every piece of text that comes from data (a
token, a path, a section name) is escaped, so a ``|`` or a ``*`` in a word
cannot break a table or start emphasis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def short_names(paths: Sequence[str]) -> list[str]:
    """Each path's file name, or the whole path where two of the paths share a file name.

    >>> short_names(["/a/ws.tsv", "/b/ws.tsv", "/c/simlex.txt"])
    ['/a/ws.tsv', '/b/ws.tsv', 'simlex.txt']
    """
    names = [Path(p).name for p in paths]
    return [name if names.count(name) == 1 else str(p) for name, p in zip(names, paths)]


def build_report(
    name: str, missed: Sequence[str], vocab: Any, vectors: Any, alignment: Any, matrix: Any, evaluation: Mapping[str, Any]
) -> dict[str, Any]:
    """``report.json``: the gate's verdict (``missed``: the thresholds missed), then each stage's figures."""
    return {
        "name": name,
        "gate": {"passed": not missed, "missed": list(missed)},
        "vectors": {"source": vectors.source, **vectors.stats, "count": len(vectors), "dim": vectors.dim},
        "vocab": {"size": len(vocab), **vocab.stats},
        "alignment": alignment.report,
        "matrix": matrix.info,
        "evaluation": evaluation,
    }


def render_report(report: Mapping[str, Any]) -> str:
    """All of ``report.md`` for one run's ``report.json`` data."""
    al, vec, voc = report["alignment"], report["vectors"], report["vocab"]
    gate = report["gate"]
    src = vec.get("source", {})
    where = src.get("path") or ", ".join(c.get("path", "?") for c in src.get("corpus", []))
    lines = [
        f"# embpipe report: {_md(report['name'])}",
        "",
        f"- gate: **{'passed' if gate['passed'] else 'MISSED'}**"
        + ("" if gate["passed"] else " (" + "; ".join(_md(m) for m in gate["missed"]) + ")"),
        f"- vectors: {vec['count']} x {vec['dim']} ({_md(src.get('kind', '?'))}: {_md(where)})",
        f"- vocabulary: {voc['size']} rows",
        f"- matrix: {report['matrix'].get('n_matched', '?')} rows from vectors, "
        f"{report['matrix'].get('n_initialised', '?')} initialised ({_md(report['matrix'].get('oov_init', '?'))})",
        "",
        "## Coverage",
        "",
        f"- type coverage: {_pct(al.get('coverage'))} ({al.get('matched')} of {al.get('types')} tokens)",
        f"- frequency-weighted coverage: {_pct(al.get('weighted_coverage'))}",
        "",
        "| rule | tokens |",
        "|---|---:|",
    ]
    lines += [f"| {_md(rule)} | {n} |" for rule, n in (al.get("by_rule") or {}).items()]
    missing = al.get("top_missing") or []
    if missing:
        lines += ["", "### Most frequent tokens with no vector", "", "| token | count |", "|---|---:|"]
        lines += [f"| {_md(m['token'])} | {m.get('count') if m.get('count') is not None else ''} |" for m in missing]
    lines += ["", render_markdown(report.get("evaluation") or {})]
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(evaluation: Mapping[str, Any]) -> str:
    """The evaluation section of ``report.md``, from :func:`pipeline.evaluate.evaluate`'s result."""
    lines = ["## Evaluation", ""]
    lines += _analogy_markdown(evaluation.get("analogies"))
    lines += _similarity_markdown(evaluation.get("similarity") or [])
    lines += _neighbour_markdown(evaluation.get("neighbours"))
    return "\n".join(lines).rstrip() + "\n"


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell or list item."""
    out = str(text)
    for ch in "\\`*_[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return out


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _fmt_accuracy(acc: Mapping[str, Any]) -> str:
    return f"{_pct(acc['accuracy'])} ({acc['correct']}/{acc['total']})"


def _analogy_markdown(an: Mapping[str, Any] | None) -> list[str]:
    if not an:
        return ["No analogy test configured.", ""]
    case = "case-insensitive" if an["case_insensitive"] else "case-sensitive"
    lines = [
        f"### Analogies ({_md(Path(an['path']).name)}, first {an['searched_rows']} rows, {case})",
        "",
        "| section | questions | outside vocabulary | 3CosAdd | 3CosMul |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in an["sections"]:
        lines.append(f"| {_md(s['section'])} | {s['questions']} | {s['oov']} | "
                     f"{_fmt_accuracy(s['cosadd'])} | {_fmt_accuracy(s['cosmul'])} |")
    lines.append(f"| **total** | {an['questions']} | {an['oov']} | "
                 f"{_fmt_accuracy(an['cosadd'])} | {_fmt_accuracy(an['cosmul'])} |")
    if an.get("skipped"):
        lines += ["", f"{an['skipped']} malformed line(s) skipped."]
    return lines + [""]


def _similarity_markdown(sims: Sequence[Mapping[str, Any]]) -> list[str]:
    if not sims:
        return []
    lines = [
        "### Word similarity",
        "",
        "| file | pairs | scored | Spearman | Pearson |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in sims:
        lines.append(f"| {_md(Path(s['path']).name)} | {s['pairs']} | {s['found']} ({_pct(s['coverage'])}) | "
                     f"{_num(s['spearman'])} | {_num(s['pearson'])} |")
    return lines + [""]


def _neighbour_markdown(nb: Mapping[str, Any] | None) -> list[str]:
    if not nb:
        return []
    lines = [f"### Nearest neighbours (cosine, top {nb['top_k']})", ""]
    for word, hits in nb["probes"].items():
        listed = ", ".join(f"{_md(w)} {s:.3f}" for w, s in hits)
        lines.append(f"- **{_md(word)}**: {listed}")
    if nb.get("missing"):
        lines.append("- no source vector (not in the vocabulary, or an initialised row): "
                     + ", ".join(_md(w) for w in nb["missing"]))
    return lines + [""]
