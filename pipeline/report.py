"""Rendering a run's report dict as ``report.md`` for people to read.

The evaluation part (analogy table, similarity, neighbours) is rendered by
:func:`pipeline.evaluate.render_markdown`; this module adds the run summary,
the gate verdict, coverage by rule and the most frequent tokens with no vector.
"""

from __future__ import annotations

from typing import Any


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def render_report(report: dict[str, Any]) -> str:
    from pipeline.evaluate import render_markdown

    al, vec, voc = report["alignment"], report["vectors"], report["vocab"]
    gate = report["gate"]
    src = vec.get("source", {})
    where = src.get("path") or ", ".join(c.get("path", "?") for c in src.get("corpus", []))
    lines = [
        f"# embpipe report: {report['name']}",
        "",
        f"- gate: **{'passed' if gate['passed'] else 'MISSED'}**"
        + ("" if gate["passed"] else " (" + "; ".join(gate["missed"]) + ")"),
        f"- vectors: {vec['count']} x {vec['dim']} ({src.get('kind', '?')}: {where})",
        f"- vocabulary: {voc['size']} rows",
        f"- matrix: {report['matrix'].get('n_matched', '?')} rows from vectors, "
        f"{report['matrix'].get('n_initialised', '?')} initialised ({report['matrix'].get('oov_init', '?')})",
        "",
        "## Coverage",
        "",
        f"- type coverage: {_pct(al.get('coverage'))} ({al.get('matched')} of {al.get('types')} tokens)",
        f"- frequency-weighted coverage: {_pct(al.get('weighted_coverage'))}",
        "",
        "| rule | tokens |",
        "|---|---:|",
    ]
    lines += [f"| {rule} | {n} |" for rule, n in (al.get("by_rule") or {}).items()]
    missing = al.get("top_missing") or []
    if missing:
        lines += ["", "### Most frequent tokens with no vector", "", "| token | count |", "|---|---:|"]
        lines += [f"| `{m['token']}` | {m.get('count') if m.get('count') is not None else ''} |" for m in missing]
    lines += ["", render_markdown(report.get("evaluation") or {})]
    return "\n".join(lines).rstrip() + "\n"
