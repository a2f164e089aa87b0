"""bench/gpu.py keeps working on machines without a GPU: its --tiny mode runs every stage on CPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.integration
def test_gpu_bench_tiny_runs_every_stage_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--tiny", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    assert res["meta"]["dtype"] == "float32" and res["meta"]["device"].startswith("CPU")
    shape = res["shapes"]["smollm2-135m"]
    work = res["meta"]["work"]
    budget = work["questions"] * work["samples"] * work["tokens"]
    gen = shape["generate"]
    ours = gen["medtrust HFBackend.generate"]
    raw = gen["(b) one raw batched generate"]
    ref = gen[f"(a) generate per sample, {work['reference_questions']} questions"]
    # random weights run (almost) every row to its budget; no method can make more tokens than that
    assert 0.9 * budget <= ours["tokens"] <= budget and 0.9 * budget <= raw["tokens"] <= budget
    assert 0 < ref["tokens"] <= work["reference_questions"] * work["samples"] * work["tokens"]
    for r in (ours, raw, ref):
        assert r["tokens_per_s"] == pytest.approx(r["tokens"] / r["seconds"])
    assert shape["hallucination"]["questions"] == work["hallucination_questions"]
    assert shape["loglik"]["questions"] == work["loglik_questions"] and shape["loglik"]["questions_per_s"] > 0
    assert shape["grpo"]["steps"] == work["steps"] and shape["sft"]["steps"] == work["steps"]
    # the arithmetic: 2 x the non-embedding parameters, the tied output head counted once
    n_matrix = 30 * (576 * (576 + 2 * 192 + 576) + 3 * 576 * 1536) + 49152 * 576
    assert shape["share"]["flops_per_token"] == pytest.approx(2 * (n_matrix + 576 * 61), rel=1e-6)
    assert "| medtrust HFBackend.generate |" in proc.stdout and "| GRPO (TRL, LoRA) |" in proc.stdout
