"""`medtrust train grpo`: one clear error for bad input (nothing written), and a whole run on a
tiny random Llama: trainer_log.jsonl holds the rewards, format rate and KL; report.html, the
reward table, the saved model and the --eval comparison with the think format rate."""

from __future__ import annotations

import json

import pytest

from medtrust.errors import MedtrustError
from medtrust.train.grpo import GRPOOptions, train_grpo


@pytest.fixture(scope="module")
def tiny_llama(tiny_llama_path):
    """The shared tiny random Llama of tests/train/conftest.py."""
    return tiny_llama_path


@pytest.mark.parametrize("args, problem, fix", [
    (["--rewards", "accuracy,bogus"], "Unknown reward 'bogus'.", "accuracy, format, length"),
    (["--dataset", "demo-harmful"], "Dataset 'demo-harmful' has no rows with verifiable answers", "demo-calc"),
    (["--num-generations", "1"], "at least 2 generations", "--num-generations 2"),
    (["--rewards", "accuracy,format", "--reward-weights", "1"], "1 reward weights for 2 rewards", "one weight"),
    (["--vllm-mode", "remote"], "Unknown --vllm-mode 'remote'.", "server or colocate"),
])
def test_bad_input_gives_one_clear_error_and_writes_nothing(cli, tmp_path, args, problem, fix):
    code, out, err = cli("train", "grpo", "--model", "embedded", "--runs-dir", str(tmp_path), *args)
    assert code == 2, (out, err)
    assert err.count("Error:") == 1 and problem in err and fix in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_use_vllm_without_vllm_names_the_extra(monkeypatch, tmp_path):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a))
    with pytest.raises(MedtrustError) as e:
        train_grpo(GRPOOptions(use_vllm=True, runs_dir=str(tmp_path)))
    assert "'vllm'" in e.value.problem and "medtrust[vllm]" in e.value.fix


@pytest.mark.integration
def test_whole_run_on_a_tiny_model_logs_rewards_and_compares_before_after(cli, tiny_llama, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = cli("train", "grpo", "--model", f"hf/{tiny_llama}", "--dataset", "demo-calc", "--limit", "2",
                            "--max-steps", "2", "--num-generations", "2", "--max-completion-length", "8",
                            "--beta", "0.05", "--rewards", "accuracy,format,length", "--length-budget", "4",
                            "--eval", "--eval-limit", "2", "--out", str(out), "--quiet")
    assert code == 0, err
    assert f"GRPO run: {out}" in stdout
    rows = [json.loads(line) for line in (out / "trainer_log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "reward" in r]
    assert [r["step"] for r in steps] == [1, 2]
    for r in steps:
        means = [r[f"rewards/{n}_reward/mean"] for n in ("accuracy", "format", "length")]
        assert r["reward"] == pytest.approx(sum(means), abs=1e-5)  # weights 1, 1, 1
        assert r["rewards/length_reward/mean"] == pytest.approx(-1.0)  # 8 tokens, budget 4: -(8-4)/4
        assert 0 <= r["format_rate"] <= 1 and r["kl"] >= 0 and r["completions/mean_length"] == 8
    table = json.loads((out / "reward_table.json").read_text())
    assert table["steps"] == 2 and table["first"]["reward"] == pytest.approx(
        (steps[0]["reward"] + steps[1]["reward"]) / 2)
    report = (out / "report.html").read_text()
    assert "Reward and format rate by step" in report and "Before / after: reasoning" in report
    comparison = json.loads((out / "eval" / "reasoning" / "comparison.json").read_text())
    metrics = {r["metric"]: r for r in comparison["rows"]}
    assert {"accuracy (think)", "accuracy (direct)", "format_rate (think)"} <= set(metrics)
    fmt = metrics["format_rate (think)"]
    assert fmt["before"]["n"] == 2 and fmt["after"]["n"] == 2
    assert comparison["study_args"]["max_tokens"] == 8 and comparison["study_args"]["strategies"] == "think,direct"
    assert not (out / "checkpoints").exists() and (out / "model" / "config.json").exists()
