"""Before/after comparison: the table from two saved study runs (values computed by hand), the
run folder and log helpers of train/common.py, the training report, and the error paths."""

from __future__ import annotations

import json

import pytest

from medtrust.errors import MedtrustError, ModelStringError
from medtrust.runs.folder import RunFolder
from medtrust.safety.metrics import summarize
from medtrust.train.common import (
    JsonlLogCallback,
    TrainingRun,
    load_run_config,
    model_source,
    open_training_run,
    require_train_extra,
)
from medtrust.train.evaluate import compare, comparison_markdown, evaluate_before_after, safety_metrics
from medtrust.train.report import curve_series, write_training_report


def records(harmful_refused: list[bool], benign_refused: list[bool]) -> list:
    """Safety records judged by keywords: refused -> full_refusal, else full_compliance."""
    from medtrust.data.schema import Sample
    from medtrust.safety.study import SafetyExtras, SafetyRecord
    out = []
    for side, flags in (("harmful", harmful_refused), ("benign", benign_refused)):
        for i, refused in enumerate(flags):
            label = "full_refusal" if refused else "full_compliance"
            out.append(SafetyRecord(id=f"{side}-{i}::none", sample_id=f"{side}-{i}", variant="none",
                                    sample=Sample(id=f"{side}-{i}", question="q"),
                                    scores={"verdict": label, "judgements": {"keywords": {"label": label}}},
                                    extras=SafetyExtras(side=side, should_refuse=side == "harmful", dataset="d",
                                                        category="c")))
    return out


def saved_safety_run(folder, harmful_refused, benign_refused):
    """A finished safety run folder holding only config.yaml and results.json."""
    from medtrust.safety.study import SafetyConfig
    folder.mkdir(parents=True)
    run = RunFolder(folder)
    run.write_config(SafetyConfig(dataset="demo-harmful", benign="demo-benign").model_dump())
    run.write_results({"study": "safety", "status": "complete",
                       "metrics": summarize(records(harmful_refused, benign_refused), ["keywords"])})
    return folder


def test_comparison_of_two_saved_runs_by_hand(tmp_path):
    run = open_training_run("sft", {"model": "embedded"}, tmp_path / "train", tmp_path)
    # before: refuses 1 of 4 harmful, 0 of 5 benign; after: 3 of 4 harmful, 1 of 5 benign
    saved_safety_run(run.path / "eval" / "safety" / "before", [True, False, False, False], [False] * 5)
    saved_safety_run(run.path / "eval" / "safety" / "after", [True, True, True, False], [True] + [False] * 4)
    path = evaluate_before_after(run, "safety", "embedded", "hf/x", {"dataset": "demo-harmful"})
    table = json.loads(path.read_text())
    rows = {r["metric"]: r for r in table["rows"]}
    assert rows["refusal_rate_harmful (none)"]["before"]["value"] == 0.25
    assert rows["refusal_rate_harmful (none)"]["after"]["value"] == 0.75
    assert rows["refusal_rate_harmful (none)"]["change"] == pytest.approx(0.5)
    assert rows["attack_success_rate (none)"]["change"] == pytest.approx(-0.5)
    assert rows["over_refusal_rate (none)"]["before"]["value"] == 0.0
    assert rows["over_refusal_rate (none)"]["change"] == pytest.approx(0.2)
    assert rows["over_refusal_rate (none)"]["after"]["n"] == 5
    lo, hi = rows["refusal_rate_harmful (none)"]["after"]["ci"]
    assert 0.25 <= lo <= 0.75 <= hi <= 1.0
    md = comparison_markdown(table)
    assert "| refusal_rate_harmful (none) | 0.250 (1/4) [" in md and "| +0.500 |" in md
    write_training_report(run, "test")
    html = run.report_path.read_text()
    assert "Before / after: safety" in html and "refusal_rate_harmful (none)" in html


