"""`medtrust train ...` end to end on a tiny random Llama: sft with --eval (a before/after table in
the report), resuming from a checkpoint, and one clear error for bad input."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_train_help_lists_the_commands(cli):
    code, out, _ = cli("train", "--help")
    assert code == 0 and all(c in out for c in ("sft", "dpo", "report"))


def test_sft_with_eval_writes_before_after_tables(cli, tiny_llama_path, data_root, tmp_path):
    out_dir = tmp_path / "run"
    code, out, err = cli("train", "sft", "-m", f"hf/{tiny_llama_path}", "--data-path",
                         str(data_root / "medsafetybench"), "--limit", "2", "--mix", "demo-mcq:1", "--max-steps", "1",
                         "--batch-size", "2", "--max-length", "48", "--out", str(out_dir), "--quiet", "--eval",
                         "--eval-limit", "2", "--eval-qa-limit", "3", "--no-cache")
    assert code == 0, err
    assert f"model: {out_dir}/model" in out
    safety = json.loads((out_dir / "eval" / "safety" / "comparison.json").read_text())
    rows = {r["metric"]: r for r in safety["rows"]}
    assert rows["refusal_rate_harmful (none)"]["before"]["n"] == 2  # demo-harmful, --eval-limit 2
    assert rows["over_refusal_rate (none)"]["after"]["n"] == 2
    assert safety["trained_model"] == f"hf/{(out_dir / 'model').resolve()}"
    qa = json.loads((out_dir / "eval" / "medical-qa" / "comparison.json").read_text())
    assert qa["rows"][0]["metric"] == "accuracy (direct)" and qa["rows"][0]["before"]["n"] == 3
    results = json.loads((out_dir / "eval" / "medical-qa" / "after" / "results.json").read_text())
    assert results["model"] == safety["trained_model"] and results["dataset"] == "demo-mcq"
    html = (out_dir / "report.html").read_text()
    assert "Before / after: safety" in html and "Before / after: medical-qa" in html


def test_resume_continues_from_the_last_checkpoint(cli, tiny_llama_path, data_root, tmp_path):
    out_dir = tmp_path / "run"
    args = ["train", "sft", "-m", f"hf/{tiny_llama_path}", "--data-path", str(data_root / "medsafetybench"),
            "--limit", "2", "--mix", "demo-mcq:1", "--max-steps", "2", "--batch-size", "2", "--max-length", "48",
            "--save-steps", "1", "--keep-checkpoints", "--out", str(out_dir), "--quiet"]
    assert cli(*args)[0] == 0
    assert (out_dir / "checkpoints" / "checkpoint-2").exists()
    code, _, err = cli("train", "sft", "--resume", str(out_dir), "--quiet")
    assert code == 0, err
    result = json.loads((out_dir / "train_result.json").read_text())
    assert result["resumed_from"].endswith("checkpoint-2") and result["global_step"] == 2


@pytest.mark.parametrize("argv, message", [
    (["train", "sft", "--mix", "demo-benign"], "--mix part 'demo-benign' is not NAME:RATIO"),
    (["train", "sft", "--model", "openai/gpt-4o"], "cannot be trained"),
    (["train", "dpo"], "exactly one of --pairs FILE or --build-pairs"),
    (["train", "sft", "--resume", "/no/such/run"], "is not a training run folder"),
])
def test_bad_input_is_one_clear_error(cli, tmp_path, argv, message):
    code, _, err = cli(*argv, "--out", str(tmp_path / "r")) if "--resume" not in argv else cli(*argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_malformed_pairs_file_is_one_data_error(cli, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"prompt": "p", "chosen": "c", "rejected": "r"}\n{"prompt": "p"}\n')
    code, _, err = cli("train", "dpo", "--pairs", str(pairs), "--out", str(tmp_path / "r"))
    assert code == 2 and "line 2: chosen, rejected missing" in err and "Fix:" in err


def test_time_limit_stops_training_early(cli, tiny_llama_path, data_root, tmp_path):
    out_dir = tmp_path / "run"
    code, _, err = cli("train", "sft", "-m", f"hf/{tiny_llama_path}", "--data-path", str(data_root / "medsafetybench"),
                       "--limit", "4", "--mix", "", "--max-steps", "50", "--batch-size", "1", "--max-length", "96",
                       "--time-limit", "0.0001", "--out", str(out_dir), "--quiet")
    assert code == 0, err
    result = json.loads((out_dir / "train_result.json").read_text())
    assert result["global_step"] == 1 and result["stopped_by_time_limit_at_step"] == 1


def test_max_length_that_cuts_every_completion_is_one_error(cli, tiny_llama_path, data_root, tmp_path):
    code, _, err = cli("train", "sft", "-m", f"hf/{tiny_llama_path}", "--data-path", str(data_root / "medsafetybench"),
                       "--limit", "2", "--mix", "", "--max-length", "16", "--out", str(tmp_path / "r"), "--quiet")
    assert code == 2 and "No training row keeps any completion token within --max-length 16" in err
