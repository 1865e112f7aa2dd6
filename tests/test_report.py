"""report.md: what a run's report dict renders to, and that text from data cannot break it."""

from pipeline.report import render_markdown, render_report


def _report(**alignment):
    return {
        "name": "demo",
        "gate": {"passed": False, "missed": ["coverage 0.5 < min_coverage 0.9"]},
        "vectors": {"count": 3, "dim": 2, "source": {"kind": "glove", "path": "/data/v|1.txt"}},
        "vocab": {"size": 6},
        "matrix": {"n_matched": 2, "n_initialised": 2, "oov_init": "normal"},
        "alignment": {"coverage": 0.5, "matched": 2, "types": 4, "weighted_coverage": None,
                      "by_rule": {"exact": 1, "lower": 1}, **alignment},
        "evaluation": {},
    }


def test_report_lists_summary_coverage_and_missing_tokens_with_data_escaped():
    md = render_report(_report(top_missing=[{"token": "a|b", "count": 3}, {"token": "`x`", "count": None}]))
    lines = md.splitlines()
    assert lines[0] == "# embpipe report: demo"
    assert "- gate: **MISSED** (coverage 0.5 \\< min\\_coverage 0.9)" in lines
    assert "- vectors: 3 x 2 (glove: /data/v\\|1.txt)" in lines
    assert "- type coverage: 50.00% (2 of 4 tokens)" in lines
    assert "- frequency-weighted coverage: n/a" in lines
    assert lines[lines.index("| rule | tokens |") + 2:][:2] == ["| exact | 1 |", "| lower | 1 |"]
    # each token one row of two cells: a "|" inside a token would otherwise add a column
    table = lines[lines.index("| token | count |") + 2:][:2]
    assert table == ["| a\\|b | 3 |", "| \\`x\\` |  |"]
    assert md.endswith("## Evaluation\n\nNo analogy test configured.\n")


def test_report_without_missing_tokens_has_no_missing_table():
    assert "Most frequent tokens with no vector" not in render_report(_report(top_missing=[]))


def test_render_markdown_escapes_table_cells():
    evaluation = {"neighbours": {"top_k": 1, "probes": {"a|b": [["c*d", 0.5]]}, "missing": []}}
    assert "- **a\\|b**: c\\*d 0.500" in render_markdown(evaluation)