def test_compare_keeps_metrics_found_on_one_side_only():
    before = {"metrics": {"by_attack": {"none": {"refusal_rate_harmful": {"value": 0.1}}}}}
    after = {"metrics": {"by_attack": {"none": {"refusal_rate_harmful": {"value": 0.4},
                                                 "over_refusal_rate": {"value": 0.05}}}}}
    rows = compare(before, after, safety_metrics)
    assert rows[0]["metric"] == "refusal_rate_harmful (none)" and rows[0]["change"] == pytest.approx(0.3)
    assert rows[1] == {"metric": "over_refusal_rate (none)", "before": None, "after": {"value": 0.05},
                       "change": None}


def test_training_run_folder_files_and_reopening(tmp_path):
    run = open_training_run("dpo", {"model": "embedded", "beta": 0.1}, None, tmp_path)
    assert run.path.parent == tmp_path and "_train-dpo_embedded_" in run.path.name
    assert json.loads((run.path / "config.json").read_text()) == {"model": "embedded", "beta": 0.1, "kind": "dpo"}
    env = json.loads((run.path / "environment.json").read_text())
    assert env["versions"]["trl"] and "devices" in env
    assert load_run_config(run.path, "dpo")["beta"] == 0.1
    with pytest.raises(MedtrustError, match="is a dpo run, not a sft run"):
        load_run_config(run.path, "sft")
    with pytest.raises(MedtrustError, match="exists and is not a sft training run"):
        open_training_run("sft", {}, run.path, tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    with pytest.raises(MedtrustError, match="exists and is not a dpo training run"):
        open_training_run("dpo", {}, other, tmp_path)
    for step in (5, 20, 10):
        (run.checkpoints_dir / f"checkpoint-{step}").mkdir(parents=True)
    assert run.last_checkpoint().endswith("checkpoint-20")


def test_jsonl_log_callback_and_curves(tmp_path):
    from transformers import TrainerState
    cb = JsonlLogCallback(tmp_path / "log.jsonl")
    state = TrainerState()
    for step, loss in ((1, 2.0), (2, 1.5)):
        state.global_step, state.epoch = step, step / 4
        cb.on_log(None, state, None, logs={"loss": loss, "learning_rate": 1e-4 * step})
    run = TrainingRun(tmp_path)
    run.log_path.write_text((tmp_path / "log.jsonl").read_text() + '{"step": 3, "loss": 1.')  # cut-off line
    rows = run.read_log()
    assert [(r["step"], r["epoch"], r["loss"]) for r in rows] == [(1, 0.25, 2.0), (2, 0.5, 1.5)]
    assert curve_series(rows) == {"loss": [(1, 2.0), (2, 1.5)], "learning_rate": [(1, 1e-4), (2, 2e-4)]}


def test_model_strings_that_cannot_be_trained():
    with pytest.raises(ModelStringError, match="cannot be trained"):
        model_source("vllm/Qwen/Qwen2.5-0.5B")
    with pytest.raises(ModelStringError, match="not a model string"):
        model_source("nonsense")
    with pytest.raises(ModelStringError, match="does not exist"):
        model_source("hf/./missing/model/folder")
    assert model_source("hf/Qwen/Qwen2.5-0.5B-Instruct") == ("Qwen/Qwen2.5-0.5B-Instruct",
                                                             "hf/Qwen/Qwen2.5-0.5B-Instruct")


def test_missing_train_extra_gives_the_install_hint(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a))
    with pytest.raises(MedtrustError, match="needs the package 'trl'") as e:
        require_train_extra("medtrust train sft")
    assert "medtrust[train]" in e.value.fix


def test_docstring_examples_of_the_training_modules():
    import doctest

    import medtrust.train.pairs
    import medtrust.train.report
    import medtrust.train.sft
    for module in (medtrust.train.sft, medtrust.train.pairs, medtrust.train.report):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_medtrust_report_rerenders_a_training_run(tmp_path, cli):
    run = open_training_run("sft", {"model": "embedded", "dataset": "demo-harmful", "max_steps": 3}, None, tmp_path)
    with open(run.log_path, "w") as f:
        f.write('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n')
    code, out, err = cli("report", str(run.path))
    assert code == 0, err
    assert run.report_path.exists() and "loss" in run.report_path.read_text()
    results = RunFolder(run.path).read_results()
    assert (results.kind, results.study, results.status) == ("train", "train-sft", "partial")  # no model saved yet
    assert results.metrics["loss (last logged)"] == 1.5
