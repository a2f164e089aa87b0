"""report.html: one self-contained file with config, metrics, plots and a searchable browser."""

from __future__ import annotations

import json
import re

from medtrust.report.format import fmt_interval, metric_rows
from medtrust.report.render import render_report
from medtrust.runs.folder import RunFolder


def make_run(tmp_path):
    from medtrust.data.schema import Sample
    from medtrust.generate import GenerateStudy
    from medtrust.runs.records import Output, Results
    from medtrust.studies import Unit
    run = RunFolder.create(tmp_path, "generate", "embedded", {"study": "generate", "model": "embedded",
                                                             "dataset": "demo-qa"})
    study = GenerateStudy()
    run.append([
        study.record(Unit(Sample(id="q1", question="What is <b>aspirin</b>?", answer="an NSAID")), outputs=[
            Output(text="An NSAID </script><script>alert(1)</script>", token_ids=[1, 2, 3],
                   token_logprobs=[-0.1, -0.2, -0.3])]),
        study.record(Unit(Sample(id="q2", question="Dose of 对乙酰氨基酚?", answer="1 g")), outputs=[
            Output(text="1 g", token_ids=[4], token_logprobs=[-1.0], finish_reason="length")]),
    ])
    run.write_results(Results(study="generate", status="complete", n=2, expected=2, metrics={
        "accuracy": {"value": 0.5, "ci": [0.1, 0.9], "n": 2}, "by_split": {"easy": {"value": 1.0, "n": 1}},
        "count": 2}))
    return run


def test_report_is_self_contained_and_holds_everything(tmp_path):
    run = make_run(tmp_path)
    page = render_report(run).read_text()
    # no network: no external scripts, styles or images
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "accuracy" in page and "[0.1, 0.9]" in page and "by_split / easy" in page
    assert "data:image/png;base64," in page  # the output-length histogram
    assert "model: embedded" in page  # the resolved config
    # the embedded sample data cannot close its script element
    data = re.search(r'<script type="application/json" id="records-data">(.*?)</script>', page, re.S).group(1)
    records = json.loads(data)
    assert records[0]["outputs"][0]["text"].startswith("An NSAID </script>")
    assert records[1]["sample"]["question"] == "Dose of 对乙酰氨基酚?"
    assert "<b>aspirin</b>" not in page.split('id="rows-data"')[0]  # escaped outside the JSON
    assert 'id="search"' in page


def test_metric_rows_flatten_nested_metrics():
    rows = metric_rows({"a": {"value": 0.123456, "ci": [0.1, 0.2], "n": 5}, "g": {"x": {"value": None}}, "k": 3})
    assert rows == [{"name": "a", "value": "0.1235", "ci": "[0.1, 0.2]", "n": 5, "note": ""},
                    {"name": "g / x", "value": "n/a", "ci": "", "n": "", "note": ""},
                    {"name": "k", "value": "3", "ci": "", "n": "", "note": ""}]


def test_fmt_interval_value_interval_and_note():
    m = {"value": 0.123456, "ci": [0.0987654, 0.2], "n": 5}
    assert fmt_interval(m) == "0.1235 [0.09877, 0.2]"
    assert fmt_interval(m, 3) == "0.123 [0.099, 0.200]"
    assert fmt_interval({"value": 0.5}, 3) == "0.500"
    assert fmt_interval({"value": None, "note": "every answer is right"}) == "n/a (every answer is right)"
    assert fmt_interval({"value": None}) == fmt_interval(None) == fmt_interval({}) == "n/a"


def test_report_verb_rerenders(tmp_path, cli):
    run = make_run(tmp_path)
    code, out, _ = cli("report", str(run.path))
    assert code == 0 and run.report_path.exists() and str(run.report_path) in out
