"""What `medtrust demo` prints at its end and the index page it writes, from saved results."""

from __future__ import annotations

import json

from medtrust.demo import described, summary, write_index


def run(root, name, results):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "report.html").write_text("<html></html>")
    return folder / "report.html"


def test_summary_and_index_say_the_findings_with_n_and_warnings(tmp_path):
    rate = {"value": 0.25, "ci": [0.1, 0.49], "n": 12, "count": 3, "interval": "wilson"}
    se = {"auroc": {"value": 0.52, "ci": [0.09, 1.0], "n": 12}}
    hall = run(tmp_path / "runs", "r1_hallucination", {
        "study": "hallucination", "model": "embedded", "dataset": "demo-qa", "n": 24,
        "metrics": {"accuracy": rate, "estimators": {"semantic_entropy": se}}})
    outside = run(tmp_path / "elsewhere", "r2_reasoning", {
        "study": "reasoning", "model": "embedded", "dataset": "demo-mcq <b>", "n": 24,
        "metrics": {"cot": {"accuracy": rate}, "direct": {"accuracy": {**rate, "value": 0.0, "count": 0,
                                                                       "ci": [0.0, 0.18]}}}})
    runs = described({"hallucination": hall, "reasoning demo-mcq": outside})
    assert summary(runs) == [
        "hallucination (embedded on demo-qa, 24 records):",
        "  - Accuracy of the graded answers: 0.25 (3/12) [0.10, 0.49].",
        "  - semantic entropy: AUROC 0.52 [0.09, 1.00] on 12 questions (0.5 is chance, 1.0 ranks every wrong "
        "answer above every right one).",
        "  ! The AUROC intervals are too wide to rank the estimators on 12 questions: run more (e.g. --limit 200 "
        "on pubmedqa or medqa).",
        "reasoning demo-mcq (embedded on demo-mcq <b>, 24 records):",
        "  - Strategy 'cot': accuracy 0.25 (3/12) [0.10, 0.49].",
        "  - Strategy 'direct': accuracy 0.00 (0/12) [0.00, 0.18].",
        "  ! The strategies' accuracy intervals all overlap: they cannot be ordered at this n."]
    page = write_index(tmp_path / "runs", runs).read_text()
    assert '<a href="r1_hallucination/report.html">hallucination</a>' in page
    assert f'<a href="{outside.resolve().as_uri()}">reasoning demo-mcq</a>' in page  # outside the runs folder
    assert "demo-mcq &lt;b&gt;" in page and "<li class=warning>The AUROC intervals" in page
